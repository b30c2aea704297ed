<?php
// bench/report.php: turns bench/run's measurements into the table and the JSON document.
//
//   php -n report.php micro DIR BIG
//       combine the micro-benchmark and memory files bench/run left in DIR (micro-c.json,
//       cold.txt, warm.json, mem-*.json, broker-8.json, broker-BIG.json) into one JSON object
//   php -n report.php report RUNS.jsonl MICRO.json RESULTS.json
//       medians over the repetitions in RUNS.jsonl (one line per timed run), ratios, the table on
//       stdout, and RESULTS.json: {"machine": {...}, "results": [{"variant", "workers", "rps",
//       "p50_ms", "p99_ms", "backends", "pooler_cpu_s"}, ...], "detail": [...], "ratios": {...},
//       "micro": {...}, "config": "...", "runs": [...]}
// Versions and the run's settings come from the environment (BENCH_* set by bench/run).

const VARIANTS = ['pdo-direct', 'pdo-persistent', 'pdo-persistent-emulated', 'pgbouncer', 'pgpool-ii', 'pgpool'];

function median(array $v): ?float
{
	$v = array_values(array_filter($v, fn($x) => $x !== null));
	if (!$v) {
		return null;
	}
	sort($v);
	$n = count($v);
	return $n % 2 ? (float)$v[intdiv($n, 2)] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
}

function pct(array $v, float $p): float
{
	sort($v);
	return (float)$v[(int)floor((count($v) - 1) * $p)];
}

function read_json(string $file): array
{
	$j = is_file($file) ? json_decode((string)file_get_contents($file), true) : null;
	return is_array($j) ? $j : [];
}

function machine(): array
{
	$cpu = 'unknown';
	foreach (@file('/proc/cpuinfo') ?: [] as $line) {
		if (preg_match('/^model name\s*:\s*(.+)$/', $line, $m)) {
			$cpu = trim($m[1]);
			break;
		}
	}
	$mem = 0;
	if (preg_match('/MemTotal:\s+(\d+)/', (string)@file_get_contents('/proc/meminfo'), $m)) {
		$mem = round($m[1] / 1048576, 1);
	}
	$os = 'unknown';
	if (preg_match('/^PRETTY_NAME="?([^"\n]+)/m', (string)@file_get_contents('/etc/os-release'), $m)) {
		$os = $m[1];
	}
	return [
		'cpu' => $cpu,
		'cores' => (int)trim((string)shell_exec('nproc')),
		'memory_gb' => $mem,
		'os' => $os,
		'kernel' => php_uname('r'),
		'php' => PHP_VERSION,
		'postgresql' => getenv('BENCH_POSTGRES') ?: 'unknown',
		'pgbouncer' => getenv('BENCH_PGBOUNCER') ?: 'unknown',
		'pgpool_ii' => getenv('BENCH_PGPOOL2') ?: 'unknown',
		'pgpool_commit' => getenv('BENCH_COMMIT') ?: 'unknown',
		'date' => gmdate('Y-m-d H:i') . ' UTC',
	];
}

