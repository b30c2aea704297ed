<?php
/* Scrollable statements (PDO::CURSOR_SCROLL): every fetch orientation, positions before the
 * first and after the last row, re-execution, placeholders. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_scroll");
$db->exec("CREATE TABLE compat_scroll (id int, v text)");
$db->exec("INSERT INTO compat_scroll SELECT g, 'v' || g FROM generate_series(1, 5) g");
$st = $db->prepare("SELECT id, v FROM compat_scroll WHERE id >= ? ORDER BY id", [PDO::ATTR_CURSOR => PDO::CURSOR_SCROLL]);
$st->execute([1]);
show('rowCount, columnCount', $st->rowCount(), $st->columnCount());
$moves = [
    ['NEXT', PDO::FETCH_ORI_NEXT, 0], ['NEXT', PDO::FETCH_ORI_NEXT, 0], ['PRIOR', PDO::FETCH_ORI_PRIOR, 0],
    ['PRIOR', PDO::FETCH_ORI_PRIOR, 0], ['PRIOR again', PDO::FETCH_ORI_PRIOR, 0], ['NEXT', PDO::FETCH_ORI_NEXT, 0],
    ['LAST', PDO::FETCH_ORI_LAST, 0], ['NEXT past end', PDO::FETCH_ORI_NEXT, 0], ['PRIOR', PDO::FETCH_ORI_PRIOR, 0],
    ['FIRST', PDO::FETCH_ORI_FIRST, 0], ['ABS 3', PDO::FETCH_ORI_ABS, 3], ['ABS -1', PDO::FETCH_ORI_ABS, -1],
    ['ABS 0', PDO::FETCH_ORI_ABS, 0], ['ABS 9', PDO::FETCH_ORI_ABS, 9], ['REL -2', PDO::FETCH_ORI_REL, -2],
    ['REL 1', PDO::FETCH_ORI_REL, 1], ['REL 0', PDO::FETCH_ORI_REL, 0], ['REL -9', PDO::FETCH_ORI_REL, -9],
    ['NEXT', PDO::FETCH_ORI_NEXT, 0],
];
foreach ($moves as [$label, $ori, $off]) {
    attempt($label, fn() => $st->fetch(PDO::FETCH_NUM, $ori, $off));
}
$st->execute([4]);
show('re-executed', $st->fetchAll(PDO::FETCH_NUM));
attempt('fetchAll after', fn() => $st->fetchAll());
$st = $db->query("SELECT id FROM compat_scroll ORDER BY id", PDO::FETCH_COLUMN, 0);
show('forward-only ignores orientation', $st->fetch(PDO::FETCH_NUM, PDO::FETCH_ORI_LAST), $st->fetch(PDO::FETCH_NUM, PDO::FETCH_ORI_FIRST));
$db->exec("DROP TABLE compat_scroll");
