#!/usr/bin/env bash
# test: once
# Issue 3, failure 4: PostgreSQL down for longer (stopped ~4 s) under load of 4 PHP workers on the
# stack's pool main. Checks:
#  - the pool's circuit breaker opens after circuit_breaker_threshold (5) consecutive failed
#    connection attempts; pgpool_stats() says status circuit_open, down_since (when the failures
#    began) and the last connect error;
#  - while it is open, leases fail at once (well under acquire_timeout) with 08006 and a message
#    saying since when PostgreSQL is down and the last connect error;
#  - it probes half-open, one connection at a time, about once per connect_retry_max (1 s);
#  - once PostgreSQL is back the probe succeeds, the circuit closes (status open, down_since null)
#    and the workers commit again within 2 s;
#  - exactly the committed rows exist (direct connection).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

data=$PGPOOL_TEST_PGDIR/data
log=$PGPOOL_TEST_STACK/broker.log
pg_ctl() { pg_as "$(stat -c %U "$data")" "$PGBIN/pg_ctl" -D "$data" -l "$PGPOOL_TEST_PGDIR/server.log" "$@" >/dev/null; }
stats_main() { # status|down_since|last_error of pool main, from pgpool_stats() in a fresh process
	"${T_PHP[@]}" -r '$s = pgpool_stats("main"); echo $s["status"], "|", var_export($s["down_since"], true), "|", $s["last_error"] ?? "null", "\n";'
}
# Whatever happens, PostgreSQL runs again for the tests after this one.
trap '[ -f "$data/postmaster.pid" ] || pg_ctl -w start || true; t_cleanup' EXIT

fl_rows_init
fl_load_start 4 pd "$PGPOOL_TEST_SOCKET" 0 50
fl_wait 10 'test "$(fl_load_lines pd | grep -c "^ok ")" -ge 20' || t_fail "the load did not get going: $(head -c 600 "$PGPOOL_TEST_TMP/load-pd.err")"
logn=$(wc -l <"$log")

t_stop=$(fl_now_ms)
pg_ctl -m fast -w stop || t_fail "pg_ctl stop failed"
t_say "injected: PostgreSQL stopped (pg_ctl stop -m fast) under load of 4 PHP workers"
fl_wait 8 'stats_main | grep -q "^circuit_open|"' || t_fail "the circuit did not open within 8 s: $(stats_main)"
t_open=$(fl_now_ms)
snap=$(stats_main)
t_say "observed: circuit open $((t_open - t_stop)) ms after the stop; pgpool_stats: $snap"
sleep 2.5
t_start=$(fl_now_ms)
pg_ctl -w start || t_fail "pg_ctl start failed"
t_up=$(fl_now_ms)
fl_wait 5 'stats_main | grep -q "^open|NULL|null"' || t_fail "the circuit did not close: $(stats_main)"
t_closed=$(fl_now_ms)
read -r first all <<<"$(fl_wait 5 'test "$(fl_first_ok pd "$t_up" | cut -d" " -f2)" != -1'; fl_first_ok pd "$t_up")"
sleep 0.5
fl_load_stop pd || t_fail "the load workers did not stop (hung?)"
t_say "observed: PostgreSQL back after $((t_up - t_start)) ms of pg_ctl start; circuit closed $((t_closed - t_up)) ms later; first commit after $first ms, every worker after $all ms"
t_say "observed: $(fl_load_summary pd)"

# pgpool_stats while open: status, down_since (a time shortly before the circuit opened), error.
IFS='|' read -r st since lasterr <<<"$snap"
awk -v s="$since" -v a="$t_stop" -v b="$t_open" 'BEGIN { exit !(s * 1000 >= a - 1000 && s * 1000 <= b) }' ||
	t_fail "down_since $since is not between the stop ($t_stop ms) and the opening ($t_open ms)"
[ -n "$lasterr" ] && [ "$lasterr" != null ] || t_fail "pgpool_stats has no last_error while the circuit is open"

# Leases while open: fast 08006 with since when and the last error.
fast=$(fl_load_lines pd | awk -v a="$t_open" -v b="$t_start" '$1 == "err" && $4 > a + 100 && $4 < b')
n_fast=$(grep -c . <<<"$fast" || true)
t_say "observed: $n_fast failures while the circuit was open, e.g.: $(head -n1 <<<"$fast" | cut -c1-400)"
[ "$n_fast" -ge 4 ] || t_fail "expected the workers to keep failing while the circuit was open"
slow=$(awk '$2 != "08006" || $3 > 200' <<<"$fast")
[ -z "$slow" ] || t_fail "while open, leases must fail at once with 08006: $(head -n 3 <<<"$slow")"
grep -v "unreachable since .*last error: .*circuit breaker is open" <<<"$fast" | grep -q . &&
	t_fail "the 08006 message must say since when and the last connect error: $(head -n1 <<<"$fast")"

# The breaker in the broker's log: opened after 5 failures, probes one at a time about 1 s apart.
newlog=$(tail -n +"$((logn + 1))" "$log")
grep -q "\[pool=main\] circuit breaker open after 5 consecutive connection failures" <<<"$newlog" ||
	t_fail "the broker did not log the circuit opening after 5 failures"
grep -q "\[pool=main\] circuit breaker closed" <<<"$newlog" || t_fail "the broker did not log the circuit closing"
probes=$(sed -n '/circuit breaker open/,/circuit breaker closed/p' <<<"$newlog" | grep -c "pool=main slot=[0-9]*\] backend connection failed" || true)
open_s=$(( (t_up - t_open) / 1000 ))
t_say "observed: $probes failed probe(s) in the ~$((t_up - t_open)) ms the circuit was open"
[ "$probes" -ge 1 ] && [ "$probes" -le $((open_s * 2 + 2)) ] || t_fail "expected about one probe per second while open, got $probes"
[ "$first" != -1 ] && [ "$first" -le 2000 ] || t_fail "the workers committed again only $first ms after PostgreSQL was back (limit 2 s)"
fl_rows_check pd
t_say "ok: circuit opened after 5 failures, leases failed fast with 08006 (down since, last error), probes closed it $((t_closed - t_up)) ms after PostgreSQL was back"
