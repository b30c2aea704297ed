<?php
/* Every client_encoding the server accepts: results arrive converted, text sent in that
 * encoding is understood, quote() follows the encoding's character rules, error cursors
 * (LINE n:) are placed by its character widths. Also client_encoding and options in the DSN. */
$db = compat_db();
$encodings = $db->query("SELECT pg_encoding_to_char(i) FROM generate_series(0, 63) i WHERE pg_encoding_to_char(i) <> '' ORDER BY 1")->fetchAll(PDO::FETCH_COLUMN);
$sample = 'A-z 0 ä é ß ø € Ω Ж 日本 한 中 😀';
/* The UTF-32BE bytes of one UTF-8 character (mbstring may not be loaded). */
function mb_convert_encoding_fallback(string $ch): string
{
    $o = array_values(unpack('C*', $ch));
    $cp = match (count($o)) {
        1 => $o[0],
        2 => (($o[0] & 0x1f) << 6) | ($o[1] & 0x3f),
        3 => (($o[0] & 0x0f) << 12) | (($o[1] & 0x3f) << 6) | ($o[2] & 0x3f),
        default => (($o[0] & 0x07) << 18) | (($o[1] & 0x3f) << 12) | (($o[2] & 0x3f) << 6) | ($o[3] & 0x3f),
    };
    return pack('N', $cp);
}
foreach ($encodings as $enc) {
    $h = compat_db();
    try {
        $h->exec("SET client_encoding TO '$enc'");
    } catch (PDOException $e) {
        show_exception("$enc SET", $e);
        continue;
    }
    show("$enc SHOW", $h->query("SHOW client_encoding")->fetchColumn());
    /* each character the encoding can hold, as the server sends it */
    $held = [];
    foreach (preg_split('//u', $sample, -1, PREG_SPLIT_NO_EMPTY) as $ch) {
        $cp = unpack('N', mb_convert_encoding_fallback($ch))[1];
        try {
            $held[] = $h->query("SELECT chr($cp)")->fetchColumn();
        } catch (PDOException $e) {
            /* the character has no equivalent in this encoding */
        }
    }
    show("$enc characters", array_map('bin2hex', $held));
    $text = implode('', $held);
    $st = $h->prepare("SELECT ?::text AS t, length(?::text) AS n");
    attempt("$enc round trip", function () use ($st, $text) { $st->execute([$text, $text]); $r = $st->fetch(PDO::FETCH_ASSOC); $r['t'] = bin2hex($r['t']); return $r; });
    attempt("$enc quote", fn() => bin2hex((string) $h->quote($text)));
    attempt("$enc emulated", fn() => bin2hex($h->query("SELECT " . $h->quote($text) . " AS t", PDO::FETCH_COLUMN, 0)->fetchColumn()));
    attempt("$enc error cursor", fn() => $h->query("SELECT " . $h->quote($text) . ", nosuchcolumn"));
    attempt("$enc error cursor native", function () use ($h, $text) { $st = $h->prepare("SELECT ?::text, '" . str_replace("'", "''", $text) . "' AS x, nosuchcolumn"); $st->execute([$text]); });
    /* bytes that are not valid in the encoding */
    foreach (["\xff", "\x81", "\xe3\x81", "a\x8e", "\x8f\xa1"] as $bad) {
        attempt("$enc quote invalid " . bin2hex($bad), fn() => $h->quote($bad) === false ? false : bin2hex($h->quote($bad)));
        attempt("$enc send invalid " . bin2hex($bad), function () use ($h, $bad) { $st = $h->prepare("SELECT octet_length(?::text)"); $st->execute([$bad]); return $st->fetchColumn(); });
    }
    unset($h);
}
/* client_encoding and options given in the DSN */
foreach ([';client_encoding=LATIN1', ";options='-c client_encoding=WIN1252'", ";options='--client_encoding=SJIS -c search_path=pg_catalog,public'",
    ";application_name=compat_app;options='-c statement_timeout=4321 -cwork_mem=3MB'"] as $extra) {
    attempt("DSN $extra", function () use ($extra) {
        $h = compat_db([], $extra);
        return [$h->query("SHOW client_encoding")->fetchColumn(), $h->query("SHOW search_path")->fetchColumn(),
            $h->query("SHOW statement_timeout")->fetchColumn(), $h->query("SHOW work_mem")->fetchColumn(),
            strpos($extra, 'application_name') ? $h->query("SHOW application_name")->fetchColumn() : '-',
            bin2hex($h->query("SELECT 'ä'")->fetchColumn()), bin2hex($h->query("SELECT chr(228)")->fetchColumn())];
    });
}
