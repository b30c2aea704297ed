#!/usr/bin/env bash
# test: once
# prepared_shared: server-side prepared statements are shared by every worker (DESIGN.md
# invariant 6). 16 worker processes run the same 10 native prepared statements 1,000 times
# each (10,000 executes per worker) on the pool `main` (4 backends). Checked from
# pgpool_stats(): every execute was one round trip (Parse/Bind/Describe/Execute/Sync in one
# write, no separate prepare); prepared_misses (executes that sent Parse) stayed within
# 10 statements x the pool's backends; all other executes were hits that sent no Parse. Then
# someone deallocates every statement behind the pool's back (through a function, which the
# driver cannot see): the next executes still succeed (26000 repaired and retried). Last, a
# migration run elsewhere fails at most one transaction, not every later one on every backend.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

workers=16
rounds=1000
stmts=10
tmp=$PGPOOL_TEST_TMP

cat >"$tmp/worker.php" <<'PHP'
<?php
[$dsn, $user, $pass, $rounds] = array_slice($argv, 1);
$db = new PgPool($dsn, $user, $pass);
$sts = [];
for ($i = 0; $i < 10; $i++) {
    /* ten different statements: the same text in every worker */
    $sts[] = $db->prepare("SELECT $i AS stmt, ?::int + $i AS v, repeat('x', ?::int) AS pad");
}
$bad = 0;
for ($r = 0; $r < (int) $rounds; $r++) {
    foreach ($sts as $i => $st) {
        $st->execute([$r, $i]);
        $row = $st->fetch(PDO::FETCH_NUM);
        if ($row[0] !== $i || $row[1] !== $r + $i || strlen($row[2]) !== $i) {
            $bad++;
        }
    }
}
echo "bad=$bad\n";
PHP
cat >"$tmp/stats.php" <<'PHP'
<?php
$s = pgpool_stats('main');
echo "hits=", $s['prepared_hits'], " misses=", $s['prepared_misses'], " queries=", $s['queries'],
    " total=", $s['total'], " max=", $s['max'], "\n";
PHP
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$2"; }

before=$(t_php "$tmp/stats.php")
t0=$(t_now)
pids=()
for w in $(seq 1 $workers); do
	"${T_PHP[@]}" "$tmp/worker.php" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" "$rounds" \
		>"$tmp/w$w.out" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
t1=$(t_now)
after=$(t_php "$tmp/stats.php")
bad=$(cat "$tmp"/w*.out | grep -c '^bad=0$' || true)
[ "$failed" = 0 ] && [ "$bad" = "$workers" ] || {
	head -n 5 "$tmp"/w*.out
	t_fail "workers failed ($failed) or returned wrong rows ($((workers - bad)))"
}
executes=$((workers * rounds * stmts))
hits=$(($(field hits "$after") - $(field hits "$before")))
misses=$(($(field misses "$after") - $(field misses "$before")))
queries=$(($(field queries "$after") - $(field queries "$before")))
backends=$(field max "$after")
secs=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')
t_say "$workers workers x $rounds rounds x $stmts statements = $executes executes in $secs s on $backends backends"
t_say "prepared_hits +$hits, prepared_misses +$misses (bound: $stmts x $backends = $((stmts * backends))), round trips +$queries"
[ "$((hits + misses))" -eq "$executes" ] || t_fail "hits + misses should be the $executes executes"
[ "$misses" -le "$((stmts * backends))" ] || t_fail "more misses than $stmts statements x $backends backends"
[ "$queries" -eq "$executes" ] || t_fail "expected one round trip per execute ($executes), counted $queries"

# Deallocated behind the records' back (a function hides the word from the driver): every
# backend loses its statements; the next executes repair the records and succeed.
t_sql app "CREATE OR REPLACE FUNCTION pgpool_t_dealloc() RETURNS int LANGUAGE plpgsql AS \$\$
	BEGIN EXECUTE 'DEALL' || 'OCATE ALL'; RETURN 1; END \$\$; GRANT EXECUTE ON FUNCTION pgpool_t_dealloc() TO app"
