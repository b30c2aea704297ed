--TEST--
PgPool odd responses: COPY through exec() is refused and the connection stays usable; large results and values; notices; empty queries
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();
$db->exec("DROP TABLE IF EXISTS t034; CREATE TABLE t034 (a int, b text)");

echo "-- COPY FROM STDIN / TO STDOUT through exec()/query() fail as with pdo_pgsql (HY000, libpq's result status); nothing is left on the connection\n";
foreach (["COPY t034 FROM STDIN", "COPY (SELECT 1) TO STDOUT"] as $sql) {
    foreach ([false, true] as $in_txn) {
        try {
            if ($in_txn) {
                $db->beginTransaction();
            }
            $db->exec($sql);
        } catch (PDOException $e) {
            echo $e->errorInfo[0], ' ', $e->errorInfo[1], ' [', $e->errorInfo[2], "]\n";
        }
        if ($in_txn) {
            $db->rollBack();
        }
        var_dump((int) $db->query("SELECT 34")->fetchColumn(), pgpool_active());
    }
}
try {
    $db->prepare("COPY t034 FROM STDIN")->execute();
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
var_dump((int) $db->query("SELECT 35")->fetchColumn());

echo "-- 200000 rows, 1 MB values in and out\n";
$st = $db->query("SELECT g, md5(g::text) FROM generate_series(1, 200000) g");
$n = 0;
$sum = 0;
while ($row = $st->fetch(PDO::FETCH_NUM)) {
    $n++;
    $sum += $row[0];
}
var_dump($n, $sum, $st->rowCount());
$big = str_repeat("0123456789abcdef", 65536);
$st = $db->prepare("SELECT ?::text AS v, length(?::text) AS l");
$st->execute([$big, $big]);
$row = $st->fetch(PDO::FETCH_ASSOC);
var_dump($row['v'] === $big, $row['l']);
$st = $db->prepare("SELECT ?::bytea");
$st->bindValue(1, random_bytes(16) . "\0" . $big, PDO::PARAM_LOB);
$st->execute();
var_dump(strlen(stream_get_contents($st->fetchColumn())));

echo "-- notices are not errors\n";
var_dump($db->exec("DO \$\$ BEGIN RAISE NOTICE 'hello'; RAISE WARNING 'careful'; END \$\$"), $db->errorCode());

echo "-- text ends at a NUL, as libpq sends it\n";
var_dump($db->query("SELECT 'before'\0 garbage")->fetchColumn());
$st = $db->prepare("SELECT ?::text");
$st->execute(["a\0b"]);
var_dump($st->fetchColumn());
$db->exec("DROP TABLE t034");
?>
--EXPECT--
-- COPY FROM STDIN / TO STDOUT through exec()/query() fail as with pdo_pgsql (HY000, libpq's result status); nothing is left on the connection
HY000 4 []
int(34)
int(0)
HY000 4 []
int(34)
int(0)
HY000 3 []
int(34)
int(0)
HY000 3 []
int(34)
int(0)
HY000
int(35)
-- 200000 rows, 1 MB values in and out
int(200000)
int(20000100000)
int(200000)
bool(true)
int(1048576)
int(1048593)
-- notices are not errors
int(0)
string(5) "00000"
-- text ends at a NUL, as libpq sends it
string(6) "before"
string(1) "a"
