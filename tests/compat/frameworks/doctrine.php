<?php
/*
 * Doctrine DBAL 3 (Debian's php-doctrine-dbal) over PgPool or pdo_pgsql:
 *   php doctrine.php pgpool|pgsql
 * Migrations-style DDL (schema objects and the schema manager), CRUD through the query builder
 * and prepared statements, type conversion, transactions, nested transactions with savepoints,
 * lastInsertId with a sequence. Prints every result; the last line is "ok" when the checks
 * held. tests/integration/doctrine.sh compares the two modes.
 */
require '/usr/share/php/Doctrine/DBAL/autoload.php';

use Doctrine\DBAL\Driver\AbstractPostgreSQLDriver;
use Doctrine\DBAL\DriverManager;
use Doctrine\DBAL\ParameterType;
use Doctrine\DBAL\Schema\Schema;
use Doctrine\DBAL\Types\Types;

/* The setup of docs/COMPATIBILITY.md (Frameworks): a driver whose connections are PgPools. */
final class PgPoolDriver extends AbstractPostgreSQLDriver
{
    public function connect(array $params)
    {
        return new Doctrine\DBAL\Driver\PDO\Connection(new PgPool(
            "pgsql:host={$params['host']};port={$params['port']};dbname={$params['dbname']}",
            $params['user'], $params['password'], $params['driverOptions'] ?? []));
    }
}

$mode = $argv[1] ?? 'pgpool';
$dsn = getenv('PGPOOL_TEST_DSN');
preg_match('/host=([^;]+)/', $dsn, $h);
preg_match('/port=([^;]+)/', $dsn, $p);
preg_match('/dbname=([^;]+)/', $dsn, $d);
$params = ['host' => $h[1], 'port' => (int) $p[1], 'dbname' => $d[1], 'user' => getenv('PGPOOL_TEST_USER'),
    'password' => getenv('PGPOOL_TEST_PASSWORD')];
$params += $mode === 'pgpool' ? ['driverClass' => PgPoolDriver::class] : ['driver' => 'pdo_pgsql'];
$conn = DriverManager::getConnection($params);
$failures = 0;
function check(string $what, $got, $want): void
{
    global $failures;
    $ok = $got === $want;
    $failures += $ok ? 0 : 1;
    echo ($ok ? 'ok   ' : 'FAIL '), $what, ': ', json_encode($got), $ok ? '' : ' (expected ' . json_encode($want) . ')', "\n";
}

echo "pdo class: ", get_class($conn->getNativeConnection()), "\n";
check('platform', get_class($conn->getDatabasePlatform()) !== '', true);
check('server version known', version_compare($conn->getWrappedConnection()->getServerVersion(), '10', '>='), true);

/* migrations-style DDL */
$sm = $conn->createSchemaManager();
foreach (['dc_items', 'dc_owners'] as $t) {
    if ($sm->tablesExist([$t])) {
        $sm->dropTable($t);
    }
}
$schema = new Schema();
$owners = $schema->createTable('dc_owners');
$owners->addColumn('id', Types::INTEGER, ['autoincrement' => true]);
$owners->addColumn('name', Types::STRING, ['length' => 50]);
$owners->setPrimaryKey(['id']);
$owners->addUniqueIndex(['name']);
$items = $schema->createTable('dc_items');
$items->addColumn('id', Types::BIGINT, ['autoincrement' => true]);
$items->addColumn('owner_id', Types::INTEGER);
$items->addColumn('label', Types::STRING, ['length' => 100]);
$items->addColumn('price', Types::DECIMAL, ['precision' => 10, 'scale' => 2]);
$items->addColumn('flag', Types::BOOLEAN, ['default' => false]);
$items->addColumn('data', Types::JSON, ['notnull' => false]);
$items->addColumn('seen', Types::DATETIME_MUTABLE, ['notnull' => false]);
$items->addColumn('blob', Types::BLOB, ['notnull' => false]);
$items->setPrimaryKey(['id']);
$items->addForeignKeyConstraint('dc_owners', ['owner_id'], ['id'], ['onDelete' => 'CASCADE']);
$items->addIndex(['owner_id', 'label']);
foreach ($schema->toSql($conn->getDatabasePlatform()) as $sql) {
    $conn->executeStatement($sql);
}
check('tables', [$sm->tablesExist(['dc_owners']), $sm->tablesExist(['dc_items'])], [true, true]);
check('columns', array_keys($sm->listTableColumns('dc_items')), ['id', 'owner_id', 'label', 'price', 'flag', 'data', 'seen', 'blob']);
/* alter table like a migration */
$diff = $sm->createComparator()->compareTables($sm->listTableDetails('dc_items'), (function () use ($sm) {
    $t = $sm->listTableDetails('dc_items');
    $t->addColumn('note', Types::TEXT, ['notnull' => false]);
    return $t;
})());
$sm->alterTable($diff);
check('altered', array_key_exists('note', $sm->listTableColumns('dc_items')), true);

/* CRUD */
$conn->insert('dc_owners', ['name' => 'alice']);
check('lastInsertId(sequence)', $conn->lastInsertId('dc_owners_id_seq'), '1');
$conn->insert('dc_owners', ['name' => 'bob']);
check('lastInsertId()', $conn->lastInsertId(), '2');
$qb = $conn->createQueryBuilder();
$qb->insert('dc_items')->values(['owner_id' => '?', 'label' => '?', 'price' => '?', 'flag' => '?', 'data' => '?', 'seen' => '?', 'blob' => '?'])
    ->setParameters([1, 'pen', '1.50', true, json_encode(['c' => 'blue']), '2024-01-02 03:04:05', "\x00\xffbin"],
        [ParameterType::INTEGER, ParameterType::STRING, ParameterType::STRING, ParameterType::BOOLEAN, ParameterType::STRING, ParameterType::STRING, ParameterType::LARGE_OBJECT]);
