--TEST--
PgPool backend errors keep PostgreSQL's SQLSTATE and read exactly like pdo_pgsql's (LINE n: cursor, DETAIL, HINT, CONTEXT)
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$cases = [
    ['query', "SELECT * FROM nope_010"],
    ['query', "SELECT\n  x\nFROM nope_010"],
    ['exec', "SELECT 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', nope_column FROM pg_class WHERE 1=1 AND 2=2 AND 3=3"],
    ['exec', "SELECT\t'é中文字' || nope2"],
    ['exec', "SELECT 1; SELECT * FROM nope_010; SELECT 1/0"],
    ['exec', "INSERT INTO nope_010 VALUES (1)"],
    ['exec', "CREATE TEMP TABLE t010 (id int PRIMARY KEY); INSERT INTO t010 VALUES (1); INSERT INTO t010 VALUES (1)"],
    ['exec', "DO \$\$ BEGIN RAISE EXCEPTION 'boom' USING HINT = 'a hint', DETAIL = 'some detail'; END \$\$"],
    ['exec', "DO \$\$ BEGIN PERFORM 1/0; END \$\$"],
    ['exec', "SELEC 1"],
    ['prepare', "SELECT 1 FROM nope_010 WHERE x = ?", [1]],
    ['prepare', "SELECT 1/?::int", [0]],
    ['prepare', "SELECT ?::int", ['x']],
    ['prepare', "SELECT :a::date", ['a' => 'not a date']],
    ['emulated', "SELECT * FROM nope_010 WHERE x = ?", ['it\'s']],
    ['disable_prepares', "SELECT * FROM nope_010 WHERE x = ?", [1]],
];

function run(PDO $db, array $case): string
{
    try {
        switch ($case[0]) {
            case 'query':
                $db->query($case[1]);
                break;
            case 'exec':
                $db->exec($case[1]);
                break;
            case 'prepare':
                $db->prepare($case[1])->execute($case[2]);
                break;
            case 'emulated':
                $db->prepare($case[1], [PDO::ATTR_EMULATE_PREPARES => true])->execute($case[2]);
                break;
            case 'disable_prepares':
                $db->prepare($case[1], [PgPool::PGSQL_ATTR_DISABLE_PREPARES => true])->execute($case[2]);
                break;
        }
        return "no error";
    } catch (PDOException $e) {
        return $e->getMessage() . "\n" . json_encode($e->errorInfo, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
    }
}

$pool = pgpool_db();
$direct = pgpool_direct();
foreach ($cases as $case) {
    $a = run($pool, $case);
    $b = run($direct, $case);
    if ($a === $b) {
        echo "same: ", strtok($a, "\n"), "\n";
    } else {
        echo "DIFFERENT for {$case[1]}:\n$a\n---\n$b\n";
    }
}
echo run($pool, $cases[7]), "\n";
?>
--EXPECT--
same: SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_010" does not exist
same: SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_010" does not exist
same: SQLSTATE[42703]: Undefined column: 7 ERROR:  column "nope_column" does not exist
same: SQLSTATE[42703]: Undefined column: 7 ERROR:  column "nope2" does not exist
same: SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_010" does not exist
same: SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_010" does not exist
same: SQLSTATE[23505]: Unique violation: 7 ERROR:  duplicate key value violates unique constraint "t010_pkey"
same: SQLSTATE[P0001]: Raise exception: 7 ERROR:  boom
same: SQLSTATE[22012]: Division by zero: 7 ERROR:  division by zero
same: SQLSTATE[42601]: Syntax error: 7 ERROR:  syntax error at or near "SELEC"
same: SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_010" does not exist
same: SQLSTATE[22012]: Division by zero: 7 ERROR:  division by zero
same: SQLSTATE[22P02]: Invalid text representation: 7 ERROR:  invalid input syntax for type integer: "x"
same: SQLSTATE[22007]: Invalid datetime format: 7 ERROR:  invalid input syntax for type date: "not a date"
same: SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_010" does not exist
same: SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "nope_010" does not exist
SQLSTATE[P0001]: Raise exception: 7 ERROR:  boom
DETAIL:  some detail
HINT:  a hint
CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE
["P0001",7,"ERROR:  boom\nDETAIL:  some detail\nHINT:  a hint\nCONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE"]
