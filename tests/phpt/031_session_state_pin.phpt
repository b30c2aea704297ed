--TEST--
PgPool transaction mode: a statement that changes session state pins the lease to the handle until it ends, then the connection is reset; transaction-scoped state does not pin
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$direct = pgpool_direct();
$cases = [
    'SET' => ["SET application_name = 'pin_031'", "SHOW application_name"],
    'SET (not reported)' => ["SET work_mem = '7MB'", "SHOW work_mem"],
    'RESET' => ["RESET search_path", null],
    'set_config' => ["SELECT set_config('statement_timeout', '12345', false)", "SHOW statement_timeout"],
    'CREATE TEMP TABLE' => ["CREATE TEMP TABLE t031 (a int)", "SELECT count(*) FROM t031"],
    'SELECT INTO TEMP' => ["SELECT 1 AS a INTO TEMP t031b", "SELECT count(*) FROM t031b"],
    'advisory lock' => ["SELECT pg_advisory_lock(31031)", null],
    'LISTEN' => ["LISTEN chan_031", null],
    'PREPARE' => ["PREPARE p031 AS SELECT 31", "EXECUTE p031"],
    'DECLARE WITH HOLD' => ["DECLARE c031 CURSOR WITH HOLD FOR SELECT 1", "FETCH c031"],
];
foreach ($cases as $name => [$sql, $check]) {
    $db = pgpool_db();
    $db->exec($sql);
    $pid = $db->pgsqlGetPid();
    $same = true;
    for ($i = 0; $i < 5; $i++) {
        $same = $same && (int) $db->query("SELECT pg_backend_pid()")->fetchColumn() === $pid;
        if ($check !== null) {
            $db->query($check)->fetchAll();
        }
    }
    printf("%-20s pinned: %s, same backend: %s\n", $name, var_export(pgpool_active() === 1, true), var_export($same, true));
    unset($db);
    $s = pgpool_wait_quiet();
    if ($s['active'] !== 0) {
        echo "  lease still held after the handle was destroyed\n";
    }
}

echo "-- after reset nothing is left on any connection of the pool\n";
$leaks = $direct->query("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND application_name = 'pin_031'")->fetchColumn();
var_dump((int) $leaks);
var_dump((int) $direct->query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 31031")->fetchColumn());
$handles = [];
$seen = [];
for ($i = 0; $i < 4; $i++) {
    $h = pgpool_db();
    $h->beginTransaction(); /* hold four different connections at once */
    $seen[] = [$h->query("SHOW work_mem")->fetchColumn(), $h->query("SHOW statement_timeout")->fetchColumn(),
        (int) $h->query("SELECT count(*) FROM pg_prepared_statements WHERE name = 'p031'")->fetchColumn(),
        (int) $h->query("SELECT count(*) FROM pg_listening_channels()")->fetchColumn()];
    $handles[] = $h;
}
foreach ($handles as $h) {
    $h->rollBack();
}
var_dump(count(array_unique(array_map('json_encode', $seen))), $seen[0]);

echo "-- transaction-scoped state does not pin\n";
$db = pgpool_db();
$db->beginTransaction();
$db->exec("SET LOCAL work_mem = '9MB'");
$db->exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
$db->query("SELECT pg_advisory_xact_lock(31032)");
$db->query("SELECT set_config('x.y', '1', true)")->fetchAll(); /* is_local: ends with the transaction */
$db->commit();
var_dump(pgpool_active());
$db->query("SELECT set_config('x.y', '2', true), set_config('x.z', '3', 'true')")->fetchAll();
var_dump(pgpool_active());
$db->query("SELECT set_config('x.y', '4', true), set_config('x.z', '5', false)")->fetchAll();
var_dump(pgpool_active(), $db->query("SELECT current_setting('x.z')")->fetchColumn());
$db = null;
pgpool_wait_quiet();
$db = pgpool_db();
$db->beginTransaction();
$db->exec("SET LOCAL work_mem = '9MB'");
$db->commit();
var_dump(pgpool_active());

echo "-- SET inside a transaction outlives it: pinned\n";
$db->beginTransaction();
$db->exec("SET application_name = 'pin_031_txn'");
$db->commit();
var_dump(pgpool_active(), $db->query("SHOW application_name")->fetchColumn());
unset($db);
pgpool_wait_quiet();
var_dump((int) $direct->query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pin_031_txn'")->fetchColumn());
?>
--EXPECT--
SET                  pinned: true, same backend: true
SET (not reported)   pinned: true, same backend: true
RESET                pinned: true, same backend: true
set_config           pinned: true, same backend: true
CREATE TEMP TABLE    pinned: true, same backend: true
SELECT INTO TEMP     pinned: true, same backend: true
advisory lock        pinned: true, same backend: true
LISTEN               pinned: true, same backend: true
PREPARE              pinned: true, same backend: true
DECLARE WITH HOLD    pinned: true, same backend: true
-- after reset nothing is left on any connection of the pool
int(0)
int(0)
int(1)
array(4) {
  [0]=>
  string(3) "4MB"
  [1]=>
  string(1) "0"
  [2]=>
  int(0)
  [3]=>
  int(0)
}
-- transaction-scoped state does not pin
int(0)
int(0)
int(1)
string(1) "5"
int(0)
-- SET inside a transaction outlives it: pinned
int(1)
string(11) "pin_031_txn"
int(0)
