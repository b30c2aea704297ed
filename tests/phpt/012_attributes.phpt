--TEST--
PgPool getAttribute()/setAttribute(): server and client version, connection status, server info (leases), driver name, emulated and disabled prepares
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$pool = pgpool_db();
$direct = pgpool_direct();
var_dump($pool->getAttribute(PDO::ATTR_SERVER_VERSION) === $direct->getAttribute(PDO::ATTR_SERVER_VERSION));
var_dump($pool->getAttribute(PDO::ATTR_CLIENT_VERSION));
var_dump($pool->getAttribute(PDO::ATTR_CONNECTION_STATUS));
/* a PgPool stands in for pdo_pgsql: frameworks switch on the driver name */
var_dump($pool->getAttribute(PDO::ATTR_DRIVER_NAME));
/* server info needs a backend: this reads its pid from a lease, which is released again */
$info = $pool->getAttribute(PDO::ATTR_SERVER_INFO);
var_dump(preg_replace('/PID: \d+/', 'PID: N', $info) === preg_replace('/PID: \d+/', 'PID: N', $direct->getAttribute(PDO::ATTR_SERVER_INFO)));
echo preg_replace('/PID: \d+/', 'PID: N', $info), "\n";
var_dump(pgpool_active());

/* pgsqlGetPid(): a lease's backend; inside a transaction the transaction's backend */
$pid = $pool->pgsqlGetPid();
var_dump(is_int($pid) && $pid > 0, pgpool_active());
$pool->beginTransaction();
$in = (int) $pool->query("SELECT pg_backend_pid()")->fetchColumn();
var_dump($pool->pgsqlGetPid() === $in, pgpool_active());
$pool->rollBack();

/* emulated prepares and PGSQL_ATTR_DISABLE_PREPARES: set/get, per statement too */
var_dump($pool->getAttribute(PDO::ATTR_EMULATE_PREPARES), $pool->getAttribute(PgPool::PGSQL_ATTR_DISABLE_PREPARES));
var_dump(PgPool::PGSQL_ATTR_DISABLE_PREPARES === PDO::PGSQL_ATTR_DISABLE_PREPARES);
var_dump($pool->setAttribute(PDO::ATTR_EMULATE_PREPARES, true), $pool->getAttribute(PDO::ATTR_EMULATE_PREPARES));
var_dump($pool->setAttribute(PgPool::PGSQL_ATTR_DISABLE_PREPARES, true), $pool->getAttribute(PgPool::PGSQL_ATTR_DISABLE_PREPARES));
$pool->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
/* a prepared statement's query text shows whether placeholders were rewritten */
$st = $pool->prepare("SELECT :a::int AS x");
$st->execute(['a' => 3]);
var_dump($st->fetchColumn());
$st = $pool->prepare("SELECT :a::int AS x", [PDO::ATTR_EMULATE_PREPARES => true]);
$st->execute(['a' => 4]);
ob_start();
$st->debugDumpParams();
echo str_contains(ob_get_clean(), "Sent SQL: [20] SELECT '4'::int AS x") ? "emulated\n" : "not emulated\n";
/* unknown driver attributes are refused as by pdo_pgsql */
var_dump($pool->setAttribute(PDO::ATTR_PREFETCH, 10));
try {
    $pool->getAttribute(PDO::ATTR_PREFETCH);
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
?>
--EXPECTF--
bool(true)
string(%d) "%d.%d.%d"
string(31) "Connection OK; waiting to send."
string(5) "pgsql"
bool(true)
PID: N; Client Encoding: UTF8; Is Superuser: off; Session Authorization: app; Date Style: ISO, MDY
int(0)
bool(true)
int(0)
bool(true)
int(1)
bool(false)
bool(false)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
int(3)
emulated
bool(false)
SQLSTATE[IM001]: Driver does not support this function: driver does not support that attribute
