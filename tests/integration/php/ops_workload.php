<?php
// ops_workload.php POOL N: N simple queries, N/5 executions of a prepared statement and one
// transaction on POOL, in one process; prints "ok".
[, $pool, $n] = $argv;
$n = (int)$n;
$db = new PgPool("pgpool:pool=$pool", 'app', 'secret', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
for ($i = 0; $i < $n; $i++) {
	$db->query("SELECT $i")->fetchColumn();
}
$st = $db->prepare('SELECT ?::int * 2');
for ($i = 0; $i < $n / 5; $i++) {
	$st->execute([$i]);
	$st->fetchColumn();
}
$db->beginTransaction();
$db->query('SELECT 1')->fetchColumn();
$db->commit();
echo "ok\n";
