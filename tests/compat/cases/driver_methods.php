<?php
/* pdo_pgsql's driver methods: COPY from and to arrays and files, large objects (create, open,
 * read, write, seek, bound as parameters and columns, unlink), LISTEN/NOTIFY with
 * pgsqlGetNotify, pgsqlGetPid. */
$db = compat_db();
$db->exec("DROP TABLE IF EXISTS compat_copy");
$db->exec("CREATE TABLE compat_copy (a int, b text, c numeric)");
$dir = sys_get_temp_dir() . '/compat-' . getmypid();
@mkdir($dir);

attempt('copyFromArray', fn() => $db->pgsqlCopyFromArray('compat_copy', ["1\tone\t1.5", "2\t\\N\t2", "3\tthree\\ttab\t\\N\n"]));
attempt('copyFromArray separator/null', fn() => $db->pgsqlCopyFromArray('compat_copy', ['4;four;NULL', '5;NULL;5'], ';', 'NULL'));
attempt('copyFromArray fields', fn() => $db->pgsqlCopyFromArray('compat_copy', ['6|six'], '|', '\\\\N', 'a, b'));
attempt('copyFromArray bad row', fn() => $db->pgsqlCopyFromArray('compat_copy', ["x\ty\tz"]));
attempt('copyFromArray no table', fn() => $db->pgsqlCopyFromArray('compat_nope', ["1"]));
attempt('copyFromArray empty', fn() => $db->pgsqlCopyFromArray('compat_copy', []));
attempt('copyFromArray non-string rows', fn() => $db->pgsqlCopyFromArray('compat_copy', [7, 8.5, true]));
attempt('copyFromArray array row', fn() => $db->pgsqlCopyFromArray('compat_copy', [[1]]));
attempt('after the failures', fn() => $db->query("SELECT count(*) FROM compat_copy")->fetchColumn());
file_put_contents("$dir/in.txt", "10\tten\t10\n11\televen\t\\N\n12\ttwelve\t12");
attempt('copyFromFile', fn() => $db->pgsqlCopyFromFile('compat_copy', "$dir/in.txt"));
attempt('copyFromFile missing', fn() => $db->pgsqlCopyFromFile('compat_copy', "$dir/none.txt"));
file_put_contents("$dir/big.txt", implode('', array_map(fn($i) => "$i\trow $i\t$i.5\n", range(100, 30099))));
attempt('copyFromFile big', fn() => $db->pgsqlCopyFromFile('compat_copy', "$dir/big.txt"));
attempt('copyToArray', fn() => array_slice($db->pgsqlCopyToArray('compat_copy'), 0, 8));
attempt('copyToArray count', fn() => count($db->pgsqlCopyToArray('compat_copy')));
attempt('copyToArray options', fn() => array_slice($db->pgsqlCopyToArray('compat_copy', ',', 'NIL', 'b, a'), 0, 8));
attempt('copyToArray no table', fn() => $db->pgsqlCopyToArray('compat_nope'));
attempt('copyToFile', function () use ($db, $dir) { $r = $db->pgsqlCopyToFile('compat_copy', "$dir/out.txt", '|'); return [$r, md5_file("$dir/out.txt"), filesize("$dir/out.txt")]; });
attempt('copyToFile bad path', fn() => $db->pgsqlCopyToFile('compat_copy', "$dir/no/such/dir/out.txt"));
$db->beginTransaction();
attempt('copy in a transaction', fn() => $db->pgsqlCopyFromArray('compat_copy', ['99']) && $db->pgsqlCopyToArray('compat_copy', "\t", '\\\\N', 'a')[0]);
$db->rollBack();
attempt('rolled back', fn() => $db->query("SELECT count(*) FROM compat_copy WHERE a = 99")->fetchColumn());
attempt('COPY through exec', fn() => $db->exec("COPY compat_copy FROM STDIN"));
attempt('COPY through query', fn() => $db->query("COPY compat_copy TO STDOUT")->fetchAll());
attempt('still usable', fn() => $db->query("SELECT 1")->fetchColumn());

