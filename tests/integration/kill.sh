#!/usr/bin/env bash
# Kill: a PHP worker SIGKILLed while it holds a lease with an open transaction, once in the middle
# of a query (pg_sleep) and once idle in the transaction. Checks: the broker reclaims the slot and
# the pool serves 4 connections at once within 1 s of the kill (measured and printed); the killed
# query does not keep running (its backend is idle or gone within 2 s); the killed worker's
# inserted row was never committed (checked with a direct connection).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

max=4
t_sql app "DROP TABLE IF EXISTS kill_log; CREATE TABLE kill_log (id serial PRIMARY KEY, note text); ALTER TABLE kill_log OWNER TO app"

# backend_state PID: the backend's state in pg_stat_activity, or "gone".
backend_state() {
	local s
	s=$(t_sql postgres "SELECT state FROM pg_stat_activity WHERE pid = $1")
	echo "${s:-gone}"
}

# Whatever happens, leave no backend of a killed worker running for the tests after this one.
victim_backends=()
kill_cleanup() {
	local b
	for b in "${victim_backends[@]}"; do
		t_sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE pid = $b AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')" >/dev/null 2>&1 || true
	done
	t_cleanup
}
trap kill_cleanup EXIT

for case in query idle; do
	ready=$PGPOOL_TEST_TMP/ready-$case
	t_say "case $case: worker opens a transaction, inserts a row, then $([ "$case" = query ] && echo "runs pg_sleep(20)" || echo "sleeps in PHP")"
	"${T_PHP[@]}" "$here/php/kill_victim.php" "$case" "$ready" >"$PGPOOL_TEST_TMP/victim-$case.log" 2>&1 &
	victim=$!
	t_bg_pids+=("$victim")
	for _ in $(seq 1 100); do
		[ -s "$ready" ] && break
		kill -0 "$victim" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$ready" ] || t_fail "case $case: the worker did not get going: $(cat "$PGPOOL_TEST_TMP/victim-$case.log")"
	backend=$(cat "$ready")
	victim_backends+=("$backend")
	want_state=$([ "$case" = query ] && echo active || echo "idle in transaction")
	for _ in $(seq 1 50); do
		[ "$(backend_state "$backend")" = "$want_state" ] && break
		sleep 0.05
	done
	state=$(backend_state "$backend")
	[ "$state" = "$want_state" ] || t_fail "case $case: backend $backend is '$state', expected '$want_state'"
	sleep 0.2
	killed_at=$(t_now)
	kill -KILL "$victim"
	wait "$victim" 2>/dev/null || true
	t_say "case $case: killed the worker (backend $backend was '$state')"

	out=$(t_php "$here/php/kill_check.php" "$killed_at" "$max" "$backend" 2>&1) ||
		t_fail "case $case: could not take $max leases after the kill: $out"
	t_say "case $case: $out"
	[[ $out =~ usable=([0-9]+)\ distinct=([0-9]+)\ seconds=([0-9.]+) ]] || t_fail "case $case: unexpected output"
	usable=${BASH_REMATCH[1]} distinct=${BASH_REMATCH[2]} secs=${BASH_REMATCH[3]}
	[ "$usable" = "$max" ] && [ "$distinct" = "$max" ] ||
		t_fail "case $case: expected $max distinct usable connections, got $usable usable, $distinct distinct"
	awk -v s="$secs" 'BEGIN { exit !(s <= 1.0) }' ||
		t_fail "case $case: the pool took $secs s to serve $max connections again (limit 1 s)"

	# The killed worker's backend must stop running its query and drop its transaction.
	waited=0
	while :; do
		state=$(backend_state "$backend")
		case $state in idle | gone) break ;; esac
		[ "$waited" -ge 20 ] && break
		sleep 0.1
		waited=$((waited + 1))
	done
	t_say "case $case: killed worker's backend $backend is '$state' after $(awk -v w="$waited" 'BEGIN{printf "%.1f", w / 10}') s more"
	case $state in
	idle | gone) ;;
	*) t_fail "case $case: the killed worker's backend is still '$state' 2 s after the pool recovered (query not cancelled, transaction not rolled back)" ;;
	esac
	rows=$(t_sql app "SELECT count(*) FROM kill_log WHERE note = '$case'")
	[ "$rows" = 0 ] || t_fail "case $case: the killed worker's uncommitted row was committed ($rows rows)"
	t_say "case $case: ok, uncommitted row not committed"
done
t_say "ok: leases of killed workers reclaimed, pool back to $max connections within 1 s"
