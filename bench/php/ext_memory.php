<?php
// bench/php/ext_memory.php: memory of a PHP process after using a database extension, to tell
// what the pgpool extension costs per worker (bench/run compares the three modes):
//   none              only PDO loaded, no connection
//   pgpool DSN        new PgPool + 100 queries (attached to the broker, holding a backend fd)
//   pdo_pgsql DSN     a persistent pdo_pgsql connection + 100 queries (libpq loaded and connected)
// Prints JSON: the process's RssAnon (private), RssFile (mapped files: code, shared between
// workers), RssShmem (shared memory: the broker's segment) in kB, and PHP's heap in bytes.

$mode = $argv[1];
$opts = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];
if ($mode === 'pgpool') {
	$db = new PgPool($argv[2], 'app', 'secret', $opts);
} elseif ($mode === 'pdo_pgsql') {
	$db = new PDO($argv[2], 'app', 'secret', $opts + [PDO::ATTR_PERSISTENT => true]);
}
if (isset($db)) {
	for ($i = 0; $i < 100; $i++) {
		$db->query('SELECT 1')->fetchColumn();
	}
}
$status = [];
foreach (file('/proc/self/status') as $line) {
	if (preg_match('/^(VmRSS|RssAnon|RssFile|RssShmem):\s+(\d+)/', $line, $m)) {
		$status[$m[1]] = (int)$m[2];
	}
}
echo json_encode([
	'mode' => $mode,
	'vm_rss_kb' => $status['VmRSS'] ?? 0,
	'rss_anon_kb' => $status['RssAnon'] ?? 0,
	'rss_file_kb' => $status['RssFile'] ?? 0,
	'rss_shmem_kb' => $status['RssShmem'] ?? 0,
	'php_heap_bytes' => memory_get_usage(),
]), "\n";
