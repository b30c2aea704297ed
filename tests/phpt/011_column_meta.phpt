--TEST--
PgPool getColumnMeta(), columnCount(), rowCount(): same as pdo_pgsql (native_type, pgsql:oid, pgsql:table_oid, table, pdo_type, len, precision)
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$pool = pgpool_db();
$direct = pgpool_direct();
$direct->exec("DROP TABLE IF EXISTS t011; CREATE TABLE t011 (id serial PRIMARY KEY, name varchar(20), v numeric(10,2), b bytea, ok bool, j jsonb, d date, ts timestamp, big int8, small int2, o oid, t text)");
$direct->exec("INSERT INTO t011 (name) VALUES ('a'), ('b')");
$queries = ["SELECT * FROM t011", "SELECT 1 AS one, 1.5::float8 AS f, '{}'::json AS js, 'x'::char(3) AS ch, now() AS tz, NULL AS nul",
    "SELECT t.id AS renamed, t.* FROM t011 t WHERE false"];

function meta(PDO $db, string $sql): array
{
    $st = $db->query($sql);
    $out = ['columnCount' => $st->columnCount(), 'rowCount' => $st->rowCount()];
    for ($i = 0; $i < $st->columnCount(); $i++) {
        $out[] = $st->getColumnMeta($i);
    }
    $out['beyond'] = $st->getColumnMeta($st->columnCount());
    return $out;
}
foreach ($queries as $sql) {
    $a = meta($pool, $sql);
    $b = meta($direct, $sql);
    var_dump($a === $b);
    if ($a !== $b) {
        var_dump($a, $b);
    }
}
var_dump(meta($pool, "SELECT name, j FROM t011 LIMIT 1"));

/* a statement without a result set */
$st = $pool->prepare("UPDATE t011 SET t = 'x'");
$st->execute();
var_dump($st->columnCount(), $st->rowCount(), $st->getColumnMeta(0));
/* the catalog lookups do not keep a lease */
var_dump(pgpool_active());
$direct->exec("DROP TABLE t011");
?>
--EXPECTF--
bool(true)
bool(true)
bool(true)
array(5) {
  ["columnCount"]=>
  int(2)
  ["rowCount"]=>
  int(1)
  [0]=>
  array(8) {
    ["pgsql:oid"]=>
    int(1043)
    ["pgsql:table_oid"]=>
    int(%d)
    ["table"]=>
    string(4) "t011"
    ["native_type"]=>
    string(7) "varchar"
    ["pdo_type"]=>
    int(2)
    ["name"]=>
    string(4) "name"
    ["len"]=>
    int(-1)
    ["precision"]=>
    int(24)
  }
  [1]=>
  array(8) {
    ["pgsql:oid"]=>
    int(3802)
    ["pgsql:table_oid"]=>
    int(%d)
    ["table"]=>
    string(4) "t011"
    ["native_type"]=>
    string(5) "jsonb"
    ["pdo_type"]=>
    int(2)
    ["name"]=>
    string(1) "j"
    ["len"]=>
    int(-1)
    ["precision"]=>
    int(-1)
  }
  ["beyond"]=>
  bool(false)
}
int(0)
int(2)
bool(false)
int(0)
