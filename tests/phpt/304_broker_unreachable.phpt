--TEST--
PgPool: an unreachable broker is SQLSTATE 08001 naming the socket and what to check
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--INI--
pgpool.socket={PWD}/304-nobroker.sock
--FILE--
<?php
require __DIR__ . '/config.inc';
$sock = __DIR__ . '/304-nobroker.sock';
@unlink($sock);

function attempt(string $dsn): void
{
    try {
        new PgPool($dsn, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
        echo "connected?\n";
    } catch (PDOException $e) {
        echo pgpool_test_sqlstate($e), ': ', $e->getMessage(), "\n";
    }
}

attempt(PGPOOL_TEST_DSN);
attempt('pgpool:pool=main');

/* Stale socket file, nobody listening. */
fclose(stream_socket_server("unix://$sock"));
attempt(PGPOOL_TEST_DSN);

/* pgpool.broker_timeout only takes 1..600000 ms. */
var_dump(ini_set('pgpool.broker_timeout', '0'), ini_set('pgpool.broker_timeout', '250'),
    ini_get('pgpool.broker_timeout'));
/* pgpool.socket is PHP_INI_SYSTEM: one control connection per process. */
var_dump(ini_set('pgpool.socket', '/tmp/other.sock'));
?>
--CLEAN--
<?php @unlink(__DIR__ . '/304-nobroker.sock'); ?>
--EXPECTF--
08001: %Scannot reach pgpool-broker at %s/304-nobroker.sock (No such file or directory): is pgpool-broker running? systemctl status pgpool-broker; pgpool.socket = %s/304-nobroker.sock
08001: %Scannot reach pgpool-broker at %s/304-nobroker.sock (No such file or directory): is pgpool-broker running? systemctl status pgpool-broker; pgpool.socket = %s/304-nobroker.sock
08001: %Scannot reach pgpool-broker at %s/304-nobroker.sock (Connection refused): is pgpool-broker running? systemctl status pgpool-broker; pgpool.socket = %s/304-nobroker.sock
bool(false)
string(4) "5000"
string(3) "250"
bool(false)
