--TEST--
Native prepares: 65535 parameters work, more give pdo_pgsql's error (HY000, libpq's message)
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';

foreach ([65535, 65536] as $n) {
    $sql = 'SELECT count(*), sum(x) FROM (VALUES ' . implode(',', array_fill(0, $n, '(?::int)')) . ') v(x)';
    $params = range(1, $n);
    foreach (['pdo_pgsql' => pgpool_direct(), 'PgPool' => pgpool_db()] as $name => $db) {
        try {
            $st = $db->prepare($sql);
            $st->execute($params);
            echo "$n $name: ", json_encode($st->fetch(PDO::FETCH_NUM)), "\n";
        } catch (PDOException $e) {
            echo "$n $name: ", $e->getMessage(), ' ', json_encode([$e->errorInfo[0], $e->errorInfo[1]]), "\n";
        }
    }
}
?>
--EXPECT--
65535 pdo_pgsql: [65535,2147450880]
65535 PgPool: [65535,2147450880]
65536 pdo_pgsql: SQLSTATE[HY000]: General error: 7 number of parameters must be between 0 and 65535 ["HY000",7]
65536 PgPool: SQLSTATE[HY000]: General error: 7 number of parameters must be between 0 and 65535 ["HY000",7]
