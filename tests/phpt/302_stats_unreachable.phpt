--TEST--
pgpool_stats(): false and a warning saying what to check when the broker cannot be reached
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--INI--
pgpool.socket={PWD}/302-nobroker.sock
--FILE--
<?php
$sock = __DIR__ . '/302-nobroker.sock';
@unlink($sock);

/* No socket file at all. */
var_dump(pgpool_stats());

/* A socket file nobody listens on (a broker killed with SIGKILL leaves one). */
$srv = stream_socket_server("unix://$sock");
fclose($srv);
var_dump(file_exists($sock), pgpool_stats('main'));
?>
--CLEAN--
<?php @unlink(__DIR__ . '/302-nobroker.sock'); ?>
--EXPECTF--
Warning: pgpool_stats(): cannot reach pgpool-broker at %s/302-nobroker.sock (No such file or directory): is pgpool-broker running? systemctl status pgpool-broker; pgpool.socket = %s/302-nobroker.sock in %s on line %d
bool(false)

Warning: pgpool_stats(): cannot reach pgpool-broker at %s/302-nobroker.sock (Connection refused): is pgpool-broker running? systemctl status pgpool-broker; pgpool.socket = %s/302-nobroker.sock in %s on line %d
bool(true)
bool(false)
