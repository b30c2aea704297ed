--TEST--
Security: quote(), emulated and server-side parameters are injection-safe in every client_encoding the server accepts, with standard_conforming_strings on and off (multibyte lead bytes before 0x5c and 0x27, invalid and truncated sequences), and quote() matches pdo_pgsql
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$pool = pgpool_db();
$direct = pgpool_direct();

/* Every encoding the server takes as client_encoding (names from the server itself). */
$encodings = $direct->query("SELECT pg_encoding_to_char(i) FROM generate_series(0, 64) i
    WHERE pg_encoding_to_char(i) <> '' ORDER BY 1")->fetchAll(PDO::FETCH_COLUMN);
$client = [];
foreach ($encodings as $enc) {
    try {
        $direct->exec("SET client_encoding = '$enc'");
        $client[] = $enc;
    } catch (PDOException $e) {
        /* a server-only encoding (MULE_INTERNAL...) or no conversion from UTF8 */
    }
}
$direct->exec("RESET client_encoding");
foreach (['SJIS', 'BIG5', 'GBK', 'GB18030', 'UHC', 'EUC_JP', 'UTF8', 'LATIN1'] as $must) {
    if (!in_array($must, $client, true)) {
        echo "the server does not take client_encoding $must\n";
    }
}

/*
 * The payloads: in SJIS, BIG5, GBK, GB18030 and UHC a lead byte may be followed by 0x5c ('\')
 * or in some by 0x27-range bytes; a quoting routine that reads bytes instead of characters
 * either splits a character (and a backslash escapes the closing quote) or misses a quote.
 * Each payload tries to close the literal and append "OR 1=1" / a second statement.
 */
$leads = ["\x81", "\x83", "\x95", "\xa4", "\xbf", "\xe0", "\xfe", "\x8e", "\xc3", "\xff"];
$payloads = ["plain", "it's", "a\\b", "\\'", "'; SELECT 'pwned", "' OR '1'='1", "\0cut", "x\\"];
foreach ($leads as $lead) {
    foreach (["\\", "'", "\\'", "' OR 1=1 --", "\\' OR 1=1 --", "", "\x5c\x5c'"] as $tail) {
        $payloads[] = $lead . $tail;
        $payloads[] = "a" . $lead . $tail . "b";
    }
    $payloads[] = $lead; /* a truncated sequence at the end */
}
/* GB18030 four-byte forms with 0x5c / 0x27-ish bytes inside, and a few valid characters. */
$payloads[] = "\x81\x30\x81\x5c'";
$payloads[] = "\x81\x39\xee\x39";
$payloads[] = "\x95\x5c\x95\x5c";     /* SJIS: two valid characters ending in 0x5c */
$payloads[] = "\xa5\x5c'";            /* BIG5 */
$payloads[] = "\xb0\xa1'";            /* GBK/EUC */
$payloads[] = "\xc3\xa9'";            /* UTF8 e-acute */

/*
 * One way of sending $s through $db: 'quote' (the quoted literal in the SQL text), 'native'
 * (a server-side parameter), 'emulated' (PDO's emulated prepare, which quotes). The outcome:
 * "value HEX" for the one row the statement must give (a value and the sentinel 42), "error
 * SQLSTATE", "refused" (quote() returned false: nothing was sent), or "SHAPE ..." when it came back
 * with another shape: the literal was broken out of.
 */
function outcome(PDO $db, string $how, string $s, PDOStatement $native, PDOStatement $emulated): string
{
    try {
        if ($how === 'quote') {
            $q = $db->quote($s);
            if ($q === false) {
                return 'refused';
            }
            $st = $db->query("SELECT $q::text AS v, 42 AS sentinel");
        } else {
            $st = $how === 'native' ? $native : $emulated;
            if (!$st->execute([$s])) {
                /* PDO's emulation when the quoter refuses the string: execute() is false
                 * without an exception, as with pdo_pgsql; nothing was sent. */
                return 'refused';
            }
        }
        $rows = $st->fetchAll(PDO::FETCH_NUM);
        if (count($rows) !== 1 || count($rows[0]) !== 2 || (int) $rows[0][1] !== 42) {
            return 'SHAPE ' . json_encode($rows, JSON_INVALID_UTF8_SUBSTITUTE);
        }
        return 'value ' . bin2hex((string) $rows[0][0]);
    } catch (PDOException $e) {
        return 'error ' . ($e->errorInfo[0] ?? '?');
    }
}

$total = 0;
foreach ($client as $enc) {
    foreach (['on', 'off'] as $scs) {
        $problems = [];
        $stmts = [];
        foreach (['pool' => $pool, 'direct' => $direct] as $name => $db) {
            $db->exec("SET client_encoding = '$enc'");
            $db->exec("SET standard_conforming_strings = $scs");
            $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
            $native = $db->prepare('SELECT ?::text AS v, 42 AS sentinel');
            $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, true);
            $stmts[$name] = [$native, $db->prepare('SELECT ?::text AS v, 42 AS sentinel')];
            $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
        }
        foreach ($payloads as $s) {
            $total++;
            $q = $pool->quote($s);
            $qd = $direct->quote($s);
            if ($q !== $qd) {
                $problems[] = "quote differs from pdo_pgsql for " . bin2hex($s) . ": " .
                    var_export($q, true) . " vs " . var_export($qd, true);
            }
            foreach (['quote', 'native', 'emulated'] as $how) {
                $a = outcome($pool, $how, $s, ...$stmts['pool']);
                $b = outcome($direct, $how, $s, ...$stmts['direct']);
                if (strncmp($a, 'SHAPE', 5) === 0) {
                    $problems[] = "$how: broke out of the literal with " . bin2hex($s) . ": $a";
                } elseif ($a !== $b) {
                    $problems[] = "$how: " . bin2hex($s) . " gives $a through PgPool, $b through pdo_pgsql";
                }
                /* A value that comes back is the one that went in, up to a NUL (quote()
                 * stops there, like PQescapeStringConn), unless the encoding maps several
                 * byte sequences to one character (then pdo_pgsql gets the same: above). */
                if (strncmp($a, 'value ', 6) === 0 && $a === $b) {
                    $cut = strpos($s, "\0");
                    $want = $cut === false ? $s : substr($s, 0, $cut);
                    if (substr($a, 6) !== bin2hex($want) && $enc === 'UTF8') {
                        $problems[] = "$how: UTF8 round trip changed " . bin2hex($s) . " into " . substr($a, 6);
                    }
                }
            }
            if (!in_array($pool->query('SELECT 7')->fetchColumn(), [7, '7'], true)) {
                $problems[] = "the handle is unusable after " . bin2hex($s);
            }
        }
        if ($problems) {
            echo "$enc scs=$scs: ", count($problems), " problem(s)\n  ", implode("\n  ", array_slice($problems, 0, 10)), "\n";
        }
    }
}
foreach ([$pool, $direct] as $db) {
    $db->exec("RESET client_encoding");
    $db->exec("RESET standard_conforming_strings");
}
echo count($client) >= 30 ? "encodings: 30 or more\n" : "encodings: only " . count($client) . "\n";
echo $total > 2000 ? "checked more than 2000 (encoding, setting, payload) cases\n" : "checked only $total\n";
echo "done\n";
?>
--EXPECT--
encodings: 30 or more
checked more than 2000 (encoding, setting, payload) cases
done
