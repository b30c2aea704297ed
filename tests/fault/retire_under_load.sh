#!/usr/bin/env bash
# test: once
# Connection replacement on a saturated pool (red team B, finding 2): a private broker's pool main
# (app@app, max 4) under continuous load of 8 PHP workers holding each transaction 20 ms, so that
# workers always queue and a released connection goes straight to the next waiter. Each of these
# must still replace the pool's backends while the load lasts (a worker releasing a retired
# connection hands it back to the broker instead of to a waiter):
#  - `pgpool-cli reconnect main`: every backend pid is replaced within 3 s;
#  - a reload changing the dsn (application_name): no backend with the old dsn within 3 s;
#  - a reload lowering max_lifetime to 1 s: it applies to the open connections, and they keep
#    being recycled (two generations of pids replaced within 4 s each);
#  - a reload lowering max_connections from 4 to 1: the backend count is down to 1 within 3 s and
#    stays there.
# No transaction fails, and exactly the committed rows exist (direct connection).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

sock=$(fl_sock rt)
log=$(fl_log rt)
ini=$(fl_dir rt)/broker.ini
cli=("$(dirname "$PGPOOL_TEST_BROKER")/pgpool-cli" -s "$(fl_dir rt)/admin.sock")
trap 'fl_broker_stop rt KILL; t_cleanup' EXIT
pids_of() { # backend pids with application_name $1, sorted, space-separated
	t_sql postgres "SELECT pid FROM pg_stat_activity WHERE application_name = '$1' ORDER BY 1" | tr '\n' ' '
}
count_of() { t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'"; }
none_left() { # none_left "PIDS": none of these backends is still there
	local p
	for p in $1; do
		[ "$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid = $p")" = 0 ] || return 1
	done
}
reload() { # reload SED-EXPRESSION: edit the config and SIGHUP the broker
	sed -i "$1" "$ini"
	kill -HUP "$(cat "$(fl_dir rt)/broker.pid")"
}

fl_rows_init
fl_broker_start rt "" "[pool main]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=app user=app application_name=rt_a
password = secret
min_connections = 2
max_connections = 4" || t_fail "the broker did not start: $(tail -n 5 "$log")"

fl_load_start 8 rt "$sock" 20 2 "pgsql:host=127.0.0.1;port=$PGPOOL_TEST_PGPORT;dbname=app"
fl_wait 10 'test "$(fl_load_lines rt | grep -c "^ok ")" -ge 100 && test "$(count_of rt_a)" = 4' ||
	t_fail "the load did not get going on 4 backends: $(fl_load_summary rt), $(count_of rt_a) backends; $(head -c 600 "$PGPOOL_TEST_TMP/load-rt.err")"
t_say "load: 8 workers on 4 backends, $(fl_load_summary rt)"

# reconnect
before=$(pids_of rt_a)
t0=$(fl_now_ms)
"${cli[@]}" reconnect main >/dev/null || t_fail "pgpool-cli reconnect failed"
fl_wait 3 'none_left "$before"' ||
	t_fail "reconnect under load: after 3 s still serving on old backends (before: $before; now: $(pids_of rt_a))"
t_say "reconnect: every backend replaced in $(($(fl_now_ms) - t0)) ms under load (before: $before; after: $(pids_of rt_a))"

# a reload changing the dsn
t0=$(fl_now_ms)
reload 's/application_name=rt_a/application_name=rt_b/'
fl_wait 3 'test "$(count_of rt_a)" = 0 && test "$(count_of rt_b)" -ge 1' ||
	t_fail "dsn change under load: after 3 s $(count_of rt_a) backend(s) still use the old dsn, $(count_of rt_b) the new one"
t_say "dsn change: every backend replaced in $(($(fl_now_ms) - t0)) ms under load ($(count_of rt_b) with the new application_name)"

# a reload lowering max_lifetime: applies to open connections, then keeps recycling
before=$(pids_of rt_b)
t0=$(fl_now_ms)
reload 's/^max_connections = 4$/max_connections = 4\nmax_lifetime = 1s/'
fl_wait 4 'none_left "$before"' ||
	t_fail "max_lifetime 1s under load: after 4 s still serving on old backends (before: $before; now: $(pids_of rt_b))"
t1=$(fl_now_ms)
before=$(pids_of rt_b)
fl_wait 4 'none_left "$before"' ||
	t_fail "max_lifetime 1s under load: the replacements were not recycled in turn within 4 s (before: $before; now: $(pids_of rt_b))"
t_say "max_lifetime 1s: open backends recycled in $((t1 - t0)) ms, their replacements $(($(fl_now_ms) - t1)) ms later"
grep -q "max_lifetime reached" "$log" || t_fail "the broker log does not say max_lifetime reached"

# a reload lowering max_connections
t0=$(fl_now_ms)
reload 's/^min_connections = 2$/min_connections = 1/; s/^max_connections = 4$/max_connections = 1/; /^max_lifetime = 1s$/d'
fl_wait 3 'test "$(count_of rt_b)" -le 1' ||
	t_fail "max_connections 4 -> 1 under load: after 3 s still $(count_of rt_b) backends; broker log: $(grep -v DEBUG "$log" | grep -i "reload\|reconfig\|error\|above\|warn" | tail -n 12); config: $(cat "$ini")"
t_say "max_connections 4 -> 1: down to $(count_of rt_b) backend in $(($(fl_now_ms) - t0)) ms under load"
for _ in 1 2 3 4 5; do
	sleep 0.2
	n=$(count_of rt_b)
	[ "$n" -le 1 ] || t_fail "max_connections 1: $n backends a moment later"
done
ok_before=$(fl_load_lines rt | grep -c "^ok ")
sleep 0.5
[ "$(fl_load_lines rt | grep -c "^ok ")" -gt "$ok_before" ] || t_fail "the load stopped committing on the one backend left"

fl_load_stop rt || t_fail "the load workers did not stop (hung?)"
summary=$(fl_load_summary rt)
t_say "load: $summary"
fl_load_lines rt | grep -q '^\(err\|uncertain\) ' &&
	t_fail "transactions failed while connections were replaced: $(fl_load_lines rt | grep '^\(err\|uncertain\) ' | head -n 3)"
fl_rows_check rt
t_say "ok: reconnect, a dsn change, a lowered max_lifetime and a lowered max_connections all took effect under continuous load, with no failed transaction"
