--TEST--
PgPool: broker killed with SIGKILL: 08001 while it is down, then the same process re-attaches to the new broker
--SKIPIF--
<?php
require __DIR__ . '/skipif.inc';
require __DIR__ . '/private_broker.inc';
pgpool_private_broker_skip();
?>
--INI--
pgpool.socket={PWD}/308-broker.sock
pgpool.broker_timeout=2000
--FILE--
<?php
require __DIR__ . '/config.inc';
require __DIR__ . '/private_broker.inc';
require __DIR__ . '/phpinfo_section.inc';

function epoch(): string
{
    foreach (pgpool_phpinfo_section() as $l) {
        if (strpos($l, 'Shared memory epoch') === 0) {
            return $l;
        }
    }
    return '?';
}

/* Under valgrind the private broker needs more than 2 s to answer its first ATTACH. */
if (getenv('PGPOOL_TEST_SANITIZER') === 'valgrind') {
    ini_set('pgpool.broker_timeout', '15000');
}
$sock = __DIR__ . '/308-broker.sock';
$config = pgpool_private_broker_config($sock);
$broker = pgpool_private_broker_start($config, $sock);

$db = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
echo $db->query('SELECT 1')->fetchColumn(), "\n";
$epoch1 = epoch();

/* A transaction in flight when the broker dies completes on its socket. */
$db->beginTransaction();
echo $db->query('SELECT 2')->fetchColumn(), "\n";
pgpool_private_broker_stop($broker, 9);
echo $db->query('SELECT 3')->fetchColumn(), "\n";
$db->commit();

/* While it is down (heartbeat stale after 1 s): 08001, for the old handle and a new one. */
usleep(1200000);
foreach ([fn() => $db->query('SELECT 4'),
          fn() => new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD)] as $f) {
    try {
        $f();
        echo "no error?\n";
    } catch (PDOException $e) {
        echo pgpool_test_sqlstate($e), ": ", strpos($e->getMessage(), 'is pgpool-broker running?') !== false ? 'says what to check' : $e->getMessage(), "\n";
    }
}
var_dump(@pgpool_stats());

/* Back up: the same process and the same handle work again, on the new broker's segment. */
$broker = pgpool_private_broker_start($config, $sock);
echo $db->query('SELECT 5')->fetchColumn(), "\n";
$db->beginTransaction();
echo $db->query('SELECT 6')->fetchColumn(), "\n";
$db->commit();
echo "new epoch: ", var_export(epoch() !== $epoch1, true), "\n";
$s = pgpool_stats('main');
echo "fd transfers on the new broker: ", $s['fd_transfers'] >= 1 ? '>= 1' : 0, "\n";
echo "stats reachable: ", is_array($s) ? 'yes' : 'no', "\n";

pgpool_private_broker_stop($broker, 15);
?>
--CLEAN--
<?php
require __DIR__ . '/private_broker.inc';
pgpool_private_broker_clean(__DIR__ . '/308-broker.sock');
?>
--EXPECT--
1
2
3
08001: says what to check
08001: says what to check
bool(false)
5
6
new epoch: true
fd transfers on the new broker: >= 1
stats reachable: yes
