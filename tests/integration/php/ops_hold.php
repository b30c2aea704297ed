<?php
// ops_hold.php READYFILE RELEASEFILE [POOL]: lease a connection (an open transaction), write
// "PHP_PID BACKEND_PID" to READYFILE, keep it until RELEASEFILE exists (at most 60 s), then run
// one more statement and commit, printing "after: ok" or "after: SQLSTATE message".
[, $ready, $release] = $argv;
$pool = $argv[3] ?? 'main';
$db = new PgPool("pgpool:pool=$pool", 'app', 'secret', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->beginTransaction();
$backend = $db->query('SELECT pg_backend_pid()')->fetchColumn();
file_put_contents("$ready.tmp", getmypid() . " $backend\n");
rename("$ready.tmp", $ready);
$t0 = microtime(true);
while (!file_exists($release) && microtime(true) - $t0 < 60) {
	usleep(20000);
}
try {
	$db->query('SELECT 1')->fetchColumn();
	$db->commit();
	echo "after: ok\n";
} catch (PDOException $e) {
	echo 'after: ', $e->getCode(), ' ', $e->getMessage(), "\n";
}
