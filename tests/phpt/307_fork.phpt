--TEST--
PgPool after fork(): the child attaches on its own; the parent's connection and leases are untouched
--SKIPIF--
<?php
require __DIR__ . '/skipif.inc';
if (!function_exists('pcntl_fork')) die('skip pcntl not available');
?>
--FILE--
<?php
require __DIR__ . '/config.inc';

$db = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
echo $db->query('SELECT 1')->fetchColumn(), "\n";

/* 1. Fork with no lease held: the child uses both the inherited handle (re-attached with the
 * kept credentials) and a new one; it exits, and the parent carries on. */
$pid = pcntl_fork();
if ($pid === 0) {
    $ok = (int) $db->query('SELECT 2')->fetchColumn() === 2;
    $db2 = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
    $ok = $ok && (int) $db2->query('SELECT 3')->fetchColumn() === 3;
    $db2->beginTransaction();
    $ok = $ok && (int) $db2->query('SELECT 4')->fetchColumn() === 4;
    $db2->commit();
    exit($ok ? 0 : 1);
}
pcntl_waitpid($pid, $status);
echo "child 1 exit: ", pcntl_wexitstatus($status), "\n";
echo $db->query('SELECT 5')->fetchColumn(), "\n";

/* 2. Fork while the parent holds a lease (open transaction): the child must not use the parent's
 * connection: its copy of the handle fails, the parent's transaction goes on undisturbed. */
$db->beginTransaction();
$backend = $db->query('SELECT pg_backend_pid()')->fetchColumn();
$pid = pcntl_fork();
if ($pid === 0) {
    try {
        $db->query('SELECT 6');
        exit(2);
    } catch (PDOException $e) {
        exit(0);
    }
}
pcntl_waitpid($pid, $status);
echo "child 2 exit: ", pcntl_wexitstatus($status), "\n";
usleep(200000); /* a reclaim by the broker would happen now if the child's exit confused it */
echo "same backend: ", var_export($db->query('SELECT pg_backend_pid()')->fetchColumn() == $backend, true), "\n";
$db->commit();
echo $db->query('SELECT 7')->fetchColumn(), "\n";

/* 3. A child that just exits while the parent's transaction is open: the transaction is the
 * parent's, so the child's request end neither rolls it back nor warns that it did. */
$db->beginTransaction();
$db->query('SELECT 8');
$pid = pcntl_fork();
if ($pid === 0) {
    exit(0);
}
pcntl_waitpid($pid, $status);
echo "child 3 exit: ", pcntl_wexitstatus($status), "\n";
echo "parent still in transaction: ", var_export($db->inTransaction(), true), "\n";
$db->commit();
$s = pgpool_stats('main');
echo "active after: ", $s["active"], "\n";
?>
--EXPECT--
1
child 1 exit: 0
5
child 2 exit: 0
same backend: true
7
child 3 exit: 0
parent still in transaction: true
active after: 0
