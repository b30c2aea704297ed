--TEST--
PgPool lastInsertId(): right after an INSERT outside a transaction although the lease was released; with a sequence name; inside a transaction; before any INSERT
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$db = pgpool_db();
$db->exec("DROP TABLE IF EXISTS t007, t007n; CREATE TABLE t007 (id serial PRIMARY KEY, v text); CREATE TABLE t007n (v text)");
$db->exec("ALTER SEQUENCE t007_id_seq RESTART WITH 100");

echo "-- a new handle has no lastval, like a new session\n";
$fresh = pgpool_db();
try {
    $fresh->lastInsertId();
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
try {
    $fresh->lastInsertId('t007_id_seq');
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}

echo "-- outside a transaction: the value of this handle's INSERT, lease already released\n";
$db->exec("INSERT INTO t007 (v) VALUES ('a')");
var_dump(pgpool_active(), $db->lastInsertId(), $db->lastInsertId('t007_id_seq'));
$db->prepare("INSERT INTO t007 (v) VALUES (?)")->execute(['b']);
var_dump($db->lastInsertId());
$db->query("INSERT INTO t007 (v) VALUES ('c') RETURNING id")->fetchColumn();
var_dump($db->lastInsertId());

echo "-- other handles' INSERTs on the same backends do not change it\n";
$other = pgpool_db();
for ($i = 0; $i < 6; $i++) {
    $other->exec("INSERT INTO t007 (v) VALUES ('other')");
}
var_dump($db->lastInsertId(), $other->lastInsertId());

echo "-- an INSERT without a sequence keeps the previous value (the session's lastval)\n";
$db->exec("INSERT INTO t007n VALUES ('x')");
var_dump($db->lastInsertId());
$fresh->exec("INSERT INTO t007n VALUES ('x')");
try {
    $fresh->lastInsertId();
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}

echo "-- a failed INSERT changes nothing\n";
try {
    $db->exec("INSERT INTO t007 (id, v) VALUES (100, 'dup')");
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
var_dump($db->lastInsertId());

echo "-- inside a transaction the held connection answers\n";
$db->beginTransaction();
$db->exec("INSERT INTO t007 (v) VALUES ('t1')");
var_dump($db->lastInsertId(), $db->lastInsertId('t007_id_seq'));
$db->exec("INSERT INTO t007 (v) VALUES ('t2')");
var_dump($db->lastInsertId());
$db->commit();
var_dump($db->lastInsertId());

echo "-- nextval() outside a transaction is captured too\n";
var_dump($db->query("SELECT nextval('t007_id_seq')")->fetchColumn(), $db->lastInsertId());

echo "-- after a transaction: its last value, also when not asked inside, also after a rollback\n";
$db->beginTransaction();
$db->exec("INSERT INTO t007 (v) VALUES ('t4')");
$db->exec("INSERT INTO t007 (v) VALUES ('t5')");
$db->commit();
var_dump(pgpool_active(), $db->lastInsertId());
$db->beginTransaction();
$db->exec("INSERT INTO t007 (v) VALUES ('t6')");
$db->rollBack();
var_dump($db->lastInsertId());
$db->beginTransaction();
$db->exec("UPDATE t007 SET v = v");
$db->commit();
var_dump($db->lastInsertId());

echo "-- inside a transaction that drew from no sequence: this handle's value, not the backend's\n";
$other->exec("INSERT INTO t007 (v) VALUES ('other')"); /* leaves 115 on some backend */
$db->beginTransaction();
$db->exec("UPDATE t007 SET v = v");
var_dump($db->lastInsertId(), $db->lastInsertId('t007_id_seq'));
$db->commit();
$fresh->beginTransaction();
$fresh->exec("UPDATE t007 SET v = v");
try {
    $fresh->lastInsertId();
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
$fresh->rollBack();

echo "-- an unknown sequence inside a transaction is the server's error\n";
$db->beginTransaction();
$db->exec("INSERT INTO t007 (v) VALUES ('t3')");
try {
    $db->lastInsertId('no_such_seq');
} catch (PDOException $e) {
    echo $e->errorInfo[0], "\n";
}
$db->rollBack();
$db->exec("DROP TABLE t007, t007n");
?>
--EXPECT--
-- a new handle has no lastval, like a new session
SQLSTATE[55000]: Object not in prerequisite state: 7 ERROR:  lastval is not yet defined in this session
SQLSTATE[55000]: Object not in prerequisite state: 7 ERROR:  currval of sequence "t007_id_seq" is not yet defined in this session
-- outside a transaction: the value of this handle's INSERT, lease already released
int(0)
string(3) "100"
string(3) "100"
string(3) "101"
string(3) "102"
-- other handles' INSERTs on the same backends do not change it
string(3) "102"
string(3) "108"
-- an INSERT without a sequence keeps the previous value (the session's lastval)
string(3) "102"
55000
-- a failed INSERT changes nothing
23505
string(3) "102"
-- inside a transaction the held connection answers
string(3) "109"
string(3) "109"
string(3) "110"
string(3) "110"
-- nextval() outside a transaction is captured too
int(111)
string(3) "111"
-- after a transaction: its last value, also when not asked inside, also after a rollback
int(0)
string(3) "113"
string(3) "114"
string(3) "114"
-- inside a transaction that drew from no sequence: this handle's value, not the backend's
string(3) "114"
string(3) "114"
55000
-- an unknown sequence inside a transaction is the server's error
42P01
