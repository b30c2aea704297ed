--TEST--
lastInsertId() after several statements in one exec(): the value pdo_pgsql gives, or 55000 when PgPool cannot know it, never an older id
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';

$setup = pgpool_direct();
$setup->exec('DROP TABLE IF EXISTS t015_a, t015_c');
$setup->exec('CREATE TABLE t015_a (id serial PRIMARY KEY, v text)');
$setup->exec('CREATE TABLE t015_c (id int GENERATED ALWAYS AS IDENTITY (START 1000) PRIMARY KEY, v text)');

function show(string $what, PDO $db): void
{
    try {
        $id = $db->lastInsertId();
        echo "  $what: ", var_export($id, true), "\n";
    } catch (PDOException $e) {
        echo "  $what: ", $e->getMessage(), "\n";
    }
}

foreach (['pdo_pgsql' => pgpool_direct(), 'PgPool' => pgpool_db()] as $name => $db) {
    echo "$name\n";
    $setup->exec('TRUNCATE t015_a, t015_c RESTART IDENTITY');
    $db->exec("INSERT INTO t015_a (v) VALUES ('a')");
    show('one INSERT', $db);
    /* one implicit transaction: the id of the last INSERT in it */
    $db->exec("INSERT INTO t015_a (v) VALUES ('a'); INSERT INTO t015_c (v) VALUES ('c')");
    show('two INSERTs in one exec', $db);
    $db->exec("UPDATE t015_a SET v = 'b'; INSERT INTO t015_a (v) VALUES ('a'), ('a')");
    show('UPDATE then INSERT', $db);
    /* the exec leaves its transaction open: the held connection answers */
    $db->exec("BEGIN; INSERT INTO t015_c (v) VALUES ('c')");
    show('BEGIN; INSERT (open)', $db);
    $db->exec('COMMIT');
    show('after its COMMIT', $db);
    /* a whole transaction in one exec: PgPool cannot capture lastval() safely */
    $db->exec("BEGIN; INSERT INTO t015_a (v) VALUES ('a'); COMMIT");
    show('BEGIN; INSERT; COMMIT', $db);
    $db->exec("INSERT INTO t015_a (v) VALUES ('a')");
    show('one INSERT again', $db);
    /* a failed statement still drew from the sequence: lastval() reports the drawn value */
    try {
        $db->exec("INSERT INTO t015_c (v) VALUES ('c'); SELECT 1/0");
    } catch (PDOException $e) {
    }
    show('INSERT; SELECT 1/0', $db);
    try {
        $db->exec("INSERT INTO t015_a (id, v) VALUES (nextval('t015_a_id_seq'), 'a'), (1, 'dup')");
    } catch (PDOException $e) {
    }
    show('INSERT failing on a key', $db);
    $db->query("EXPLAIN ANALYZE INSERT INTO t015_c (v) VALUES ('c')")->fetchAll();
    show('EXPLAIN ANALYZE INSERT', $db);
}
$setup->exec('DROP TABLE t015_a, t015_c');
?>
--EXPECT--
pdo_pgsql
  one INSERT: '1'
  two INSERTs in one exec: '1000'
  UPDATE then INSERT: '4'
  BEGIN; INSERT (open): '1001'
  after its COMMIT: '1001'
  BEGIN; INSERT; COMMIT: '5'
  one INSERT again: '6'
  INSERT; SELECT 1/0: '1002'
  INSERT failing on a key: '7'
  EXPLAIN ANALYZE INSERT: '1003'
PgPool
  one INSERT: '1'
  two INSERTs in one exec: '1000'
  UPDATE then INSERT: '4'
  BEGIN; INSERT (open): '1001'
  after its COMMIT: '1001'
  BEGIN; INSERT; COMMIT: SQLSTATE[55000]: Object not in prerequisite state: 7 ERROR:  PgPool cannot tell the last inserted id: the statement that drew from a sequence ran where its lastval() could not be read (several statements with BEGIN/COMMIT in one exec(), COMMIT AND CHAIN); run the INSERT on its own, or use INSERT ... RETURNING
  one INSERT again: '6'
  INSERT; SELECT 1/0: '1002'
  INSERT failing on a key: '7'
  EXPLAIN ANALYZE INSERT: '1003'
