#!/usr/bin/env bash
# Issue 3, failure 1: a worker SIGKILLed while it holds a lease, at four protocol positions:
#   idle         lease held, no transaction (position CLEAN, status I): reset, same backend kept
#   transaction  inside BEGIN after an INSERT (CLEAN, T): ROLLBACK + reset, same backend kept
#   query        waiting for pg_sleep(20) in a transaction (SENT): cancel, drain, ROLLBACK, reset,
#                same backend kept, the query stops running
#   write        half a message written (WRITING): discarded with shutdown(2), replaced
# Each: the lease is reclaimed within 1 s (measured from the kill to the broker's reclaim and to
# the pool serving all 4 connections again), and with a direct connection exactly the committed
# rows exist (the uncommitted INSERTs never commit). Uses pgp-worker (tests/tools) for the exact
# positions and the stack's broker (pool main, 4 connections).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

W=("$PGPOOL_TEST_TOOLS/pgp-worker" -S "$PGPOOL_TEST_SOCKET" --pool main -U app -P secret)
[ -x "${W[0]}" ] || t_fail "pgp-worker not built ($PGPOOL_TEST_TOOLS)"
fl_rows_init

stats() { "$PGPOOL_TEST_TOOLS/pgp-worker" -S "$PGPOOL_TEST_SOCKET" --stats; }
pool_stat() { # stat FIELD: a counter of pool main
	stats | awk -v f="$1" '$1 == "pool=main" { for (i = 2; i <= NF; i++) {
		split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}
slot_field() { # slot_field SLOT FIELD
	stats | awk -v s="i=$1" -v f="$2" '$1 == "slot" && $2 == "pool=main" && $3 == s {
		for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}
four_usable() { # 4 leases at once, each within the pool's acquire_timeout
	local pids=() p rc=0
	for _ in 1 2 3 4; do
		"${W[@]}" -c "select 1" -q --hold 150 >/dev/null 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
sleeping_active() {
	t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND state = 'active'
		AND query LIKE '%pg_sleep(20)%'"
}

four_usable || t_fail "pool main does not serve 4 connections before the test"
for case in idle transaction query write; do
	out=$PGPOOL_TEST_TMP/$case.out
	: >"$out"
	case $case in
	idle) "${W[@]}" -c "insert into fault_rows (id) values ('idle-committed')" --hold 30000 -v >"$out" 2>&1 & ;;
	transaction) "${W[@]}" --begin -c "insert into fault_rows (id) values ('txn-uncommitted')" \
		--sleep-mid 30000 >"$out" 2>&1 & ;;
	query) "${W[@]}" --begin -c "insert into fault_rows (id) values ('query-uncommitted')" \
		-c "select pg_sleep(20)" -v >"$out" 2>&1 & ;;
	write) "${W[@]}" -c "insert into fault_rows (id) values ('write-never')" --half-write -v >"$out" 2>&1 & ;;
	esac
	victim=$!
	t_bg_pids+=("$victim")
	if [ "$case" = query ]; then
		fl_wait 10 'test "$(sleeping_active)" = 1' || t_fail "$case: pg_sleep(20) did not start: $(cat "$out")"
		slot=$(sed -n 's/^leased slot=\([0-9]*\).*/\1/p' "$out")
	else
		fl_wait 10 'grep -q MARK "$out"' || t_fail "$case: the worker did not get going: $(cat "$out")"
		slot=$(sed -n 's/.*slot=\([0-9]*\).*/\1/p' "$out" | head -n1)
	fi
	[ -z "$slot" ] && slot=$(stats | awk '$1 == "slot" && $2 == "pool=main" && $4 == "state=LEASED" { sub("i=", "", $3); print $3; exit }')
	pid_before=$(slot_field "$slot" backend_pid)
	reclaims=$(pool_stat reclaims)
	discards=$(pool_stat discards)
	sleep 0.1
	logn=$(wc -l <"$PGPOOL_TEST_STACK/broker.log")
	t0=$(fl_now_ms)
	kill -KILL "$victim"
	wait "$victim" 2>/dev/null || true
	fl_wait 3 'test "$(pool_stat reclaims)" -gt "$reclaims"' || t_fail "$case: the lease was not reclaimed"
	t1=$(fl_now_ms)
	fl_wait 3 'test "$(slot_field "$slot" state)" != LEASED -a "$(slot_field "$slot" state)" != BUSY' || true
	t2=$(fl_now_ms)
	four_usable || t_fail "$case: the pool did not serve 4 connections after the kill"
	t3=$(fl_now_ms)
	state=$(slot_field "$slot" state)
	newlog=$(tail -n +"$((logn + 1))" "$PGPOOL_TEST_STACK/broker.log")
	pid_after=$(slot_field "$slot" backend_pid)
	t_say "$case: injected SIGKILL of pgp-worker on slot $slot (backend $pid_before); observed: reclaimed after $((t1 - t0)) ms, slot $state after $((t2 - t0)) ms, 4 leases served after $((t3 - t0)) ms (150 ms holds), backend now $pid_after, discards +$(($(pool_stat discards) - discards))"
	[ $((t1 - t0)) -le 1000 ] || t_fail "$case: reclaimed only after $((t1 - t0)) ms (limit 1 s)"
	[ $((t2 - t0)) -le 1000 ] || t_fail "$case: the slot was back only after $((t2 - t0)) ms (limit 1 s)"
	case $case in
	idle | transaction | query)
		[ "$pid_after" = "$pid_before" ] || t_fail "$case: the backend was replaced ($pid_before -> $pid_after); a clean position must be rolled back and reused"
		[ "$(pool_stat discards)" = "$discards" ] || t_fail "$case: a connection was discarded"
		grep -q "slot=$slot\] reclaiming the lease of a gone worker.*proto_pos=$([ "$case" = query ] && echo SENT || echo CLEAN) txn=$([ "$case" = idle ] && echo I || echo T)" <<<"$newlog" ||
			t_fail "$case: the broker did not log the reclaim with the expected position"
		;;
	write)
		[ "$pid_after" != "$pid_before" ] || t_fail "write: the half-written connection was kept (backend $pid_before)"
		[ "$(pool_stat discards)" -gt "$discards" ] || t_fail "write: nothing was discarded"
		grep -q "discarded pid=$pid_before .*proto_pos=WRITING" <<<"$newlog" ||
			t_fail "write: no discard with proto_pos=WRITING in the broker log"
		;;
	esac
done
fl_wait 3 'test "$(sleeping_active)" = 0' || t_fail "query: pg_sleep(20) of the killed worker still runs"
rows=$(t_sql app "SELECT string_agg(id, ',' ORDER BY id) FROM fault_rows")
t_say "rows in fault_rows (direct connection): ${rows:-none}"
[ "$rows" = idle-committed ] || t_fail "expected exactly the committed row idle-committed, found: ${rows:-none}"
t_say "ok: 4 kills reclaimed within 1 s; clean positions rolled back and reused, the half-written one discarded; only committed rows exist"
