<?php
// Samples pg_stat_activity while a load runs and records the peak number of client backends of one
// user and database (the pool's), so the demo and the tests can show how many backends served it.
//
// usage: php -n -d extension=pdo -d extension=pdo_pgsql backend_sampler.php \
//            PGDIR PGPORT OUTFILE STOPFILE USER DB [INTERVAL_MS]
// Connects as the superuser `postgres` over the Unix socket in PGDIR (tests/lib/pg.sh), samples
// every INTERVAL_MS (default 10) until STOPFILE exists, and keeps OUTFILE up to date with
// "peak=N samples=S last=L" (so it is right even if the sampler is killed).

if ($argc < 7) {
	fwrite(STDERR, "usage: backend_sampler.php PGDIR PGPORT OUTFILE STOPFILE USER DB [INTERVAL_MS]\n");
	exit(2);
}
[, $pgdir, $port, $out, $stop, $user, $dbname] = $argv;
$interval_us = (int)($argv[7] ?? 10) * 1000;

$pdo = new PDO("pgsql:host=$pgdir;port=$port;dbname=postgres", 'postgres', null,
	[PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$q = $pdo->prepare("SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'client backend' AND usename = ? AND datname = ?");
$peak = 0;
$samples = 0;
$last = 0;
$write = function () use ($out, &$peak, &$samples, &$last) {
	file_put_contents("$out.tmp", "peak=$peak samples=$samples last=$last\n");
	rename("$out.tmp", $out);
};
$write();
while (!file_exists($stop)) {
	$q->execute([$user, $dbname]);
	$last = (int)$q->fetchColumn();
	$samples++;
	if ($last > $peak) {
		$peak = $last;
		$write();
	}
	if ($samples % 100 === 0) {
		$write();
	}
	usleep($interval_us);
}
$write();
