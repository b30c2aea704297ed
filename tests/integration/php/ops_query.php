<?php
// ops_query.php POOL SQL [REPEAT]: run SQL (REPEAT times, default 1) through PgPool and print
// "ok VALUE SECONDS" or "error SQLSTATE SECONDS message".
[, $pool, $sql] = $argv;
$repeat = (int)($argv[3] ?? 1);
$t0 = microtime(true);
try {
	$db = new PgPool("pgpool:pool=$pool", 'app', 'secret', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
	for ($i = 0; $i < $repeat; $i++) {
		$v = $db->query($sql)->fetchColumn();
	}
	printf("ok %s %.3f\n", $v, microtime(true) - $t0);
} catch (PDOException $e) {
	printf("error %s %.3f %s\n", $e->getCode(), microtime(true) - $t0, $e->getMessage());
}
