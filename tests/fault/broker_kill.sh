#!/usr/bin/env bash
# Issue 3, failure 5: the broker SIGKILLed and restarted under load (a private broker on the
# stack's PostgreSQL). 8 PHP workers run short INSERT transactions, 2 more hold each transaction
# open 1.5 s, 1 holds it 3.5 s (longer than the outage), and an idle one (a php-fpm child between requests) holds cached fds of every backend;
# the broker is killed, stays down 2 s, and is started again. Checks:
#  - while it is down new leases fail with 08001 saying to check pgpool-broker (nothing else
#    than class 08), none hangs;
#  - the same worker processes re-attach to the new broker (new shm epoch) and commit again
#    within 2 s of its start, through new fd transfers (their cached fds were dropped);
#  - transactions in flight when the broker died complete and commit on their sockets, also one
#    that is still open when the new broker starts (it waits for its release in the old segment
#    before terminating that backend);
#  - no orphaned backend stays open: the new broker terminates every backend the old one left
#    (idle ones at once, leased ones after their worker released them), although the idle
#    worker's cached copies keep them open; that worker then works on the new broker;
#  - exactly the committed rows exist (direct connection).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

sock=$(fl_sock bk)
log=$(fl_log bk)
trap 'fl_broker_stop bk KILL; t_cleanup' EXIT
pool_stat() {
	"$PGPOOL_TEST_TOOLS/pgp-worker" -S "$sock" --stats 2>/dev/null | awk -v f="$1" '
		$1 == "pool=main" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}
