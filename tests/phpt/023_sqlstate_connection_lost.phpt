--TEST--
PgPool SQLSTATE 08006 when the backend goes away under a held lease; the connection is discarded and the next statement gets another one
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();
$killer = pgpool_direct();
$discards = pgpool_stats('main')['discards'];

echo "-- inside a transaction\n";
$db->beginTransaction();
$pid = $db->query("SELECT pg_backend_pid()")->fetchColumn();
$killer->query("SELECT pg_terminate_backend($pid)");
usleep(200000);
try {
    $db->query("SELECT 1");
} catch (PDOException $e) {
    pgpool_show_error($e);
}
/* the transaction died with the connection */
var_dump($db->inTransaction(), pgpool_active());
try {
    $db->commit();
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
$new = $db->query("SELECT pg_backend_pid()")->fetchColumn();
var_dump($new !== $pid);

echo "-- on a pinned connection outside a transaction\n";
$db->exec("SET application_name = 'pinned_023'");
$pid = $db->query("SELECT pg_backend_pid()")->fetchColumn();
$killer->query("SELECT pg_terminate_backend($pid)");
usleep(200000);
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_SILENT);
var_dump($db->exec("SELECT 1"), $db->errorCode());
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
/* the session state went with the connection: nothing pinned any more */
var_dump($db->query("SHOW application_name")->fetchColumn() !== 'pinned_023', pgpool_active());

/* the broker learnt of both discarded connections */
for ($i = 0; $i < 50 && pgpool_stats('main')['discards'] < $discards + 2; $i++) {
    usleep(20000);
}
var_dump(pgpool_stats('main')['discards'] - $discards);
?>
--EXPECTF--
-- inside a transaction
PDOException '08006': SQLSTATE[08006]: Connection failure: 7 FATAL:  terminating connection due to administrator command
server closed the connection unexpectedly
	This probably means the server terminated abnormally
	before or while processing the request.
errorInfo: ["08006",7,"FATAL:  terminating connection due to administrator command\nserver closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request."]
bool(false)
int(0)
There is no active transaction
bool(true)
-- on a pinned connection outside a transaction
bool(false)
string(5) "08006"
bool(true)
int(0)
int(2)
