<?php
// One of the concurrent workers of sharing.sh. usage: sharing_worker.php PROC REQUESTS
// Each "request" makes a new PgPool (as a php-fpm request would), then asks PostgreSQL for values
// unique to (PROC, request): a prepared SELECT echoing them, a transaction that inserts a row and
// reads back its own uncommitted count (only visible on the same backend), and a query() with the
// values inlined. Any mismatch means a response reached the wrong worker (cross-talk).
// Prints "proc=P ok=N errors=E backends=B" (B distinct backend pids seen); first errors on stderr.

[, $proc, $requests] = $argv;
$proc = (int)$proc;
$requests = (int)$requests;
$dsn = getenv('PGPOOL_TEST_DSN');
$user = getenv('PGPOOL_TEST_USER');
$password = getenv('PGPOOL_TEST_PASSWORD');

$ok = 0;
$errors = 0;
$backends = [];
for ($r = 1; $r <= $requests; $r++) {
	try {
		$db = new PgPool($dsn, $user, $password, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
		$marker = "p{$proc}r{$r}";

		$st = $db->prepare('SELECT $1::int AS proc, $2::int AS req, $3::text AS marker, pg_backend_pid() AS backend');
		$st->execute([$proc, $r, $marker]);
		$row = $st->fetch(PDO::FETCH_ASSOC);
		if (!$row || (int)$row['proc'] !== $proc || (int)$row['req'] !== $r || $row['marker'] !== $marker) {
			throw new UnexpectedValueException("prepared SELECT for $marker returned " . json_encode($row));
		}
		$backends[$row['backend']] = true;

		$db->beginTransaction();
		$ins = $db->prepare('INSERT INTO sharing_log (proc, req, marker) VALUES (?, ?, ?)');
		$ins->execute([$proc, $r, $marker]);
		if ($ins->rowCount() !== 1) {
			throw new UnexpectedValueException("INSERT for $marker: rowCount " . $ins->rowCount());
		}
		// Our own row is visible only inside our transaction, i.e. on the same backend.
		$cnt = $db->prepare('SELECT count(*) FROM sharing_log WHERE proc = ? AND req = ? AND marker = ?');
		$cnt->execute([$proc, $r, $marker]);
		$n = (int)$cnt->fetchColumn();
		if ($n !== 1) {
			throw new UnexpectedValueException("own uncommitted row for $marker seen $n times in the transaction");
		}
		$db->commit();

		$v = $db->query("SELECT '$marker' || '/' || ($proc * 100000 + $r)::text")->fetchColumn();
		if ($v !== $marker . '/' . ($proc * 100000 + $r)) {
			throw new UnexpectedValueException("query() for $marker returned " . json_encode($v));
		}
		$ok++;
	} catch (Throwable $e) {
		$errors++;
		if ($errors <= 5) {
			fwrite(STDERR, "proc $proc request $r: " . get_class($e) . ' [' . $e->getCode() . '] ' . $e->getMessage() . "\n");
		}
	}
	$db = null;
	$st = $ins = $cnt = null;
}
echo "proc=$proc ok=$ok errors=$errors backends=" . count($backends) . "\n";
exit($errors ? 1 : 0);
