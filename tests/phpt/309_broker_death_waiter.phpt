--TEST--
PgPool: a worker waiting for a connection when the broker dies gets 08001 at once, not 53300 after acquire_timeout
--SKIPIF--
<?php
require __DIR__ . '/skipif.inc';
require __DIR__ . '/private_broker.inc';
pgpool_private_broker_skip();
if (!function_exists('pcntl_fork')) die('skip pcntl not available');
?>
--INI--
pgpool.socket={PWD}/309-broker.sock
pgpool.broker_timeout=2000
--FILE--
<?php
require __DIR__ . '/config.inc';
require __DIR__ . '/private_broker.inc';

/* Under valgrind the private broker needs more than 2 s to answer its first ATTACH. */
if (getenv('PGPOOL_TEST_SANITIZER') === 'valgrind') {
    ini_set('pgpool.broker_timeout', '15000');
}
$sock = __DIR__ . '/309-broker.sock';
$config = pgpool_private_broker_config($sock);
$broker = pgpool_private_broker_start($config, $sock);

/* Hold every connection of `main` (acquire_timeout 5 s). */
$max = pgpool_stats('main')['max'];
$held = [];
for ($i = 0; $i < $max; $i++) {
    $held[$i] = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
    $held[$i]->beginTransaction();
    $held[$i]->query('SELECT 1');
}

$pid = pcntl_fork();
if ($pid === 0) {
    $t = microtime(true);
    try {
        (new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD))->query('SELECT 1');
        $code = 1;
    } catch (PDOException $e) {
        $secs = microtime(true) - $t;
        $code = pgpool_test_sqlstate($e) === '08001' ? ($secs < 3.0 ? 0 : 3) : 2;
    }
    /* Leave without PHP's request shutdown: the handles copied from the parent hold the
     * parent's transactions, not ours. */
    pcntl_exec('/bin/sh', ['-c', "exit $code"]);
}
usleep(500000); /* the child is queued now */
pgpool_private_broker_stop($broker, 9);
pcntl_waitpid($pid, $status);
echo "waiter: ", [0 => '08001 within 3 s', 1 => 'got a connection', 2 => 'other SQLSTATE',
    3 => '08001 but too late'][pcntl_wexitstatus($status)] ?? pcntl_wexitstatus($status), "\n";

/* The transactions in flight finish on their sockets. */
foreach ($held as $db) {
    var_dump($db->commit());
}
?>
--CLEAN--
<?php
require __DIR__ . '/private_broker.inc';
pgpool_private_broker_clean(__DIR__ . '/309-broker.sock');
?>
--EXPECT--
waiter: 08001 within 3 s
bool(true)
bool(true)
bool(true)
bool(true)
