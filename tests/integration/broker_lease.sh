#!/usr/bin/env bash
# broker_lease.sh: leasing through the broker, on each event loop.
#   lease + fd transfer + query + release; fds are transferred once per (process, backend);
#   16 concurrent workers x 150 leases on max_connections = 4: no error, every worker gets its own
#   values back (no cross-talk), pg_stat_activity never shows more than 4 backends of the pool;
#   CANCEL of a running query (57014, connection reused); a slot handed back for RESET comes back
#   without session state; a slot handed back as DISCARD is replaced.
set -uo pipefail
source "$(dirname "$0")/../tools/broker-test-lib.sh"
bt_init

for loop in $BT_LOOPS; do
	bt_log "# event_loop = $loop"
	bt_broker_start "$loop" || continue
	bt_check "[$loop] prefill: 2 backends (min_connections)" \
		bt_wait_for 5 'test "$(bt_backends)" = 2'

	bt_worker -n 20 -c "select 1" -q --timing >"$BT_WORK/one.out" 2>&1
	bt_check "[$loop] 20 leases in one process, one fd transfer per backend used" \
		grep -Eq 'fd_transfers=[12]$' "$BT_WORK/one.out"

	# 16 workers sharing 4 backends, with a sampler of pg_stat_activity.
	(
		while :; do
			bt_backends
			sleep 0.05
		done
	) >"$BT_WORK/samples" 2>/dev/null &
	sampler=$!
	pids=()
	t0=$(bt_now_ms)
	for i in $(seq 1 16); do
		bt_worker -n 150 --echo -q -c "select pg_sleep(0.001)" --timing \
			>"$BT_WORK/w$i.out" 2>"$BT_WORK/w$i.err" &
		pids+=($!)
	done
	failed=0
	for p in "${pids[@]}"; do
		wait "$p" || failed=$((failed + 1))
	done
	t1=$(bt_now_ms)
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	peak=$(sort -n "$BT_WORK/samples" | tail -n1)
	nsamples=$(wc -l <"$BT_WORK/samples")
	bt_log "# 16 x 150 leases in $((t1 - t0)) ms; peak backends $peak over $nsamples samples"
	grep -h TIMING "$BT_WORK"/w*.out | head -n 2 | sed 's/^/# /'
	bt_check "[$loop] 16 concurrent workers x 150 leases: every worker exits 0" test "$failed" = 0
	bt_check "[$loop] no error and no cross-talk reported" \
		bash -c "! cat '$BT_WORK'/w*.err | grep -q ."
	bt_check "[$loop] pg_stat_activity never above 4 backends of the pool ($nsamples samples)" \
		test "${peak:-99}" -le 4
	bt_check "[$loop] the pool grew to max_connections under load" \
		test "$(bt_stat main total)" = 4

	# CANCEL through the broker, then the same backend serves again.
	bt_check "[$loop] CANCEL of a running query: 57014" \
		bt_worker -c "select pg_sleep(10)" --cancel-after 200 --expect-error 57014
	bt_check "[$loop] after the cancel the pool still serves" bt_worker -c "select 1" -q

	# RESET hand-back clears session state.
	bt_worker -c "set work_mem = '77MB'" --return reset -q
	sleep 0.2
	bt_worker -n 8 -c "show work_mem" >"$BT_WORK/wm.out" 2>&1
	bt_check "[$loop] RESET hand-back: the next leases see no session state" \
		bash -c "! grep -q 77MB '$BT_WORK/wm.out' && grep -q 4MB '$BT_WORK/wm.out'"

	# DISCARD hand-back: replaced.
	before=$(bt_stat main discards)
	bt_worker -c "select 1" -q --return discard
	bt_check "[$loop] DISCARD hand-back: counted as a discard" \
		bt_wait_for 2 'test "$(bt_stat main discards)" -gt "$before"'
	bt_check "[$loop] DISCARD hand-back: the backend is replaced (4 backends again)" \
		bt_wait_for 3 bash -c "test \"\$('$BT_WORKER' -S '$BT_SOCK' --stats | awk '\$1==\"pool=main\"{print \$3}')\" = idle=4"

	bt_broker_stop TERM
	bt_check "[$loop] clean exit" test "$BT_BROKER_RC" = 0
done
bt_finish
