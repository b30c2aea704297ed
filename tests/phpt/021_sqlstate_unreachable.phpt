--TEST--
PgPool SQLSTATE 08001 when the broker's socket is unreachable (pgpool.socket in php.ini)
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--INI--
pgpool.socket=/nonexistent/pgpool-021.sock
--FILE--
<?php
require __DIR__ . '/driver.inc';
foreach (['PgPool' => PGPOOL_TEST_DSN, 'PDO' => 'pgpool:pool=main'] as $class => $dsn) {
    try {
        new $class($dsn, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
        echo "connected?\n";
    } catch (PDOException $e) {
        echo $class, ': ', $e->getCode(), ' ', json_encode($e->errorInfo[0]), ' ', $e->errorInfo[1], "\n";
        echo $e->getMessage(), "\n";
    }
}
?>
--EXPECTF--
PgPool: 08001 "08001" 7
SQLSTATE[08001] [7] %S/nonexistent/pgpool-021.sock%S
PDO: 08001 "08001" 7
SQLSTATE[08001] [7] %S/nonexistent/pgpool-021.sock%S
