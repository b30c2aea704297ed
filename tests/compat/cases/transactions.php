<?php
/* Transactions: begin/commit/rollBack/inTransaction, errors for nested or missing
 * transactions, a user's own BEGIN/COMMIT, savepoints, a COMMIT that fails (deferred
 * constraint), lastInsertId() with and without sequence names. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_tx");
$db->exec("DROP TABLE IF EXISTS compat_tx_ref");
$db->exec("CREATE TABLE compat_tx (id serial PRIMARY KEY, v text)");
$db->exec("CREATE TABLE compat_tx_ref (id int REFERENCES compat_tx (id) DEFERRABLE INITIALLY DEFERRED)");
$count = fn() => (int) $db->query("SELECT count(*) FROM compat_tx")->fetchColumn();

show('inTransaction at start', $db->inTransaction());
attempt('commit without transaction', fn() => $db->commit());
attempt('rollBack without transaction', fn() => $db->rollBack());
show('begin', $db->beginTransaction(), $db->inTransaction());
attempt('nested begin', fn() => $db->beginTransaction());
$db->exec("INSERT INTO compat_tx (v) VALUES ('a')");
show('lastInsertId in txn', $db->lastInsertId(), $db->lastInsertId('compat_tx_id_seq'));
show('rollBack', $db->rollBack(), $db->inTransaction(), $count());
$db->beginTransaction();
$db->exec("INSERT INTO compat_tx (v) VALUES ('b')");
show('commit', $db->commit(), $db->inTransaction(), $count());
show('lastInsertId after commit', $db->lastInsertId());
$db->exec("INSERT INTO compat_tx (v) VALUES ('c')");
show('lastInsertId outside txn', $db->lastInsertId(), $db->lastInsertId('compat_tx_id_seq'));
$st = $db->prepare("INSERT INTO compat_tx (v) VALUES (?)");
$st->execute(['d']);
show('lastInsertId after prepared insert', $db->lastInsertId());
attempt('lastInsertId unknown sequence', fn() => $db->lastInsertId('compat_no_seq'));

/* a user's own transaction statements */
$db->exec("BEGIN");
show('exec BEGIN', $db->inTransaction());
$db->exec("INSERT INTO compat_tx (v) VALUES ('e')");
$db->exec("SAVEPOINT s1");
$db->exec("INSERT INTO compat_tx (v) VALUES ('f')");
$db->exec("ROLLBACK TO SAVEPOINT s1");
attempt('savepoint error', fn() => $db->exec("SAVEPOINT s2; SELECT 1/0"));
$db->exec("ROLLBACK TO SAVEPOINT s2");
$db->exec("RELEASE SAVEPOINT s1");
$db->exec("COMMIT");
show('exec COMMIT', $db->inTransaction(), $count());
/* PDO transaction, ended by the user's COMMIT */
$db->beginTransaction();
$db->exec("INSERT INTO compat_tx (v) VALUES ('g')");
$db->exec("COMMIT");
show('PDO begin, user COMMIT', $db->inTransaction(), $count());
attempt('then commit()', fn() => $db->commit());
/* deferred constraint: COMMIT fails and leaves no transaction */
$db->beginTransaction();
$db->exec("INSERT INTO compat_tx_ref VALUES (99999)");
attempt('failing commit', fn() => $db->commit());
show('after failing commit', $db->inTransaction());
attempt('next statement', fn() => $db->query("SELECT 1")->fetchColumn());
/* transaction isolation and read-only */
$db->beginTransaction();
$db->exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY");
show('isolation', $db->query("SHOW transaction_isolation")->fetchColumn(), $db->query("SHOW transaction_read_only")->fetchColumn());
attempt('write in read only', fn() => $db->exec("INSERT INTO compat_tx (v) VALUES ('ro')"));
$db->rollBack();
/* beginTransaction then nothing */
$db->beginTransaction();
show('empty transaction', $db->inTransaction(), $db->commit(), $db->inTransaction());
/* errors inside, then rollBack */
$db->beginTransaction();
attempt('error in txn', fn() => $db->exec("INSERT INTO compat_tx (id, v) VALUES (1, 'dup'), (1, 'dup')"));
attempt('statement in failed txn', fn() => $db->exec("SELECT 1"));
show('rollBack failed txn', $db->rollBack(), $db->inTransaction(), $count());
/* statement objects across transaction boundaries */
$st = $db->prepare("SELECT count(*) FROM compat_tx WHERE v = ?");
$db->beginTransaction();
$st->execute(['a']);
show('stmt in txn', $st->fetchColumn());
$db->commit();
$st->execute(['b']);
show('stmt after txn', $st->fetchColumn());
$db->exec("DROP TABLE compat_tx_ref");
$db->exec("DROP TABLE compat_tx");
