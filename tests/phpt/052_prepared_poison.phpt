--TEST--
PgPool shared prepared statements cannot be replaced by an SQL PREPARE of the same name (DEALLOCATE pgpool_...; PREPARE pgpool_... AS other query, also through a DO block): the driver's record and the broker's reset count only statements prepared through the protocol, so a later request runs its own text, on the same lease and after the reset
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

/* Pool tiny has one connection: every request below lands on the same backend. */
function tiny(): PgPool
{
    return new PgPool('pgpool:pool=tiny', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD,
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
}
function genuine(PgPool $db): string
{
    $st = $db->prepare("SELECT 'genuine' AS v WHERE ?::int > 0");
    $st->execute([1]);
    return $st->fetchColumn();
}
function idle(): void
{
    for ($i = 0; $i < 100 && pgpool_stats('tiny')['idle'] !== 1; $i++) {
        usleep(20000);
    }
}

$db = tiny();
echo "before: ", genuine($db), "\n";
$name = $db->query("SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT ''genuine'' AS v WHERE \$1::int > 0'")->fetchColumn();
echo "shared name: ", preg_match('/^pgpool_[0-9a-f]{16}$/', $name) ? 'pgpool_...' : $name, "\n";

echo "-- DEALLOCATE and PREPARE in one exec (pins the lease)\n";
$db->exec("DEALLOCATE $name; PREPARE $name(int) AS SELECT 'POISONED' AS v");
echo "same request: ", genuine($db), "\n";
$db->exec("DEALLOCATE $name; PREPARE $name(int) AS SELECT 'POISONED' AS v");
unset($db);
idle();
$db = tiny();
$left = $db->query("SELECT count(*) FROM pg_prepared_statements WHERE from_sql")->fetchColumn();
echo "SQL-level statements left after the reset: $left\n";
echo "after the reset: ", genuine($db), "\n";
echo "later request: ", genuine(tiny()), "\n";
unset($db);

echo "-- the same in a DO block (no PREPARE tag: nothing pins)\n";
$db = tiny();
$db->exec("DO \$\$BEGIN EXECUTE 'DEALLOCATE $name'; EXECUTE 'PREPARE $name(int) AS SELECT ''POISONED'' AS v'; END\$\$");
unset($db);
echo "later request: ", genuine(tiny()), "\n";
echo "later request: ", genuine(tiny()), "\n";
echo "active: ", pgpool_stats('tiny')['active'], "\n";
?>
--EXPECT--
before: genuine
shared name: pgpool_...
-- DEALLOCATE and PREPARE in one exec (pins the lease)
same request: genuine
SQL-level statements left after the reset: 0
after the reset: genuine
later request: genuine
-- the same in a DO block (no PREPARE tag: nothing pins)
later request: genuine
later request: genuine
active: 0
