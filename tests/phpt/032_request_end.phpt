--TEST--
PgPool at request end: an open transaction is rolled back and every lease given back by the extension itself (no broker reclaim), also after a fatal error or an uncaught exception
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$direct = pgpool_direct();
$direct->exec("DROP TABLE IF EXISTS t032; CREATE TABLE t032 (v text)");
$reclaims = pgpool_stats('main')['reclaims'] + pgpool_stats('sess')['reclaims'];

$children = [
    'open transaction' => '$db = pgpool_db(); $db->beginTransaction(); $db->exec("INSERT INTO t032 VALUES (\'open\')"); echo "exit\n";',
    'deferred BEGIN only' => '$db = pgpool_db(); $db->beginTransaction(); echo "exit\n";',
    'fatal error' => '$db = pgpool_db(); $db->beginTransaction(); $db->exec("INSERT INTO t032 VALUES (\'fatal\')"); no_such_function_032();',
    'uncaught exception' => '$db = pgpool_db(); $db->beginTransaction(); $db->exec("INSERT INTO t032 VALUES (\'exc\')"); throw new RuntimeException("boom");',
    'failed transaction' => '$db = pgpool_db(); $db->beginTransaction(); try { $db->exec("SELECT 1/0"); } catch (PDOException $e) {} echo "exit\n";',
    'pinned' => '$db = pgpool_db(); $db->exec("SET application_name = \'end_032\'"); echo "exit\n";',
    'pinned in a global, transaction open' => '$GLOBALS["db"] = pgpool_db(); $db->exec("SET application_name = \'end_032\'"); $db->beginTransaction(); $db->exec("INSERT INTO t032 VALUES (\'glob\')"); exit(3);',
    'session mode' => '$db = pgpool_db([], "pgpool:pool=sess"); $db->exec("SET application_name = \'end_032\'"); $db->beginTransaction(); $db->exec("SELECT 1"); echo "exit\n";',
    'persistent handle' => '$db = pgpool_db([PDO::ATTR_PERSISTENT => true]); $db->beginTransaction(); $db->exec("INSERT INTO t032 VALUES (\'pers\')"); echo "exit\n";',
];
foreach ($children as $name => $code) {
    $out = pgpool_run_child($code);
    $m = pgpool_wait_quiet('main');
    $s = pgpool_wait_quiet('sess');
    printf("%-36s %-12s active main=%d sess=%d\n", $name, strtok(trim(preg_replace('/^PHP /m', '', $out)), ":\n"), $m['active'], $s['active']);
}
var_dump((int) $direct->query("SELECT count(*) FROM t032")->fetchColumn());
var_dump((int) $direct->query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'end_032'")->fetchColumn());
var_dump(pgpool_stats('main')['reclaims'] + pgpool_stats('sess')['reclaims'] - $reclaims);
$direct->exec("DROP TABLE t032");
?>
--EXPECT--
open transaction                     exit         active main=0 sess=0
deferred BEGIN only                  exit         active main=0 sess=0
fatal error                          Fatal error  active main=0 sess=0
uncaught exception                   Fatal error  active main=0 sess=0
failed transaction                   exit         active main=0 sess=0
pinned                               exit         active main=0 sess=0
pinned in a global, transaction open              active main=0 sess=0
session mode                         exit         active main=0 sess=0
persistent handle                    exit         active main=0 sess=0
int(0)
int(0)
int(0)
