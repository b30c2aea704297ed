--TEST--
PgPool lease discipline: released after every statement outside a transaction, held for a whole transaction on one backend, BEGIN sent with the first statement
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();
$queries = fn() => pgpool_stats('main')['queries'];

echo "-- outside a transaction: no lease between statements\n";
$held = 0;
for ($i = 0; $i < 20; $i++) {
    $db->query("SELECT $i")->fetchColumn();
    $held += pgpool_active();
}
$st = $db->prepare("SELECT ?::int");
for ($i = 0; $i < 20; $i++) {
    $st->execute([$i]);
    $held += pgpool_active();
}
$db->exec("SELECT 1");
$held += pgpool_active();
var_dump($held);
$s = pgpool_stats('main');
var_dump($s['idle'] + $s['connecting'] === $s['total'] - $s['active'], $s['active']);

echo "-- beginTransaction() sends nothing and leases nothing\n";
$q0 = $queries();
$db->beginTransaction();
var_dump(pgpool_active(), $queries() - $q0);

echo "-- the first statement carries BEGIN: one round trip; the lease is then held\n";
$pid = $db->query("SELECT pg_backend_pid()")->fetchColumn();
var_dump($queries() - $q0, pgpool_active());
var_dump($db->query("SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid() AND state = 'active' AND xact_start IS NOT NULL")->fetchColumn());

echo "-- the same backend for the whole transaction, whatever the statement kind\n";
$same = true;
for ($i = 0; $i < 10; $i++) {
    $same = $same && $db->query("SELECT pg_backend_pid()")->fetchColumn() === $pid;
    $db->exec("SELECT 1");
    $st->execute([$i]);
    $same = $same && pgpool_active() === 1;
}
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, true);
$same = $same && $db->query("SELECT pg_backend_pid()")->fetchColumn() === $pid;
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
var_dump($same);

echo "-- a second handle gets another backend meanwhile\n";
$other = pgpool_db();
var_dump($other->query("SELECT pg_backend_pid()")->fetchColumn() !== $pid, pgpool_active());

echo "-- COMMIT releases it\n";
$db->commit();
var_dump(pgpool_active());

echo "-- rollBack() too, and a failed statement inside keeps the lease until then\n";
$db->beginTransaction();
try {
    $db->exec("SELECT 1/0");
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
var_dump(pgpool_active(), $db->inTransaction());
$db->rollBack();
var_dump(pgpool_active());

echo "-- a statement that fails outside a transaction releases too\n";
try {
    $db->query("SELECT * FROM no_such_table_006");
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
var_dump(pgpool_active());
?>
--EXPECT--
-- outside a transaction: no lease between statements
int(0)
bool(true)
int(0)
-- beginTransaction() sends nothing and leases nothing
int(0)
int(0)
-- the first statement carries BEGIN: one round trip; the lease is then held
int(1)
int(1)
int(1)
-- the same backend for the whole transaction, whatever the statement kind
bool(true)
-- a second handle gets another backend meanwhile
bool(true)
int(1)
-- COMMIT releases it
int(0)
-- rollBack() too, and a failed statement inside keeps the lease until then
22012
int(1)
bool(true)
int(0)
-- a statement that fails outside a transaction releases too
42P01
int(0)