broker_backends() { # pids in the current broker's slots
	"$PGPOOL_TEST_TOOLS/pgp-worker" -S "$sock" --stats 2>/dev/null |
		awk '$1 == "slot" && $7 != "backend_pid=0" { sub("backend_pid=", "", $7); print $7 }' | sort -n
}
orphans() { # backends of the killed broker still open
	t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid IN (${old// /,}0)"
}

fl_broker_start bk "orphan_timeout = 5s" "$(fl_pool main app "min_connections = 2
max_connections = 4
acquire_timeout = 5s")" || t_fail "the private broker did not start: $(tail -n 5 "$log")"
fl_rows_init
# An idle worker (a php-fpm child waiting for requests): it caches the fds of all 4 backends and
# does nothing during the outage, so its copies keep the old broker's backends open.
"${T_PHP[@]}" -d "pgpool.socket=$sock" "$here/php/terminate.php" idle "$PGPOOL_TEST_TMP/idle.ready" \
	"$PGPOOL_TEST_TMP/idle.go" >"$PGPOOL_TEST_TMP/idle.out" 2>&1 &
idler=$!
t_bg_pids+=("$idler")
fl_wait 10 'test -s "$PGPOOL_TEST_TMP/idle.ready"' || t_fail "the idle worker did not start: $(cat "$PGPOOL_TEST_TMP/idle.out")"
fl_load_start 8 bk "$sock" 0 5
fl_load_start 2 bs "$sock" 1500 5
fl_load_start 1 bv "$sock" 3500 5
fl_wait 10 'test "$(fl_load_lines bs | grep -c "^ok ")" -ge 2 -a "$(fl_load_lines bv | grep -c "^ok ")" -ge 1' || t_fail "the load did not get going: $(head -c 600 "$PGPOOL_TEST_TMP/load-bk.err")"
sleep 0.4 # the slow workers are inside a transaction now
old=$(broker_backends | tr '\n' ' ')
kill -KILL "$(cat "$(fl_dir bk)/broker.pid")"
t_kill=$(fl_now_ms)
rm -f "$(fl_dir bk)/broker.pid"
t_say "injected: SIGKILL of the broker (backends $old) under load of 8 + 2 PHP workers; down for 2 s"
sleep 2
fl_broker_restart bk || t_fail "the broker did not start again: $(tail -n 5 "$log")"
t_up=$(fl_now_ms)
read -r first all <<<"$(fl_wait 5 'test "$(fl_first_ok bk "$t_up" | cut -d" " -f2)" != -1'; fl_first_ok bk "$t_up")"
fl_wait 8 'test "$(orphans)" = 0' || true
t_clean=$(fl_now_ms)
left=$(orphans)
sleep 0.5
touch "$PGPOOL_TEST_TMP/idle.go"
wait "$idler" || true
fl_load_stop bk || t_fail "the load workers did not stop (hung?)"
fl_load_stop bs || t_fail "the slow load workers did not stop (hung?)"
fl_load_stop bv || t_fail "the slowest load worker did not stop (hung?)"
t_say "observed: fast workers $(fl_load_summary bk); slow workers $(fl_load_summary bs)"
t_say "observed: after the restart the first commit came $first ms after the broker was up, every fast worker's after $all ms; fd transfers on the new broker: $(pool_stat fd_transfers)"
t_say "observed: orphans of the old broker left: $left, $((t_clean - t_up)) ms after the restart ($(grep -c "left by the previous broker" "$log" || true) cleanup queries; $(grep -o "left [0-9]* backend(s) open, [0-9]* of them leased" "$log" | tail -n1))"

bad=$( (fl_load_states bk; fl_load_states bs) | { grep -Ev '^08...$' || true; } | sort -u | tr '\n' ' ')
[ -z "$bad" ] || t_fail "failures with SQLSTATEs other than class 08: $bad"
down=$(fl_load_lines bk | awk -v a="$t_kill" -v b="$t_up" '$1 == "err" && $4 > a && $4 < b')
grep -q "^err 08001 .*is pgpool-broker running?" <<<"$down" || t_fail "no 08001 saying to check pgpool-broker while it was down: $(head -n 2 <<<"$down")"
[[ "$(fl_load_summary bk) $(fl_load_summary bs)" =~ max_ms=([0-9]+).*max_ms=([0-9]+) ]] &&
	[ "${BASH_REMATCH[1]}" -lt 8000 ] && [ "${BASH_REMATCH[2]}" -lt 8000 ] || t_fail "a request hung (max_ms)"
[ "$first" != -1 ] && [ "$first" -le 2000 ] || t_fail "the workers committed again only $first ms after the broker was back (limit 2 s)"
[ "$all" != -1 ] || t_fail "a worker never committed again after the restart (no re-attach?)"
[ "$(pool_stat fd_transfers)" -ge 1 ] || t_fail "no fd was passed by the new broker: stale fds were used"
spanning=$(fl_load_lines bs | awk -v a="$t_kill" '$1 == "ok" && $4 - $3 < a && $4 > a' | wc -l)
across=$(fl_load_lines bv | awk -v a="$t_kill" -v b="$t_up" '$1 == "ok" && $4 - $3 < a && $4 > b' | wc -l)
t_say "observed: $spanning transaction(s) in flight at the kill committed on their sockets during the outage, $across after the new broker started (its backend was left alone until then)"
[ "$spanning" -ge 1 ] || t_fail "no transaction in flight at the kill completed"
[ "$across" = 1 ] || t_fail "the 3.5 s transaction in flight across the restart did not commit"
grep -q "left [0-9]* backend(s) open, [1-9][0-9]* of them leased" "$log" || t_fail "the new broker saw no leased backend (the 3.5 s transaction)"
[ $((t_clean - t_up)) -lt 5000 ] || t_fail "the orphans were cleaned only after orphan_timeout: the release was not seen"
[ "$left" = 0 ] || t_fail "$left backend(s) of the dead broker ($old) are still open"
terminated=$(sed -n 's/.*every backend of the previous broker is dealt with (\([0-9]*\) terminated).*/\1/p' "$log" | tail -n1)
t_say "observed: the new broker terminated ${terminated:-0} backend(s) kept open by the idle worker's cached fds; that worker afterwards: $(tail -n1 "$PGPOOL_TEST_TMP/idle.out")"
[ "${terminated:-0}" -ge 1 ] || t_fail "the new broker terminated no backend (the idle worker's copies kept them open)"
grep -qx "errors=0" "$PGPOOL_TEST_TMP/idle.out" || t_fail "the idle worker failed on the new broker: $(cat "$PGPOOL_TEST_TMP/idle.out")"
grep -q "left [0-9]* backend(s) open" "$log" || t_fail "the new broker did not report the old one's backends"
fl_rows_check bk bs bv
t_say "ok: 08001 while down, re-attached without restarting the workers, in-flight transactions committed, no orphan left"
