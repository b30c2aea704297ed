--TEST--
PgPool SQLSTATE 28P01 (wrong password) and 08001 (unknown pool) from the constructor
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
foreach ([
    [PGPOOL_TEST_DSN, PGPOOL_TEST_USER, 'wrong'],
    ['pgpool:pool=main', PGPOOL_TEST_USER, 'wrong'],
    [PGPOOL_TEST_DSN . ';password=wrong', PGPOOL_TEST_USER, null],
    ['pgpool:pool=no_such_pool_020', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD],
    ['pgsql:host=127.0.0.1;port=1;dbname=nowhere', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD],
] as [$dsn, $user, $password]) {
    try {
        new PgPool($dsn, $user, $password);
        echo "connected?\n";
    } catch (PDOException $e) {
        echo $e->getCode(), ' | ', $e->errorInfo[0], ' | ', $e->errorInfo[1], ' | ',
            str_starts_with($e->getMessage(), "SQLSTATE[{$e->errorInfo[0]}] [7] " . $e->errorInfo[2]) ? 'message ok' : $e->getMessage(), "\n";
        echo "  ", $e->errorInfo[2], "\n";
    }
}
/* plain PDO with the pgpool: prefix behaves the same */
try {
    new PDO('pgpool:pool=main', PGPOOL_TEST_USER, 'wrong');
} catch (PDOException $e) {
    echo $e->getCode(), "\n";
}
/* the right password still works afterwards */
var_dump((int) pgpool_db()->query("SELECT 1")->fetchColumn());
?>
--EXPECTF--
28P01 | 28P01 | 7 | message ok
  %s
28P01 | 28P01 | 7 | message ok
  %s
28P01 | 28P01 | 7 | message ok
  %s
08001 | 08001 | 7 | message ok
  %Sno_such_pool_020%S
08001 | 08001 | 7 | message ok
  %S
28P01
int(1)
