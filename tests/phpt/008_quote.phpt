--TEST--
PgPool quote(): like PQescapeStringConn/PQescapeByteaConn for the connection's standard_conforming_strings and client encoding
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$pool = pgpool_db();
$direct = pgpool_direct();
$strings = ["plain", "it's", "back\\slash", "both '\\' ", "", "nul\0cut", "é ü 中文 😀",
    "bad \xff utf8", "cut \xc3", "overlong \xc0\xaf", "surrogate \xed\xa0\x80", "\x00\x01\xff'bin"];

function check(PDO $a, PDO $b, array $strings): void
{
    foreach ($strings as $s) {
        foreach ([PDO::PARAM_STR, PDO::PARAM_LOB] as $type) {
            $x = $a->quote($s, $type);
            $y = $b->quote($s, $type);
            if ($x !== $y) {
                echo "differs for ", bin2hex($s), " type $type: ", var_export($x, true), " vs ", var_export($y, true), "\n";
            }
        }
    }
}
check($pool, $direct, $strings);
var_dump($pool->quote("it's"), $pool->quote("a\\b"), $pool->quote("x\0y"), $pool->quote("bad \xff"),
    $pool->quote("ab'", PDO::PARAM_LOB), $pool->errorCode());

/* a quoted value round-trips through the server */
foreach (["it's", "back\\slash", "é ü 中文"] as $s) {
    var_dump($pool->query("SELECT " . $pool->quote($s))->fetchColumn() === $s);
}
var_dump(bin2hex(stream_get_contents($pool->query("SELECT " . $pool->quote("\x00\x01\xff'", PDO::PARAM_LOB) . "::bytea")->fetchColumn())));

/* standard_conforming_strings off: backslashes doubled (the SET pins this handle's connection) */
$pool->exec("SET standard_conforming_strings = off");
$direct->exec("SET standard_conforming_strings = off");
check($pool, $direct, $strings);
var_dump($pool->quote("a\\b'c"), $pool->quote("a\\b", PDO::PARAM_LOB));
var_dump($pool->query("SELECT " . $pool->quote("a\\b'c"))->fetchColumn());

/* another client encoding: its multibyte rules (a trailing byte 0x5c is not a backslash) */
$pool->exec("SET client_encoding = 'SJIS'");
$direct->exec("SET client_encoding = 'SJIS'");
check($pool, $direct, ["\x83\x5c", "ok'", "\x83"]);
var_dump(bin2hex($pool->quote("\x83\x5c'")));
echo "done\n";
?>
--EXPECT--
string(7) "'it''s'"
string(5) "'a\b'"
string(3) "'x'"
bool(false)
string(10) "'\x616227'"
string(5) "00000"
bool(true)
bool(true)
bool(true)
string(8) "0001ff27"
string(9) "'a\\b''c'"
string(11) "'\\x615c62'"
string(5) "a\b'c"
string(12) "27835c272727"
done
