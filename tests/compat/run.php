<?php
/*
 * tests/compat/run.php: runs one compatibility case (tests/compat/cases/NAME.php) through one
 * driver and prints what it observed, for tests/integration/compat.sh to compare:
 *
 *   php -d extension=pdo -d extension=pdo_pgsql -d extension=pgpool.so run.php pgsql|pgpool CASE
 *
 * In mode "pgsql" compat_db() is new PDO('pgsql:...') (pdo_pgsql); in mode "pgpool" it is
 * new PgPool('pgsql:...') on the same database. Everything a case prints goes through show(),
 * which writes values with their types; PHP warnings and notices are printed where they happen,
 * uncaught exceptions at the end. The output of the two modes must be identical, except for what
 * normalize() below rewrites: values that name a particular backend or a prepared statement's
 * name, which differ by design (docs/COMPATIBILITY.md).
 *
 * Environment: PGPOOL_TEST_DSN (pgsql: DSN of the pool `main`), PGPOOL_TEST_USER,
 * PGPOOL_TEST_PASSWORD.
 */
declare(strict_types=1);

[$mode, $case] = [$argv[1] ?? '', $argv[2] ?? ''];
if (!in_array($mode, ['pgsql', 'pgpool'], true) || !is_file($case)) {
    fwrite(STDERR, "usage: run.php pgsql|pgpool CASE.php\n");
    exit(2);
}
define('COMPAT_MODE', $mode);

/* A handle on the test database through the mode's driver; $dsn_extra is appended to the DSN. */
function compat_db(array $options = [], string $dsn_extra = ''): PDO
{
    $dsn = getenv('PGPOOL_TEST_DSN') . $dsn_extra;
    $user = getenv('PGPOOL_TEST_USER');
    $pass = getenv('PGPOOL_TEST_PASSWORD');
    $options += [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];
    return COMPAT_MODE === 'pgpool' ? new PgPool($dsn, $user, $pass, $options)
        : new PDO($dsn, $user, $pass, $options);
}

/* Rewrite what differs by design between the two drivers (see the file comment). */
function normalize(string $s): string
{
    /* server-side prepared statement names: pdo_pgsql counts per handle, PgPool hashes SQL */
    $s = preg_replace('/\b(pdo_stmt_[0-9a-f]{8}|pgpool_[0-9a-f]{16})\b/', '<statement>', $s);
    /* PHP names a driver method after the handle's class (PgPool extends PDO) */
    $s = str_replace('PgPool::pgsql', 'PDO::pgsql', $s);
    return $s;
}

function out(string $s): void
{
    echo normalize($s);
}

/* A value with its type, stable across runs: streams are read, objects listed. */
function repr($v, int $depth = 0): string
{
    if ($depth > 6) {
        return '...';
    }
    if (is_resource($v)) {
        $type = get_resource_type($v);
        if ($type !== 'stream') {
            return "resource($type)";
        }
        $data = stream_get_contents($v);
        return 'stream(' . ($data === false ? 'false' : 'string(' . strlen($data) . ') ' . json_encode(bin2hex($data))) . ')';
    }
    if (is_array($v)) {
        $parts = [];
        foreach ($v as $k => $x) {
            $parts[] = var_export($k, true) . ' => ' . repr($x, $depth + 1);
        }
        return '[' . implode(', ', $parts) . ']';
    }
    if (is_object($v)) {
        if ($v instanceof PDORow) {
            $parts = [];
            foreach (['id', 'val', 'a', 'b', 0, 1] as $k) {
                if (isset($v->$k)) {
                    $parts[] = "$k => " . repr($v->$k, $depth + 1);
                }
            }
            return 'PDORow{' . implode(', ', $parts) . '}';
        }
        return get_class($v) . repr(get_object_vars($v), $depth + 1);
    }
    if (is_float($v)) {
        return 'float(' . var_export($v, true) . ')';
    }
    if (is_string($v)) {
        $v = normalize($v);
        return 'string(' . strlen($v) . ') ' . (preg_match('//u', $v) ? json_encode($v, JSON_UNESCAPED_UNICODE) : 'hex:' . bin2hex($v));
    }
    return var_export($v, true);
}

/* Print a labelled value (or several). */
function show(string $label, ...$values): void
{
    $r = array_map('repr', $values);
    out("$label: " . implode(', ', $r) . "\n");
}

/* What an exception tells a caller. */
function show_exception(string $label, Throwable $e): void
{
    $info = $e instanceof PDOException ? ' errorInfo=' . repr($e->errorInfo) : '';
    out("$label: " . get_class($e) . ' code=' . var_export($e->getCode(), true) . ' message=' .
        json_encode($e->getMessage(), JSON_UNESCAPED_UNICODE) . "$info\n");
}

/* Run $fn, printing its result or its exception. */
function attempt(string $label, callable $fn): void
{
    try {
        show($label, $fn());
    } catch (Throwable $e) {
        show_exception($label, $e);
    }
}

set_error_handler(function (int $no, string $msg) {
    static $names = [E_WARNING => 'Warning', E_NOTICE => 'Notice', E_DEPRECATED => 'Deprecated',
        E_USER_WARNING => 'User warning'];
    out('[' . ($names[$no] ?? "error $no") . '] ' . $msg . "\n");
    return true;
});

try {
    require $case;
} catch (Throwable $e) {
    show_exception('uncaught', $e);
}
echo "-- end\n";