function micro(string $dir, string $big): array
{
	$c = read_json("$dir/micro-c.json");
	$cold = array_map('floatval', array_filter(array_map('trim', @file("$dir/cold.txt") ?: []), 'strlen'));
	$b8 = read_json("$dir/broker-8.json");
	$bb = read_json("$dir/broker-$big.json");
	$none = read_json("$dir/mem-none.json");
	$pgpool = read_json("$dir/mem-pgpool.json");
	$pdo = read_json("$dir/mem-pdo.json");
	$per_backend = ($b8 && $bb && $bb['backends'] > $b8['backends'])
		? round(($bb['vm_rss_kb'] - $b8['vm_rss_kb']) / ($bb['backends'] - $b8['backends']), 1) : null;
	$diff = fn(array $a, string $k) => ($a && $none) ? $a[$k] - $none[$k] : null;
	return [
		'timer_ns' => $c['timer_ns'] ?? null,
		'lease_release' => ($c['lease_release'] ?? []) + ['mean_ns' => $c['lease_release_mean_ns'] ?? null],
		'lease_fd' => $c['lease_fd'] ?? null,
		'contention' => isset($c['contention_acquire']) ? [
			'workers' => $c['contention_workers'], 'connections' => 4,
			'leases_per_s' => $c['contention_leases_per_s'],
			'queued_fraction' => $c['contention_queued_fraction'],
		] + $c['contention_acquire'] : null,
		'new_pgpool_cold_us' => $cold ? ['n' => count($cold), 'p50_us' => pct($cold, 0.5), 'p99_us' => pct($cold, 0.99)] : null,
		'new_pgpool_warm' => read_json("$dir/warm.json") ?: null,
		'memory' => [
			'broker' => array_values(array_filter([$b8, $bb])),
			'broker_kb_per_backend' => $per_backend,
			'extension' => [
				'none' => $none, 'pgpool' => $pgpool, 'pdo_pgsql' => $pdo,
				'pgpool_private_kb' => $diff($pgpool, 'rss_anon_kb'),
				'pgpool_shared_kb' => ($pgpool && $none) ? $pgpool['rss_file_kb'] + $pgpool['rss_shmem_kb'] - $none['rss_file_kb'] - $none['rss_shmem_kb'] : null,
				'pgpool_php_heap_bytes' => $diff($pgpool, 'php_heap_bytes'),
				'pdo_pgsql_private_kb' => $diff($pdo, 'rss_anon_kb'),
				'pdo_pgsql_shared_kb' => ($pdo && $none) ? $pdo['rss_file_kb'] - $none['rss_file_kb'] : null,
			],
		],
	];
}

function fmt($v, int $dec = 1, string $none = '-'): string
{
	return $v === null ? $none : number_format((float)$v, $dec, '.', '');
}

function ratio(?float $a, ?float $b): ?float
{
	return ($a !== null && $b) ? round($a / $b, 2) : null;
}

/* The targets of issue 5, judged on this run's medians (a report, never a test). */
function targets(array $med, array $ratios, array $micro): array
{
	$t = [];
	$add = function (string $what, $value, string $target, ?bool $met) use (&$t) {
		$t[] = ['what' => $what, 'value' => $value, 'target' => $target, 'met' => $met];
	};
	$ge = fn($v, $min) => $v === null ? null : $v >= $min;
	$le = fn($v, $max) => $v === null ? null : $v <= $max;
	foreach (['64' => 1.5, '16' => 1.2] as $c => $min) {
		$r = $ratios[$c]['pgpool_over_pgbouncer_rps'] ?? null;
		$b = $med[$c]['pgpool']['backends'] ?? null;
		$add("PgPool/PgBouncer req/s at $c workers ($b backends)", $r === null ? null : "{$r}x", ">= {$min}x with 8 backends",
			$r === null ? null : ($r >= $min && $b !== null && $b <= 8));
	}
	$r = $ratios['64']['pgpool_over_persistent_emulated_rps'] ?? null;
	$add('PgPool/pdo-persistent-emulated req/s at 64 workers', $r === null ? null : "{$r}x", '>= 1.1x', $ge($r, 1.1));
	$r = $ratios['64']['pgpool_over_pgbouncer_p99'] ?? null;
	$add('PgPool p99 / PgBouncer p99 at 64 workers', $r === null ? null : "{$r}x", '<= 0.5x', $le($r, 0.5));
	$w = $micro['new_pgpool_warm']['new_over_bare_us'] ?? null;
	$add('new PgPool + first query (warm) over a bare persistent query', $w === null ? null : "$w us", '<= 20 us', $le($w, 20));
	$v = $micro['lease_release']['p50_ns'] ?? null;
	$add('lease + release p50, fd held', $v === null ? null : "$v ns", '<= 1000 ns', $le($v, 1000));
	$v = isset($micro['lease_fd']['p50_ns']) ? round($micro['lease_fd']['p50_ns'] / 1000, 1) : null;
	$add('lease + release p50 with fd transfer', $v === null ? null : "$v us", '<= 30 us', $le($v, 30));
	$big = null;
	foreach ($micro['memory']['broker'] ?? [] as $b) {
		if ($b['backends'] >= 200) {
			$big = $b;
		}
	}
	$v = $big ? round($big['vm_rss_kb'] / 1024, 1) : null;
	$add('broker RSS with 200 backends' . (isset($big['private_kb']) ? sprintf(' (private %.1f MB)', $big['private_kb'] / 1024) : ''),
		$v === null ? null : "$v MB", '<= 8 MB', $le($v, 8));
	$v = $ratios['64']['broker_cpu_over_pgbouncer_cpu'] ?? null;
	$add('broker CPU / PgBouncer CPU at 64 workers', $v === null ? null : round($v * 100, 1) . '%', '<= 10%', $le($v, 0.10));
	return $t;
}

