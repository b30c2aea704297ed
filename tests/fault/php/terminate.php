<?php
/*
 * The PHP side of tests/fault/backend_terminate.sh: a worker whose backend is terminated
 * (pg_terminate_backend) by the test, at a point it chose:
 *   idle READY GO          cache the pool's connections, wait for GO (the test terminated them
 *                          while idle), then run 20 statements: prints "errors=N"
 *   query READY            BEGIN, INSERT term-query, then SELECT pg_sleep(10) with the backend
 *                          pid in READY: the test terminates it while the query runs
 *   between READY          BEGIN, INSERT term-between, pid in READY, then 1 s pause (the test
 *                          terminates it meanwhile), then SELECT 1
 * The last two print "failed=SQLSTATE ms=N msg=..." for the statement in flight, then run one
 * more INSERT (term-after-MODE) on the same handle and print "after=ok" or "after=SQLSTATE".
 * Environment: PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD.
 */
$mode = $argv[1];
$ready = $argv[2];

function sqlstate(PDOException $e): string
{
    if (isset($e->errorInfo[0])) {
        return $e->errorInfo[0];
    }
    return preg_match('/SQLSTATE\[(\w{5})\]/', $e->getMessage(), $m) ? $m[1] : '?????';
}

$db = new PgPool(getenv('PGPOOL_TEST_DSN'), getenv('PGPOOL_TEST_USER'), getenv('PGPOOL_TEST_PASSWORD'),
    [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);

if ($mode === 'idle') {
    /* Lease every connection once (nested transactions on 4 handles), so this process caches
     * all their fds. */
    $h = [];
    for ($i = 0; $i < 4; $i++) {
        $h[$i] = new PgPool(getenv('PGPOOL_TEST_DSN'), getenv('PGPOOL_TEST_USER'),
            getenv('PGPOOL_TEST_PASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
        $h[$i]->beginTransaction();
        $h[$i]->query('SELECT 1');
    }
    foreach ($h as $x) {
        $x->commit();
    }
    file_put_contents($ready, "cached\n");
    while (!file_exists($argv[3])) {
        usleep(20000);
    }
    $errors = 0;
    for ($i = 0; $i < 20; $i++) {
        try {
            $db->query("SELECT $i")->fetchColumn();
        } catch (PDOException $e) {
            $errors++;
            echo "error: ", sqlstate($e), " ", str_replace("\n", ' ', $e->getMessage()), "\n";
        }
    }
    echo "errors=$errors\n";
    exit(0);
}

$db->beginTransaction();
$db->exec("INSERT INTO fault_rows (id) VALUES ('term-$mode')");
$pid = (int) $db->query('SELECT pg_backend_pid()')->fetchColumn();
file_put_contents($ready, "$pid\n");
$t0 = microtime(true);
try {
    if ($mode === 'query') {
        $db->query('SELECT pg_sleep(10)');
    } else {
        usleep(1000000);
        $db->query('SELECT 1');
    }
    echo "failed=none\n";
} catch (PDOException $e) {
    printf("failed=%s ms=%d msg=%s\n", sqlstate($e), (microtime(true) - $t0) * 1000,
        str_replace("\n", ' ', $e->getMessage()));
}
try {
    if ($db->inTransaction()) {
        $db->rollBack();
    }
} catch (PDOException $e) {
    echo "rollback: ", sqlstate($e), "\n";
}
try {
    $db->exec("INSERT INTO fault_rows (id) VALUES ('term-after-$mode')");
    echo "after=ok\n";
} catch (PDOException $e) {
    echo "after=", sqlstate($e), " ", $e->getMessage(), "\n";
}
