#!/usr/bin/env bash
# broker_reclaim.sh: workers that die holding a lease, on each event loop.
#   SIGKILL mid-transaction (position CLEAN, status T): the insert is not committed, the slot is
#   reclaimed (ROLLBACK + DISCARD ALL) and the same backend serves again, all 4 connections
#   usable within 1 s; SIGKILL mid-query (SENT): cancel + drain + reset, backend kept;
#   SIGKILL after half a message (WRITING): the backend is discarded (shutdown(2)) and replaced;
#   a backend terminated while idle (pg_terminate_backend) is replaced.
set -uo pipefail
source "$(dirname "$0")/../tools/broker-test-lib.sh"
bt_init

# wait_mark FILE: until the worker printed its MARK line (it is then sleeping on purpose).
wait_mark() {
	bt_wait_for 5 grep -q MARK "$1"
}

sleeping() { # sleeping [CONDITION]: backends of app running the test's pg_sleep(20)
	bt_sql -tAc "select count(*) from pg_stat_activity where query like '%pg_sleep(20)%' and usename = 'app' ${1:-}"
}

sleeping_active() { sleeping "and state = 'active'"; }

slot_pid() { # slot_pid N: backend pid of main's slot N
	bt_stats | awk -v s="i=$1" '$2 == "pool=main" && $3 == s { sub("backend_pid=", "", $7); print $7 }'
}

# four_usable: 4 workers hold a lease at the same time (acquire within the timeout).
four_usable() {
	local pids=() p rc=0
	for _ in 1 2 3 4; do
		bt_worker -c "select 1" -q --hold 300 >/dev/null 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

for loop in $BT_LOOPS; do
	bt_log "# event_loop = $loop"
	bt_broker_start "$loop" || continue
	bt_sql -qc "TRUNCATE broker_t"
	# Grow to 4 so every later check sees the whole pool.
	four_usable

	# ---- mid-transaction ----
	: >"$BT_WORK/k1.out" # a MARK left from an earlier run must not count
	"${BT_W[@]}" --begin -c "insert into broker_t values (1, 'killed-in-txn')" --sleep-mid 30000 \
		>"$BT_WORK/k1.out" 2>&1 &
	victim=$!
	wait_mark "$BT_WORK/k1.out"
	slot=$(sed -n 's/.*slot=\([0-9]*\).*/\1/p' "$BT_WORK/k1.out")
	pid_before=$(slot_pid "$slot")
	reclaims=$(bt_stat main reclaims)
	kill -9 "$victim"
	t0=$(bt_now_ms)
	wait "$victim" 2>/dev/null
	bt_wait_for 2 'test "$(bt_stat main reclaims)" -gt "$reclaims"'
	four_usable
	rc=$?
	t1=$(bt_now_ms)
	bt_log "# SIGKILL in a transaction: 4 connections usable again after $((t1 - t0)) ms (includes 300 ms hold)"
	bt_check "[$loop] kill -9 mid-transaction: 4 connections usable within 1 s" \
		test "$rc" = 0 -a $((t1 - t0)) -lt 1300
	bt_check "[$loop] kill -9 mid-transaction: the insert was not committed" \
		test "$(bt_sql -tAc "select count(*) from broker_t where who = 'killed-in-txn'")" = 0
	bt_check "[$loop] kill -9 mid-transaction: the same backend was reset and kept" \
		test "$(slot_pid "$slot")" = "$pid_before"
	bt_check "[$loop] reclaim logged with the protocol position" \
		grep -q "reclaiming the lease of a gone worker.*proto_pos=CLEAN txn=T" "$BT_WORK/broker.log"

	# ---- mid-query (request sent, no reply read) ----
	: >"$BT_WORK/k2.out" # a MARK left from an earlier run must not count
	"${BT_W[@]}" --begin -c "insert into broker_t values (2, 'killed-in-query')" \
		-c "select pg_sleep(20)" >"$BT_WORK/k2.out" 2>&1 &
	victim=$!
	bt_wait_for 5 'test "$(sleeping)" = 1'
	kill -9 "$victim"
	wait "$victim" 2>/dev/null
	bt_check "[$loop] kill -9 mid-query: cancel + drain + reset (logged)" \
		bt_wait_for 3 grep -q "proto_pos=SENT" "$BT_WORK/broker.log"
	bt_check "[$loop] kill -9 mid-query: the query is no longer running" \
		bt_wait_for 3 'test "$(sleeping_active)" = 0'
	bt_check "[$loop] kill -9 mid-query: the insert was not committed" \
		test "$(bt_sql -tAc "select count(*) from broker_t where who = 'killed-in-query'")" = 0
	bt_check "[$loop] kill -9 mid-query: 4 connections usable" four_usable
	bt_check "[$loop] kill -9 mid-query: nothing discarded" test "$(bt_stat main discards)" = 0

	# ---- mid-write ----
	: >"$BT_WORK/k3.out" # a MARK left from an earlier run must not count
	"${BT_W[@]}" -c "select 'half'" --half-write >"$BT_WORK/k3.out" 2>&1 &
	victim=$!
	wait_mark "$BT_WORK/k3.out"
	kill -9 "$victim"
	wait "$victim" 2>/dev/null
	bt_check "[$loop] kill -9 mid-write: the backend is discarded" \
		bt_wait_for 2 'test "$(bt_stat main discards)" = 1'
	bt_check "[$loop] kill -9 mid-write: discard logged (proto_pos=WRITING)" \
		grep -q "discarded.*proto_pos=WRITING" "$BT_WORK/broker.log"
	bt_check "[$loop] kill -9 mid-write: replaced, 4 connections usable" \
		bash -c "sleep 0.2; $(declare -f four_usable bt_worker); BT_WORKER='$BT_WORKER' BT_SOCK='$BT_SOCK' four_usable"
	bt_check "[$loop] kill -9 mid-write: never more than 4 backends" \
		test "$(bt_backends)" -le 4

	# ---- backend terminated while idle ----
	victim_pid=$(slot_pid 0)
	bt_sql -tAc "select pg_terminate_backend($victim_pid)" >/dev/null
	bt_check "[$loop] backend terminated while idle: noticed and replaced" \
		bt_wait_for 3 bash -c "test \"\$('$BT_WORKER' -S '$BT_SOCK' --stats | awk '\$2==\"pool=main\" && \$3==\"i=0\" {print \$4, \$7}')\" != 'state=IDLE backend_pid=$victim_pid' && grep -q 'pid=$victim_pid.*while idle' '$BT_WORK/broker.log'"
	bt_check "[$loop] after the idle backend died: 4 connections usable" \
		bash -c "sleep 0.2; $(declare -f four_usable bt_worker); BT_WORKER='$BT_WORKER' BT_SOCK='$BT_SOCK' four_usable"

	bt_broker_stop TERM
	bt_check "[$loop] clean exit" test "$BT_BROKER_RC" = 0
done
bt_finish