check('qb insert', $qb->executeStatement(), 1);
foreach ([['cup', '3.20', 2], ['ink', '0.99', 1], ['pad', '2.00', 2]] as [$label, $price, $owner]) {
    $conn->executeStatement('INSERT INTO dc_items (owner_id, label, price) VALUES (?, ?, ?)', [$owner, $label, $price]);
}
$rows = $conn->createQueryBuilder()->select('i.label', 'o.name', 'i.price')->from('dc_items', 'i')
    ->innerJoin('i', 'dc_owners', 'o', 'o.id = i.owner_id')->where('i.price > :min')->orderBy('i.label')
    ->setParameter('min', '1.00')->executeQuery()->fetchAllAssociative();
check('qb select join', $rows, [['label' => 'cup', 'name' => 'bob', 'price' => '3.20'], ['label' => 'pad', 'name' => 'bob', 'price' => '2.00'], ['label' => 'pen', 'name' => 'alice', 'price' => '1.50']]);
$row = $conn->fetchAssociative('SELECT * FROM dc_items WHERE label = ?', ['pen']);
$types = $conn->getDatabasePlatform();
check('types', [
    Doctrine\DBAL\Types\Type::getType(Types::BOOLEAN)->convertToPHPValue($row['flag'], $types),
    Doctrine\DBAL\Types\Type::getType(Types::JSON)->convertToPHPValue($row['data'], $types),
    Doctrine\DBAL\Types\Type::getType(Types::DATETIME_MUTABLE)->convertToPHPValue($row['seen'], $types)->format('c'),
    bin2hex(stream_get_contents(Doctrine\DBAL\Types\Type::getType(Types::BLOB)->convertToPHPValue($row['blob'], $types))),
], [true, ['c' => 'blue'], '2024-01-02T03:04:05+00:00', '00ff62696e']);
check('fetchOne', $conn->fetchOne('SELECT count(*) FROM dc_items WHERE owner_id = ?', [2]), 2);
check('IN list', $conn->fetchFirstColumn('SELECT label FROM dc_items WHERE label IN (?) ORDER BY label', [['ink', 'pad']], [Doctrine\DBAL\Connection::PARAM_STR_ARRAY]), ['ink', 'pad']);
check('update', $conn->update('dc_items', ['price' => '1.75'], ['label' => 'pen']), 1);
check('delete', $conn->delete('dc_items', ['label' => 'ink']), 1);
$stmt = $conn->prepare('SELECT label FROM dc_items WHERE owner_id = ? ORDER BY label');
$seen = [];
foreach ([1, 2, 1] as $o) {
    $stmt->bindValue(1, $o, ParameterType::INTEGER);
    $seen[] = $stmt->executeQuery()->fetchFirstColumn();
}
check('prepared statement re-executed', $seen, [['pen'], ['cup', 'pad'], ['pen']]);
try {
    $conn->insert('dc_owners', ['name' => 'alice']);
} catch (Doctrine\DBAL\Exception\UniqueConstraintViolationException $e) {
    check('unique violation mapped', get_class($e), Doctrine\DBAL\Exception\UniqueConstraintViolationException::class);
}

/* transactions */
$conn->transactional(function ($c) { $c->insert('dc_owners', ['name' => 'carol']); });
try {
    $conn->transactional(function ($c) { $c->insert('dc_owners', ['name' => 'dave']); throw new RuntimeException('no'); });
} catch (RuntimeException $e) {
}
check('transactional', $conn->fetchFirstColumn("SELECT name FROM dc_owners WHERE name IN ('carol', 'dave')"), ['carol']);
$conn->setNestTransactionsWithSavepoints(true);
$conn->beginTransaction();
$conn->insert('dc_owners', ['name' => 'erin']);
$conn->beginTransaction();
check('nesting level', $conn->getTransactionNestingLevel(), 2);
$conn->insert('dc_owners', ['name' => 'frank']);
$conn->rollBack();
$conn->beginTransaction();
$conn->insert('dc_owners', ['name' => 'gina']);
$conn->commit();
try {
    $conn->transactional(function ($c) { $c->insert('dc_owners', ['name' => 'erin']); });
} catch (Doctrine\DBAL\Exception\UniqueConstraintViolationException $e) {
    check('violation inside a savepoint', true, true);
}
$conn->commit();
check('after nested', $conn->fetchFirstColumn("SELECT name FROM dc_owners WHERE name IN ('erin', 'frank', 'gina') ORDER BY name"), ['erin', 'gina']);
check('nesting level after', [$conn->getTransactionNestingLevel(), $conn->isTransactionActive()], [0, false]);
$conn->beginTransaction();
$conn->insert('dc_owners', ['name' => 'henry']);
$conn->rollBack();
check('rolled back', $conn->fetchOne("SELECT count(*) FROM dc_owners WHERE name = 'henry'"), 0);

$sm->dropTable('dc_items');
$sm->dropTable('dc_owners');
check('dropped', $sm->tablesExist(['dc_owners']), false);
if ($mode === 'pgpool') {
    echo "leases held after the work: ", pgpool_stats('main')['active'], "\n";
}
echo $failures === 0 ? "ok\n" : "$failures checks failed\n";