cat >"$tmp/stale.php" <<'PHP'
<?php
[$dsn, $user, $pass] = array_slice($argv, 1);
/* hold every backend in a transaction, deallocate on each, let them go */
$hs = [];
for ($i = 0; $i < 4; $i++) {
    $h = new PgPool($dsn, $user, $pass);
    $h->beginTransaction();
    $h->query("SELECT pgpool_t_dealloc()");
    $hs[] = $h;
}
foreach ($hs as $h) {
    $h->commit();
}
$db = new PgPool($dsn, $user, $pass);
$st = $db->prepare("SELECT 3 AS stmt, ?::int + 3 AS v, repeat('x', ?::int) AS pad");
$ok = 0;
for ($i = 0; $i < 20; $i++) {
    $st->execute([$i, 3]);
    $ok += $st->fetch(PDO::FETCH_NUM)[1] === $i + 3 ? 1 : 0;
}
echo "ok=$ok\n";
PHP
out=$(t_php "$tmp/stale.php" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" 2>&1) || t_fail "after DEALLOCATE ALL: $out"
t_say "after DEALLOCATE ALL on every backend: $out of 20 executes right"
[ "$out" = "ok=20" ] || t_fail "expected 20 correct executes"

# Inside an open transaction a 26000 cannot be retried (the transaction would be aborted): while
# a function that may deallocate exists, recorded statements are parsed again there first.
# Records made stale before the transaction (on every backend) and by a call inside it.
t_sql app "CREATE TABLE IF NOT EXISTS pgpool_t_txn (v int); GRANT ALL ON pgpool_t_txn TO app"
cat >"$tmp/txn.php" <<'PHP'
<?php
[$dsn, $user, $pass] = array_slice($argv, 1);
$sql = "SELECT 7 AS stmt, ?::int + 7 AS v";
$hs = [];
for ($i = 0; $i < 4; $i++) {
    /* record the statement on each backend, then deallocate there */
    $h = new PgPool($dsn, $user, $pass);
    $h->beginTransaction();
    $st = $h->prepare($sql);
    $st->execute([1]);
    $st->fetchAll();
    $h->query("SELECT pgpool_t_dealloc()");
    $hs[] = $h;
}
foreach ($hs as $h) {
    $h->commit();
}
$db = new PgPool($dsn, $user, $pass, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$st = $db->prepare($sql);
$ins = $db->prepare("INSERT INTO pgpool_t_txn VALUES (?)");
$ok = 0;
for ($t = 0; $t < 8; $t++) {
    $db->beginTransaction();
    $db->query("SELECT 1");                      /* the transaction is open before the execute */
    $st->execute([$t]);
    $ok += $st->fetch(PDO::FETCH_NUM)[1] === $t + 7 ? 1 : 0;
    $db->query("SELECT pgpool_t_dealloc()");     /* deallocated inside the transaction */
    $st->execute([$t]);
    $ok += $st->fetch(PDO::FETCH_NUM)[1] === $t + 7 ? 1 : 0;
    $ins->execute([$t]);
    $db->commit();
}
$n = (int) $db->query("SELECT count(*) FROM pgpool_t_txn")->fetchColumn();
echo "ok=$ok rows=$n\n";
PHP
t_sql app "TRUNCATE pgpool_t_txn"
sleep 1.1 # the function was created by another client: noticed within a second
out=$(t_php "$tmp/txn.php" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" 2>&1) || t_fail "stale statements inside transactions: $out"
t_say "stale records inside open transactions: $out (expected ok=16 rows=8)"
[ "$out" = "ok=16 rows=8" ] || t_fail "a stale statement broke a transaction"
t_sql app "DROP FUNCTION pgpool_t_dealloc()"

# With no function that could deallocate, statements inside transactions stay hits (the
# catalog is searched again at most once a second, on a write that starts a transaction).
others=$(t_sql app "SELECT count(*) FROM pg_proc WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)")
cat >"$tmp/txnhits.php" <<'PHP'
<?php
[$dsn, $user, $pass] = array_slice($argv, 1);
$db = new PgPool($dsn, $user, $pass, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$st = $db->prepare("SELECT 7 AS stmt, ?::int + 7 AS v");
for ($t = 0; $t < 3; $t++) {                     /* the catalog answer is found, statements recorded */
    $db->beginTransaction();
    $db->query("SELECT 1");
    $st->execute([$t]);
    $st->fetchAll();
    $db->commit();
    usleep(400000);
}
$s0 = pgpool_stats('main');
$db->beginTransaction();
$db->query("SELECT 1");
for ($i = 0; $i < 50; $i++) {
    $st->execute([$i]);
    $st->fetchAll();
}
$db->commit();
$s1 = pgpool_stats('main');
echo "hits=", $s1['prepared_hits'] - $s0['prepared_hits'], " misses=", $s1['prepared_misses'] - $s0['prepared_misses'], "\n";
PHP
out=$(t_php "$tmp/txnhits.php" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" 2>&1) || t_fail "executes inside a transaction: $out"
t_say "50 executes inside one transaction, no deallocating function ($others user functions): $out"
if [ "$others" = 0 ]; then
	[ "$(field hits "$out")" -ge 49 ] || t_fail "statements inside a transaction should be hits when no function can deallocate"
else
	t_say "other tests left $others functions in the database: the hit count is not checked"
fi
t_sql app "DROP TABLE pgpool_t_txn"

# A migration run elsewhere (psql) while every backend has the statement recorded: inside
# transactions the first use may fail (0A000, as a statement prepared before the DDL would), but
# it moves the pool's schema epoch on, so the other backends parse again instead of failing too,
# and no later transaction fails.
t_sql app "DROP TABLE IF EXISTS pgpool_t_mig; CREATE TABLE pgpool_t_mig (id int, a text);
	INSERT INTO pgpool_t_mig VALUES (1, 'x'); GRANT ALL ON pgpool_t_mig TO app"
cat >"$tmp/mig.php" <<'PHP'
<?php
[$dsn, $user, $pass, $n, $hold] = array_slice($argv, 1);
$errors = 0;
$hs = [];
for ($i = 0; $i < (int) $n; $i++) {
    /* held: each transaction on its own backend; else one after the other */
    $h = new PgPool($dsn, $user, $pass, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    try {
        $h->beginTransaction();
        $h->query("SELECT 1");
        $st = $h->prepare("SELECT * FROM pgpool_t_mig WHERE id = ?");
        $st->execute([1]);
        $st->fetchAll();
    } catch (PDOException $e) {
        $errors++;
    }
    if ($hold) {
        $hs[] = $h;
    } else {
        $h->rollBack();
    }
}
foreach ($hs as $h) {
    $h->rollBack();
}
echo "errors=$errors\n";
PHP
mig() { t_php "$tmp/mig.php" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" "$@" 2>&1; }
sleep 1.1 # the catalog answer (no function that could deallocate) is known again
out=$(mig 4 1) && [ "$out" = "errors=0" ] || t_fail "before the migration: $out"
out=$(mig 4 1) && [ "$out" = "errors=0" ] || t_fail "before the migration: $out"
t_sql app "ALTER TABLE pgpool_t_mig ADD COLUMN b int"
first=$(mig 4 1) || t_fail "after the migration: $first"
later=$(mig 20 0) || t_fail "after the migration: $later"
t_say "migration from elsewhere, transactions on 4 backends: $first; then 20 transactions: $later"
[ "$(field errors "$first")" -le 1 ] || t_fail "more than one transaction failed after the migration"
[ "$later" = "errors=0" ] || t_fail "transactions still fail after the migration"
t_sql app "DROP TABLE pgpool_t_mig"
t_say "ok: statements shared across $workers workers, misses within $stmts x $backends, stale records repaired (also inside transactions and after a migration run elsewhere)"
