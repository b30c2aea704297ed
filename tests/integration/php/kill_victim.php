<?php
// The worker that kill.sh SIGKILLs. usage: kill_victim.php CASE READYFILE
// Opens a transaction, inserts a row tagged CASE, writes its backend pid to READYFILE, then holds
// the lease: CASE "query" in the middle of a long query (pg_sleep), CASE "idle" idle in the
// transaction while PHP sleeps. It never commits; it is killed before it could.
[, $case, $ready] = $argv;
$db = new PgPool(getenv('PGPOOL_TEST_DSN'), getenv('PGPOOL_TEST_USER'), getenv('PGPOOL_TEST_PASSWORD'),
	[PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->beginTransaction();
$db->prepare('INSERT INTO kill_log (note) VALUES (?)')->execute([$case]);
$pid = $db->query('SELECT pg_backend_pid()')->fetchColumn();
file_put_contents("$ready.tmp", $pid);
rename("$ready.tmp", $ready);
if ($case === 'query') {
	$db->query('SELECT pg_sleep(20)');
} else {
	sleep(20);
}
fwrite(STDERR, "victim was not killed\n");
exit(1);
