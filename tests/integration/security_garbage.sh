#!/usr/bin/env bash
# Hostile shared memory and control traffic from an allowed process (it knows the password and
# maps the segment read-write, as every PHP worker does). For each area of its own pool -- slot
# words (random states, owners, generations), whole slots, the waiter ring, the ring lock, the
# counters, the pool's broker-written fields (index, first_slot, nslots, status: out of range)
# and all of them at once -- a pgp-worker attaches to pool `victim`, leases a connection,
# writes random bytes over that area, then sends a malformed datagram. Checks each time:
#   - the bad worker is cut off (its control connection closed, its lease taken back);
#   - the broker stays up and says what it repaired;
#   - a well-behaved worker looping on pool `other` the whole time gets every answer right;
#   - pool `victim` serves new workers again within a few seconds.
# Then the segment header itself is scribbled over: the broker must survive it and repair it,
# and both pools must serve new workers again.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=security-lib.bash
source "$here/security-lib.bash"

worker=$PGPOOL_TEST_TOOLS/pgp-worker
[ -x "$worker" ] || t_fail "$worker was not built"
port=$PGPOOL_TEST_PGPORT
sec_broker_start garbage "[broker]
socket = $PGPOOL_TEST_TMP/garbage/pgpool.sock
socket_mode = 0660
shm_name = $(sec_shm garbage)
event_loop = ${PGPOOL_TEST_LOOP:-auto}
log_level = debug
[pool victim]
dsn = host=127.0.0.1 port=$port dbname=app user=app
password = secret
min_connections = 2
max_connections = 3
acquire_timeout = 3s
[pool other]
dsn = host=127.0.0.1 port=$port dbname=tiny user=app
password = secret
min_connections = 2
max_connections = 2
acquire_timeout = 3s" || t_fail "the broker did not start"
pid=$(cat "$SEC_DIR/broker.pid")
W=("$worker" -S "$SEC_SOCK" -U app -P secret)

# victim_serves: a new worker gets 5 leases of pool victim, each answering correctly.
victim_serves() {
	"${W[@]}" --pool victim -n 5 --echo -q -c "select 1" >/dev/null 2>&1
}

wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

n=0
for area in words slots ring lock counters pool all; do
	n=$((n + 1))
	# The good worker: 150 leases of pool other with a per-lease check of the answer.
	"${W[@]}" --pool other -n 150 --echo -q -c "select pg_sleep(0.002)" >"$PGPOOL_TEST_TMP/good-$area.out" 2>&1 &
	good=$!
	out=$PGPOOL_TEST_TMP/bad-$area.out
	"${W[@]}" --pool victim --garbage-after-lease --scribble "$area" --seed "$n" >"$out" 2>&1 &
	bad=$!
	wait_until 5 grep -q "MARK cut-off" "$out" ||
		t_fail "[$area] the bad worker was not cut off: $(tail -n 3 "$out")"
	kill "$bad" 2>/dev/null
	wait "$bad" 2>/dev/null || true
	kill -0 "$pid" 2>/dev/null || t_fail "[$area] the broker died: $(tail -n 20 "$SEC_DIR/broker.log")"
	wait "$good" || t_fail "[$area] the worker on pool other failed: $(tail -n 3 "$PGPOOL_TEST_TMP/good-$area.out")"
	wait_until 8 victim_serves || t_fail "[$area] pool victim does not serve again: $("${W[@]}" --pool victim -c 'select 1' 2>&1 | tail -n 2)"
	t_say "ok [$area]: $(grep -m1 SCRIBBLED "$out"); bad worker cut off; broker up; pool other undisturbed; pool victim serves again"
done
grep -q "closing its connection" "$SEC_DIR/broker.log" || t_fail "the broker did not log why it cut the bad workers off"

# The header (magic, sizes, offsets, counts) is written by the broker only: scribbled over, it
# must be put back, or no new worker could map the segment.
"${W[@]}" --pool other -n 150 --echo -q -c "select pg_sleep(0.002)" >"$PGPOOL_TEST_TMP/good-header.out" 2>&1 &
good=$!
# It maps the segment before the header goes bad; a worker mapping it in the moment between
# the scribble and the broker's repair (one janitor tick) is refused (08001) and retries.
sleep 0.5
out=$PGPOOL_TEST_TMP/bad-header.out
"${W[@]}" --pool victim --garbage-after-lease --scribble header --seed 99 >"$out" 2>&1 &
bad=$!
wait_until 5 grep -q "MARK cut-off" "$out" || t_fail "[header] the bad worker was not cut off: $(tail -n 3 "$out")"
kill "$bad" 2>/dev/null
wait "$bad" 2>/dev/null || true
kill -0 "$pid" 2>/dev/null || t_fail "[header] the broker died: $(tail -n 20 "$SEC_DIR/broker.log")"
wait "$good" || t_fail "[header] the worker on pool other (mapped before) failed: $(tail -n 3 "$PGPOOL_TEST_TMP/good-header.out")"
wait_until 8 victim_serves || t_fail "[header] new workers cannot use pool victim: $("${W[@]}" --pool victim -c 'select 1' 2>&1 | tail -n 2)"
"${W[@]}" --pool other -n 5 --echo -q -c "select 1" >/dev/null 2>&1 || t_fail "[header] new workers cannot use pool other"
t_say "ok [header]: broker up, segment usable by new workers of both pools"

sec_broker_stop garbage
t_say "ok: $n areas and the header scribbled over; the broker stayed up and every other worker was served"
