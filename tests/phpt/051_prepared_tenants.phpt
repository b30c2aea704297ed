--TEST--
PgPool shared prepared statements and name resolution: tenants with other table shapes (schema per tenant by SET search_path, by set_config() or by the DSN's options; a temp table shadowing a permanent one; transaction-local set_config(..., true) and SET LOCAL) alternate on one backend (pool tiny) in transactions: no error, each gets its own rows
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

$tiny_dsn = str_replace('dbname=app', 'dbname=tiny', PGPOOL_TEST_DSN);
$direct = new PDO($tiny_dsn, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD,
    [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
/* Created from outside the pool: the pool's schema epoch does not move. */
$direct->exec("DROP SCHEMA IF EXISTS t051a CASCADE; DROP SCHEMA IF EXISTS t051b CASCADE;
    DROP TABLE IF EXISTS t051_shadow;
    CREATE SCHEMA t051a; CREATE SCHEMA t051b;
    CREATE TABLE t051a.items (id int, name text); INSERT INTO t051a.items VALUES (1, 'one-a');
    CREATE TABLE t051b.items (id text, name text, extra int); INSERT INTO t051b.items VALUES ('1', 'one-b', 5);
    CREATE TABLE t051_shadow (id int, name text); INSERT INTO t051_shadow VALUES (1, 'permanent')");

function tiny(string $dsn = 'pgpool:pool=tiny'): PgPool
{
    return new PgPool($dsn, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD,
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
}

/* A tenant's request: its queries in a transaction, after the handle chose the tenant. */
function queries(PgPool $db, array $sqls, ?callable $in_txn = null): string
{
    try {
        $db->beginTransaction();
        $db->query("SELECT 1");
        if ($in_txn !== null) {
            $in_txn($db);
        }
        $out = [];
        foreach ($sqls as $sql) {
            $st = $db->prepare($sql);
            $st->execute(str_contains($sql, '?') ? ['1'] : []);
            $out[] = json_encode($st->fetchAll(PDO::FETCH_NUM));
        }
        $db->commit();
        return implode(' ', $out);
    } catch (PDOException $e) {
        $db->rollBack();
        return 'error ' . $e->errorInfo[0] . ' ' . strtok($e->getMessage(), "\n");
    }
}

$items = ["SELECT * FROM items WHERE id = ?", "SELECT * FROM items"];
$requests = [
    'SET a' => function () use ($items) {
        $db = tiny();
        $db->exec("SET search_path = t051a");
        return queries($db, $items);
    },
    'SET b' => function () use ($items) {
        $db = tiny();
        $db->exec("SET search_path = t051b");
        return queries($db, $items);
    },
    'set_config b' => function () use ($items) {
        $db = tiny();
        $db->prepare("SELECT set_config('search_path', ?, false)")->execute(['t051b']);
        return queries($db, $items);
    },
    'set_config a' => function () use ($items) {
        $db = tiny();
        $db->prepare("SELECT set_config('search_path', ?, false)")->execute(['t051a']);
        return queries($db, $items);
    },
    'DSN a' => fn() => queries(tiny($GLOBALS['tiny_dsn'] . ";options='-c search_path=t051a'"), $items),
    'DSN b' => fn() => queries(tiny($GLOBALS['tiny_dsn'] . ";options='-c search_path=t051b'"), $items),
    'temp shadow' => function () {
        $db = tiny();
        $db->exec("CREATE TEMP TABLE t051_shadow (x text, y text, z text)");
        $db->exec("INSERT INTO t051_shadow VALUES ('temp', 'x', 'y')");
        return queries($db, ["SELECT * FROM t051_shadow"]);
    },
    'permanent' => fn() => queries(tiny(), ["SELECT * FROM t051_shadow"]),
    /* transaction-local: the tenant is chosen inside each transaction (no pin) */
    'set_config local b (bound)' => fn() => queries(tiny(), $items,
        fn($db) => $db->prepare("SELECT set_config('search_path', ?, true)")->execute(['t051b'])),
    'set_config local a (bound)' => fn() => queries(tiny(), $items,
        fn($db) => $db->prepare("SELECT set_config('search_path', ?, true)")->execute(['t051a'])),
    'set_config local b' => fn() => queries(tiny(), $items,
        fn($db) => $db->query("SELECT set_config('search_path', 't051b', true)")),
    'SET LOCAL a' => fn() => queries(tiny(), $items, fn($db) => $db->exec("SET LOCAL search_path = t051a")),
    'SET LOCAL b' => fn() => queries(tiny(), $items, fn($db) => $db->exec("SET LOCAL search_path = t051b")),
    'no tenant' => fn() => queries(tiny(), ["SELECT * FROM t051_shadow"]),
];
for ($round = 0; $round < 3; $round++) {
    foreach ($requests as $name => $request) {
        $out = $request();
        if ($round === 0 || !isset($seen[$name]) || $seen[$name] !== $out) {
            echo "$name: $out\n";
        }
        $seen[$name] = $out;
    }
}
echo "active: ", pgpool_stats('tiny')['active'], "\n";
$direct->exec("DROP SCHEMA t051a CASCADE; DROP SCHEMA t051b CASCADE; DROP TABLE t051_shadow");
?>
--EXPECT--
SET a: [[1,"one-a"]] [[1,"one-a"]]
SET b: [["1","one-b",5]] [["1","one-b",5]]
set_config b: [["1","one-b",5]] [["1","one-b",5]]
set_config a: [[1,"one-a"]] [[1,"one-a"]]
DSN a: [[1,"one-a"]] [[1,"one-a"]]
DSN b: [["1","one-b",5]] [["1","one-b",5]]
temp shadow: [["temp","x","y"]]
permanent: [[1,"permanent"]]
set_config local b (bound): [["1","one-b",5]] [["1","one-b",5]]
set_config local a (bound): [[1,"one-a"]] [[1,"one-a"]]
set_config local b: [["1","one-b",5]] [["1","one-b",5]]
SET LOCAL a: [[1,"one-a"]] [[1,"one-a"]]
SET LOCAL b: [["1","one-b",5]] [["1","one-b",5]]
no tenant: [[1,"permanent"]]
active: 0
