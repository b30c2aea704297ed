--TEST--
pgpool_stats(): every configured pool keyed by name, with its limits, gauges and counters
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

$all = pgpool_stats();
$names = array_keys($all);
sort($names);
echo implode(',', $names), "\n";

$keys = ['name', 'mode', 'status', 'down_since', 'last_error', 'total', 'idle', 'active', 'connecting',
    'waiting', 'max', 'min', 'acquires', 'acquire_waits', 'acquire_wait_us', 'acquire_timeouts',
    'fd_transfers', 'errors', 'queries', 'query_us', 'lease_us', 'prepared_hits',
    'prepared_misses', 'connects', 'connect_failures', 'disconnects', 'reclaims', 'discards'];
foreach ($all as $name => $pool) {
    if ($pool['name'] !== $name) {
        echo "$name: name is {$pool['name']}\n";
    }
    if (array_keys($pool) !== $keys) {
        echo "$name: keys differ: ", implode(',', array_keys($pool)), "\n";
    }
    foreach ($keys as $k) {
        if (!in_array($k, ['name', 'mode', 'status', 'down_since', 'last_error'], true) && !is_int($pool[$k])) {
            echo "$name.$k is not an int\n";
        }
    }
    if ($pool['idle'] + $pool['active'] > $pool['total'] || $pool['total'] > $pool['max']) {
        echo "$name: inconsistent gauges: ", json_encode($pool), "\n";
    }
}
foreach (['main', 'tiny', 'sess'] as $n) {
    $p = $all[$n];
    printf("%s: mode=%s status=%s min=%d max=%d down_since=%s\n", $n, $p['mode'], $p['status'],
        $p['min'], $p['max'], var_export($p['down_since'], true));
}

/* One pool by name is the same view. */
$main = pgpool_stats('main');
var_dump($main['name'], $main['max'] === $all['main']['max']);
var_dump(array_keys(pgpool_stats(null)) == array_keys($all));
?>
--EXPECT--
main,sess,tiny
main: mode=transaction status=open min=2 max=4 down_since=NULL
tiny: mode=transaction status=open min=0 max=1 down_since=NULL
sess: mode=session status=open min=0 max=2 down_since=NULL
string(4) "main"
bool(true)
bool(true)
