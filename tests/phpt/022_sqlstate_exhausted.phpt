--TEST--
PgPool SQLSTATE 53300 when no connection frees up within acquire_timeout (pool `tiny`: one connection, 500 ms)
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$holder = pgpool_db([], 'pgpool:pool=tiny');
$waiter = pgpool_db([], 'pgpool:pool=tiny');

/* the holder keeps tiny's only connection in a transaction */
$holder->beginTransaction();
$holder->exec("SELECT 1");
var_dump(pgpool_active('tiny'));

$t = microtime(true);
try {
    $waiter->query("SELECT 1");
    echo "got a connection?\n";
} catch (PDOException $e) {
    $waited = microtime(true) - $t;
    echo $e->getCode(), ' ', $e->errorInfo[1], "\n";
    var_dump($waited >= 0.45 && $waited < 3.0);
    echo $e->getMessage(), "\n";
}
/* in silent mode the same error is in errorInfo */
$waiter->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_SILENT);
var_dump($waiter->exec("SELECT 1"), $waiter->errorCode());
/* a failed lease does not disturb the holder, and once it commits the waiter gets through */
var_dump((int) $holder->query("SELECT 2")->fetchColumn());
$holder->commit();
var_dump((int) $waiter->query("SELECT 3")->fetchColumn(), pgpool_active('tiny'));
var_dump(pgpool_stats('tiny')['acquire_timeouts'] >= 2);
?>
--EXPECTF--
int(1)
53300 7
bool(true)
SQLSTATE[53300]: Too many connections: 7 %s
bool(false)
string(5) "53300"
int(2)
int(3)
int(0)
bool(true)
