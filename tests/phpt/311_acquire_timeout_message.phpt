--TEST--
pgpool acquire_timeout: the 53300 error names the pool, its size and how long the lease waited
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

function tiny(): PgPool
{
    return new PgPool('pgpool:pool=tiny', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD,
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
}
$holder = tiny();
$holder->beginTransaction();
$holder->query('SELECT 1');
$waiter = tiny();
$t = microtime(true);
try {
    $waiter->query('SELECT 1');
    echo "no error\n";
} catch (PDOException $e) {
    $ms = (microtime(true) - $t) * 1000;
    echo pgpool_test_sqlstate($e), "\n";
    if (!preg_match('/pool "tiny" exhausted: all (\d+) connections busy, waited (\d+) ms \(acquire_timeout\)/',
        $e->getMessage(), $m)) {
        echo "message: ", $e->getMessage(), "\n";
    } else {
        echo "size: $m[1]\n";
        echo "reported wait matches: ", var_export($m[2] >= 450 && $m[2] <= $ms + 1, true), "\n";
    }
}
$holder->commit();
echo $waiter->query('SELECT 2')->fetchColumn(), "\n";
?>
--EXPECT--
53300
size: 1
reported wait matches: true
2
