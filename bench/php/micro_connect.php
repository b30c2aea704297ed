<?php
// bench/php/micro_connect.php: what `new PgPool` + a first query costs, next to a bare query.
//
//   php ... micro_connect.php cold DSN USER PASSWORD
//       one measurement in a fresh process (nothing cached: no broker attachment, no shm mapping,
//       no backend fd): prints the microseconds of new PgPool + "SELECT 1" + fetch.
//   php ... micro_connect.php warm DSN USER PASSWORD N
//       N iterations each of, in this process (attached and holding fds after a warm-up), in a
//       random order each iteration:
//         pgpool_new_query   $db = new PgPool(...); $db->query('SELECT 1')->fetchColumn(); $db = null
//         pgpool_query       the same query on one PgPool object kept across iterations
//         pdo_persistent_query  the same query on a pdo_pgsql ATTR_PERSISTENT connection (TCP)
//         pdo_persistent_emulated_query  the same with emulated prepares (one simple Query)
//       and prints JSON: p50/p99 in microseconds of each, and the p50 of pgpool_new_query minus
//       the p50 of pdo_persistent_query (new_over_bare_us), of pdo_persistent_emulated_query
//       (new_over_emulated_us) and of pgpool_query (new_over_kept_us).
// Loads pdo, pdo_pgsql and pgpool (bench/run passes -d extension=... and pgpool.socket).

function pct(array $v, float $p): float
{
	sort($v);
	return $v[(int)floor((count($v) - 1) * $p)];
}

function summary(array $us): array
{
	return ['n' => count($us), 'p50_us' => round(pct($us, 0.5), 2), 'p99_us' => round(pct($us, 0.99), 2)];
}

[, $mode, $dsn, $user, $password] = $argv;
$opts = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];

if ($mode === 'cold') {
	$t0 = hrtime(true);
	$db = new PgPool($dsn, $user, $password, $opts);
	$one = $db->query('SELECT 1')->fetchColumn();
	$t1 = hrtime(true);
	if ((int)$one !== 1) {
		fwrite(STDERR, "SELECT 1 returned " . var_export($one, true) . "\n");
		exit(1);
	}
	printf("%.1f\n", ($t1 - $t0) / 1000);
	exit(0);
}

$n = (int)($argv[5] ?? 5000);
$pdo = new PDO($dsn, $user, $password, $opts + [PDO::ATTR_PERSISTENT => true]);
$emu = new PDO($dsn, $user, $password, $opts + [PDO::ATTR_PERSISTENT => true, PDO::ATTR_EMULATE_PREPARES => true]);
$kept = new PgPool($dsn, $user, $password, $opts);
$run = [
	'pgpool_new_query' => function () use ($dsn, $user, $password, $opts) {
		$db = new PgPool($dsn, $user, $password, $opts);
		$db->query('SELECT 1')->fetchColumn();
		$db = null;
	},
	'pgpool_query' => fn() => $kept->query('SELECT 1')->fetchColumn(),
	'pdo_persistent_query' => fn() => $pdo->query('SELECT 1')->fetchColumn(),
	'pdo_persistent_emulated_query' => fn() => $emu->query('SELECT 1')->fetchColumn(),
];
$series = array_fill_keys(array_keys($run), []);
$names = array_keys($run);
for ($round = 0; $round < 2; $round++) { // round 0 warms up (fds, opcodes, allocator)
	for ($i = 0; $i < $n; $i++) {
		// A new order every iteration: a query right after another one on the same backend finds
		// that backend (and its CPU) awake, which a fixed order would give to one series only.
		shuffle($names);
		foreach ($names as $name) {
			$t0 = hrtime(true);
			$run[$name]();
			$t1 = hrtime(true);
			if ($round === 1) {
				$series[$name][] = ($t1 - $t0) / 1000;
			}
		}
	}
}
$out = array_map('summary', $series);
$out['new_over_bare_us'] = round($out['pgpool_new_query']['p50_us'] - $out['pdo_persistent_query']['p50_us'], 2);
$out['new_over_emulated_us'] = round($out['pgpool_new_query']['p50_us'] - $out['pdo_persistent_emulated_query']['p50_us'], 2);
$out['new_over_kept_us'] = round($out['pgpool_new_query']['p50_us'] - $out['pgpool_query']['p50_us'], 2);
echo json_encode($out), "\n";
