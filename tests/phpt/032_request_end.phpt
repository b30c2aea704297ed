--TEST--
PgPool at request end: an open transaction is rolled back and every lease given back by the extension itself (no broker reclaim), also after a fatal error or an uncaught exception; one warning names where a transaction left open began
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
    /* One warning, at the line where the transaction began (the child's code is on line 3). */
    $warn = preg_match_all('/Warning: PgPool: (.*) in \S+ on line (\d+)/', $out, $w) ? $w[1][0] . ' @' . $w[2][0] : '-';
    printf("%-36s %-12s active main=%d sess=%d  warnings=%d %s\n", $name, strtok(trim(preg_replace('/^(PHP |\s*Warning: PgPool[^\n]*)/m', '', $out)), ":\n"), $m['active'], $s['active'], count($w[0] ?? []), $warn);
}
var_dump((int) $direct->query("SELECT count(*) FROM t032")->fetchColumn());
var_dump((int) $direct->query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'end_032'")->fetchColumn());
var_dump(pgpool_stats('main')['reclaims'] + pgpool_stats('sess')['reclaims'] - $reclaims);
$direct->exec("DROP TABLE t032");
?>
--EXPECT--
open transaction                     exit         active main=0 sess=0  warnings=1 a transaction begun here was still open at the end of the request; it was rolled back and the connection went back to the pool @3
deferred BEGIN only                  exit         active main=0 sess=0  warnings=0 -
fatal error                          Fatal error  active main=0 sess=0  warnings=1 a transaction begun here was still open at the end of the request; it was rolled back and the connection went back to the pool @3
uncaught exception                   Fatal error  active main=0 sess=0  warnings=1 a transaction begun here was still open at the end of the request; it was rolled back and the connection went back to the pool @3
failed transaction                   exit         active main=0 sess=0  warnings=1 a transaction begun here was still open at the end of the request; it was rolled back and the connection went back to the pool @3
pinned                               exit         active main=0 sess=0  warnings=0 -
pinned in a global, transaction open              active main=0 sess=0  warnings=1 a transaction begun here was still open at the end of the request; it was rolled back and the connection went back to the pool @3
session mode                         exit         active main=0 sess=0  warnings=1 a transaction begun here was still open at the end of the request; it was rolled back and the connection went back to the pool @3
persistent handle                    exit         active main=0 sess=0  warnings=1 a transaction begun here was still open at the end of the request; it was rolled back and the connection went back to the pool @3
int(0)
int(0)
int(0)
