<?php
// A long-running worker as RoadRunner runs PHP: one process, one PgPool kept across requests,
// serving REQUESTS requests in a loop. usage: longrun_worker.php REQUESTS
// Each request: a prepared SELECT echoing values unique to the request, a transaction with an
// UPDATE, and every 10th request a short-lived second PgPool as well. Between requests it checks
// with pgpool_stats() that it holds no lease (active == 0, idle == total). It records
// memory_get_usage() and VmRSS after request 1,000, half way, and after the last one.
// Prints "requests=N errors=E lease_leaks=L mem_1000=A mem_last=B rss_1000=C rss_half=H
// rss_last=D" (bytes).

$n = (int)$argv[1];
$dsn = getenv('PGPOOL_TEST_DSN');
$user = getenv('PGPOOL_TEST_USER');
$password = getenv('PGPOOL_TEST_PASSWORD');
$opts = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];

function rss_bytes(): int
{
	foreach (file('/proc/self/status') as $line) {
		if (strncmp($line, 'VmRSS:', 6) === 0) {
			return (int)preg_replace('/\D/', '', $line) * 1024;
		}
	}
	return -1;
}

function main_stats(): array
{
	$s = pgpool_stats('main');
	return isset($s['total']) ? $s : ($s['main'] ?? []);
}

$db = new PgPool($dsn, $user, $password, $opts);
$errors = 0;
$leaks = 0;
$mem1000 = $rss1000 = $rssHalf = 0;
$half = intdiv($n, 2);
$report = function (string $what) use (&$errors) {
	if (++$errors <= 5) {
		fwrite(STDERR, "$what\n");
	}
};
for ($r = 1; $r <= $n; $r++) {
	try {
		$st = $db->prepare('SELECT $1::int AS r, $2::text AS s');
		$st->execute([$r, "req$r"]);
		$row = $st->fetch(PDO::FETCH_ASSOC);
		if ((int)$row['r'] !== $r || $row['s'] !== "req$r") {
			$report("request $r: SELECT returned " . json_encode($row));
		}
		$st = null;
		$db->beginTransaction();
		if ($db->exec('UPDATE longrun SET n = n + 1 WHERE id = 1') !== 1) {
			$report("request $r: UPDATE did not change 1 row");
		}
		$db->commit();
		if ($r % 10 === 0) {
			$tmp = new PgPool($dsn, $user, $password, $opts);
			if ((int)$tmp->query("SELECT $r")->fetchColumn() !== $r) {
				$report("request $r: second PgPool returned a wrong value");
			}
			$tmp = null;
		}
	} catch (Throwable $e) {
		$report("request $r: " . get_class($e) . ' [' . $e->getCode() . '] ' . $e->getMessage());
	}
	// Between requests: this process holds nothing. (A slot the broker holds for a health
	// check or reset is neither idle nor active: not ours.)
	$s = main_stats();
	if (($s['active'] ?? -1) !== 0) {
		if (++$leaks <= 5) {
			fwrite(STDERR, "after request $r: lease held? stats " . json_encode($s) . "\n");
		}
	}
	if ($r === 1000 || $r === $half || $r === $n) {
		gc_collect_cycles();
		if ($r === 1000) {
			$mem1000 = memory_get_usage();
			$rss1000 = rss_bytes();
		}
		if ($r === $half) {
			$rssHalf = rss_bytes();
		}
	}
}
printf("requests=%d errors=%d lease_leaks=%d mem_1000=%d mem_last=%d rss_1000=%d rss_half=%d rss_last=%d\n",
	$n, $errors, $leaks, $mem1000, memory_get_usage(), $rss1000, $rssHalf, rss_bytes());
