<?php
/* Every fetch mode, through fetch(), fetchAll(), fetchObject(), fetchColumn() and iteration,
 * native and emulated prepares. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_fetch");
$db->exec("CREATE TABLE compat_fetch (id int PRIMARY KEY, val text, grp char(1), n numeric(6,2), flag bool, big int8)");
$db->exec("INSERT INTO compat_fetch VALUES (1, 'one', 'a', 1.5, true, 9000000000), (2, 'two', 'a', NULL, false, NULL),
    (3, NULL, 'b', -2.25, NULL, -1), (4, 'four', 'c', 0, true, 0)");

class Row
{
    public $id;
    public $val;
    public $ctor = [];
    public function __construct(...$args)
    {
        $this->ctor = $args;
    }
}
class Typed
{
    public $id;
    public $val;
}

foreach ([false, true] as $emulate) {
    out("== emulate " . var_export($emulate, true) . "\n");
    $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, $emulate);
    $q = "SELECT id, val, grp, n, flag, big FROM compat_fetch ORDER BY id";
    foreach ([
        'ASSOC' => PDO::FETCH_ASSOC, 'NUM' => PDO::FETCH_NUM, 'BOTH' => PDO::FETCH_BOTH,
        'OBJ' => PDO::FETCH_OBJ, 'NAMED' => PDO::FETCH_NAMED,
    ] as $name => $mode) {
        $st = $db->query($q);
        show("fetch $name", $st->fetch($mode), $st->fetch($mode));
        show("fetchAll $name", $db->query($q)->fetchAll($mode));
    }
    show('COLUMN 1', $db->query($q)->fetchAll(PDO::FETCH_COLUMN, 1));
    show('KEY_PAIR', $db->query("SELECT id, val FROM compat_fetch ORDER BY id")->fetchAll(PDO::FETCH_KEY_PAIR));
    show('GROUP', $db->query("SELECT grp, id, val FROM compat_fetch ORDER BY id")->fetchAll(PDO::FETCH_GROUP | PDO::FETCH_ASSOC));
    show('GROUP COLUMN', $db->query("SELECT grp, id FROM compat_fetch ORDER BY id")->fetchAll(PDO::FETCH_GROUP | PDO::FETCH_COLUMN));
    show('UNIQUE', $db->query("SELECT id, val, grp FROM compat_fetch ORDER BY id")->fetchAll(PDO::FETCH_UNIQUE));
    show('FUNC', $db->query("SELECT id, val FROM compat_fetch ORDER BY id")->fetchAll(PDO::FETCH_FUNC, fn($id, $val) => "$id:" . var_export($val, true)));
    show('CLASS', $db->query("SELECT id, val FROM compat_fetch ORDER BY id")->fetchAll(PDO::FETCH_CLASS, Row::class, ['x', 2]));
    show('CLASS PROPS_LATE', $db->query("SELECT id, val FROM compat_fetch ORDER BY id LIMIT 2")->fetchAll(PDO::FETCH_CLASS | PDO::FETCH_PROPS_LATE, Row::class, ['late']));
    show('CLASSTYPE', $db->query("SELECT 'Typed' AS cls, id, val FROM compat_fetch ORDER BY id LIMIT 2")->fetchAll(PDO::FETCH_CLASS | PDO::FETCH_CLASSTYPE));
    $st = $db->query("SELECT id, val FROM compat_fetch ORDER BY id");
    $obj = new Typed();
    $st->setFetchMode(PDO::FETCH_INTO, $obj);
    show('INTO', $st->fetch(), $st->fetch());
    $st = $db->query("SELECT id, val FROM compat_fetch ORDER BY id");
    show('fetchObject', $st->fetchObject(), $st->fetchObject(Row::class, [1]), $st->fetchObject('stdClass'));
    $st = $db->query("SELECT id, val FROM compat_fetch ORDER BY id");
    show('fetchColumn', $st->fetchColumn(), $st->fetchColumn(1), $st->fetchColumn(0), $st->fetchColumn(), $st->fetchColumn());
    $st = $db->prepare("SELECT id, val, flag FROM compat_fetch WHERE id > ? ORDER BY id");
    $st->execute([1]);
    $st->bindColumn(1, $id, PDO::PARAM_INT);
    $st->bindColumn('val', $val);
    $st->bindColumn(3, $flag, PDO::PARAM_STR);
    $rows = [];
    while ($st->fetch(PDO::FETCH_BOUND)) {
        $rows[] = [$id, $val, $flag];
    }
    show('BOUND', $rows);
    $rows = [];
    foreach ($db->query("SELECT id, val FROM compat_fetch ORDER BY id", PDO::FETCH_NUM) as $k => $r) {
        $rows[$k] = $r;
    }
    show('foreach', $rows);
    $st = $db->query("SELECT id, val FROM compat_fetch ORDER BY id");
    $lazy = $st->fetch(PDO::FETCH_LAZY);
    show('LAZY', $lazy->id, $lazy->val, $lazy[0], isset($lazy->nope));
    show('fetch after end', $db->query("SELECT 1 WHERE false")->fetch(), $db->query("SELECT 1 WHERE false")->fetchAll());
    $st = $db->query("SELECT id FROM compat_fetch ORDER BY id");
    $st->setFetchMode(PDO::FETCH_COLUMN, 0);
    show('setFetchMode COLUMN', $st->fetchAll());
    show('columnCount', $db->query($q)->columnCount(), $db->prepare($q)->columnCount());
}
$db->exec("DROP TABLE compat_fetch");
