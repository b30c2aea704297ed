#!/usr/bin/env bash
# test: once
# PHP's max_execution_time hit while a statement runs (issue 3, failure 2). On Linux PHP counts
# it in CPU time, which does not pass while a worker waits for PostgreSQL; the driver bounds the
# wait by the wall clock instead. Injected: `SELECT pg_sleep(30)` with max_execution_time = 2,
# from the CLI (outside a transaction; inside one, after set_time_limit() restarted the clock)
# and from php-fpm, on the one-connection pool `tiny`, so the next request must reuse that very
# backend. Checked each time: PHP's usual fatal error "Maximum execution time of 2 seconds
# exceeded" within the limit plus a second; the statement was cancelled (the backend is idle in
# pg_stat_activity at once, not sleeping); the lease came back clean (no discard, no reclaim, no
# lease held); the next request on the same backend works; nothing of the transaction committed.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
lib=$here/../lib
# shellcheck source=../lib/fpm.sh
source "$lib/fpm.sh"
# shellcheck source=../lib/fcgi.sh
source "$lib/fcgi.sh"

tmp=$PGPOOL_TEST_TMP
fpm=$tmp/fpm
trap 'fpm_stop "$fpm"; t_cleanup' EXIT
dsn="pgpool:pool=tiny;user=$PGPOOL_TEST_USER;password=$PGPOOL_TEST_PASSWORD"

t_sql tiny "DROP TABLE IF EXISTS met; CREATE TABLE met (v text); GRANT ALL ON met TO app"

# The page used by every case: prints the backend pid first (flushed), then runs the mode's work.
cat >"$tmp/met.php" <<'PHP'
<?php
$mode = $argv[1] ?? ($_GET['mode'] ?? 'plain');
$db = new PgPool(getenv('MET_DSN') ?: $_SERVER['MET_DSN']);
echo "pid=", $db->pgsqlGetPid(), "\n";
flush();
if ($mode === 'txn') {
    usleep(1500000);
    set_time_limit(2); /* the clock starts again here */
    echo "t0=", microtime(true), "\n";
    $db->beginTransaction();
    $db->exec("INSERT INTO met VALUES ('txn')");
}
$db->query("SELECT pg_sleep(30), 'met_$mode'");
echo "not reached\n";
PHP
cat >"$tmp/next.php" <<'PHP'
<?php
$db = new PgPool(getenv('MET_DSN') ?: $_SERVER['MET_DSN']);
$s = pgpool_stats('tiny');
echo "pid=", $db->query("SELECT pg_backend_pid()")->fetchColumn(), " active=", $s['active'],
    " discards=", $s['discards'], " reclaims=", $s['reclaims'], " errors=", $s['errors'], "\n";
