--TEST--
PgPool prepare()/execute(): ?, :name (repeated), $1 placeholders, bindValue/bindParam with PDO::PARAM_* types, native and emulated
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();

foreach ([false, true] as $emulate) {
    echo "emulate: ", var_export($emulate, true), "\n";
    $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, $emulate);

    $st = $db->prepare("SELECT ?::int + 1 AS a, ?::text AS b");
    $st->execute([41, "x'y"]);
    var_dump($st->fetch(PDO::FETCH_ASSOC));

    $st = $db->prepare("SELECT :v::int AS a, :v::int * 2 AS b, :w::text AS c");
    $st->execute(['v' => 5, ':w' => 'named']);
    var_dump($st->fetch(PDO::FETCH_NUM));

    /* typed binds: NULL, bool, int, string; bindParam reads the variable at execute() */
    $st = $db->prepare("SELECT :n::text IS NULL AS n, :b::bool AS b, pg_typeof(:i::int)::text AS i, :s::text AS s");
    $st->bindValue(':n', 'ignored', PDO::PARAM_NULL);
    $st->bindValue(':b', false, PDO::PARAM_BOOL);
    $st->bindValue(':i', '12', PDO::PARAM_INT);
    $s = 'first';
    $st->bindParam(':s', $s);
    $st->execute();
    $s = 'second';
    $st->execute();
    var_dump($st->fetch(PDO::FETCH_ASSOC));
    var_dump($s);

    /* re-execution with other values */
    $st = $db->prepare("SELECT ?::text || '-' || ?::text");
    foreach ([['a', 'b'], ['c', 'd'], [1, 2.5]] as $args) {
        $st->execute($args);
        echo $st->fetchColumn(), "\n";
    }
    /* as with pdo_pgsql, native prepares turn the bound variable into a string */
    $n = 10;
    $st = $db->prepare("SELECT ?::int");
    $st->bindParam(1, $n, PDO::PARAM_INT);
    $st->execute();
    var_dump($st->fetchColumn(), $n);
}

/* $n placeholders (native prepares): bound by position */
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
$st = $db->prepare('SELECT $1::int + 1 AS a, $2::text AS b, $1::int AS c');
$st->execute([5, 'x']);
var_dump($st->fetch(PDO::FETCH_ASSOC));

/* parameter errors */
foreach ([
    fn() => $db->prepare("SELECT :a")->execute(['b' => 1]),
    fn() => $db->prepare("SELECT ?, ?")->execute([1]),
    fn() => $db->prepare("SELECT ?::int")->execute(['x']),
] as $f) {
    try {
        $f();
    } catch (PDOException $e) {
        echo $e->getMessage(), "\n";
    }
}
?>
--EXPECTF--
emulate: false
array(2) {
  ["a"]=>
  int(42)
  ["b"]=>
  string(3) "x'y"
}
array(3) {
  [0]=>
  int(5)
  [1]=>
  int(10)
  [2]=>
  string(5) "named"
}
array(4) {
  ["n"]=>
  bool(true)
  ["b"]=>
  bool(false)
  ["i"]=>
  string(7) "integer"
  ["s"]=>
  string(6) "second"
}
string(6) "second"
a-b
c-d
1-2.5
int(10)
string(2) "10"
emulate: true
array(2) {
  ["a"]=>
  int(42)
  ["b"]=>
  string(3) "x'y"
}
array(3) {
  [0]=>
  int(5)
  [1]=>
  int(10)
  [2]=>
  string(5) "named"
}
array(4) {
  ["n"]=>
  bool(true)
  ["b"]=>
  bool(false)
  ["i"]=>
  string(7) "integer"
  ["s"]=>
  string(6) "second"
}
string(6) "second"
a-b
c-d
1-2.5
int(10)
int(10)
array(3) {
  ["a"]=>
  int(6)
  ["b"]=>
  string(1) "x"
  ["c"]=>
  int(5)
}
SQLSTATE[HY093]: Invalid parameter number: :b
SQLSTATE[08P01]: <<Unknown error>>: 7 ERROR:  bind message supplies 1 parameters, but prepared statement "pgpool_%x" requires 2
SQLSTATE[22P02]: Invalid text representation: 7 ERROR:  invalid input syntax for type integer: "x"
CONTEXT:  unnamed portal parameter $1 = '...'
