--TEST--
PgPool query_timeout: the broker cancels the statement, the connection is drained and stays in the pool (57014); inside a transaction the transaction fails but the lease stays until rollBack(); slow statements reach the broker's log
--SKIPIF--
<?php
require __DIR__ . '/skipif.inc';
require __DIR__ . '/private_broker.inc';
pgpool_private_broker_skip();
?>
--INI--
pgpool.socket={PWD}/035-broker.sock
--FILE--
<?php
require __DIR__ . '/driver.inc';
require __DIR__ . '/private_broker.inc';
$sock = __DIR__ . '/035-broker.sock';
$config = pgpool_private_broker_config($sock);
file_put_contents($config, preg_replace('/^\[pool main\]\s*$/m', "[pool main]\nquery_timeout = 300ms\nslow_query_threshold = 100ms", file_get_contents($config), 1));
$broker = pgpool_private_broker_start($config, $sock);

$db = pgpool_db();
$pid = $db->pgsqlGetPid();
$t = microtime(true);
try {
    $db->query("SELECT pg_sleep(5)");
} catch (PDOException $e) {
    $took = microtime(true) - $t;
    pgpool_show_error($e);
    var_dump($took > 0.25 && $took < 2.0);
}
/* the connection was drained, not discarded */
var_dump(pgpool_active(), pgpool_stats('main')['discards'], (int) $db->query("SELECT 1")->fetchColumn());

/* inside a transaction */
$db->beginTransaction();
$db->exec("SELECT 1");
try {
    $db->exec("SELECT pg_sleep(5)");
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
var_dump($db->inTransaction(), pgpool_active());
try {
    $db->query("SELECT 1");
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
$db->rollBack();
var_dump(pgpool_active(), (int) $db->query("SELECT 2")->fetchColumn());

/* fast statements are not affected */
for ($i = 0; $i < 20; $i++) {
    $db->query("SELECT pg_sleep(0.001)")->fetchAll();
}
echo "ok\n";

/* slow_query_threshold: the statement text goes to the broker's log */
$db->query("SELECT pg_sleep(0.15), 'slow_035'")->fetchAll();
for ($i = 0; $i < 50 && !str_contains((string) @file_get_contents("$config.log"), "slow_035"); $i++) {
    usleep(20000);
}
preg_match('/slow query: (\d+) ms, worker pid=(\d+): (.*slow_035.*)/', file_get_contents("$config.log"), $m);
var_dump($m[1] >= 150 && $m[1] < 300, (int) $m[2] === getmypid(), $m[3]);
pgpool_private_broker_stop($broker, 15);
?>
--CLEAN--
<?php
require __DIR__ . '/private_broker.inc';
pgpool_private_broker_clean(__DIR__ . '/035-broker.sock');
?>
--EXPECT--
PDOException '57014': SQLSTATE[57014]: Query canceled: 7 ERROR:  canceling statement due to the pool's query_timeout (300 ms)
errorInfo: ["57014",7,"ERROR:  canceling statement due to the pool's query_timeout (300 ms)"]
bool(true)
int(0)
int(0)
int(1)
57014
bool(true)
int(1)
25P02
int(0)
int(2)
ok
bool(true)
bool(true)
string(33) "SELECT pg_sleep(0.15), 'slow_035'"
