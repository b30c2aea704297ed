#!/usr/bin/env bash
# Issue 3, failure 7: backends killed with pg_terminate_backend (stack broker, pool main).
#   idle     every idle backend of the pool is terminated while a PHP worker holds their fds in
#            its cache: the broker notices (EOF / FATAL 57P01 on the idle socket) and replaces
#            them; the worker's next 20 statements all succeed on new connections
#   query    terminated during SELECT pg_sleep(10) inside a transaction: that statement fails with
#            57P01 or 08006 at once (not after 10 s), the next statement on the same handle works
#   between  terminated between two statements of a transaction: the next statement fails with
#            57P01/08006, the one after it works
# Each terminated slot is replaced (new backend pid, discards counted), and with a direct
# connection exactly the committed rows exist (the rows of the cut transactions never commit).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

fl_rows_init
php_run() { "${T_PHP[@]}" "$here/php/terminate.php" "$@"; }
pool_stat() {
	"$PGPOOL_TEST_TOOLS/pgp-worker" -S "$PGPOOL_TEST_SOCKET" --stats | awk -v f="$1" '
		$1 == "pool=main" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}
backends() { # the pool's backends (pids, sorted)
	"$PGPOOL_TEST_TOOLS/pgp-worker" -S "$PGPOOL_TEST_SOCKET" --stats |
		awk '$1 == "slot" && $2 == "pool=main" && $7 != "backend_pid=0" { sub("backend_pid=", "", $7); print $7 }' | sort -n
}
alive() { t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid = $1"; }

# ---- idle ----
ready=$PGPOOL_TEST_TMP/idle.ready go=$PGPOOL_TEST_TMP/idle.go
php_run idle "$ready" "$go" >"$PGPOOL_TEST_TMP/idle.out" 2>&1 &
t_bg_pids+=($!)
phpid=$!
fl_wait 10 'test -s "$ready"' || t_fail "idle: the worker did not start: $(cat "$PGPOOL_TEST_TMP/idle.out")"
before=$(backends | tr '\n' ' ')
discards=$(pool_stat discards)
killed=$(t_sql postgres "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'app'
	AND usename = 'app' AND application_name = 'pgpool-broker' AND state = 'idle'")
t0=$(fl_now_ms)
fl_wait 3 'test "$(pool_stat discards)" -ge $((discards + killed))' || t_fail "idle: the broker noticed only $(($(pool_stat discards) - discards)) of $killed terminated backends"
t1=$(fl_now_ms)
touch "$go"
wait "$phpid" || true
after=$(backends | tr '\n' ' ')
out=$(cat "$PGPOOL_TEST_TMP/idle.out")
t_say "idle: injected pg_terminate_backend of $killed idle backends ($before); observed: replaced after $((t1 - t0)) ms (discards +$(($(pool_stat discards) - discards))), backends now $after; worker: $(echo "$out" | tail -n1)"
[ "$killed" -ge 2 ] || t_fail "idle: expected at least min_connections (2) idle backends to terminate, got $killed"
grep -qx "errors=0" <<<"$out" || t_fail "idle: statements failed after the idle backends died: $out"
for p in $before; do
	[ "$(alive "$p")" = 0 ] || t_fail "idle: terminated backend $p still exists"
	grep -qw "$p" <<<"$after" && t_fail "idle: slot still points at terminated backend $p"
done

# ---- a statement in flight, and between two statements ----
for mode in query between; do
	ready=$PGPOOL_TEST_TMP/$mode.ready
	php_run "$mode" "$ready" >"$PGPOOL_TEST_TMP/$mode.out" 2>&1 &
	phpid=$!
	t_bg_pids+=("$phpid")
	fl_wait 10 'test -s "$ready"' || t_fail "$mode: the worker did not start: $(cat "$PGPOOL_TEST_TMP/$mode.out")"
	pid=$(cat "$ready")
	if [ "$mode" = query ]; then
		fl_wait 5 "test \"\$(t_sql postgres \"SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND query LIKE '%pg_sleep(10)%'\")\" = 1" ||
			t_fail "query: pg_sleep(10) did not start on backend $pid"
	else
		sleep 0.3
	fi
	discards=$(pool_stat discards)
	t_sql postgres "SELECT pg_terminate_backend($pid)" >/dev/null
	t0=$(fl_now_ms)
	wait "$phpid" || true
	t1=$(fl_now_ms)
	out=$(cat "$PGPOOL_TEST_TMP/$mode.out")
	fl_wait 3 'test "$(pool_stat discards)" -gt "$discards"' || t_fail "$mode: the terminated connection was not discarded"
	t_say "$mode: injected pg_terminate_backend($pid) $([ "$mode" = query ] && echo "during pg_sleep(10)" || echo "between two statements of a transaction"); observed after $((t1 - t0)) ms: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"
	[[ $out =~ failed=(57P01|08006)\ ms=([0-9]+) ]] || t_fail "$mode: expected the statement to fail with 57P01 or 08006: $out"
	[ "${BASH_REMATCH[2]}" -lt 5000 ] || t_fail "$mode: the failing statement took ${BASH_REMATCH[2]} ms"
	grep -qx "after=ok" <<<"$out" || t_fail "$mode: the next statement on the same handle failed: $out"
	[ "$(alive "$pid")" = 0 ] || t_fail "$mode: terminated backend $pid still exists"
	backends | grep -qx "$pid" && t_fail "$mode: a slot still points at terminated backend $pid"
done

rows=$(t_sql app "SELECT string_agg(id, ',' ORDER BY id) FROM fault_rows")
t_say "rows (direct connection): $rows"
[ "$rows" = "term-after-between,term-after-query" ] || t_fail "expected exactly term-after-between,term-after-query; found $rows"
fl_wait 3 'test "$(backends | wc -l)" -ge 2' || t_fail "the pool did not refill to min_connections"
t_say "ok: terminated idle backends replaced without errors; in-flight statements failed with 57P01/08006 only for themselves; rows exact"
