<?php
// One request of the demo and of the php-fpm test: through new PgPool(...), a primary-key SELECT,
// an UPDATE inside a transaction, and a SELECT. ?id=N picks the row, ?tag=T is a value unique to
// the request that must come back from PostgreSQL in the UPDATE's RETURNING and in the last
// SELECT, so a response that belongs to another request cannot pass.
// Prints "OK tag=T pid=<php-fpm pid> backend=<PostgreSQL pid>", or "ERR tag=T <what failed>".
// Credentials come from the environment (PGPOOL_PAGE_DSN, PGPOOL_PAGE_USER, PGPOOL_PAGE_PASSWORD).

$id = (int)($_GET['id'] ?? 1);
$tag = (string)($_GET['tag'] ?? '');
try {
	$db = new PgPool(getenv('PGPOOL_PAGE_DSN'), getenv('PGPOOL_PAGE_USER'),
		getenv('PGPOOL_PAGE_PASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);

	$st = $db->prepare('SELECT id, balance FROM pgpool_demo WHERE id = ?');
	$st->execute([$id]);
	$row = $st->fetch(PDO::FETCH_ASSOC);
	if (!$row || (string)$row['id'] !== (string)$id) {
		throw new UnexpectedValueException('primary-key SELECT returned ' . json_encode($row));
	}

	$db->beginTransaction();
	$up = $db->prepare('UPDATE pgpool_demo SET balance = balance + 1, last_tag = ? WHERE id = ?
		RETURNING last_tag, pg_backend_pid() AS backend');
	$up->execute([$tag, $id]);
	$upd = $up->fetch(PDO::FETCH_ASSOC);
	if ($up->rowCount() !== 1 || !$upd || $upd['last_tag'] !== $tag) {
		throw new UnexpectedValueException('UPDATE returned ' . json_encode($upd) . ', rowCount ' . $up->rowCount());
	}
	$db->commit();

	$st = $db->prepare('SELECT ?::text AS tag');
	$st->execute([$tag]);
	$echo = $st->fetchColumn();
	if ($echo !== $tag) {
		throw new UnexpectedValueException('SELECT returned ' . json_encode($echo));
	}
	echo "OK tag=$tag pid=", getmypid(), " backend=", $upd['backend'], "\n";
} catch (Throwable $e) {
	http_response_code(500);
	echo "ERR tag=$tag ", get_class($e), ' [', $e->getCode(), '] ', str_replace("\n", ' ', $e->getMessage()), "\n";
}
