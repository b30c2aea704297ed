--TEST--
PgPool extends PDO: pgsql: and pgpool: DSNs, new PDO('pgpool:...'), credentials from the DSN, subclasses
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';

$rc = new ReflectionClass('PgPool');
var_dump(get_parent_class('PgPool'), $rc->isFinal(), in_array('pgpool', PDO::getAvailableDrivers(), true));

/* pgsql: DSN matched to the pool with the same host, port, dbname and user */
$db = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
var_dump($db instanceof PDO, $db->getAttribute(PDO::ATTR_DRIVER_NAME));
var_dump($db->query("SELECT current_database() || '/' || current_user")->fetchColumn());
/* PDO's defaults apply: exception mode */
var_dump($db->getAttribute(PDO::ATTR_ERRMODE) === PDO::ERRMODE_EXCEPTION);

/* a pool by name, through PgPool and through plain PDO */
$db = new PgPool('pgpool:pool=main', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
var_dump($db->query("SELECT 'pool by name'")->fetchColumn());
$db = new PDO('pgpool:pool=sess', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
var_dump(get_class($db), $db->query("SELECT current_database()")->fetchColumn());
/* a PgPool reports pdo_pgsql's driver name; PDO with a pgpool: DSN the driver it named */
var_dump($db->getAttribute(PDO::ATTR_DRIVER_NAME));

/* user and password inside the DSN; arguments win over them */
$db = new PgPool(PGPOOL_TEST_DSN . ';user=' . PGPOOL_TEST_USER . ';password=' . PGPOOL_TEST_PASSWORD);
var_dump($db->query("SELECT 'dsn credentials'")->fetchColumn());
$db = new PgPool('pgpool:pool=main;password=wrong', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
var_dump($db->query("SELECT 'argument wins'")->fetchColumn());

/* constructor options are applied like PDO's */
$db = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD,
    [PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_NUM, PDO::ATTR_ERRMODE => PDO::ERRMODE_SILENT]);
var_dump($db->query("SELECT 7")->fetch(), $db->getAttribute(PDO::ATTR_ERRMODE) === PDO::ERRMODE_SILENT);
/* a literal empty array (immutable) and null as options, as frameworks pass them */
$db = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD, []);
$db2 = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD, null);
var_dump($db->query("SELECT 'empty options'")->fetchColumn(), $db2->query("SELECT 'null options'")->fetchColumn());

/* users extend it */
class MyDb extends PgPool
{
    public function __construct()
    {
        parent::__construct(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
    }
    public function answer(): int
    {
        return (int) $this->query("SELECT 42")->fetchColumn();
    }
}
var_dump((new MyDb())->answer());

/* other drivers' DSNs are refused */
try {
    new PgPool('mysql:host=localhost', 'u', 'p');
} catch (PDOException $e) {
    echo $e->getMessage(), "\n";
}
?>
--EXPECT--
string(3) "PDO"
bool(false)
bool(true)
bool(true)
string(5) "pgsql"
string(7) "app/app"
bool(true)
string(12) "pool by name"
string(3) "PDO"
string(4) "sess"
string(6) "pgpool"
string(15) "dsn credentials"
string(13) "argument wins"
array(1) {
  [0]=>
  int(7)
}
bool(true)
string(13) "empty options"
string(12) "null options"
int(42)
PgPool accepts only pgsql: and pgpool: DSNs (pgpool:pool=NAME names a pool of the broker's configuration)
