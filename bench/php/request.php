<?php
// bench/php/request.php: the "PHP request" of bench/run, served by php-fpm for every variant.
//
// One request: open a connection object, a primary-key SELECT on pgbench_accounts, BEGIN /
// UPDATE / COMMIT, a SELECT, close. Statements are prepared per request, as applications do.
// The last SELECT echoes the token fcgi-load put in ?t=, so a response that belongs to another
// request cannot pass (fcgi-load -t). Prints "OK <token> <balance>", or a 500 with the error.
//
// php-fpm passes the variant's settings in the environment (bench/run):
//   BENCH_VARIANT   pdo-direct | pdo-persistent | pdo-persistent-emulated | pgbouncer |
//                   pgpool-ii | pgpool
//   BENCH_DSN, BENCH_USER, BENCH_PASSWORD, BENCH_ACCOUNTS (rows in pgbench_accounts)

$variant = getenv('BENCH_VARIANT');
$token = (string)($_GET['t'] ?? '');
$aid = mt_rand(1, (int)getenv('BENCH_ACCOUNTS'));
$delta = mt_rand(-5000, 5000);

$options = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];
switch ($variant) {
	case 'pdo-persistent':
		$options[PDO::ATTR_PERSISTENT] = true;
		break;
	case 'pdo-persistent-emulated':
		$options[PDO::ATTR_PERSISTENT] = true;
		$options[PDO::ATTR_EMULATE_PREPARES] = true;
		break;
	case 'pgbouncer':
		// Transaction pooling cannot keep named server-side statements across transactions.
		$options[PDO::ATTR_EMULATE_PREPARES] = true;
		break;
}

try {
	if ($variant === 'pgpool') {
		$db = new PgPool(getenv('BENCH_DSN'), getenv('BENCH_USER'), getenv('BENCH_PASSWORD'), $options);
	} else {
		$db = new PDO(getenv('BENCH_DSN'), getenv('BENCH_USER'), getenv('BENCH_PASSWORD'), $options);
	}

	$st = $db->prepare('SELECT abalance FROM pgbench_accounts WHERE aid = ?');
	$st->execute([$aid]);
	$balance = $st->fetchColumn();
	if ($balance === false) {
		throw new UnexpectedValueException("no account $aid");
	}

	$db->beginTransaction();
	$up = $db->prepare('UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?');
	$up->execute([$delta, $aid]);
	if ($up->rowCount() !== 1) {
		throw new UnexpectedValueException('UPDATE changed ' . $up->rowCount() . ' rows');
	}
	$db->commit();

	$st = $db->prepare('SELECT ?::text');
	$st->execute([$token]);
	$echo = $st->fetchColumn();
	if ($echo !== $token) {
		throw new UnexpectedValueException('SELECT returned ' . json_encode($echo));
	}
	$st = $up = $db = null;
	echo "OK $token $balance\n";
} catch (Throwable $e) {
	http_response_code(500);
	echo "ERR $token ", get_class($e), ' [', $e->getCode(), '] ', str_replace("\n", ' ', $e->getMessage()), "\n";
}
