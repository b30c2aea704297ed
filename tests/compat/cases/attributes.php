<?php
/* Handle and statement attributes: ATTR_CASE, ORACLE_NULLS, STRINGIFY_FETCHES,
 * DEFAULT_FETCH_MODE, TIMEOUT, STATEMENT_CLASS, EMULATE_PREPARES, AUTOCOMMIT, server attributes,
 * unknown attributes. */
$disable = defined('PDO::PGSQL_ATTR_DISABLE_PREPARES') ? PDO::PGSQL_ATTR_DISABLE_PREPARES : PgPool::PGSQL_ATTR_DISABLE_PREPARES;
$db = compat_db([PDO::ATTR_TIMEOUT => 3]);
$q = "SELECT 1 AS \"MixedCase\", NULL AS n, '' AS e, 2.5::float8 AS f, true AS b, 7::int8 AS i, 'x'::text AS \"lower\", '\\x41'::bytea AS bin";
foreach ([PDO::CASE_NATURAL => 'NATURAL', PDO::CASE_LOWER => 'LOWER', PDO::CASE_UPPER => 'UPPER'] as $case => $cname) {
    foreach ([PDO::NULL_NATURAL => 'NATURAL', PDO::NULL_EMPTY_STRING => 'EMPTY_STRING', PDO::NULL_TO_STRING => 'TO_STRING'] as $nulls => $nname) {
        foreach ([false, true] as $stringify) {
            $db->setAttribute(PDO::ATTR_CASE, $case);
            $db->setAttribute(PDO::ATTR_ORACLE_NULLS, $nulls);
            $db->setAttribute(PDO::ATTR_STRINGIFY_FETCHES, $stringify);
            show("case=$cname nulls=$nname stringify=" . var_export($stringify, true), $db->query($q)->fetch(PDO::FETCH_ASSOC));
        }
    }
}
$db->setAttribute(PDO::ATTR_CASE, PDO::CASE_NATURAL);
$db->setAttribute(PDO::ATTR_ORACLE_NULLS, PDO::NULL_NATURAL);
$db->setAttribute(PDO::ATTR_STRINGIFY_FETCHES, false);
foreach ([PDO::FETCH_NUM, PDO::FETCH_OBJ, PDO::FETCH_ASSOC | PDO::FETCH_GROUP] as $mode) {
    $db->setAttribute(PDO::ATTR_DEFAULT_FETCH_MODE, $mode);
    show("default fetch mode $mode", $db->query("SELECT 1 AS a, 2 AS b")->fetch(), $db->getAttribute(PDO::ATTR_DEFAULT_FETCH_MODE));
}
$db->setAttribute(PDO::ATTR_DEFAULT_FETCH_MODE, PDO::FETCH_BOTH);
$st = $db->query("SELECT 1 AS a");
$st->setFetchMode(PDO::FETCH_NUM);
show('statement fetch mode', $st->fetch());

class MyStatement extends PDOStatement
{
    protected function __construct(public $tag)
    {
    }
}
attempt('STATEMENT_CLASS', function () use ($db) { $db->setAttribute(PDO::ATTR_STATEMENT_CLASS, [MyStatement::class, ['t']]); $st = $db->query("SELECT 1"); return [get_class($st), $st->tag, $st->fetchColumn(), $db->getAttribute(PDO::ATTR_STATEMENT_CLASS)]; });
$db->setAttribute(PDO::ATTR_STATEMENT_CLASS, [PDOStatement::class]);

foreach ([PDO::ATTR_EMULATE_PREPARES, $disable, PDO::ATTR_TIMEOUT, PDO::ATTR_AUTOCOMMIT, PDO::ATTR_PERSISTENT,
    PDO::ATTR_CONNECTION_STATUS, PDO::ATTR_DRIVER_NAME, PDO::ATTR_ERRMODE, PDO::ATTR_CASE, PDO::ATTR_ORACLE_NULLS,
    PDO::ATTR_STRINGIFY_FETCHES, PDO::ATTR_PREFETCH, PDO::ATTR_CURSOR, PDO::ATTR_FETCH_TABLE_NAMES, 12345] as $attr) {
    attempt("getAttribute $attr", fn() => [$db->getAttribute($attr), $db->errorInfo()]);
}
attempt('SERVER_VERSION like the server reports it', fn() => $db->getAttribute(PDO::ATTR_SERVER_VERSION) === $db->query("SHOW server_version")->fetchColumn());
attempt('SERVER_INFO', fn() => preg_replace('/^PID: \d+;/', 'PID: <pid>;', $db->getAttribute(PDO::ATTR_SERVER_INFO)));
foreach ([[PDO::ATTR_EMULATE_PREPARES, true], [PDO::ATTR_EMULATE_PREPARES, 'yes'], [$disable, 1], [$disable, false],
    [PDO::ATTR_TIMEOUT, 5], [PDO::ATTR_AUTOCOMMIT, false], [PDO::ATTR_PREFETCH, 10], [12345, 1],
    [PDO::ATTR_ERRMODE, 99], [PDO::ATTR_CASE, 'x'], [PDO::ATTR_DEFAULT_FETCH_MODE, PDO::FETCH_INTO]] as [$attr, $value]) {
    attempt("setAttribute $attr " . json_encode($value), fn() => [$db->setAttribute($attr, $value), $db->errorInfo()]);
}
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
/* statement attributes */
$st = $db->prepare("SELECT 1");
attempt('stmt getAttribute', fn() => $st->getAttribute(PDO::ATTR_EMULATE_PREPARES));
attempt('stmt setAttribute', fn() => $st->setAttribute(PDO::ATTR_EMULATE_PREPARES, true));
attempt('stmt getAttribute unknown', fn() => $st->getAttribute(12345));
/* per-statement options */
attempt('prepare options', function () use ($db, $disable) {
    $r = [];
    foreach ([[PDO::ATTR_EMULATE_PREPARES => true], [$disable => true], [PDO::ATTR_CURSOR => PDO::CURSOR_FWDONLY], [12345 => 1]] as $o) {
        $st = $db->prepare("SELECT ?::int AS v", $o);
        $st->execute([3]);
        $r[] = $st->fetchColumn();
    }
    return $r;
});
/* options given to the constructor */
attempt('constructor options', function () {
    $h = compat_db([PDO::ATTR_CASE => PDO::CASE_UPPER, PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_NUM,
        PDO::ATTR_EMULATE_PREPARES => true, PDO::ATTR_STRINGIFY_FETCHES => true, PDO::ATTR_ORACLE_NULLS => PDO::NULL_TO_STRING]);
    return [$h->query("SELECT 1 AS a, NULL AS b")->fetch(), $h->getAttribute(PDO::ATTR_EMULATE_PREPARES)];
});
