--TEST--
pgpool_stats(): an unknown pool name is a ValueError naming the configured pools
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

try {
    pgpool_stats('no_such_pool');
} catch (ValueError $e) {
    echo $e->getMessage(), "\n";
    foreach (['main', 'tiny', 'sess'] as $n) {
        echo $n, ': ', strpos($e->getMessage(), $n) !== false ? 'named' : 'missing', "\n";
    }
}
try {
    pgpool_stats(1, 2);
} catch (ArgumentCountError $e) {
    echo $e->getMessage(), "\n";
}
?>
--EXPECTF--
pgpool_stats(): Argument #1 ($pool) must be the name of a configured pool (%s), "no_such_pool" given
main: named
tiny: named
sess: named
pgpool_stats() expects at most 1 argument, 2 given
