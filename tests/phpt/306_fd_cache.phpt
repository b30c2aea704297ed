--TEST--
PgPool: a process receives each backend's fd once; later leases of it are a CAS with no fd transfer
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

$s0 = pgpool_stats('main');
$max = $s0['max'];

/* Hold every connection of the pool at once (one open transaction per handle), so this process
 * has received the fd of every slot. */
$dbs = [];
for ($i = 0; $i < $max; $i++) {
    $dbs[$i] = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
    $dbs[$i]->beginTransaction();
    $pids[$i] = (int) $dbs[$i]->query('SELECT pg_backend_pid()')->fetchColumn();
}
$s1 = pgpool_stats('main');
echo "distinct backends: ", count(array_unique($pids)), " of $max\n";
echo "active while held: ", $s1['active'] >= $max ? 'all' : $s1['active'], "\n";
foreach ($dbs as $db) {
    $db->commit();
}
$transfers = $s1['fd_transfers'] - $s0['fd_transfers'];
echo "fds received: ", $transfers <= $max ? "at most one per backend" : $transfers, "\n";

/* From now on no lease needs an fd from the broker. */
$s2 = pgpool_stats('main');
$seen = [];
for ($i = 0; $i < 200; $i++) {
    $db = $dbs[$i % $max];
    $seen[(int) $db->query('SELECT pg_backend_pid()')->fetchColumn()] = true;
}
$s3 = pgpool_stats('main');
echo "fd transfers during 200 statements: ", $s3['fd_transfers'] - $s2['fd_transfers'], "\n";
echo "acquires during 200 statements: ", $s3['acquires'] - $s2['acquires'] >= 200 ? '>= 200' : $s3['acquires'] - $s2['acquires'], "\n";
echo "backends used: ", count(array_diff_key($seen, array_flip($pids))) === 0 ? 'known ones' : 'new ones', "\n";
echo "active after: ", $s3['active'], "\n";
?>
--EXPECT--
distinct backends: 4 of 4
active while held: all
fds received: at most one per backend
fd transfers during 200 statements: 0
acquires during 200 statements: >= 200
backends used: known ones
active after: 0
