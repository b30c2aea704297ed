--TEST--
PgPool shared prepared statements after DDL: DDL through PgPool moves the pool's schema epoch (statements parsed before are not reused); DDL from elsewhere is cured by one retry with Parse outside a transaction; inside one the error stands, as with pdo_pgsql
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$direct = pgpool_direct();
$db = pgpool_db();
$misses = fn() => pgpool_stats('main')['prepared_misses'];

$db->exec("DROP TABLE IF EXISTS t036; CREATE TABLE t036 (a int)");
$ins = $db->prepare("INSERT INTO t036 VALUES (?)");
$sel = $db->prepare("SELECT a, pg_typeof(a)::text FROM t036 WHERE a = ?");
$ins->execute([1]);
$m = $misses();
$ins->execute([2]);
var_dump($misses() - $m); /* recorded: no Parse */

echo "-- DDL through PgPool\n";
$db->exec("DROP TABLE t036; CREATE TABLE t036 (a text)");
$m = $misses();
$ins->execute(['x']); /* parsed again against the new table: $1 is text now */
$sel->execute(['x']);
var_dump($misses() - $m, $sel->fetch(PDO::FETCH_NUM));

echo "-- DDL from elsewhere\n";
$ins->execute(['y']);
$direct->exec("DROP TABLE t036; CREATE TABLE t036 (a int)");
$ins->execute(['7']); /* the recorded statement still says $1 is text: 42804, retried with Parse */
$sel->execute(['7']);
var_dump($sel->fetch(PDO::FETCH_NUM));
$direct->exec("ALTER TABLE t036 ALTER a TYPE bigint");
$sel->execute(['7']); /* cached plan must not change result type: retried */
var_dump($sel->fetch(PDO::FETCH_NUM));

echo "-- inside a transaction\n";
$direct->exec("DROP TABLE t036; CREATE TABLE t036 (a text)");
$db->beginTransaction();
$db->exec("SELECT 1");
try {
    /* parsed for bigint before: the transaction sees pdo_pgsql's error (22P02), unless the
     * driver parses it again first because the pool's catalog answer for this schema epoch
     * is not known yet (prepare before use when in doubt): both are right */
    $ins->execute(['z']);
    echo "22P02 or parsed again\n";
} catch (PDOException $e) {
    echo $e->errorInfo[0] === '22P02' ? "22P02 or parsed again" : $e->errorInfo[0], "\n";
}
$db->rollBack();
$ins->execute(['z']);
var_dump((int) $direct->query("SELECT count(*) FROM t036 WHERE a = 'z'")->fetchColumn());
var_dump(pgpool_active());
$direct->exec("DROP TABLE t036");
?>
--EXPECT--
int(0)
-- DDL through PgPool
int(2)
array(2) {
  [0]=>
  string(1) "x"
  [1]=>
  string(4) "text"
}
-- DDL from elsewhere
array(2) {
  [0]=>
  int(7)
  [1]=>
  string(7) "integer"
}
array(2) {
  [0]=>
  int(7)
  [1]=>
  string(6) "bigint"
}
-- inside a transaction
22P02 or parsed again
int(1)
int(0)
