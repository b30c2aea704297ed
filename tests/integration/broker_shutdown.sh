#!/usr/bin/env bash
# broker_shutdown.sh: signals, startup refusals and cleanup, on each event loop.
#   READY=1 reaches $NOTIFY_SOCKET after prefill; SIGHUP reloads the unchanged config;
#   SIGTERM waits for a held lease (bounded by shutdown_timeout), then removes socket and shm and
#   leaves no backend in pg_stat_activity; SIGTERM with a lease held past shutdown_timeout cuts it;
#   SIGINT does not wait; a second broker on the same shm/socket refuses to start; after a
#   SIGKILL the next broker removes the stale socket and segment, starts, and terminates the
#   backend the killed one left open under a worker's lease (after orphan_timeout).
set -uo pipefail
source "$(dirname "$0")/../tools/broker-test-lib.sh"
bt_init

leftovers() { # backends of any broker (both pools' databases)
	bt_sql -tAc "select count(*) from pg_stat_activity where application_name = 'pgpool-broker'"
}
no_leftovers() { test "$(leftovers)" = 0; }
backend_gone() { test "$(bt_sql -tAc "select count(*) from pg_stat_activity where pid = ${1:-0}")" = 0; }
gone() { # socket and shm segment removed
	[ ! -e "$BT_SOCK" ] && [ ! -e "/dev/shm${BT_SHM}" ]
}

# stop_with_held_lease SIGNAL: hold a lease for 8 s, stop the broker with SIGNAL; sets TOOK (ms
# until the broker exited); its exit status is in BT_BROKER_RC.
stop_with_held_lease() {
	local holder t0 t1
	: >"$BT_WORK/hold.out" # a MARK left from an earlier run must not count
	"${BT_W[@]}" -c "select 1" -q --hold 8000 >"$BT_WORK/hold.out" 2>&1 &
	holder=$!
	bt_wait_for 3 grep -q MARK "$BT_WORK/hold.out"
	t0=$(bt_now_ms)
	bt_broker_stop "$1"
	t1=$(bt_now_ms)
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	TOOK=$((t1 - t0))
}

for loop in $BT_LOOPS; do
	bt_log "# event_loop = $loop"
	# READY=1 through NOTIFY_SOCKET (the datagram protocol, no libsystemd).
	if command -v python3 >/dev/null; then
		notify=$BT_WORK/notify.sock
		rm -f "$notify"
		python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(60)
# STATUS= updates may come first while the prefill is slow (valgrind): read up to READY=1.
while True:
    m = s.recv(4096).decode()
    print(m.replace("\n", " "), flush=True)
    if "READY=1" in m.split("\n"):
        break
