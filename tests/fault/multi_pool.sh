#!/usr/bin/env bash
# Issue 3, multiple pools: one private broker with two pools to different databases and users,
#   main   app@app, 4 connections
#   other  fault_other@fault_other, 3 connections, circuit_breaker_threshold 3
# each with its own limits, stats and circuit breaker. Under load on both, the other pool's user
# gets a new password and its backends are terminated: its reconnects fail, its circuit opens
# (its leases fail fast with 08006 naming the authentication error), while main keeps serving
# with no error, no reconnect and its own counters untouched. The password is restored: the other
# pool's probe succeeds, its circuit closes and its workers commit again. Exactly the committed
# rows exist in both databases (direct connections).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

sock=$(fl_sock mp)
log=$(fl_log mp)
trap 'fl_broker_stop mp KILL; t_sql postgres "ALTER ROLE fault_other PASSWORD '"'other'"'" >/dev/null 2>&1 || true; t_cleanup' EXIT
stats() { # pgpool_stats() of both pools, one line each: name status max total errors connects disconnects
	"${T_PHP[@]}" -d "pgpool.socket=$sock" -r 'foreach (pgpool_stats() as $n => $s) { echo "$n $s[status] $s[max] $s[total] $s[errors] $s[connects] $s[disconnects]\n"; }'
}
stat_of() { stats | awk -v p="$1" -v f="$2" '$1 == p { print $f }'; }

# The second database and user.
t_sql postgres "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fault_other') THEN
	CREATE ROLE fault_other LOGIN PASSWORD 'other'; END IF; END \$\$; ALTER ROLE fault_other PASSWORD 'other'"
[ "$(t_sql postgres "SELECT count(*) FROM pg_database WHERE datname = 'fault_other'")" = 1 ] ||
	t_sql postgres "CREATE DATABASE fault_other OWNER fault_other"
t_sql fault_other "DROP TABLE IF EXISTS fault_rows; CREATE TABLE fault_rows (id text PRIMARY KEY,
	at timestamptz DEFAULT clock_timestamp()); ALTER TABLE fault_rows OWNER TO fault_other"
fl_rows_init

other_dsn="pgsql:host=127.0.0.1;port=$PGPOOL_TEST_PGPORT;dbname=fault_other"
fl_broker_start mp "" "$(fl_pool main app "min_connections = 2
max_connections = 4")
[pool other]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=fault_other user=fault_other
password = other
min_connections = 2
max_connections = 3
circuit_breaker_threshold = 3
connect_retry_max = 500ms" || t_fail "the broker did not start: $(tail -n 5 "$log")"

fl_load_start 4 ma "$sock" 0 5
PGPOOL_TEST_USER=fault_other PGPOOL_TEST_PASSWORD=other fl_load_start 2 ot "$sock" 0 20 "$other_dsn"
fl_wait 10 'test "$(fl_load_lines ot | grep -c "^ok ")" -ge 10 -a "$(fl_load_lines ma | grep -c "^ok ")" -ge 10' ||
	t_fail "the load did not get going: $(head -c 600 "$PGPOOL_TEST_TMP"/load-*.err)"
before=$(stats)
t_say "before: $(tr '\n' ';' <<<"$before")"
[ "$(stat_of main 3)" = 4 ] && [ "$(stat_of other 3)" = 3 ] || t_fail "each pool should show its own max (4, 3): $before"
# One snapshot: main may still be growing under the load, so separate reads could race.
read -r main_errors main_connects main_disconnects <<<"$(awk '$1 == "main" { print $5, $6, $7 }' <<<"$before")"

t_fail_at=$(fl_now_ms)
t_sql postgres "ALTER ROLE fault_other PASSWORD 'changed'; SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'fault_other'" >/dev/null
t_say "injected: pool other's user gets another password and its backends are terminated"
# A connect that authenticated just before ALTER ROLE committed is still a good connection and
# keeps the circuit closed (as it should): the termination is repeated until none is left.
kill_other() { t_sql postgres "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'fault_other'" >/dev/null; }
fl_wait 8 'kill_other; test "$(stat_of other 2)" = circuit_open' || t_fail "other's circuit did not open: $(stats | tr '\n' ';')"
t_open=$(fl_now_ms)
sleep 1.5
during=$(stats)
t_sql postgres "ALTER ROLE fault_other PASSWORD 'other'" >/dev/null
t_fixed=$(fl_now_ms)
fl_wait 5 'test "$(stat_of other 2)" = open' || t_fail "other's circuit did not close after the password was restored: $(stats | tr '\n' ';')"
t_closed=$(fl_now_ms)
read -r first _ <<<"$(fl_wait 5 'test "$(fl_first_ok ot "$t_fixed" | cut -d" " -f1)" != -1'; fl_first_ok ot "$t_fixed")"
sleep 0.3
fl_load_stop ma
fl_load_stop ot
after=$(stats)
t_say "observed: other's circuit open $((t_open - t_fail_at)) ms after the change, closed $((t_closed - t_fixed)) ms after the password was restored, its workers committed again after $first ms"
t_say "observed while open: $(tr '\n' ';' <<<"$during")"
t_say "observed: main: $(fl_load_summary ma); other: $(fl_load_summary ot)"
fast=$(fl_load_lines ot | awk -v a="$t_open" -v b="$t_fixed" '$1 == "err" && $4 > a + 100 && $4 < b')
t_say "observed: other's lease errors while open, e.g.: $(sed -n 1p <<<"$fast" | cut -c1-300)"

# main is untouched: no failure at all, no reconnect, no error counted, still open.
[ "$(fl_load_lines ma | grep -c '^err \|^uncertain ')" = 0 ] || t_fail "main failed while other was broken: $(fl_load_lines ma | grep -m3 '^err ')"
[ "$(stat_of main 2)" = open ] || t_fail "main's status changed: $after"
[ "$(stat_of main 5)" = "$main_errors" ] || t_fail "main counted errors: $main_errors -> $(stat_of main 5)"
# Growing towards max under the load (slow sanitizer builds need more connections) is no
# reconnect; losing a connection is: with no disconnect, every connect made is still open, so
# connects can never exceed max.
read -r main_max main_connects_after main_disconnects_after <<<"$(awk '$1 == "main" { print $3, $6, $7 }' <<<"$after")"
[ "$main_disconnects_after" = "$main_disconnects" ] || t_fail "main lost connections: disconnects $main_disconnects -> $main_disconnects_after"
[ "$main_connects_after" -le "$main_max" ] ||
	t_fail "main reconnected: connects $main_connects -> $main_connects_after, max $main_max, no disconnect"
grep -q "^main open " <<<"$during" || t_fail "main was not open while other's circuit was: $during"
# other: fast 08006 with the authentication error, and its own error counter.
[ -n "$fast" ] || t_fail "other's workers saw no error while its circuit was open"
awk '$2 != "08006" || $3 > 200 { bad = 1 } END { exit bad }' <<<"$fast" || t_fail "other's leases must fail at once with 08006: $(sed -n 1p <<<"$fast")"
grep -q "password authentication failed" <<<"$fast" || t_fail "the 08006 message lacks the last connect error: $(sed -n 1p <<<"$fast")"
[ "$(stat_of other 5)" -gt 0 ] || t_fail "other counted no error"
[ "$first" != -1 ] && [ "$first" -le 2000 ] || t_fail "other's workers committed again only after $first ms"
fl_rows_check ma
FL_DB=fault_other fl_rows_check ot
t_say "ok: one pool's failure left the other pool serving with no error; each pool has its own limits, stats and circuit breaker"
