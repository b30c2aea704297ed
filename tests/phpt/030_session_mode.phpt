--TEST--
PgPool session mode (pool `sess`): a lease from first use until the handle is destroyed; session state reset before reuse
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$dsn = 'pgpool:pool=sess';
pgpool_wait_quiet('sess');
$db = pgpool_db([], $dsn);
echo "-- nothing leased before the first statement\n";
var_dump(pgpool_active('sess'));

echo "-- held from first use: one backend, session state kept across statements\n";
$pid = $db->query("SELECT pg_backend_pid()")->fetchColumn();
$db->exec("SET application_name = 'sess_030'");
$db->exec("CREATE TEMP TABLE t030 (a int)");
$db->exec("INSERT INTO t030 VALUES (1)");
var_dump(pgpool_active('sess'), $db->query("SELECT pg_backend_pid()")->fetchColumn() === $pid);
var_dump($db->query("SHOW application_name")->fetchColumn(), (int) $db->query("SELECT count(*) FROM t030")->fetchColumn());
var_dump($db->pgsqlGetPid() === $pid);

echo "-- lastInsertId() asks the held session\n";
$db->exec("CREATE TEMP SEQUENCE s030 START 7");
$db->query("SELECT nextval('s030')");
var_dump($db->lastInsertId(), $db->lastInsertId('s030'));

echo "-- transactions on the same backend\n";
$db->beginTransaction();
var_dump($db->query("SELECT pg_backend_pid()")->fetchColumn() === $pid);
$db->commit();
var_dump(pgpool_active('sess'));

echo "-- a second handle gets the other backend\n";
$db2 = pgpool_db([], $dsn);
var_dump($db2->query("SELECT pg_backend_pid()")->fetchColumn() !== $pid, pgpool_active('sess'));
unset($db2);

echo "-- destroying the handle gives the lease back, reset\n";
unset($db);
$s = pgpool_wait_quiet('sess');
var_dump($s['active']);
$direct = new PDO(str_replace('dbname=app', 'dbname=sess', PGPOOL_TEST_DSN), PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
var_dump((int) $direct->query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sess_030'")->fetchColumn());
$a = pgpool_db([], $dsn);
$b = pgpool_db([], $dsn);
foreach ([$a, $b] as $h) {
    var_dump($h->query("SHOW application_name")->fetchColumn() !== 'sess_030',
        (int) $h->query("SELECT count(*) FROM pg_class WHERE relname = 't030'")->fetchColumn());
}
?>
--EXPECT--
-- nothing leased before the first statement
int(0)
-- held from first use: one backend, session state kept across statements
int(1)
bool(true)
string(8) "sess_030"
int(1)
bool(true)
-- lastInsertId() asks the held session
string(1) "7"
string(1) "7"
-- transactions on the same backend
bool(true)
int(1)
-- a second handle gets the other backend
bool(true)
int(2)
-- destroying the handle gives the lease back, reset
int(0)
int(0)
bool(true)
int(0)
bool(true)
int(0)