' "$notify" >"$BT_WORK/notify.out" 2>&1 &
		listener=$!
		bt_wait_for 5 test -S "$notify"
		export NOTIFY_SOCKET=$notify
	fi
	# socket_group: the socket and the shm segment get the group (workers run as another user).
	group=
	getent group daemon >/dev/null && group=daemon
	bt_broker_start "$loop" "${group:+socket_group = $group}" || continue
	unset NOTIFY_SOCKET
	if [ -n "${listener:-}" ]; then
		wait "$listener"
		listener=
		bt_check "[$loop] READY=1 sent to NOTIFY_SOCKET after prefill" grep -q "READY=1" "$BT_WORK/notify.out"
	fi
	bt_check "[$loop] socket and shm segment exist while running" \
		test -S "$BT_SOCK" -a -e "/dev/shm${BT_SHM}"
	bt_check "[$loop] shm segment has the socket's mode (0666)" \
		test "$(stat -c %a "/dev/shm${BT_SHM}")" = 666
	if [ -n "$group" ]; then
		bt_check "[$loop] socket_group: socket and shm segment belong to group $group" \
			test "$(stat -c %G "$BT_SOCK") $(stat -c %G "/dev/shm${BT_SHM}")" = "$group $group"
	fi

	kill -HUP "$BT_BROKER_PID"
	sleep 0.2
	bt_check "[$loop] SIGHUP: reloaded, broker keeps running" \
		bash -c "kill -0 $BT_BROKER_PID && grep -q 'reloaded: 2 pool(s) kept, 0 added, 0 removed' '$BT_WORK/broker.log'"

	# A second broker with the same config must refuse.
	BT_TINY_PASSWORD=secret "$BT_BROKER" -c "$BT_WORK/broker.ini" >"$BT_WORK/second.log" 2>&1
	rc=$?
	bt_check "[$loop] a second broker on the same shm_name refuses to start" \
		bash -c "test $rc != 0 && grep -q 'belongs to a running pgpool-broker' '$BT_WORK/second.log'"
	bt_check "[$loop] ... and leaves the first one's socket and segment alone" \
		bash -c "test -S '$BT_SOCK' && '$BT_WORKER' -S '$BT_SOCK' --ping"

	# Graceful: a lease held 1.2 s finishes, then the broker exits.
	: >"$BT_WORK/hold.out" # a MARK left from an earlier run must not count
	"${BT_W[@]}" -c "select 1" -q --hold 1200 >"$BT_WORK/hold.out" 2>&1 &
	holder=$!
	bt_wait_for 3 grep -q MARK "$BT_WORK/hold.out"
	t0=$(bt_now_ms)
	kill -TERM "$BT_BROKER_PID"
	sleep 0.3
	bt_check "[$loop] SIGTERM: the socket is removed at once (no new attachments)" test ! -e "$BT_SOCK"
	bt_check "[$loop] SIGTERM: new workers are refused (08001)" \
		"$BT_WORKER" -S "$BT_SOCK" --pool main -U app -P secret --expect-error 08001
	bt_check "[$loop] SIGTERM: the broker waits for the held lease" kill -0 "$BT_BROKER_PID"
	bt_check "[$loop] SIGTERM: the lease holder finishes its work" wait "$holder"
	bt_broker_stop TERM
	t1=$(bt_now_ms)
	bt_log "# graceful shutdown took $((t1 - t0)) ms with a 1200 ms lease"
	bt_check "[$loop] SIGTERM: exit status 0" test "$BT_BROKER_RC" = 0
	bt_check "[$loop] SIGTERM: exited after the lease ended, before shutdown_timeout (3 s)" \
		test $((t1 - t0)) -ge 900 -a $((t1 - t0)) -lt 3000
	bt_check "[$loop] SIGTERM: socket and shm removed" gone
	bt_check "[$loop] SIGTERM: no backend left in pg_stat_activity" bt_wait_for 2 'test "$(leftovers)" = 0'

	# Graceful, but the lease outlives shutdown_timeout: cut after 3 s.
	bt_broker_start "$loop" || continue
	stop_with_held_lease TERM
	bt_log "# shutdown with a lease held past shutdown_timeout took $TOOK ms"
	bt_check "[$loop] SIGTERM: a lease held past shutdown_timeout is cut after ~3 s" \
		test "$TOOK" -ge 2900 -a "$TOOK" -lt 4500
	bt_check "[$loop] ... exit 0, socket and shm removed" \
		bash -c "test '$BT_BROKER_RC' = 0 && test ! -e '$BT_SOCK' && test ! -e /dev/shm$BT_SHM"
	bt_check "[$loop] ... no backend left" bt_wait_for 2 'test "$(leftovers)" = 0'

	# Fast: SIGINT does not wait for the held lease.
	bt_broker_start "$loop" || continue
	stop_with_held_lease INT
	bt_check "[$loop] SIGINT: exits at once ($TOOK ms) with status 0" \
		test "$TOOK" -lt 1000 -a "$BT_BROKER_RC" = 0
	bt_check "[$loop] SIGINT: socket and shm removed" gone
	bt_check "[$loop] SIGINT: no backend left" bt_wait_for 2 'test "$(leftovers)" = 0'

	# SIGKILL leaves a stale socket and segment; the next broker cleans them up. A worker still
	# holds a lease: its backend outlives the broker (the worker has the socket) until the next
	# broker terminates it after orphan_timeout.
	bt_broker_start "$loop" "orphan_timeout = 1s" || continue
	: >"$BT_WORK/orphan.out"
	"${BT_W[@]}" -c "select 1" -q --hold 20000 >"$BT_WORK/orphan.out" 2>&1 &
	holder=$!
	bt_wait_for 3 grep -q MARK "$BT_WORK/orphan.out"
	held=$(bt_stats | awk '$1 == "slot" && $2 == "pool=main" && $4 == "state=LEASED" {
		sub("backend_pid=", "", $7); print $7 }')
	kill -KILL "$BT_BROKER_PID"
	wait "$BT_BROKER_PID" 2>/dev/null
	BT_BROKER_PID=
	bt_check "[$loop] after SIGKILL the socket and segment are left behind" \
		test -S "$BT_SOCK" -a -e "/dev/shm${BT_SHM}"
	bt_check "[$loop] ... and the leased backend ($held) is still open" \
		test "$(bt_sql -tAc "select count(*) from pg_stat_activity where pid = ${held:-0}")" = 1
	t0=$(bt_now_ms)
	bt_broker_start "$loop" "orphan_timeout = 1s" || continue
	bt_check "[$loop] the next broker removes the stale segment and finds 2 backends, 1 leased" \
		grep -q "removing stale shm segment.*previous broker (pid [0-9]*) left 2 backend(s) open, 1 of them leased" \
		<(tr '\n' ' ' <"$BT_WORK/broker.log")
	bt_check "[$loop] ... and terminates the leased one after orphan_timeout, its worker still alive" \
		bt_wait_for 4 backend_gone "$held"
	t1=$(bt_now_ms)
	bt_log "# orphan terminated $((t1 - t0)) ms after the new broker started (orphan_timeout 1 s)"
	bt_check "[$loop] ... not before orphan_timeout" test $((t1 - t0)) -ge 1000
	bt_check "[$loop] ... while its worker was still running" kill -0 "$holder"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	bt_check "[$loop] ... removes the stale socket and serves" \
		bash -c "grep -q 'removing stale control socket' '$BT_WORK/broker.log' && '$BT_WORKER' -S '$BT_SOCK' --pool main -U app -P secret -c 'select 1' -q"
	bt_broker_stop TERM
	bt_check "[$loop] no backend left after the second broker stopped" bt_wait_for 2 no_leftovers
done
bt_finish
