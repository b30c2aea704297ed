--TEST--
PgPool: unknown pool is 08001 and a wrong password 28P01, with the broker's message; a refusal leaves an attached pool working
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';

function attempt(string $dsn, string $user, string $password): ?PgPool
{
    try {
        $db = new PgPool($dsn, $user, $password);
        echo "ok\n";
        return $db;
    } catch (PDOException $e) {
        echo pgpool_test_sqlstate($e), ': ', $e->getMessage(), "\n";
        return null;
    }
}

attempt('pgpool:pool=no_such_pool', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
attempt('pgsql:host=127.0.0.1;port=1;dbname=nowhere', PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
attempt(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, 'wrong-' . PGPOOL_TEST_PASSWORD);

/* Right credentials attach; other credentials for the same pool are checked by the broker again
 * and a refusal does not disturb the attached pool. */
$good = attempt(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
attempt(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, 'wrong');
attempt(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, '');
var_dump((int) $good->query("SELECT 42")->fetchColumn());
$again = attempt(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
var_dump((int) $again->query("SELECT 43")->fetchColumn());
?>
--EXPECTF--
08001: %sno_such_pool%s
08001: %s
28P01: %s
ok
28P01: %s
28P01: %s
int(42)
ok
int(43)
