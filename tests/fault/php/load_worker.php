<?php
/*
 * A long-running PHP worker for the fault tests: one PgPool handle for its whole life (like a
 * php-fpm child), transactions in a loop until STOPFILE exists, each inserting one row with a
 * unique id into fault_rows. Every outcome is one line in OUTFILE (flushed at once):
 *   ok ID MS AT                 committed (COMMIT answered)
 *   uncertain ID MS SQLSTATE AT COMMIT failed with a connection error: it may or may not have
 *                               committed (the check accepts both)
 *   err SQLSTATE MS AT MESSAGE  the transaction failed before COMMIT (nothing committed)
 * MS is how long the transaction (or the failing call) took, to show nothing hung; AT is when it
 * ended (Unix time in ms).
 *
 * usage: php load_worker.php TAG OUTFILE STOPFILE [SLEEP_IN_TXN_MS [PAUSE_MS [DSN]]]
 * Environment: PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD.
 */
[$tag, $outfile, $stopfile] = [$argv[1], $argv[2], $argv[3]];
$sleep_ms = (int) ($argv[4] ?? 0);
$pause_ms = (int) ($argv[5] ?? 5);
$dsn = $argv[6] ?? getenv('PGPOOL_TEST_DSN');
$out = fopen($outfile, 'a');

function sqlstate(PDOException $e): string
{
    if (isset($e->errorInfo[0])) {
        return $e->errorInfo[0];
    }
    return preg_match('/SQLSTATE\[(\w{5})\]/', $e->getMessage(), $m) ? $m[1] : '?????';
}

function say($out, string $line): void
{
    fwrite($out, $line . "\n");
    fflush($out);
}

$db = null;
for ($i = 0; !file_exists($stopfile); $i++) {
    $id = "$tag-$i";
    $t0 = microtime(true);
    $at_commit = false;
    try {
        if ($db === null) {
            $db = new PgPool($dsn, getenv('PGPOOL_TEST_USER'), getenv('PGPOOL_TEST_PASSWORD'),
                [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
        }
        $db->beginTransaction();
        $db->exec("INSERT INTO fault_rows (id) VALUES ('$id')");
        if ($sleep_ms > 0) {
            usleep($sleep_ms * 1000);
        }
        $at_commit = true;
        $db->commit();
        $t1 = microtime(true);
        say($out, sprintf("ok %s %d %d", $id, ($t1 - $t0) * 1000, $t1 * 1000));
    } catch (PDOException $e) {
        $t1 = microtime(true);
        $ms = (int) (($t1 - $t0) * 1000);
        $at = (int) ($t1 * 1000);
        $state = sqlstate($e);
        if ($at_commit && $state !== '40001') {
            say($out, "uncertain $id $ms $state $at");
        } else {
            say($out, "err $state $ms $at " . str_replace("\n", ' ', $e->getMessage()));
        }
        if ($db !== null) {
            try {
                if ($db->inTransaction()) {
                    $db->rollBack();
                }
            } catch (PDOException $e2) {
                /* the connection is gone: the next statement leases another */
            }
        }
    }
    usleep($pause_ms * 1000);
}
say($out, "done $i");
