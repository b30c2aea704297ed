<?php
/* Every PDO::PARAM_ type through bindValue() and bindParam(), bytea and streams in both
 * directions, placeholders (?, :name repeated, $1, inside literals and comments), parameter
 * count errors; native, emulated and PGSQL_ATTR_DISABLE_PREPARES. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_params");
$db->exec("CREATE TABLE compat_params (id serial PRIMARY KEY, i int, s text, b bool, bin bytea, n numeric, f float8, j jsonb)");
$disable = defined('PDO::PGSQL_ATTR_DISABLE_PREPARES') ? PDO::PGSQL_ATTR_DISABLE_PREPARES : PgPool::PGSQL_ATTR_DISABLE_PREPARES;
$binary = "\x00\x01\x02\xff\xfe'\\\"\x00end" . str_repeat("\x80", 3);

foreach (['native' => [PDO::ATTR_EMULATE_PREPARES => false], 'emulated' => [PDO::ATTR_EMULATE_PREPARES => true],
    'disabled' => [PDO::ATTR_EMULATE_PREPARES => false, $disable => true]] as $how => $opts) {
    out("== $how\n");
    $db->exec("TRUNCATE compat_params");
    $ins = $db->prepare("INSERT INTO compat_params (i, s, b, bin, n, f, j) VALUES (:i, :s, :b, :bin, :n, :f, :j) RETURNING id", $opts);
    $cases = [
        'typed' => [[':i', 42, PDO::PARAM_INT], [':s', 'text', PDO::PARAM_STR], [':b', true, PDO::PARAM_BOOL], [':bin', $binary, PDO::PARAM_LOB], [':n', '3.14', PDO::PARAM_STR], [':f', 2.5, PDO::PARAM_STR], [':j', '{"a": [1, 2]}', PDO::PARAM_STR]],
        'nulls' => [[':i', null, PDO::PARAM_NULL], [':s', null, PDO::PARAM_STR], [':b', null, PDO::PARAM_BOOL], [':bin', null, PDO::PARAM_LOB], [':n', null, PDO::PARAM_INT], [':f', null, PDO::PARAM_NULL], [':j', null, PDO::PARAM_STR]],
        'loose' => [[':i', '7', PDO::PARAM_STR], [':s', 12, PDO::PARAM_INT], [':b', false, PDO::PARAM_BOOL], [':bin', 'plain', PDO::PARAM_LOB], [':n', 1e3, PDO::PARAM_STR], [':f', -0.5, PDO::PARAM_STR], [':j', '[]', PDO::PARAM_STR]],
        'str flags' => [[':i', 1, PDO::PARAM_INT], [':s', 'national', PDO::PARAM_STR | PDO::PARAM_STR_NATL], [':b', 0, PDO::PARAM_BOOL], [':bin', '', PDO::PARAM_LOB], [':n', '0', PDO::PARAM_STR | PDO::PARAM_STR_CHAR], [':f', '1e-5', PDO::PARAM_STR], [':j', '"x"', PDO::PARAM_STR]],
    ];
    foreach ($cases as $label => $binds) {
        foreach ($binds as [$name, $value, $type]) {
            $ins->bindValue($name, $value, $type);
        }
        attempt("insert $label", function () use ($ins) { $ins->execute(); return $ins->rowCount(); });
    }
    /* bindParam: by reference, evaluated at execute; the variable's type after execute */
    $i = 1; $s = 'ref'; $bin = fopen('php://memory', 'w+b'); fwrite($bin, $binary); rewind($bin);
    $ins2 = $db->prepare("INSERT INTO compat_params (i, s, bin) VALUES (?, ?, ?)", $opts);
    $ins2->bindParam(1, $i, PDO::PARAM_INT);
    $ins2->bindParam(2, $s);
    $ins2->bindParam(3, $bin, PDO::PARAM_LOB);
    attempt('bindParam stream', fn() => $ins2->execute());
    $i = 2; $s = 'changed'; $bin = 'not a stream';
    attempt('bindParam changed', fn() => $ins2->execute());
    show('variables after execute', $i, $s);
    $out = 5;
    $st = $db->prepare("SELECT ?::int + 1", $opts);
    $st->bindParam(1, $out, PDO::PARAM_INT | PDO::PARAM_INPUT_OUTPUT);
    attempt('INPUT_OUTPUT', function () use ($st, &$out) { $st->execute(); return [$st->fetchColumn(), $out]; });

    $sel = $db->query("SELECT i, s, b, bin, n, f, j, length(bin) AS binlen FROM compat_params ORDER BY id");
    foreach ($sel->fetchAll(PDO::FETCH_ASSOC) as $k => $row) {
        show("row $k", $row);
    }
    /* bytea output read as a stream, bound as LOB column */
    $st = $db->query("SELECT bin FROM compat_params WHERE bin IS NOT NULL ORDER BY id LIMIT 1");
    $st->bindColumn(1, $lob, PDO::PARAM_LOB);
    $st->fetch(PDO::FETCH_BOUND);
    show('bytea bound LOB', $lob);
    $db->beginTransaction(); /* SET LOCAL: the pooled connection stays as it was */
    $db->exec("SET LOCAL bytea_output = 'escape'");
    show('bytea escape format', $db->query("SELECT '\\x00ff275c'::bytea")->fetchColumn());
    $db->commit();

    /* placeholders */
    $st = $db->prepare("SELECT :a::text AS a, :b::int AS b, :a::text || '-' || :b::text AS ab", $opts);
    attempt('named repeated', function () use ($st) { $st->execute([':a' => 'x', 'b' => 3]); return $st->fetch(PDO::FETCH_ASSOC); });
    $st = $db->prepare("SELECT '?' AS q, ? AS p, '-- ?' /* ? */ AS c -- ?\n", $opts);
    attempt('? in literals and comments', function () use ($st) { $st->execute(['v']); return $st->fetch(PDO::FETCH_NUM); });
    $st = $db->prepare("SELECT E'\\\\?' AS e, \$\$?\$\$ AS d, ? AS p", $opts);
    attempt('? in E and dollar strings', function () use ($st) { $st->execute(['v']); return $st->fetch(PDO::FETCH_NUM); });
    attempt('missing parameter', function () use ($db, $opts) { $st = $db->prepare("SELECT ?::int, ?::int", $opts); $st->execute([1]); return $st->fetch(); });
    attempt('too many parameters', function () use ($db, $opts) { $st = $db->prepare("SELECT ?::int", $opts); $st->execute([1, 2]); return $st->fetch(); });
    attempt('unknown name', function () use ($db, $opts) { $st = $db->prepare("SELECT :a::int", $opts); $st->execute([':nope' => 1]); return $st->fetch(); });
    attempt('mixed styles', function () use ($db, $opts) { $st = $db->prepare("SELECT :a::int, ?::int", $opts); $st->execute([1, 2]); return $st->fetch(); });
    attempt('bad value', function () use ($db, $opts) { $st = $db->prepare("SELECT ?::int", $opts); $st->execute(['x']); return $st->fetch(); });
    attempt('bindValue int to text', function () use ($db, $opts) { $st = $db->prepare("SELECT pg_typeof(?)::text, ?::text", $opts); $st->bindValue(1, 5, PDO::PARAM_INT); $st->bindValue(2, true, PDO::PARAM_BOOL); $st->execute(); return $st->fetch(PDO::FETCH_NUM); });
    attempt('bool param to int', function () use ($db, $opts) { $st = $db->prepare("SELECT ?::int", $opts); $st->execute([false]); return $st->fetch(PDO::FETCH_NUM); });
    attempt('NUL in text param', function () use ($db, $opts) { $st = $db->prepare("SELECT ?::text AS t", $opts); $st->execute(["a\0b"]); return $st->fetchColumn(); });
    attempt('long text param', function () use ($db, $opts) { $st = $db->prepare("SELECT length(?::text), md5(?::text)", $opts); $v = str_repeat('xyz', 200000); $st->execute([$v, $v]); return $st->fetch(PDO::FETCH_NUM); });
    attempt('re-execute with other values', function () use ($db, $opts) { $st = $db->prepare("SELECT ?::int * 2", $opts); $r = []; foreach ([1, 2, 3] as $v) { $st->execute([$v]); $r[] = $st->fetchColumn(); } return $r; });
}
$db->exec("DROP TABLE compat_params");
