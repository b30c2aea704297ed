--TEST--
pgpool reset: a connection handed back for a reset (session state) keeps the shared prepared statements, so the next lease skips Parse; the session state and the application's own statements are gone
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

/* Pool tiny has one connection: every lease gets the same backend. */
function tiny(): PgPool
{
    return new PgPool('pgpool:pool=tiny', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD,
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
}
function counters(): array
{
    $s = pgpool_stats('tiny');
    return [$s['prepared_hits'], $s['prepared_misses'], $s['idle']];
}

$db = tiny();
$st = $db->prepare('SELECT 310 + ?');
$st->execute([1]);
$st->execute([2]);
echo "executed: ", $st->fetchColumn(), "\n";
$pid = $db->pgsqlGetPid();
$db->exec("SET work_mem = '9MB'");          /* session state: the lease is pinned, then reset */
$db->exec("PREPARE app_310 AS SELECT 1");   /* an application's own statement: must go */
unset($st, $db);

/* The broker resets the connection, then it is idle again. */
for ($i = 0; $i < 100 && counters()[2] !== 1; $i++) {
    usleep(20000);
}
$db = tiny();
echo "work_mem after the reset: ", $db->query('SHOW work_mem')->fetchColumn() !== '9MB' ? 'default' : '9MB', "\n";
echo "same backend: ", var_export($db->query('SELECT pg_backend_pid()')->fetchColumn() == $pid, true), "\n";
$st = $db->prepare('SELECT 310 + ?');
[$hits, $misses] = counters();
$st->execute([3]);
echo "executed: ", $st->fetchColumn(), "\n";
[$hits2, $misses2] = counters();
echo "Parse skipped after the reset: ", var_export($hits2 === $hits + 1 && $misses2 === $misses, true), "\n";
$row = $db->query("SELECT count(*) FILTER (WHERE left(name, 7) <> 'pgpool_'),
    bool_or(left(name, 7) = 'pgpool_' AND statement = 'SELECT 310 + \$1') FROM pg_prepared_statements")->fetch(PDO::FETCH_NUM);
echo "other prepared statements left: $row[0]; the shared one kept: ", var_export($row[1], true), "\n";
?>
--EXPECT--
executed: 312
work_mem after the reset: default
same backend: true
executed: 313
Parse skipped after the reset: true
other prepared statements left: 0; the shared one kept: true