function report(string $runs_file, string $micro_file, string $out_file): int
{
	$runs = [];
	foreach (file($runs_file) ?: [] as $line) {
		$r = json_decode($line, true);
		if (is_array($r)) {
			$runs[] = $r;
		}
	}
	$groups = [];
	foreach ($runs as $r) {
		$groups[$r['workers']][$r['variant']][] = $r;
	}
	ksort($groups);
	$results = $detail = [];
	$med = [];
	foreach ($groups as $c => $byv) {
		foreach (VARIANTS as $v) {
			if (!isset($byv[$v])) {
				continue;
			}
			$rs = $byv[$v];
			$col = fn(string $k) => array_map(fn($r) => $r['load'][$k] ?? null, $rs);
			$rps = array_map('floatval', $col('rps'));
			$m = [
				'variant' => $v,
				'workers' => (int)$c,
				'rps' => round(median($rps), 1),
				'p50_ms' => round(median($col('p50_ms')), 3),
				'p99_ms' => round(median($col('p99_ms')), 3),
				'backends' => max(array_column($rs, 'backends')),
				'pooler_cpu_s' => median(array_column($rs, 'pooler_cpu_s')),
			];
			$results[] = $m;
			$reqs = median($col('requests')) ?: 1;
			$per_req = fn(string $k) => round(median(array_map(fn($r) => $r[$k] / max(1, $r['load']['requests'] ?? 1), $rs)) * 1e6, 1);
			$d = [
				'variant' => $v, 'workers' => (int)$c, 'reps' => count($rs),
				'rps_min' => min($rps), 'rps_max' => max($rps),
				'spread_pct' => $m['rps'] ? round((max($rps) - min($rps)) / $m['rps'] * 100, 1) : null,
				'p90_ms' => round(median($col('p90_ms')), 3),
				'max_ms' => round(median($col('max_ms')), 3),
				'errors' => array_sum($col('errors')),
				'requests' => $reqs,
				'cpu_us_per_request' => [
					'php_fpm' => $per_req('fpm_cpu_s'),
					'postgresql' => $per_req('pg_cpu_s'),
					'pooler' => $m['pooler_cpu_s'] === null ? null : $per_req('pooler_cpu_s'),
					'load_generator' => round(median(array_map(fn($r) => ($r['load']['cpu_s'] ?? 0) / max(1, $r['load']['requests'] ?? 1), $rs)) * 1e6, 1),
					'machine_total' => $per_req('machine_busy_s'),
				],
				'fpm_rss_anon_kb' => median(array_column($rs, 'fpm_rss_anon_kb')),
			];
			$detail[] = $d;
			$med[$c][$v] = $m + ['detail' => $d];
		}
	}

	// Ratios of the medians.
	$ratios = [];
	foreach ($med as $c => $byv) {
		$p = $byv['pgpool'] ?? null;
		if (!$p) {
			continue;
		}
		$b = $byv['pgbouncer'] ?? null;
		$r = [
			'pgpool_over_pgbouncer_rps' => $b ? ratio($p['rps'], $b['rps']) : null,
			'pgpool_over_pgbouncer_p99' => $b ? ratio($p['p99_ms'], $b['p99_ms']) : null,
			'pgpool_over_persistent_rps' => isset($byv['pdo-persistent']) ? ratio($p['rps'], $byv['pdo-persistent']['rps']) : null,
			'pgpool_over_persistent_emulated_rps' => isset($byv['pdo-persistent-emulated']) ? ratio($p['rps'], $byv['pdo-persistent-emulated']['rps']) : null,
			'pgpool_over_pgpool_ii_rps' => isset($byv['pgpool-ii']) ? ratio($p['rps'], $byv['pgpool-ii']['rps']) : null,
			'broker_cpu_over_pgbouncer_cpu' => ($b && $b['pooler_cpu_s']) ? round($p['pooler_cpu_s'] / $b['pooler_cpu_s'], 3) : null,
		];
		$ratios[(string)$c] = $r;
	}

	$micro = read_json($micro_file);
	$targets = targets($med, $ratios, $micro);
	$doc = [
		'machine' => machine(),
		'results' => $results,
		'detail' => $detail,
		'ratios' => $ratios,
		'micro' => $micro ?: null,
		'targets' => $targets,
		'config' => getenv('BENCH_CONFIG') ?: '',
		'runs' => $runs,
	];
	file_put_contents($out_file, json_encode($doc, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");

	// ---- the table ----
	$mc = $doc['machine'];
	printf("machine: %s, %d cores, %s GB, %s, kernel %s\n", $mc['cpu'], $mc['cores'], $mc['memory_gb'], $mc['os'], $mc['kernel']);
	printf("versions: PHP %s, %s, %s, %s, pgpool %s\n", $mc['php'], $mc['postgresql'], $mc['pgbouncer'], $mc['pgpool_ii'], $mc['pgpool_commit']);
	printf("settings: %s (medians of the repetitions; spread = (max - min) / median of req/s)\n\n", $doc['config']);
	printf("%7s  %-24s %8s %7s %8s %8s %8s %9s %10s\n", 'workers', 'variant', 'req/s', 'spread', 'p50 ms', 'p99 ms', 'backends', 'pooler s', 'pooler us/req');
	foreach ($med as $c => $byv) {
		foreach ($byv as $v => $m) {
			$d = $m['detail'];
			printf("%7d  %-24s %8s %6s%% %8s %8s %8d %9s %10s%s\n", $c, $v, fmt($m['rps']), fmt($d['spread_pct']),
				fmt($m['p50_ms'], 2), fmt($m['p99_ms'], 2), $m['backends'], fmt($m['pooler_cpu_s'], 2),
				fmt($d['cpu_us_per_request']['pooler']), $d['errors'] ? "  ({$d['errors']} errors)" : '');
		}
	}
	echo "\nratios (medians):\n";
	foreach ($ratios as $c => $r) {
		printf("  %2d workers: PgPool/PgBouncer %sx req/s, p99 %sx; PgPool/pdo-persistent %sx; PgPool/pdo-persistent-emulated %sx; PgPool/Pgpool-II %sx; broker CPU = %s%% of PgBouncer's\n",
			$c, fmt($r['pgpool_over_pgbouncer_rps'], 2), fmt($r['pgpool_over_pgbouncer_p99'], 2),
			fmt($r['pgpool_over_persistent_rps'], 2), fmt($r['pgpool_over_persistent_emulated_rps'], 2),
			fmt($r['pgpool_over_pgpool_ii_rps'], 2),
			$r['broker_cpu_over_pgbouncer_cpu'] === null ? '-' : fmt($r['broker_cpu_over_pgbouncer_cpu'] * 100, 1));
	}
	echo "\nCPU per request in microseconds (medians): php-fpm / PostgreSQL / pooler / load generator / whole machine\n";
	foreach ($med as $c => $byv) {
		foreach ($byv as $v => $m) {
			$u = $m['detail']['cpu_us_per_request'];
			printf("%7d  %-24s %7s %7s %7s %7s %7s   php-fpm worker RssAnon %s kB\n", $c, $v, fmt($u['php_fpm'], 0), fmt($u['postgresql'], 0),
				fmt($u['pooler'], 0), fmt($u['load_generator'], 0), fmt($u['machine_total'], 0), fmt($m['detail']['fpm_rss_anon_kb'], 0));
		}
	}
	if ($micro) {
		$lr = $micro['lease_release'] ?? [];
		$fd = $micro['lease_fd'] ?? [];
		$ct = $micro['contention'] ?? [];
		$cold = $micro['new_pgpool_cold_us'] ?? [];
		$warm = $micro['new_pgpool_warm'] ?? [];
		echo "\nmicro-benchmarks (p50 / p99):\n";
		printf("  lease + release, fd held:           %s / %s ns (mean of a batch %s ns; timer %s ns included in p50/p99)\n",
			$lr['p50_ns'] ?? '-', $lr['p99_ns'] ?? '-', $lr['mean_ns'] ?? '-', $micro['timer_ns'] ?? '-');
		printf("  lease + release with fd transfer:   %s / %s us\n", fmt(($fd['p50_ns'] ?? 0) / 1000), fmt(($fd['p99_ns'] ?? 0) / 1000));
		if ($ct) {
			printf("  acquire, %d workers on %d conns:   %s / %s us (%s leases/s, each lease runs SELECT 1; %s%% queued)\n",
				$ct['workers'], $ct['connections'], fmt($ct['p50_ns'] / 1000), fmt($ct['p99_ns'] / 1000), fmt($ct['leases_per_s'], 0), fmt($ct['queued_fraction'] * 100, 0));
		}
		if ($cold) {
			printf("  new PgPool + first query, cold:     %s / %s us (fresh process: attach, map shm, fd transfer, query)\n", fmt($cold['p50_us']), fmt($cold['p99_us']));
		}
		if ($warm) {
			printf("  new PgPool + SELECT 1, warm:        %s / %s us; on a kept PgPool %s us; pdo_pgsql persistent %s us (emulated %s us)\n",
				fmt($warm['pgpool_new_query']['p50_us']), fmt($warm['pgpool_new_query']['p99_us']), fmt($warm['pgpool_query']['p50_us']),
				fmt($warm['pdo_persistent_query']['p50_us']), fmt($warm['pdo_persistent_emulated_query']['p50_us']));
			printf("  new PgPool + first query over a bare persistent query: %s us (vs emulated: %s us; vs a kept PgPool: %s us)\n",
				fmt($warm['new_over_bare_us']), fmt($warm['new_over_emulated_us']), fmt($warm['new_over_kept_us']));
		}
		$mem = $micro['memory'] ?? [];
		foreach ($mem['broker'] ?? [] as $b) {
			printf("  broker with %3d backends: RSS %s kB (anon %s, file %s, shm %s); PSS %s kB, private %s kB\n", $b['backends'], $b['vm_rss_kb'],
				$b['rss_anon_kb'], $b['rss_file_kb'], $b['rss_shmem_kb'], $b['pss_kb'] ?? '-', $b['private_kb'] ?? '-');
		}
		if (isset($mem['broker_kb_per_backend'])) {
			printf("  broker memory per backend: %s kB\n", fmt($mem['broker_kb_per_backend']));
		}
		$e = $mem['extension'] ?? [];
		if ($e) {
			printf("  extension per worker: private %s kB, shared %s kB (code + shm), PHP heap %s bytes; pdo_pgsql: private %s kB, shared %s kB\n",
				fmt($e['pgpool_private_kb'], 0), fmt($e['pgpool_shared_kb'], 0), fmt($e['pgpool_php_heap_bytes'], 0),
				fmt($e['pdo_pgsql_private_kb'], 0), fmt($e['pdo_pgsql_shared_kb'], 0));
		}
	}
	if ($targets) {
		echo "\nissue 5 targets (this run):\n";
		foreach ($targets as $t) {
			printf("  %-4s %-62s %s (target %s)\n", $t['met'] === null ? '?' : ($t['met'] ? 'met' : 'NOT'), $t['what'], $t['value'] ?? '-', $t['target']);
		}
	}
	$errors = array_sum(array_column($detail, 'errors'));
	if ($errors) {
		echo "\n$errors requests failed: see the logs of the run\n";
	}
	return ($results || $micro) ? 0 : 1;
}

if (($argv[1] ?? '') === 'micro' && $argc === 4) {
	echo json_encode(micro($argv[2], $argv[3]), JSON_UNESCAPED_SLASHES), "\n";
	exit(0);
}
if (($argv[1] ?? '') === 'report' && $argc === 5) {
	exit(report($argv[2], $argv[3], $argv[4]));
}
fwrite(STDERR, "usage: report.php micro DIR BIG | report RUNS.jsonl MICRO.json RESULTS.json\n");
exit(2);
