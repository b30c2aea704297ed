<?php
/* Errors in the three error modes: SQLSTATE, errorInfo, message (libpq's layout: LINE n:
 * display, DETAIL, HINT, CONTEXT), warnings, errorCode() of handle and statement. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_err");
$db->exec("CREATE TABLE compat_err (id int PRIMARY KEY, v int CHECK (v > 0), u text UNIQUE)");
$db->exec("INSERT INTO compat_err VALUES (1, 1, 'a')");
$db->exec("CREATE OR REPLACE FUNCTION compat_fail(int) RETURNS int LANGUAGE plpgsql AS \$\$
BEGIN
  IF \$1 > 1 THEN
    RAISE EXCEPTION 'too big: %', \$1 USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'P0042';
  END IF;
  RETURN 1 / \$1;
END \$\$");

$statements = [
    'syntax' => "SELEC 1",
    'syntax later line' => "SELECT 1,\n  2,\n\t3 FORM compat_err",
    'long line' => "SELECT " . str_repeat("1000 + ", 20) . " nosuchcolumn FROM compat_err",
    'multibyte line' => "SELECT 'äöü€𝄞' || 'ok', nosuchcol",
    'unknown table' => "SELECT * FROM compat_nope",
    'unique' => "INSERT INTO compat_err VALUES (2, 2, 'a')",
    'check' => "INSERT INTO compat_err VALUES (3, -1, 'c')",
    'not null' => "INSERT INTO compat_err VALUES (NULL, 1, 'd')",
    'division' => "SELECT 1/0",
    'function raise' => "SELECT compat_fail(5)",
    'function division' => "SELECT compat_fail(0)",
    'cast' => "SELECT 'x'::int",
    'empty' => "",
    'only comment' => "-- nothing",
    'two statements, second fails' => "SELECT 1; SELECT 1/0",
];
foreach ([PDO::ERRMODE_SILENT => 'SILENT', PDO::ERRMODE_WARNING => 'WARNING', PDO::ERRMODE_EXCEPTION => 'EXCEPTION'] as $mode => $mname) {
    $db->setAttribute(PDO::ATTR_ERRMODE, $mode);
    foreach ([false, true] as $emulate) {
        $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, $emulate);
        out("== $mname emulate=" . var_export($emulate, true) . "\n");
        foreach ($statements as $label => $sql) {
            attempt("exec $label", function () use ($db, $sql) { $r = $db->exec($sql); return [$r, $db->errorCode(), $db->errorInfo()]; });
            if (strpos($label, 'two') === 0) {
                continue; /* several statements cannot be prepared */
            }
            attempt("query $label", function () use ($db, $sql) { $r = $db->query($sql); return [$r === false ? false : $r->fetchAll(PDO::FETCH_NUM), $db->errorCode(), $db->errorInfo()]; });
            attempt("execute $label", function () use ($db, $sql) {
                $st = $db->prepare($sql);
                if ($st === false) {
                    return ['prepare failed', $db->errorInfo()];
                }
                $r = $st->execute();
                return [$r, $st->errorCode(), $st->errorInfo(), $db->errorCode()];
            });
        }
        attempt('param error', function () use ($db) { $st = $db->prepare("SELECT ?::int / ?::int"); $r = $st->execute([1, 0]); return [$r, $st->errorInfo()]; });
        attempt('error then success', function () use ($db) { @$db->exec("SELEC"); $r = $db->query("SELECT 1")->fetchColumn(); return [$r, $db->errorCode(), $db->errorInfo()]; });
    }
}
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
/* a failed transaction */
$db->beginTransaction();
attempt('in txn: error', fn() => $db->exec("SELECT 1/0"));
attempt('in txn: next statement', fn() => $db->query("SELECT 1")->fetchColumn());
attempt('in txn: inTransaction', fn() => $db->inTransaction());
attempt('in txn: commit', fn() => $db->commit());
attempt('after: inTransaction', fn() => $db->inTransaction());
attempt('after: works', fn() => $db->query("SELECT 2")->fetchColumn());
$db->exec("DROP TABLE compat_err");
$db->exec("DROP FUNCTION compat_fail(int)");
