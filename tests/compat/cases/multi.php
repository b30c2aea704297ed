<?php
/* Several statements in one exec() or query(), NOTICEs and WARNINGs from the server, large
 * results, unicode text. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_multi");
attempt('exec several', fn() => $db->exec("CREATE TABLE compat_multi (id int, v text); INSERT INTO compat_multi VALUES (1, 'a'), (2, 'b'); UPDATE compat_multi SET v = 'c' WHERE id = 1"));
attempt('exec several ending with SELECT', fn() => $db->exec("UPDATE compat_multi SET v = 'd'; SELECT * FROM compat_multi"));
attempt('exec several, middle fails', fn() => $db->exec("INSERT INTO compat_multi VALUES (3, 'e'); SELECT 1/0; INSERT INTO compat_multi VALUES (4, 'f')"));
show('rows after the failure', $db->query("SELECT count(*) FROM compat_multi")->fetchColumn());
attempt('exec with empty statements', fn() => $db->exec(";;SELECT 1;;"));
attempt('exec transaction block', fn() => $db->exec("BEGIN; INSERT INTO compat_multi VALUES (5, 'g'); COMMIT"));
show('inTransaction', $db->inTransaction());
foreach ([false, true] as $emulate) {
    $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, $emulate);
    attempt("query several emulate=" . var_export($emulate, true), fn() => $db->query("SELECT 1 AS a; SELECT 2 AS b")->fetchAll(PDO::FETCH_ASSOC));
}
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
/* notices and warnings are not reported (pdo_pgsql's notice processor drops them) */
attempt('RAISE NOTICE', fn() => $db->exec("DO \$\$ BEGIN RAISE NOTICE 'hello %', 1; RAISE WARNING 'careful'; END \$\$"));
attempt('notice in a query', fn() => $db->query("SELECT 1 AS x FROM (SELECT set_config('client_min_messages', 'notice', true)) s")->fetchAll());
attempt('SET LOCAL outside a transaction (server WARNING)', fn() => $db->exec("SET LOCAL work_mem = '2MB'"));
attempt('DROP IF EXISTS notice', fn() => $db->exec("DROP TABLE IF EXISTS compat_never_there"));
/* large results */
foreach ([false, true] as $emulate) {
    $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, $emulate);
    $st = $db->prepare("SELECT g AS id, md5(g::text) AS h, repeat('x', g % 100) AS pad, g % 7 = 0 AS f FROM generate_series(1, ?) g");
    $st->execute([60000]);
    $n = 0; $sum = 0; $hash = hash_init('sha1');
    while ($row = $st->fetch(PDO::FETCH_NUM)) {
        $n++; $sum += $row[0]; hash_update($hash, $row[1] . $row[2] . var_export($row[3], true));
    }
    show("large result emulate=" . var_export($emulate, true), $n, $sum, hash_final($hash), $st->rowCount());
    $all = $db->query("SELECT repeat('y', 1000000) AS big, 'é' || repeat('ü', 100000) AS u")->fetch(PDO::FETCH_NUM);
    show('big values', strlen($all[0]), strlen($all[1]), md5($all[1]));
}
$db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
/* unicode */
$texts = ['ascii', 'äöüß', '日本語テキスト', '😀 emoji 🎉', "e\u{301} combining", 'Ελληνικά', 'עברית', "tab\tnew\nline", "quote ' and \\ backslash", ''];
$st = $db->prepare("SELECT ?::text AS t, length(?::text) AS chars, octet_length(?::text) AS bytes, upper(?::text) AS up");
foreach ($texts as $t) {
    $st->execute([$t, $t, $t, $t]);
    show('unicode', $st->fetch(PDO::FETCH_ASSOC));
    show('quote', $db->quote($t), $db->query("SELECT " . $db->quote($t))->fetchColumn() === $t);
}
attempt('invalid UTF-8 parameter', function () use ($db) { $st = $db->prepare("SELECT ?::text"); $st->execute(["\xff\xfe"]); return $st->fetchColumn(); });
attempt('invalid UTF-8 in SQL', fn() => $db->query("SELECT '\xc3\x28'")->fetchColumn());
attempt('invalid UTF-8 quote', fn() => $db->quote("a\xffb"));
attempt('quote LOB', fn() => $db->quote("bin\x00\xff'", PDO::PARAM_LOB));
attempt('quote types', fn() => [$db->quote('1', PDO::PARAM_INT), $db->quote('x', PDO::PARAM_BOOL), $db->quote('n', PDO::PARAM_NULL), $db->quote("nul\0cut")]);
$db->exec("DROP TABLE compat_multi");