/* large objects; their oids differ from run to run */
function lob_attempt(string $label, string $oid, callable $fn): void
{
    try {
        show($label, $fn());
    } catch (PDOException $e) {
        out("$label: " . $e->errorInfo[0] . ' ' . str_replace($oid, '<oid>', $e->getMessage()) . "\n");
    }
}
$db->exec("DROP TABLE IF EXISTS compat_lob");
$db->exec("CREATE TABLE compat_lob (id int, o oid)");
attempt('LOBOpen outside a transaction', fn() => $db->pgsqlLOBOpen('1', 'r'));
$db->beginTransaction();
$oid = $db->pgsqlLOBCreate();
show('LOBCreate', is_string($oid) && preg_match('/^[0-9]+$/', $oid) === 1);
$lob = $db->pgsqlLOBOpen($oid, 'w+b');
show('LOBOpen', is_resource($lob), get_resource_type($lob));
show('fwrite', fwrite($lob, "hello large object " . str_repeat('x', 20000)));
show('ftell', ftell($lob));
show('seek', fseek($lob, 6), ftell($lob));
show('fread', fread($lob, 12));
show('seek end', fseek($lob, -5, SEEK_END), fread($lob, 100), feof($lob));
rewind($lob);
show('stream_get_contents', strlen(stream_get_contents($lob)));
$st = $db->prepare("INSERT INTO compat_lob VALUES (?, ?)");
$st->bindValue(1, 1);
$st->bindParam(2, $lob, PDO::PARAM_LOB);
attempt('bind LOB stream', fn() => $st->execute());
attempt('stored oid', fn() => $db->query("SELECT o::text FROM compat_lob")->fetchColumn() === $oid);
$st = $db->prepare("SELECT id, o FROM compat_lob");
$st->execute();
$st->bindColumn('o', $read, PDO::PARAM_LOB);
$st->fetch(PDO::FETCH_BOUND);
show('bindColumn LOB', is_resource($read), strlen(stream_get_contents($read)));
$st = $db->query("SELECT o FROM compat_lob");
show('no bind: oid as int', is_int($st->fetchColumn()));
fclose($lob);
attempt('LOBOpen bad oid', fn() => $db->pgsqlLOBOpen('123456789', 'r'));
$db->rollBack();
$db->beginTransaction();
lob_attempt('after rollback: LOBOpen', $oid, fn() => $db->pgsqlLOBOpen($oid));
$db->rollBack();
$db->beginTransaction();
$oid = $db->pgsqlLOBCreate();
$lob = $db->pgsqlLOBOpen($oid, 'wb');
fwrite($lob, 'kept');
$db->commit();
show('stream after commit', get_resource_type($lob));
$db->beginTransaction();
$lob = $db->pgsqlLOBOpen($oid, 'rb');
show('read after commit', fgets($lob));
attempt('write to read-only', fn() => fwrite($lob, 'x'));
$db->commit();
attempt('LOBUnlink', fn() => $db->pgsqlLOBUnlink($oid));
lob_attempt('LOBUnlink again', $oid, fn() => $db->pgsqlLOBUnlink($oid));
attempt('LOBUnlink not a number', fn() => $db->pgsqlLOBUnlink('abc'));

/* LISTEN / NOTIFY */
$pid = $db->pgsqlGetPid();
show('pgsqlGetPid', is_int($pid) && $pid > 0);
show('no listen', $db->pgsqlGetNotify());
$db->exec("LISTEN compat_chan");
show('listening', $db->pgsqlGetNotify(PDO::FETCH_ASSOC, 10));
$db->exec("NOTIFY compat_chan, 'p1'");
$db->exec("NOTIFY compat_chan");
$db->exec("NOTIFY other_chan, 'not listened'");
$n1 = $db->pgsqlGetNotify(PDO::FETCH_ASSOC);
$n2 = $db->pgsqlGetNotify(PDO::FETCH_BOTH);
show('notify 1', $n1['message'], $n1['payload'] ?? null, $n1['pid'] === $db->pgsqlGetPid(), count($n1));
show('notify 2', $n2['message'], count($n2), $n2[1] === $n2['pid']);
show('queue empty', $db->pgsqlGetNotify(PDO::FETCH_NUM));
attempt('bad fetch mode', fn() => $db->pgsqlGetNotify(PDO::FETCH_OBJ));
attempt('bad timeout', fn() => $db->pgsqlGetNotify(PDO::FETCH_NUM, -1));
/* from another session */
$other = compat_db();
$other->exec("NOTIFY compat_chan, 'from other'");
$t = microtime(true);
$n = $db->pgsqlGetNotify(PDO::FETCH_NUM, 2000);
show('from another session', $n[0], $n[2], $n[1] !== $pid, microtime(true) - $t < 1.5);
$t = microtime(true);
show('timeout', $db->pgsqlGetNotify(PDO::FETCH_NUM, 300), microtime(true) - $t >= 0.28);
$db->exec("UNLISTEN *");
$db->exec("DROP TABLE compat_lob");
$db->exec("DROP TABLE compat_copy");
array_map('unlink', glob("$dir/*"));
rmdir($dir);
