--TEST--
PgPool: connections that die while idle in the pool (terminated backends) are replaced by the broker; statements get live ones instead of failing
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();
$direct = pgpool_direct();
$db->query("SELECT 1");
pgpool_wait_quiet();
$discards = pgpool_stats('main')['discards'];

/* terminate every idle backend of the pool (the broker's are the only app@app ones besides
 * this direct connection) */
$killed = $direct->query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = 'app' AND usename = 'app' AND pid <> pg_backend_pid() AND state = 'idle'")->fetchColumn();
var_dump($killed >= 1);
/* the broker watches idle connections: give it a moment to notice */
usleep(100000);
$errors = 0;
for ($i = 0; $i < 10; $i++) {
    try {
        $db->query("SELECT $i")->fetchColumn();
    } catch (PDOException $e) {
        $errors++;
        echo $e->getMessage(), "\n";
    }
}
var_dump($errors);
for ($i = 0; $i < 50 && pgpool_stats('main')['discards'] - $discards < $killed; $i++) {
    usleep(20000);
}
var_dump(pgpool_stats('main')['discards'] - $discards >= 1, pgpool_active());
?>
--EXPECT--
bool(true)
int(0)
bool(true)
int(0)
