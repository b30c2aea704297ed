<?php
// Takes WANT leases of pool main at once (each held by an open transaction, so each must be a
// different connection), runs a query on each, and reports when all were usable, measured from
// KILLED_AT (microtime of the SIGKILL). usage: kill_check.php KILLED_AT WANT VICTIM_BACKEND
// Prints "usable=N distinct=D seconds=S victim_backend=reused|replaced".
[, $killed_at, $want, $victim] = $argv;
$want = (int)$want;
$conns = [];
$pids = [];
for ($i = 0; $i < $want; $i++) {
	$db = new PgPool(getenv('PGPOOL_TEST_DSN'), getenv('PGPOOL_TEST_USER'), getenv('PGPOOL_TEST_PASSWORD'),
		[PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
	$db->beginTransaction();
	$pids[] = (int)$db->query('SELECT pg_backend_pid()')->fetchColumn();
	$conns[] = $db;
}
$ready_at = microtime(true);
$usable = 0;
foreach ($conns as $i => $db) {
	if ((int)$db->query("SELECT $i + 1")->fetchColumn() === $i + 1) {
		$usable++;
	}
	$db->commit();
}
printf("usable=%d distinct=%d seconds=%.3f victim_backend=%s\n", $usable, count(array_unique($pids)),
	$ready_at - (float)$killed_at, in_array((int)$victim, $pids, true) ? 'reused' : 'replaced');
$conns = null;
$s = pgpool_stats('main');
$s = isset($s['total']) ? $s : ($s['main'] ?? []);
printf("stats after release: total=%s idle=%s active=%s\n", $s['total'] ?? '?', $s['idle'] ?? '?', $s['active'] ?? '?');
