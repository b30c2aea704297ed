#!/usr/bin/env bash
# test: once
# Issue 3, failure 6: stopping the broker under load (a private broker on the stack's PostgreSQL,
# shutdown_timeout = 3s).
#  graceful  SIGTERM while 6 PHP workers run short transactions and 2 hold each transaction open
#            1.5 s: new leases are refused at once (08001 for a new process: the socket is gone;
#            08004 "shutting down" for attached ones), transactions in flight finish and commit,
#            the broker exits as soon as the last lease ends (before shutdown_timeout), removes
#            its socket and segment and leaves no backend;
#  bounded   SIGTERM while a worker holds a transaction open 4.5 s: the broker waits
#            shutdown_timeout (3 s), then cuts the connection; that transaction never commits;
#  fast      SIGINT with a transaction in flight: the broker exits at once (well under 1 s) and
#            the transaction never commits.
# Exactly the committed rows exist afterwards (direct connection).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

sock=$(fl_sock bt)
log=$(fl_log bt)
trap 'fl_broker_stop bt KILL; t_cleanup' EXIT
pids_of() { # backends of the private broker, from its slots
	"$PGPOOL_TEST_TOOLS/pgp-worker" -S "$sock" --stats 2>/dev/null |
		awk '$1 == "slot" && $7 != "backend_pid=0" { sub("backend_pid=", "", $7); printf "%s,", $7 }'
}
alive() { t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid IN (${1}0)"; }
shm_name() { sed -n 's/^shm_name = //p' "$(fl_dir bt)/broker.ini"; }
# stop SIGNAL: signal the broker, wait until it is gone; prints the ms it took
stop() {
	local pid t0
	pid=$(cat "$(fl_dir bt)/broker.pid")
	t0=$(fl_now_ms)
	kill -"$1" "$pid"
	fl_wait 15 "! kill -0 $pid" || t_fail "the broker did not exit after SIG$1"
	rm -f "$(fl_dir bt)/broker.pid"
	echo $(($(fl_now_ms) - t0))
}
# long_txn TAG MS: start the broker again and one worker whose transactions stay open MS ms;
# returns once one is open.
long_txn() {
	fl_broker_restart bt || t_fail "the broker did not start again"
	fl_load_start 1 "$1" "$sock" "$2" 5
	fl_wait 10 'test "$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE usename = '"'app'"' AND state = '"'idle in transaction'"'")" -ge 1' ||
		t_fail "$1: the long transaction did not start"
}
pool='min_connections = 2
max_connections = 4
acquire_timeout = 2s'

fl_rows_init
fl_broker_start bt "shutdown_timeout = 3s" "$(fl_pool main app "$pool")" || t_fail "the broker did not start: $(tail -n 5 "$log")"

# ---- graceful ----
fl_load_start 6 tf "$sock" 0 5
fl_load_start 2 ts "$sock" 1500 5
fl_wait 10 'test "$(fl_load_lines ts | grep -c "^ok ")" -ge 2' || t_fail "the load did not get going"
sleep 0.4
backends=$(pids_of)
t_term=$(fl_now_ms)
took=$(stop TERM)
newproc=$("${T_PHP[@]}" -d "pgpool.socket=$sock" -r 'try { new PgPool(getenv("PGPOOL_TEST_DSN"), "app", "secret"); echo "no error"; } catch (PDOException $e) { echo $e->getMessage(); }')
fl_load_stop tf
fl_load_stop ts
spanning=$(fl_load_lines ts | awk -v a="$t_term" '$1 == "ok" && $4 - $3 < a && $4 > a' | wc -l)
refused=$(fl_load_lines tf | awk -v a="$t_term" '$1 == "err" && $4 > a' | sed -n 1p)
t_say "graceful: injected SIGTERM under load of 6 + 2 PHP workers (2 holding 1.5 s transactions); observed: exit after $took ms, $spanning transaction(s) in flight committed, fast workers after SIGTERM: $(fl_load_lines tf | awk -v a="$t_term" '$1 == "err" && $4 > a { print $2 }' | sort | uniq -c | tr '\n' ' ')"
t_say "graceful: a new process: $newproc"
t_say "graceful: an attached worker: $(cut -c1-250 <<<"$refused")"
[ "$spanning" -ge 1 ] || t_fail "graceful: no transaction in flight at SIGTERM committed"
[ "$took" -lt 2900 ] || t_fail "graceful: the broker took $took ms, as if it waited for shutdown_timeout instead of the leases"
[ "$took" -ge 200 ] || t_fail "graceful: the broker exited after $took ms, without waiting for the leases"
grep -q "08001.*is pgpool-broker running" <<<"$newproc" || t_fail "graceful: a new process was not refused with 08001: $newproc"
grep -q "08004.*shutting down" <<<"$refused" || t_fail "graceful: an attached worker's new lease was not refused with 08004 'shutting down': $refused"
[ ! -e "$sock" ] && [ ! -e "/dev/shm$(shm_name)" ] || t_fail "graceful: socket or segment left behind"
fl_wait 2 "test \"\$(alive '$backends')\" = 0" || t_fail "graceful: backends left open: $backends"

# ---- bounded by shutdown_timeout ----
long_txn tl 4500
took=$(stop TERM)
fl_load_stop tl
cut=$(fl_load_lines tl | sed -n 1p)
t_say "bounded: injected SIGTERM with a transaction held 4.5 s; observed: exit after $took ms (shutdown_timeout 3 s); the worker: $(cut -c1-200 <<<"$cut")"
[ "$took" -ge 2800 ] && [ "$took" -le 6000 ] || t_fail "bounded: expected an exit after about 3 s, took $took ms"
grep -q "shutdown: still in use after shutdown_timeout" "$log" || t_fail "bounded: the broker did not log cutting the lease"
[[ $cut =~ ^(uncertain|err)\ ([^ ]+) ]] || t_fail "bounded: the cut transaction did not fail: $cut"

# ---- fast ----
long_txn ti 2500
took=$(stop INT)
fl_load_stop ti
t_say "fast: injected SIGINT with a transaction in flight; observed: exit after $took ms; the worker: $(fl_load_lines ti | sed -n 1p | cut -c1-200)"
[ "$took" -lt 1000 ] || t_fail "fast: SIGINT took $took ms"
fl_load_lines ti | grep -q "^ok " && t_fail "fast: the transaction in flight committed"

fl_rows_check tf ts tl ti
for t in tl ti; do
	id=$(fl_load_lines "$t" | awk '$1 == "uncertain" { print $2 }')
	[ -z "$id" ] || [ "$(t_sql app "SELECT count(*) FROM fault_rows WHERE id = '$id'")" = 0 ] ||
		t_fail "$t: the cut transaction ($id) committed"
done
t_say "ok: SIGTERM drains gracefully within shutdown_timeout, SIGINT is immediate, cut transactions never commit"
