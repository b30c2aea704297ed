<?php
/*
 * Runs fake-pg's scenarios through PgPool (pool "fake" of the broker at pgpool.socket) and checks
 * what PHP code sees. Used by tests/integration/security_fakepg.sh.
 *
 * usage: php security_fakepg.php hostile|valid|limit SCENARIO...
 *   hostile  each scenario, by query() and by a prepared statement, must throw a PDOException
 *            with an SQLSTATE of class 08 (or HY000/0A000 for an unrequested COPY) within 3 s, and the
 *            connection must be discarded (pgpool_stats()['discards'] grows by one); afterwards
 *            the pool still answers a plain query
 *   valid    each scenario must give its known result
 *   limit    with pgpool.max_message_size set low: big_2m and big_header must throw 08P01 naming
 *            the limit, at once, without this process growing by the announced size
 * Prints one line per check ("ok ..." or "FAIL ..."), then "failures: N". Exit status 1 if N > 0.
 */
$mode = $argv[1] ?? '';
$scenarios = array_slice($argv, 2);
$failures = 0;

function check(bool $ok, string $what): void
{
    global $failures;
    echo ($ok ? 'ok   ' : 'FAIL ') . $what . "\n";
    if (!$ok) {
        $failures++;
    }
}

function run(PDO $db, string $sc, string $how): array
{
    if ($how === 'query') {
        $st = $db->query("select 'fake:$sc'");
    } else {
        $st = $db->prepare("select 'fake:$sc' where 1 = ?");
        $st->execute([1]);
    }
    return $st->fetchAll(PDO::FETCH_NUM);
}

function discards(): int
{
    return pgpool_stats('fake')['discards'];
}

/* The broker counts a discard when it has closed the connection, a moment after the worker
 * handed it back: wait for it (up to 3 s). */
function discarded(int $before): bool
{
    for ($i = 0; $i < 300 && discards() <= $before; $i++) {
        usleep(10000);
    }
    return discards() === $before + 1;
}

function rss_kb(): int
{
    preg_match('/^VmHWM:\s+(\d+)/m', file_get_contents('/proc/self/status'), $m);
    return (int) $m[1];
}

$db = new PgPool('pgpool:pool=fake', 'app', 'fakepw');
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);

foreach ($scenarios as $sc) {
    foreach (['query', 'prepare'] as $how) {
        $t0 = microtime(true);
        $d0 = discards();
        $rss0 = rss_kb();
        try {
            $rows = run($db, $sc, $how);
            $err = null;
        } catch (PDOException $e) {
            $rows = null;
            $err = $e;
        }
        $secs = microtime(true) - $t0;
        $id = sprintf('%s/%s (%.2f s)', $sc, $how, $secs);
        if ($mode === 'hostile') {
            if ($err === null) {
                check(false, "$id: expected a PDOException, got " . json_encode($rows, JSON_PARTIAL_OUTPUT_ON_ERROR));
                continue;
            }
            $state = $err->getCode();
            /* An unrequested COPY is not a protocol violation: pdo_pgsql reports it as HY000
             * (errorInfo[1] = PGRES_COPY_OUT), the pgpool driver does the same. */
            $class_ok = strncmp((string) $state, '08', 2) === 0 || ($sc === 'copy_out' && in_array($state, ['0A000', 'HY000'], true));
            check($class_ok && $secs < 3.0, "$id: PDOException $state " . strtok($err->getMessage(), "\n"));
            if (strncmp((string) $state, '08', 2) === 0) {
                check(discarded($d0), "$id: the connection was discarded (discards " . $d0 . ' -> ' . discards() . ')');
            }
            /* The pool still serves plain statements. */
            try {
                $one = $db->query('select 1')->fetchColumn();
                check($one === 1 || $one === '1', "$id: a plain query works afterwards");
            } catch (PDOException $e) {
                check(false, "$id: a plain query afterwards failed: " . $e->getMessage());
            }
        } elseif ($mode === 'valid') {
            if ($err !== null) {
                check(false, "$id: unexpected PDOException " . $err->getCode() . ' ' . $err->getMessage());
                continue;
            }
            switch ($sc) {
                case 'big_2m':
                    $ok = strlen($rows[0][0]) === 2 << 20 && strspn($rows[0][0], 'z') === 2 << 20;
                    break;
                case 'many_columns':
                    $ok = count($rows[0]) === 1664 && $rows[0][0] == 7 && $rows[0][1] === null;
                    break;
                case 'notice_flood':
                case 'slow_drip':
                case 'param_huge':
                case 'param_encoding':
                    $ok = $rows == [[$sc === 'notice_flood' ? 42 : ($sc === 'slow_drip' ? 7 : 1)]];
                    break;
                case 'bad_values':
                    /* Nothing sensible to expect from garbage, but three rows of twelve
                     * values, and no crash or overflow (the ASan run checks that). */
                    $ok = count($rows) === 3 && count($rows[0]) === 12 && $rows[2][11] === 'ok';
                    break;
                case 'tag_garbage':
                    $ok = $rows === [];
                    break;
                default:
                    $ok = false;
            }
            check($ok, "$id: expected result");
        } elseif ($mode === 'limit') {
            $limit = ini_get('pgpool.max_message_size');
            $grew = rss_kb() - $rss0;
            check($err !== null && $err->getCode() === '08P01' &&
                strpos($err->getMessage(), 'pgpool.max_message_size') !== false && $secs < 2.0,
                "$id: refused by pgpool.max_message_size=$limit: " .
                ($err ? $err->getCode() . ' ' . strtok($err->getMessage(), "\n") : 'no exception'));
            check($grew < 64 * 1024, "$id: the process did not grow by the announced size (peak RSS +$grew kB)");
            check(discarded($d0), "$id: the connection was discarded");
        }
    }
}
echo "failures: $failures\n";
exit($failures > 0 ? 1 : 0);
