--TEST--
Security: no password in phpinfo(), var_dump()/print_r()/var_export() of a PgPool, exception messages or stack traces (the constructor's password is a SensitiveParameter, like PDO's)
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--INI--
zend.exception_ignore_args=0
zend.exception_string_param_max_len=1000
--FILE--
<?php
require __DIR__ . '/driver.inc';
$pw = PGPOOL_TEST_PASSWORD;
$wrong = 'Wr0ng-pw-' . getmypid() . '-x7';

function leaks(string $text, string $secret): bool
{
    return $secret !== '' && strpos($text, $secret) !== false;
}

$db = pgpool_db();
var_dump($db->query('SELECT 1')->fetchColumn());

ob_start();
phpinfo(INFO_ALL & ~INFO_ENVIRONMENT & ~INFO_VARIABLES); /* the test's own environment aside */
$info = ob_get_clean();
echo "phpinfo has the pgpool section: ", var_export(strpos($info, 'pgpool support') !== false, true), "\n";
echo "phpinfo shows the password: ", var_export(leaks($info, $pw), true), "\n";

foreach (['var_dump', 'print_r', 'var_export', 'debug_zval_dump'] as $f) {
    ob_start();
    $f($db);
    $out = ob_get_clean();
    echo "$f shows the password: ", var_export(leaks($out, $pw), true), "\n";
}

/* A refused password: neither the message nor the trace (arguments included) carries it. */
try {
    new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, $wrong);
} catch (PDOException $e) {
    echo "SQLSTATE ", pgpool_test_sqlstate($e), "\n";
    echo "message shows it: ", var_export(leaks($e->getMessage(), $wrong), true), "\n";
    echo "trace shows it: ", var_export(leaks($e->getTraceAsString(), $wrong), true), "\n";
    echo "string form shows it: ", var_export(leaks((string) $e, $wrong), true), "\n";
    ob_start();
    var_dump($e->getTrace());
    $out = ob_get_clean();
    echo "trace arguments show it: ", var_export(leaks($out, $wrong), true), "\n";
    $hidden = false;
    foreach ($e->getTrace() as $frame) {
        if (($frame['class'] ?? '') === 'PgPool' && $frame['function'] === '__construct') {
            $hidden = ($frame['args'][2] ?? null) instanceof SensitiveParameterValue;
        }
    }
    echo "PgPool::__construct's password is hidden: ", var_export($hidden, true), "\n";
}

/* The same for a password inside the DSN. */
try {
    new PgPool(PGPOOL_TEST_DSN . ";password=$wrong", PGPOOL_TEST_USER);
} catch (PDOException $e) {
    echo "DSN password in the message: ", var_export(leaks($e->getMessage(), $wrong), true), "\n";
}

$r = new ReflectionMethod('PgPool', '__construct');
$attrs = $r->getParameters()[2]->getAttributes();
echo "reflection: ", $r->getParameters()[2]->getName(), " ", $attrs ? $attrs[0]->getName() : 'none', "\n";
echo "done\n";
?>
--EXPECT--
int(1)
phpinfo has the pgpool section: true
phpinfo shows the password: false
var_dump shows the password: false
print_r shows the password: false
var_export shows the password: false
debug_zval_dump shows the password: false
SQLSTATE 28P01
message shows it: false
trace shows it: false
string form shows it: false
trace arguments show it: false
PgPool::__construct's password is hidden: true
DSN password in the message: false
reflection: password SensitiveParameter
done
