--TEST--
PgPool transactions: beginTransaction/commit/rollBack/inTransaction, deferred BEGIN, a user's own BEGIN, failed transactions
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();
$direct = pgpool_direct();
$db->exec("DROP TABLE IF EXISTS t005; CREATE TABLE t005 (id int PRIMARY KEY)");
function ids(PDO $db): string
{
    return (string) $db->query("SELECT string_agg(id::text, ',' ORDER BY id) FROM t005")->fetchColumn();
}

echo "-- commit\n";
var_dump($db->inTransaction(), $db->beginTransaction(), $db->inTransaction());
$db->exec("INSERT INTO t005 VALUES (1)");
$db->prepare("INSERT INTO t005 VALUES (?)")->execute([2]);
echo "outside sees: '", ids($direct), "', inside sees: '", ids($db), "'\n";
var_dump($db->commit(), $db->inTransaction());
echo "after commit: ", ids($direct), "\n";

echo "-- rollback\n";
$db->beginTransaction();
$db->exec("INSERT INTO t005 VALUES (3)");
var_dump($db->rollBack(), $db->inTransaction());
echo "after rollback: ", ids($direct), "\n";

echo "-- nothing sent: begin + commit/rollback without statements\n";
$db->beginTransaction();
var_dump($db->inTransaction(), $db->commit());
$db->beginTransaction();
var_dump($db->rollBack(), $db->inTransaction());

echo "-- PDO's own checks\n";
try {
    $db->commit();
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
$db->beginTransaction();
try {
    $db->beginTransaction();
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
$db->rollBack();

echo "-- an error aborts the transaction; statements fail until rollback\n";
$db->beginTransaction();
$db->exec("INSERT INTO t005 VALUES (4)");
try {
    $db->exec("INSERT INTO t005 VALUES (4)");
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
try {
    $db->query("SELECT 1");
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
var_dump($db->inTransaction());
$db->rollBack();
echo "after rollback: ", ids($direct), "\n";

echo "-- commit of a failed transaction rolls back (the server answers ROLLBACK)\n";
$db->beginTransaction();
$db->exec("INSERT INTO t005 VALUES (5)");
try {
    $db->exec("SELECT 1/0");
} catch (PDOException $e) {
}
var_dump($db->commit(), $db->inTransaction());
echo "after: ", ids($direct), "\n";

echo "-- a deferred constraint fails at COMMIT\n";
$db->exec("CREATE TEMP TABLE t005d (a int UNIQUE DEFERRABLE INITIALLY DEFERRED)");
$db->beginTransaction();
$db->exec("INSERT INTO t005d VALUES (1), (1)");
try {
    $db->commit();
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
var_dump($db->inTransaction());

echo "-- the user's own BEGIN/COMMIT through exec()\n";
$db2 = pgpool_db();
$db2->exec("BEGIN");
var_dump($db2->inTransaction());
$db2->exec("INSERT INTO t005 VALUES (6)");
echo "outside sees: '", ids($direct), "'\n";
$db2->exec("COMMIT");
var_dump($db2->inTransaction());
echo "after: ", ids($direct), "\n";

echo "-- savepoints inside a transaction\n";
$db2->beginTransaction();
$db2->exec("INSERT INTO t005 VALUES (7)");
$db2->exec("SAVEPOINT s");
$db2->exec("INSERT INTO t005 VALUES (8)");
$db2->exec("ROLLBACK TO SAVEPOINT s");
$db2->commit();
echo "after: ", ids($direct), "\n";
$direct->exec("DROP TABLE t005");
?>
--EXPECT--
-- commit
bool(false)
bool(true)
bool(true)
outside sees: '', inside sees: '1,2'
bool(true)
bool(false)
after commit: 1,2
-- rollback
bool(true)
bool(false)
after rollback: 1,2
-- nothing sent: begin + commit/rollback without statements
bool(true)
bool(true)
bool(true)
bool(false)
-- PDO's own checks
There is no active transaction
There is already an active transaction
-- an error aborts the transaction; statements fail until rollback
23505
SQLSTATE[25P02]: In failed sql transaction: 7 ERROR:  current transaction is aborted, commands ignored until end of transaction block
bool(true)
after rollback: 1,2
-- commit of a failed transaction rolls back (the server answers ROLLBACK)
bool(true)
bool(false)
after: 1,2
-- a deferred constraint fails at COMMIT
23505
bool(false)
-- the user's own BEGIN/COMMIT through exec()
bool(true)
outside sees: '1,2'
bool(false)
after: 1,2,6
-- savepoints inside a transaction
after: 1,2,6,7
