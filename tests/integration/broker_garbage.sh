#!/usr/bin/env bash
# broker_garbage.sh: hostile control traffic, on each event loop.
#   Malformed datagrams of every kind (random bytes, bad magic, length mismatch, unknown type,
#   a reply type, truncated ATTACH, oversized, ATTACH string out of bounds) each get their
#   connection closed; the broker stays up, other workers keep working, a lease held by the
#   connection that sent garbage is reclaimed while it still runs; forged slot words in shm
#   (unknown owner, wrong generation, bad state) are reclaimed, discarded or repaired.
set -uo pipefail
source "$(dirname "$0")/../tools/broker-test-lib.sh"
bt_init

for loop in $BT_LOOPS; do
	bt_log "# event_loop = $loop"
	bt_broker_start "$loop" || continue
	# A well-behaved worker keeps a lease loop going while garbage arrives.
	"${BT_W[@]}" -n 400 --echo -q -c "select pg_sleep(0.002)" >"$BT_WORK/good.out" 2>&1 &
	good=$!
	"$BT_WORKER" -S "$BT_SOCK" --garbage >"$BT_WORK/garbage.out" 2>&1
	rc=$?
	sed 's/^/# /' "$BT_WORK/garbage.out"
	bt_check "[$loop] every malformed datagram closes its connection" test "$rc" = 0
	bt_check "[$loop] 8 kinds of garbage sent" test "$(grep -c 'closed by the broker' "$BT_WORK/garbage.out")" = 8
	bt_check "[$loop] broker still running" kill -0 "$BT_BROKER_PID"
	bt_check "[$loop] a concurrent worker was not disturbed" wait "$good"
	bt_check "[$loop] malformed messages are logged" grep -q "malformed control message" "$BT_WORK/broker.log"

	# A worker holding a lease that then breaks the protocol (still alive): cut off, lease back.
	reclaims=$(bt_stat main reclaims)
	: >"$BT_WORK/gl.out" # a MARK left from an earlier run must not count
	"${BT_W[@]}" --garbage-after-lease >"$BT_WORK/gl.out" 2>&1 &
	glpid=$!
	bt_check "[$loop] a lease holder that sends garbage is cut off" \
		bt_wait_for 3 grep -q "MARK cut-off" "$BT_WORK/gl.out"
	bt_check "[$loop] ... and its lease is reclaimed while the process still runs" \
		bash -c "kill -0 $glpid && test \"\$('$BT_WORKER' -S '$BT_SOCK' --stats | awk '\$1==\"pool=main\"{print \$15}')\" = reclaims=$((reclaims + 1))"
	wait "$glpid" 2>/dev/null

	# Forged slot words in shm (any process that maps the segment could write them).
	"$BT_WORKER" -S "$BT_SOCK" --forge owner >"$BT_WORK/forge.out" 2>&1
	bt_check "[$loop] forged LEASED word with an unknown owner: reclaimed by the janitor" \
		bt_wait_for 2 bash -c "'$BT_WORKER' -S '$BT_SOCK' --stats | grep -q 'i=0 state=IDLE'"
	"$BT_WORKER" -S "$BT_SOCK" --forge gen >"$BT_WORK/forge.out" 2>&1
	bt_check "[$loop] forged generation: the connection is discarded and replaced" \
		bt_wait_for 3 bash -c "grep -q 'slot word forged' '$BT_WORK/broker.log' && '$BT_WORKER' -S '$BT_SOCK' --stats | grep -q 'i=0 state=IDLE'"
	"$BT_WORKER" -S "$BT_SOCK" --forge state >"$BT_WORK/forge.out" 2>&1
	bt_check "[$loop] forged state byte: repaired" \
		bt_wait_for 3 bash -c "'$BT_WORKER' -S '$BT_SOCK' --stats | grep -q 'i=0 state=IDLE'"
	bt_check "[$loop] broker still running after forged words" kill -0 "$BT_BROKER_PID"
	bt_check "[$loop] pool intact after garbage (8 leases, 4 at once)" bt_worker -n 8 -c "select 1" -q

	bt_broker_stop TERM
	bt_check "[$loop] clean exit" test "$BT_BROKER_RC" = 0
done
bt_finish
