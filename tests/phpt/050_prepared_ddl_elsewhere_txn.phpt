--TEST--
PgPool shared prepared statements after DDL run elsewhere (psql, a deploy tool), used inside transactions: the first transaction that uses a stale statement may fail (as with a statement prepared before the DDL), every later one succeeds (the stale statement is dropped from the slot's record); result-type and parameter-type variants, on one backend (pool tiny)
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

/* Pool tiny has one connection: every request below lands on the same backend. */
$direct = new PDO(str_replace('dbname=app', 'dbname=tiny', PGPOOL_TEST_DSN), PGPOOL_TEST_USER,
    PGPOOL_TEST_PASSWORD, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$direct->exec("DROP TABLE IF EXISTS t050, t050_log, t050p");
$direct->exec("CREATE TABLE t050 (id int, v text); INSERT INTO t050 VALUES (1, 'one');
    CREATE TABLE t050_log (a int); CREATE TABLE t050p (code int, v text);
    INSERT INTO t050p VALUES (1, 'int'), (NULL, 'A-1')");

/* One request as Laravel's DB::transaction() runs it: the statements inside a transaction. */
function request(string $sql, $param): string
{
    $db = new PgPool('pgpool:pool=tiny', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD,
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    try {
        $db->beginTransaction();
        $db->prepare("INSERT INTO t050_log VALUES (1)")->execute();
        $st = $db->prepare($sql);
        $st->execute([$param]);
        $rows = $st->fetchAll(PDO::FETCH_ASSOC);
        $db->commit();
        return json_encode($rows);
    } catch (PDOException $e) {
        $db->rollBack();
        return 'error ' . $e->errorInfo[0];
    }
}

/* Runs n requests after a migration: the first may fail, the others must all succeed. */
function after(string $sql, $param, int $n, array $first_errors): void
{
    $first = request($sql, $param);
    $ok = in_array($first, $first_errors, true) ? 'an error it may give' : $first;
    echo "first request: $ok\n";
    $later = [];
    for ($i = 1; $i < $n; $i++) {
        $later[] = request($sql, $param);
    }
    echo "later requests: ", json_encode(array_count_values($later)), "\n";
}

$sel = "SELECT * FROM t050 WHERE id = ?";
for ($i = 0; $i < 3; $i++) {
    $warm = request($sel, 1);
}
echo "warm: $warm\n";
/* The pool's catalog answer (no function that could deallocate statements) is a second old at
 * most: statements inside transactions are sent without Parse again. */
usleep(1100000);
request("SELECT 1 WHERE ? > 0", 1);

echo "-- ALTER TABLE ADD COLUMN from elsewhere: cached plan must not change result type\n";
$direct->exec("ALTER TABLE t050 ADD COLUMN b int DEFAULT 5");
after($sel, 1, 6, ['error 0A000', '[{"id":1,"v":"one","b":5}]']);

echo "-- ALTER COLUMN TYPE from elsewhere: the recorded parameter type is integer\n";
$selp = "SELECT v FROM t050p WHERE code = ?";
for ($i = 0; $i < 3; $i++) {
    $warm = request($selp, '1');
}
echo "warm: $warm\n";
usleep(1100000);
request("SELECT 1 WHERE ? > 0", 1);
$direct->exec("ALTER TABLE t050p ALTER code TYPE text; UPDATE t050p SET code = 'A-1' WHERE v = 'A-1'");
after($selp, 'A-1', 6, ['error 22P02', 'error 42883', 'error 42804', '[{"v":"A-1"}]']);

echo "logged: ", $direct->query("SELECT count(*) FROM t050_log")->fetchColumn() >= 16 ? 'yes' : 'no', "\n";
$direct->exec("DROP TABLE t050, t050_log, t050p");
?>
--EXPECT--
warm: [{"id":1,"v":"one"}]
-- ALTER TABLE ADD COLUMN from elsewhere: cached plan must not change result type
first request: an error it may give
later requests: {"[{\"id\":1,\"v\":\"one\",\"b\":5}]":5}
-- ALTER COLUMN TYPE from elsewhere: the recorded parameter type is integer
warm: [{"v":"int"}]
first request: an error it may give
later requests: {"[{\"v\":\"A-1\"}]":5}
logged: yes
