--TEST--
PgPool query() and exec(): results, affected rows, several statements in one exec() (the last counts, like PQexec)
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();
var_dump($db->exec("DROP TABLE IF EXISTS t002; CREATE TABLE t002 (id int PRIMARY KEY, name text)"));
var_dump($db->exec("INSERT INTO t002 VALUES (1, 'one'), (2, 'two'), (3, 'three')"));
var_dump($db->exec("UPDATE t002 SET name = upper(name) WHERE id >= 2"));
var_dump($db->exec("SELECT * FROM t002"));               /* rows, not a command: 0 */
var_dump($db->exec("SELECT 1; UPDATE t002 SET name = name")); /* the last statement: 3 */
var_dump($db->exec("UPDATE t002 SET name = name; SELECT 1")); /* 0 */
var_dump($db->exec("CREATE TABLE t002b AS SELECT * FROM t002")); /* SELECT 3 as a command */
var_dump($db->exec("DELETE FROM t002b WHERE id = 1"), $db->exec("DROP TABLE t002b"));

$st = $db->query("SELECT id, name FROM t002 ORDER BY id");
var_dump(get_class($st), $st->columnCount(), $st->rowCount());
foreach ($st as $row) {
    echo $row['id'], ' ', $row[1], "\n";
}
/* fetch modes come from PDO core */
var_dump($db->query("SELECT name FROM t002 ORDER BY id")->fetchAll(PDO::FETCH_COLUMN));
var_dump($db->query("SELECT id, name FROM t002 ORDER BY id")->fetchAll(PDO::FETCH_KEY_PAIR));
$o = $db->query("SELECT id, name FROM t002 WHERE id = 1")->fetch(PDO::FETCH_OBJ);
var_dump($o->id, $o->name);
/* empty result */
$st = $db->query("SELECT * FROM t002 WHERE false");
var_dump($st->fetch(), $st->rowCount(), $st->columnCount());
/* with emulated prepares several statements may go in one query(): the last result is read */
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, true);
var_dump($db->query("SELECT 1 AS a; SELECT 2 AS b")->fetchAll(PDO::FETCH_ASSOC));
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
/* with native prepares that is the server's error */
try {
    $db->query("SELECT 1; SELECT 2");
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
/* an error in the middle of exec(): nothing after it runs */
try {
    $db->exec("UPDATE t002 SET name = 'x' WHERE id = 1; SELECT 1/0; UPDATE t002 SET name = 'y'");
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
var_dump($db->query("SELECT string_agg(name, ',' ORDER BY id) FROM t002")->fetchColumn());
/* a statement executed again after the table changed shape is described again */
$st = $db->prepare("SELECT * FROM t002 WHERE id = 1");
$st->execute();
var_dump($st->fetch(PDO::FETCH_ASSOC));
$db->exec("ALTER TABLE t002 ADD extra text DEFAULT 'e'");
$st->execute();
var_dump($st->columnCount(), $st->fetch(PDO::FETCH_ASSOC), $st->getColumnMeta(2)['name']);
$db->exec("DROP TABLE t002");
?>
--EXPECT--
int(0)
int(3)
int(2)
int(0)
int(3)
int(0)
int(3)
int(1)
int(0)
string(12) "PDOStatement"
int(2)
int(3)
1 one
2 TWO
3 THREE
array(3) {
  [0]=>
  string(3) "one"
  [1]=>
  string(3) "TWO"
  [2]=>
  string(5) "THREE"
}
array(3) {
  [1]=>
  string(3) "one"
  [2]=>
  string(3) "TWO"
  [3]=>
  string(5) "THREE"
}
int(1)
string(3) "one"
bool(false)
int(0)
int(2)
array(1) {
  [0]=>
  array(1) {
    ["b"]=>
    int(2)
  }
}
SQLSTATE[42601]: Syntax error: 7 ERROR:  cannot insert multiple commands into a prepared statement
SQLSTATE[22012]: Division by zero: 7 ERROR:  division by zero
string(13) "one,TWO,THREE"
array(2) {
  ["id"]=>
  int(1)
  ["name"]=>
  string(3) "one"
}
int(3)
array(3) {
  ["id"]=>
  int(1)
  ["name"]=>
  string(3) "one"
  ["extra"]=>
  string(1) "e"
}
string(5) "extra"
