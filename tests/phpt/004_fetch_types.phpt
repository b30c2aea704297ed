--TEST--
PgPool fetch of every column type converts exactly like pdo_pgsql (bool, int2/4/8, oid, bytea stream, NULL, strings)
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$sql = "SELECT 1::int2 AS i2, '-2147483648'::int4 AS i4, 9223372036854775807::int8 AS i8,
    true AS t, false AS f, NULL::int AS n, NULL::bytea AS nb, 26::oid AS o, 4294967295::oid AS obig,
    1.5::float4 AS f4, -2.25e-10::float8 AS f8, 'NaN'::float8 AS nan, 12345678901234567890.123::numeric AS num,
    'text é'::text AS txt, 'vc'::varchar(5) AS vc, 'c  '::char(3) AS ch, 'a'::\"char\" AS qc, 'nm'::name AS nm,
    '\\x00ff41'::bytea AS hexa, ''::bytea AS empty_bytea, '2024-02-29'::date AS d,
    '2024-02-29 13:14:15.5'::timestamp AS ts, '2024-02-29 13:14:15+00'::timestamptz AS tstz,
    '1 day 02:00'::interval AS iv, '{1,2,NULL}'::int[] AS arr, '{\"a\": [1, true]}'::jsonb AS j,
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '10.0.0.1/8'::inet AS ip, '(1,2)'::point AS pt,
    B'101'::bit(3) AS bits, '12.34'::money AS m, ''::text AS empty_text, 'tab\there' AS tab,
    repeat('x', 100000) AS big";

function show(PDO $db, string $sql, int $mode): array
{
    $out = [];
    foreach ($db->query($sql)->fetch($mode) as $k => $v) {
        $out[$k] = is_resource($v) ? ['stream' => stream_get_contents($v)] : $v;
    }
    return $out;
}

$pool = pgpool_db();
$direct = pgpool_direct();
$direct->exec("SET TIME ZONE 'UTC'");
$pool->exec("SET TIME ZONE 'UTC'"); /* pins this handle's lease: same session for the query below */
foreach ([PDO::FETCH_ASSOC, PDO::FETCH_NUM] as $mode) {
    $a = show($pool, $sql, $mode);
    $b = show($direct, $sql, $mode);
    var_dump($a === $b);
    if ($a !== $b) {
        var_dump($a, $b);
    }
}
$a = show($pool, $sql, PDO::FETCH_ASSOC);
foreach (['i2', 'i4', 'i8', 't', 'f', 'n', 'nb', 'o', 'obig', 'f8', 'num', 'txt', 'ch', 'hexa', 'tstz', 'arr', 'j'] as $k) {
    echo $k, ': ', is_array($a[$k]) ? 'stream ' . bin2hex($a[$k]['stream']) : var_export($a[$k], true), "\n";
}
echo strlen($a['big']), "\n";

/* bytea in escape output format decodes too */
$pool->exec("SET bytea_output = 'escape'");
$direct->exec("SET bytea_output = 'escape'");
$q = "SELECT '\\x00015c27ff0a'::bytea AS b, 'abc\\\\'::bytea AS c";
var_dump(show($pool, $q, PDO::FETCH_NUM) === show($direct, $q, PDO::FETCH_NUM));
var_dump(bin2hex(show($pool, $q, PDO::FETCH_NUM)[0]['stream']));

/* ATTR_STRINGIFY_FETCHES is PDO's */
$pool->setAttribute(PDO::ATTR_STRINGIFY_FETCHES, true);
var_dump($pool->query("SELECT 1::int4, true")->fetch(PDO::FETCH_NUM));
?>
--EXPECT--
bool(true)
bool(true)
i2: 1
i4: -2147483648
i8: 9223372036854775807
t: true
f: false
n: NULL
nb: NULL
o: 26
obig: 4294967295
f8: '-2.25e-10'
num: '12345678901234567890.123'
txt: 'text é'
ch: 'c  '
hexa: stream 00ff41
tstz: '2024-02-29 13:14:15+00'
arr: '{1,2,NULL}'
j: '{"a": [1, true]}'
100000
bool(true)
string(12) "00015c27ff0a"
array(2) {
  [0]=>
  string(1) "1"
  [1]=>
  string(1) "1"
}