PHP
chmod 644 "$tmp"/*.php

# stats_line: "pid=P active=A discards=D reclaims=R ..." from a fresh CLI process
next_line() { MET_DSN=$dsn t_php "$tmp/next.php"; }
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -n1; }

# backend_state PID: its state in pg_stat_activity right now
backend_state() { t_sql postgres "SELECT state FROM pg_stat_activity WHERE pid = $1"; }

# check_after CASE PID BEFORE_LINE: the checks that follow every timeout.
check_after() {
	local name=$1 pid=$2 before=$3 state after
	state=$(backend_state "$pid")
	t_say "$name: backend $pid is '$state' in pg_stat_activity right after the fatal error"
	[ "$state" = idle ] || t_fail "$name: expected the sleeping statement to be cancelled (state idle), got '$state'"
	after=$(next_line) || t_fail "$name: the next request failed: $after"
	t_say "$name: next request: $after"
	[ "$(field pid "$after")" = "$pid" ] || t_fail "$name: the next request should run on the same backend $pid"
	[ "$(field active "$after")" = 0 ] || t_fail "$name: a lease is still held"
	[ "$(field discards "$after")" = "$(field discards "$before")" ] || t_fail "$name: the connection was discarded, not returned clean"
	[ "$(field reclaims "$after")" = "$(field reclaims "$before")" ] || t_fail "$name: the broker had to reclaim the lease"
}

# ---- CLI, outside a transaction ----
before=$(next_line) || t_fail "tiny pool unusable: $before"
t0=$(t_now)
out=$(MET_DSN=$dsn t_php -d max_execution_time=2 "$tmp/met.php" plain 2>&1) && t_fail "the script should have died: $out"
t1=$(t_now)
took=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
pid=$(field pid "$out")
t_say "cli: injected pg_sleep(30) under max_execution_time=2 on backend $pid; died after $took s"
t_say "cli: $(grep -m1 -o 'Maximum execution time[^"]*exceeded' <<<"$out")"
grep -q 'Fatal error: Maximum execution time of 2 seconds exceeded' <<<"$out" || t_fail "cli: expected PHP's fatal error, got: $out"
awk -v t="$took" 'BEGIN { exit !(t >= 1.9 && t < 4.0) }' || t_fail "cli: expected to die after about 2 s, took $took s"
check_after cli "$pid" "$before"

# ---- CLI, in a transaction, after set_time_limit(2) ----
before=$(next_line)
out=$(MET_DSN=$dsn t_php -d max_execution_time=10 "$tmp/met.php" txn 2>&1) && t_fail "the script should have died: $out"
t1=$(t_now)
pid=$(field pid "$out")
since=$(echo "$(field t0 "$out") $t1" | awk '{printf "%.2f", $2 - $1}')
t_say "cli in a transaction: died $since s after set_time_limit(2) (max_execution_time=10 at start)"
grep -q 'Fatal error: Maximum execution time of 2 seconds exceeded' <<<"$out" || t_fail "txn: expected PHP's fatal error, got: $out"
awk -v t="$since" 'BEGIN { exit !(t >= 1.9 && t < 4.0) }' || t_fail "txn: expected to die about 2 s after set_time_limit(2), took $since s"
check_after "cli in a transaction" "$pid" "$before"
rows=$(t_sql tiny "SELECT count(*) FROM met")
t_say "cli in a transaction: rows committed: $rows"
[ "$rows" = 0 ] || t_fail "the timed-out transaction's INSERT was committed"

# ---- php-fpm ----
PGPOOL_FPM_ARGS="-d max_execution_time=2" fpm_start "$fpm" "$PGPOOL_TEST_EXT" "$PGPOOL_TEST_SOCKET" 2 "MET_DSN=$dsn"
cp "$tmp/met.php" "$tmp/next.php" "$fpm/"
chmod 644 "$fpm"/*.php
workers_before=$(fpm_pids "$fpm" | sort | tr '\n' ' ')
before=$(fcgi_get "$fpm/fpm.sock" "$fpm/next.php") || t_fail "php-fpm: first request failed: $before"
pid=$(field pid "$before")
t0=$(t_now)
# The page printed its pid before the statement: the response is a 200 without the rest.
resp=$(fcgi_get "$fpm/fpm.sock" "$fpm/met.php" "mode=fpm") || true
t1=$(t_now)
grep -q 'not reached' <<<"$resp" && t_fail "php-fpm: the request should have died: $resp"
took=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
t_say "php-fpm: request with pg_sleep(30) under max_execution_time=2 ended after $took s"
sleep 0.2
grep -q 'Maximum execution time of 2 seconds exceeded' "$fpm/php-errors.log" || {
	tail -n 5 "$fpm/php-errors.log"
	t_fail "php-fpm: expected the fatal error in the PHP error log"
}
t_say "php-fpm: $(grep -m1 -o 'PHP Fatal error: *Maximum execution time[^"]*exceeded' "$fpm/php-errors.log")"
awk -v t="$took" 'BEGIN { exit !(t >= 1.9 && t < 4.0) }' || t_fail "php-fpm: expected the request to end after about 2 s, took $took s"
state=$(backend_state "$pid")
t_say "php-fpm: backend $pid is '$state' right after the request ended"
[ "$state" = idle ] || t_fail "php-fpm: expected the statement to be cancelled (state idle), got '$state'"
after=$(fcgi_get "$fpm/fpm.sock" "$fpm/next.php") || t_fail "php-fpm: the next request failed: $after"
t_say "php-fpm: next request: $after"
[ "$(field pid "$after")" = "$pid" ] || t_fail "php-fpm: the next request should run on backend $pid"
[ "$(field active "$after")" = 0 ] || t_fail "php-fpm: a lease is still held"
[ "$(field discards "$after")" = "$(field discards "$before")" ] || t_fail "php-fpm: the connection was discarded"
[ "$(field reclaims "$after")" = "$(field reclaims "$before")" ] || t_fail "php-fpm: the broker had to reclaim the lease"
workers_after=$(fpm_pids "$fpm" | sort | tr '\n' ' ')
[ "$workers_before" = "$workers_after" ] || t_fail "php-fpm: workers changed ($workers_before -> $workers_after)"
t_say "php-fpm: the same $(wc -w <<<"$workers_after") workers still serve"
t_say "ok: max_execution_time ends database waits by the wall clock; statements cancelled, leases clean, backends reused"
