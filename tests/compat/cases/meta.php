<?php
/* getColumnMeta (native_type, pgsql:oid, pgsql:table_oid, table, len, precision, pdo_type),
 * rowCount, columnCount, nextRowset, closeCursor, debugDumpParams, queryString. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_meta");
$db->exec("DROP TYPE IF EXISTS compat_mood");
$db->exec("CREATE TYPE compat_mood AS ENUM ('sad', 'happy')");
$db->exec("CREATE TABLE compat_meta (id serial PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, o oid, t text, vc varchar(20),
    c char(5), n numeric(10,3), f4 float4, f8 float8, d date, ts timestamp, tstz timestamptz, tm time, iv interval,
    bin bytea, j json, jb jsonb, u uuid, a int[], ip inet, mood compat_mood, x xml)");
$db->exec("INSERT INTO compat_meta (b, i2, i4, i8, o, t, vc, c, n, f4, f8, d, ts, tstz, tm, iv, bin, j, jb, u, a, ip, mood, x)
    VALUES (true, 1, 2, 3, 4, 't', 'vc', 'c', 1.5, 1.25, 2.5, '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56+02',
    '01:02:03', '1 day 2 hours', '\\xdeadbeef', '{\"a\":1}', '{\"b\": 2}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,3}',
    '10.0.0.1/8', 'happy', '<a/>')");
$toid = (int) $db->query("SELECT 'compat_meta'::regclass::oid")->fetchColumn();
foreach ([false, true] as $emulate) {
    $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, $emulate);
    $st = $db->query("SELECT *, 1 AS lit, NULL AS nul, now()::date - d AS diff, count(*) OVER () AS cnt FROM compat_meta");
    $row = $st->fetch(PDO::FETCH_ASSOC);
    show("row (emulate " . var_export($emulate, true) . ")", $row);
    for ($i = 0; $i < $st->columnCount(); $i++) {
        $m = $st->getColumnMeta($i);
        if (isset($m['pgsql:table_oid'])) {
            $m['pgsql:table_oid'] = $m['pgsql:table_oid'] === $toid ? '<compat_meta>' : $m['pgsql:table_oid'];
        }
        if (isset($m['pgsql:oid']) && $m['pgsql:oid'] > 16383) {
            $m['pgsql:oid'] = '<user type>';
        }
        show("meta $i", $m);
    }
    attempt('meta out of range', fn() => $st->getColumnMeta(99));
    attempt('meta negative', fn() => $st->getColumnMeta(-1));
    attempt('meta before execute', fn() => $db->prepare("SELECT 1")->getColumnMeta(0));
}
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
/* rowCount */
foreach ([
    "INSERT INTO compat_meta (t) VALUES ('r1'), ('r2'), ('r3')",
    "UPDATE compat_meta SET t = t || '!' WHERE t LIKE 'r%'",
    "SELECT * FROM compat_meta",
    "SELECT * FROM compat_meta WHERE false",
    "DELETE FROM compat_meta WHERE t = 'r1!'",
    "WITH d AS (DELETE FROM compat_meta WHERE t = 'r2!' RETURNING *) SELECT count(*) FROM d",
    "INSERT INTO compat_meta (t) SELECT 'copy' FROM generate_series(1, 5) RETURNING id",
    "CREATE TEMP TABLE compat_tmp AS SELECT 1 AS x",
    "SELECT 1 INTO TEMP compat_tmp2",
    "MERGE INTO compat_meta m USING (VALUES (1)) v(k) ON m.id = v.k WHEN MATCHED THEN UPDATE SET t = 'merged'",
    "TRUNCATE compat_meta",
    "SET LOCAL work_mem = '1MB'",
] as $sql) {
    attempt("rowCount query $sql", function () use ($db, $sql) { $st = $db->query($sql); return [$st->rowCount(), $st->columnCount()]; });
    attempt("exec $sql", fn() => $db->exec($sql));
}
/* nextRowset, closeCursor */
$st = $db->query("SELECT 1 AS a UNION ALL SELECT 2");
attempt('nextRowset', fn() => $st->nextRowset());
attempt('closeCursor', fn() => $st->closeCursor());
attempt('fetch after closeCursor', fn() => $st->fetch());
attempt('execute after closeCursor', function () use ($st) { $st->execute(); return $st->fetchAll(PDO::FETCH_COLUMN); });
$st = $db->prepare("SELECT ?::int AS a");
$st->execute([1]);
show('partial fetch', $st->fetch(PDO::FETCH_ASSOC));
$st->closeCursor();
$st->execute([2]);
show('after closeCursor re-execute', $st->fetchAll(PDO::FETCH_ASSOC));
/* debugDumpParams, queryString */
foreach ([false, true] as $emulate) {
    attempt('mixed placeholders', fn() => $db->prepare("SELECT :a::text AS a, ? AS c", [PDO::ATTR_EMULATE_PREPARES => $emulate]));
    $st = $db->prepare("SELECT :a::text AS a, :b::int AS b", [PDO::ATTR_EMULATE_PREPARES => $emulate]);
    $st->bindValue(':a', 'x');
    $st->bindValue(':b', 5, PDO::PARAM_INT);
    $st->execute();
    ob_start();
    $st->debugDumpParams();
    show("debugDumpParams emulate=" . var_export($emulate, true), ob_get_clean(), $st->queryString);
}
$db->exec("DROP TABLE compat_meta");
$db->exec("DROP TYPE compat_mood");
