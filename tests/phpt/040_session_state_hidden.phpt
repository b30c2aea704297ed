--TEST--
PgPool transaction mode: session state the statement's top-level text does not show pins the lease too (CREATE TEMP TABLE ... AS, whose tag is SELECT n; DO blocks; pg_temp.x; quoted function names), so the next handle on the same backend finds none of it
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
/* Pool `tiny` has one connection: the second handle always gets the first one's backend. */
$tiny = 'pgpool:pool=tiny';
$direct = new PDO(str_replace('dbname=app', 'dbname=tiny', PGPOOL_TEST_DSN), PGPOOL_TEST_USER,
    PGPOOL_TEST_PASSWORD, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$direct->exec("DROP TABLE IF EXISTS t040; CREATE TABLE t040 (v text)");
/* Stored code that takes a session lock: out of the scanner's sight (COMPATIBILITY.md). */
$direct->exec('CREATE OR REPLACE FUNCTION take_lock_040(k bigint) RETURNS void LANGUAGE plpgsql AS $$BEGIN PERFORM pg_advisory_lock(k); END$$');

/* Everything a statement could leave on the session, as the next user of the backend sees it. */
$state = "SELECT json_build_object(
    'temp', (SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class WHERE relnamespace = pg_my_temp_schema()),
    'func', (SELECT string_agg(proname, ' ' ORDER BY proname) FROM pg_proc WHERE pronamespace = pg_my_temp_schema()),
    'locks', (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
    'role', current_setting('role'), 'work_mem', current_setting('work_mem'),
    'search_path', current_setting('search_path'),
    'listen', (SELECT string_agg(c, ' ') FROM pg_listening_channels() c),
    'prepared', (SELECT string_agg(name, ' ') FROM pg_prepared_statements WHERE from_sql))";
$clean = json_decode(pgpool_db([], $tiny)->query($state)->fetchColumn(), true);
pgpool_wait_quiet('tiny');

function leftover(): string
{
    global $tiny, $state, $clean;
    $db = pgpool_db([], $tiny);
    $now = json_decode($db->query($state)->fetchColumn(), true);
    $diff = [];
    foreach ($now as $k => $v) {
        if ($v !== $clean[$k]) {
            $diff[] = "$k=" . json_encode($v);
        }
    }
    return $diff ? implode(' ', $diff) : 'nothing';
}

$cases = [
    /* #1: CREATE TABLE ... AS completes with the tag `SELECT n` */
    'CREATE TEMP TABLE AS' => "CREATE TEMP TABLE t040a AS SELECT 'alice'::text AS owner",
    'CREATE TEMPORARY TABLE AS' => "CREATE TEMPORARY TABLE t040b AS SELECT 1 AS a",
    'CTAS after a SELECT' => "SELECT 1; CREATE TEMP TABLE t040c AS SELECT 1 AS a",
    'CTAS prepared' => ['prepare', "CREATE TEMP TABLE t040d AS SELECT ?::int AS a", [1]],
    'EXPLAIN ANALYZE CTAS' => "EXPLAIN ANALYZE CREATE TEMP TABLE t040e AS SELECT 1 AS a",
    /* #2: DO blocks */
    'DO advisory lock' => 'DO $$BEGIN PERFORM pg_advisory_lock(40040); END$$',
    'DO try lock, tagged' => 'DO $body$BEGIN PERFORM pg_try_advisory_lock_shared(40041); END$body$',
    'DO lock, then error' => ['error', 'DO $$BEGIN PERFORM pg_advisory_lock(40042); RAISE EXCEPTION \'after the lock\'; END$$'],
    'DO SET ROLE' => "DO \$\$BEGIN EXECUTE 'SET ROLE ' || current_user; END\$\$",
    'DO SET' => "DO \$\$BEGIN EXECUTE 'SET work_mem = ''9MB'''; END\$\$",
    'DO set_config' => "DO \$\$BEGIN PERFORM set_config('search_path', 'evil', false); END\$\$",
    'DO nested quote' => 'DO $o$BEGIN EXECUTE $i$SET search_path = evil2$i$; END$o$',
    'DO temp table' => "DO \$\$BEGIN EXECUTE 'CREATE TEMP TABLE t040f (a int)'; END\$\$",
    'DO LISTEN' => "DO \$\$BEGIN EXECUTE 'LISTEN secret_040'; END\$\$",
    'DO PREPARE' => "DO \$\$BEGIN EXECUTE 'PREPARE p040 AS SELECT 1'; END\$\$",
    'DO quoted body' => "DO 'BEGIN PERFORM set_config(''work_mem'', ''8MB'', false); END'",
    'DO LANGUAGE, E string' => "DO LANGUAGE plpgsql E'BEGIN EXECUTE \\'SET work_mem = 7777\\'; END'",
    /* #2: temporary objects by schema, no TEMP keyword */
    'CREATE TABLE pg_temp.' => "CREATE TABLE pg_temp.t040g (a int)",
    'CREATE SEQUENCE pg_temp.' => "CREATE SEQUENCE pg_temp.s040",
    'CREATE VIEW pg_temp.' => "CREATE VIEW pg_temp.v040 AS SELECT 1 AS a",
    'CREATE FUNCTION pg_temp.' => "CREATE FUNCTION pg_temp.f040() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    'CREATE TABLE pg_temp. AS' => "CREATE TABLE pg_temp.t040h AS SELECT 1 AS a",
    'CREATE TABLE "pg_temp".' => 'CREATE TABLE "pg_temp".t040i (a int)',
    /* #2: quoted function names */
    '"pg_advisory_lock"' => 'SELECT "pg_advisory_lock"(40043)',
    'pg_catalog."..._shared"' => 'SELECT pg_catalog."pg_advisory_lock_shared"(40044)',
    '"set_config"' => "SELECT \"set_config\"('work_mem', '7MB', false)",
    /* SET by another name (PostgreSQL documents it as equivalent) */
    'UPDATE pg_settings' => "UPDATE pg_settings SET setting = '7MB' WHERE name = 'work_mem'",
    /* the documented workaround for stored code: pin first with any pinning statement */
    'SET, then stored code' => ['seq', "SET app.pinned = on", "SELECT take_lock_040(40046)"],
];
foreach ($cases as $name => $sql) {
    $db = pgpool_db([], $tiny);
    try {
        if (is_array($sql) && $sql[0] === 'prepare') {
            $db->prepare($sql[1])->execute($sql[2]);
        } elseif (is_array($sql) && $sql[0] === 'seq') {
            foreach (array_slice($sql, 1) as $one) {
                $db->query($one)->fetchAll();
            }
        } else {
            $db->exec(is_array($sql) ? $sql[1] : $sql);
        }
    } catch (PDOException $e) {
        echo "  ", $e->getMessage(), "\n";
    }
    $pinned = pgpool_active('tiny') === 1;
    unset($db);
    pgpool_wait_quiet('tiny');
    printf("%-26s pinned: %-5s next handle finds: %s\n", $name, var_export($pinned, true), leftover());
    pgpool_wait_quiet('tiny');
}

echo "-- no pin: transaction-scoped state, words in plain strings, a column named temp\n";
$quiet = [
    'DO SET LOCAL' => "DO \$\$BEGIN SET LOCAL work_mem = '5MB'; END\$\$",
    'DO set_config local' => "DO \$\$BEGIN PERFORM set_config('work_mem', '5MB', true); END\$\$",
    'DO xact lock' => 'DO $$BEGIN PERFORM pg_advisory_xact_lock(40045); END$$',
    'DO insert' => "DO \$\$BEGIN INSERT INTO t040 VALUES ('x'); END\$\$",
    'strings' => "INSERT INTO t040 VALUES ('SET ROLE x'), ('pg_advisory_lock(1)'), ('CREATE TEMP TABLE')",
    'quoted names' => 'SELECT "v" AS "temp" FROM "t040" WHERE "v" <> \'LISTEN x\'',
    'column temp' => "SELECT v AS temp FROM t040",
    'SELECT pg_settings' => "SELECT setting FROM pg_settings WHERE name = 'work_mem'",
];
foreach ($quiet as $name => $sql) {
    $db = pgpool_db([], $tiny);
    $db->exec($sql);
    printf("%-26s pinned: %s\n", $name, var_export(pgpool_active('tiny') === 1, true));
    unset($db);
    pgpool_wait_quiet('tiny');
}
echo leftover(), "\n";
$direct->exec("DROP TABLE t040; DROP FUNCTION take_lock_040(bigint)");
?>
--EXPECT--
CREATE TEMP TABLE AS       pinned: true  next handle finds: nothing
CREATE TEMPORARY TABLE AS  pinned: true  next handle finds: nothing
CTAS after a SELECT        pinned: true  next handle finds: nothing
CTAS prepared              pinned: true  next handle finds: nothing
EXPLAIN ANALYZE CTAS       pinned: true  next handle finds: nothing
DO advisory lock           pinned: true  next handle finds: nothing
DO try lock, tagged        pinned: true  next handle finds: nothing
  SQLSTATE[P0001]: Raise exception: 7 ERROR:  after the lock
CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE
DO lock, then error        pinned: true  next handle finds: nothing
DO SET ROLE                pinned: true  next handle finds: nothing
DO SET                     pinned: true  next handle finds: nothing
DO set_config              pinned: true  next handle finds: nothing
DO nested quote            pinned: true  next handle finds: nothing
DO temp table              pinned: true  next handle finds: nothing
DO LISTEN                  pinned: true  next handle finds: nothing
DO PREPARE                 pinned: true  next handle finds: nothing
DO quoted body             pinned: true  next handle finds: nothing
DO LANGUAGE, E string      pinned: true  next handle finds: nothing
CREATE TABLE pg_temp.      pinned: true  next handle finds: nothing
CREATE SEQUENCE pg_temp.   pinned: true  next handle finds: nothing
CREATE VIEW pg_temp.       pinned: true  next handle finds: nothing
CREATE FUNCTION pg_temp.   pinned: true  next handle finds: nothing
CREATE TABLE pg_temp. AS   pinned: true  next handle finds: nothing
CREATE TABLE "pg_temp".    pinned: true  next handle finds: nothing
"pg_advisory_lock"         pinned: true  next handle finds: nothing
pg_catalog."..._shared"    pinned: true  next handle finds: nothing
"set_config"               pinned: true  next handle finds: nothing
UPDATE pg_settings         pinned: true  next handle finds: nothing
SET, then stored code      pinned: true  next handle finds: nothing
-- no pin: transaction-scoped state, words in plain strings, a column named temp
DO SET LOCAL               pinned: false
DO set_config local        pinned: false
DO xact lock               pinned: false
DO insert                  pinned: false
strings                    pinned: false
quoted names               pinned: false
column temp                pinned: false
SELECT pg_settings         pinned: false
nothing
