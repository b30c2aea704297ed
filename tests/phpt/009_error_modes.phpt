--TEST--
PgPool errors per error mode: errorCode()/errorInfo() on the handle and on statements, SILENT, WARNING, EXCEPTION
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db([PDO::ATTR_ERRMODE => PDO::ERRMODE_SILENT]);
var_dump($db->errorCode(), $db->errorInfo());

echo "-- silent\n";
var_dump($db->exec("SELECT * FROM nope_009"));
var_dump($db->errorCode(), $db->errorInfo());
var_dump($db->query("SELECT 1/0"));
var_dump($db->errorCode(), $db->errorInfo()[2]);
$st = $db->prepare("SELECT ?::int");
var_dump($st->execute(['x']), $st->errorCode(), $st->errorInfo()[0], $db->errorCode());
/* success clears the handle's error code */
var_dump($db->exec("SELECT 1"), $db->errorCode(), $db->errorInfo());
var_dump($st->execute([1]), $st->errorCode(), $st->fetchColumn());
/* an empty query is an error without SQLSTATE */
var_dump($db->exec(" "), $db->errorInfo());

echo "-- warning\n";
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_WARNING);
var_dump($db->exec("SELECT * FROM nope_009"));
$st = $db->prepare("SELECT 1/?::int");
var_dump($st->execute([0]));

echo "-- exception\n";
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
foreach ([fn() => $db->exec("SELECT * FROM nope_009"), fn() => $db->query("SELECT 1/0"),
    fn() => $db->prepare("SELECT ?::int")->execute(['x']), fn() => $db->exec("SELECT")] as $f) {
    try {
        $f();
        echo "no exception\n";
    } catch (PDOException $e) {
        pgpool_show_error($e);
    }
}
?>
--EXPECTF--
NULL
array(3) {
  [0]=>
  string(0) ""
  [1]=>
  NULL
  [2]=>
  NULL
}
-- silent
bool(false)
string(5) "42P01"
array(3) {
  [0]=>
  string(5) "42P01"
  [1]=>
  int(7)
  [2]=>
  string(97) "ERROR:  relation "nope_009" does not exist
LINE 1: SELECT * FROM nope_009
                      ^"
}
bool(false)
string(5) "22012"
string(24) "ERROR:  division by zero"
bool(false)
string(5) "22P02"
string(5) "22P02"
string(5) "00000"
int(0)
string(5) "00000"
array(3) {
  [0]=>
  string(5) "00000"
  [1]=>
  NULL
  [2]=>
  NULL
}
bool(true)
string(5) "00000"
int(1)
bool(false)
array(3) {
  [0]=>
  string(5) "HY000"
  [1]=>
  NULL
  [2]=>
  string(0) ""
}
-- warning

Warning: PDO::exec(): SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_009" does not exist
LINE 1: SELECT * FROM nope_009
                      ^ in %s on line %d
bool(false)

Warning: PDOStatement::execute(): SQLSTATE[22012]: Division by zero: 7 ERROR:  division by zero in %s on line %d
bool(false)
-- exception
PDOException '42P01': SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_009" does not exist
LINE 1: SELECT * FROM nope_009
                      ^
errorInfo: ["42P01",7,"ERROR:  relation \"nope_009\" does not exist\nLINE 1: SELECT * FROM nope_009\n                      ^"]
PDOException '22012': SQLSTATE[22012]: Division by zero: 7 ERROR:  division by zero
errorInfo: ["22012",7,"ERROR:  division by zero"]
PDOException '22P02': SQLSTATE[22P02]: Invalid text representation: 7 ERROR:  invalid input syntax for type integer: "x"
CONTEXT:  unnamed portal parameter $1 = '...'
errorInfo: ["22P02",7,"ERROR:  invalid input syntax for type integer: \"x\"\nCONTEXT:  unnamed portal parameter $1 = '...'"]
no exception
