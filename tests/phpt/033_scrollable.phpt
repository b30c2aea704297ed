--TEST--
PgPool scrollable statements (PDO::CURSOR_SCROLL): fetch orientations served from the complete result, same rows as pdo_pgsql's server cursor
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';
$sql = "SELECT g AS n FROM generate_series(1, 5) g ORDER BY g";
$moves = [[PDO::FETCH_ORI_NEXT, 0], [PDO::FETCH_ORI_NEXT, 0], [PDO::FETCH_ORI_PRIOR, 0], [PDO::FETCH_ORI_PRIOR, 0],
    [PDO::FETCH_ORI_PRIOR, 0], [PDO::FETCH_ORI_LAST, 0], [PDO::FETCH_ORI_NEXT, 0], [PDO::FETCH_ORI_NEXT, 0],
    [PDO::FETCH_ORI_PRIOR, 0], [PDO::FETCH_ORI_FIRST, 0], [PDO::FETCH_ORI_ABS, 3], [PDO::FETCH_ORI_REL, -2],
    [PDO::FETCH_ORI_REL, 10], [PDO::FETCH_ORI_ABS, -1], [PDO::FETCH_ORI_ABS, 0], [PDO::FETCH_ORI_REL, 2],
    [PDO::FETCH_ORI_ABS, 99], [PDO::FETCH_ORI_PRIOR, 0]];

function walk(PDO $db, string $sql, array $moves): array
{
    $st = $db->prepare($sql, [PDO::ATTR_CURSOR => PDO::CURSOR_SCROLL]);
    $st->execute();
    $out = [];
    foreach ($moves as [$ori, $off]) {
        $row = $st->fetch(PDO::FETCH_NUM, $ori, $off);
        $out[] = $row === false ? '-' : $row[0];
    }
    return $out;
}
$pool = walk(pgpool_db(), $sql, $moves);
$direct = walk(pgpool_direct(), $sql, $moves);
echo implode(' ', $pool), "\n";
var_dump($pool === $direct);

/* without CURSOR_SCROLL orientations are ignored (forward only), as with pdo_pgsql */
$st = pgpool_db()->query($sql);
var_dump($st->fetch(PDO::FETCH_NUM, PDO::FETCH_ORI_LAST)[0], $st->fetch(PDO::FETCH_NUM, PDO::FETCH_ORI_FIRST)[0]);
/* a scrollable statement holds no lease */
$db = pgpool_db();
$st = $db->prepare($sql, [PDO::ATTR_CURSOR => PDO::CURSOR_SCROLL]);
$st->execute();
$st->fetch(PDO::FETCH_NUM, PDO::FETCH_ORI_LAST);
var_dump(pgpool_active(), $st->rowCount());
?>
--EXPECT--
1 2 1 - - 5 - - 5 1 3 1 - 5 - 2 - 5
bool(true)
int(1)
int(2)
int(0)
int(0)
