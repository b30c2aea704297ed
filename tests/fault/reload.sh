#!/usr/bin/env bash
# test: once
# Issue 3, SIGHUP reload (a private broker on the stack's PostgreSQL). Before: pools main
# (app@app, min 1, max 2) and gone (app@tiny, min 1, max 2), a PHP worker on gone holding each
# transaction open 2.5 s. The config then raises main to min 3 / max 4, removes gone and adds
# added (app@sess); SIGHUP. Checks:
#  - changed sizes apply: main prefills to 3 and serves 4 leases at once (4 x 1 s holds end in
#    well under 2 s), pgpool_stats() says min 3, max 4;
#  - the new pool appears and serves (pgpool:pool=added);
#  - the removed pool drains: status draining, a new process cannot attach to it (08001), the
#    transaction in flight on it commits, the worker's next lease is refused with 08004 saying the
#    pool was removed, then the pool is closed, gone from pgpool_stats() and its backends closed;
#  - a changed dsn recycles the pool's connections (application_name=reloaded on all of them);
#  - an invalid file is refused and changes nothing.
# Exactly the committed rows exist (direct connection).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

sock=$(fl_sock rl)
log=$(fl_log rl)
ini=$(fl_dir rl)/broker.ini
trap 'fl_broker_stop rl KILL; t_cleanup' EXIT
php_rl() { "${T_PHP[@]}" -d "pgpool.socket=$sock" "$@"; }
stats() { # name status min max total, one line per pool of pgpool_stats()
	php_rl -r 'foreach (pgpool_stats() as $n => $s) { echo "$n $s[status] $s[min] $s[max] $s[total]\n"; }'
}
stat_of() { stats | awk -v p="$1" -v f="$2" '$1 == p { print $f }'; }
pool_pids() { # backend pids in the private broker's slots of pool $1, each followed by a comma
	"$PGPOOL_TEST_TOOLS/pgp-worker" -S "$sock" --stats 2>/dev/null |
		awk -v p="pool=$1" '$1 == "slot" && $2 == p && $7 != "backend_pid=0" { sub("backend_pid=", "", $7); printf "%s,", $7 }'
}
hup() { kill -HUP "$(cat "$(fl_dir rl)/broker.pid")"; }
W=("$PGPOOL_TEST_TOOLS/pgp-worker" -S "$sock" -U app -P secret)
concurrent() { # concurrent POOL N: N workers hold a lease 1 s each at the same time; prints ms
	local t0 p pids=()
	t0=$(fl_now_ms)
	for _ in $(seq 1 "$2"); do
		"${W[@]}" --pool "$1" -c "select 1" -q --hold 1000 >/dev/null 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || return 1; done
	echo $(($(fl_now_ms) - t0))
}

t_sql tiny "DROP TABLE IF EXISTS fault_rows; CREATE TABLE fault_rows (id text PRIMARY KEY,
	at timestamptz DEFAULT clock_timestamp()); ALTER TABLE fault_rows OWNER TO app"
fl_rows_init
fl_broker_start rl "" "$(fl_pool main app "min_connections = 1
max_connections = 2")
$(fl_pool gone tiny "min_connections = 1
max_connections = 2")" || t_fail "the broker did not start: $(tail -n 5 "$log")"
cp "$ini" "$PGPOOL_TEST_TMP/before.ini"

fl_load_start 1 gn "$sock" 2500 20 "pgsql:host=127.0.0.1;port=$PGPOOL_TEST_PGPORT;dbname=tiny"
fl_wait 10 'test "$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '"'tiny'"' AND state = '"'idle in transaction'"'")" = 1' ||
	t_fail "the worker on gone did not start a transaction"
before=$(stats | tr '\n' ';')
ms=$(concurrent main 4) || t_fail "main did not serve 4 workers before the reload"
gone_pids=$(pool_pids gone)
t_say "before: $before 4 x 1 s holds on main took $ms ms (max 2)"

# ---- the reload ----
{
	sed -n '1,/^$/p' "$PGPOOL_TEST_TMP/before.ini"
	fl_pool main app "min_connections = 3
max_connections = 4"
	fl_pool added sess "min_connections = 1
max_connections = 2"
} >"$ini"
logn=$(wc -l <"$log")
t_hup=$(fl_now_ms)
hup
fl_wait 3 'tail -n +"$((logn + 1))" "$log" | grep -q "reloaded: 1 pool(s) kept, 1 added, 1 removed"' ||
	t_fail "no reload in the log: $(tail -n +"$((logn + 1))" "$log" | tail -n 5)"
draining=$(stats | tr '\n' ';')
fl_wait 5 'test "$(stat_of main 5)" -ge 3' || t_fail "main did not prefill to the new min_connections: $(stats | tr '\n' ';')"
ms=$(concurrent main 4) || t_fail "main did not serve 4 workers after the reload"
t_say "injected: SIGHUP with main min 1 -> 3, max 2 -> 4, gone removed, added added"
t_say "observed right after: $draining"
t_say "observed: main $(stats | awk '$1 == "main"'), 4 x 1 s holds took $ms ms"
[ "$ms" -lt 1900 ] || t_fail "4 holders of 1 s took $ms ms: main does not serve 4 at once"
[ "$(stat_of main 3)" = 3 ] && [ "$(stat_of main 4)" = 4 ] || t_fail "pgpool_stats does not show min 3, max 4"
grep -q "gone draining" <<<"$draining" || t_fail "gone is not draining right after the reload: $draining"
attach=$(php_rl -r 'try { (new PgPool("pgpool:pool=gone", "app", "secret"))->query("SELECT 1"); echo "no error"; } catch (PDOException $e) { echo $e->getMessage(); }')
t_say "observed: a new process on gone: $(cut -c1-200 <<<"$attach")"
grep -q '08001.*no pool named "gone"' <<<"$attach" || t_fail "a new process could attach to the removed pool: $attach"
added=$(php_rl -r '$db = new PgPool("pgpool:pool=added", "app", "secret"); echo $db->query("SELECT current_database()")->fetchColumn();')
[ "$added" = sess ] || t_fail "the added pool does not serve: $added"
t_say "observed: the added pool serves (current_database() = $added)"

# The worker on gone: its transaction in flight commits, the next lease is refused.
fl_wait 6 'fl_load_lines gn | awk -v t="$t_hup" '"'"'$1 == "err" && $4 > t'"'"' | grep -q .' ||
	t_fail "the worker on gone was never refused: $(fl_load_lines gn | tail -n 3)"
fl_load_stop gn
spanning=$(fl_load_lines gn | awk -v a="$t_hup" '$1 == "ok" && $4 - $3 < a && $4 > a' | wc -l)
refused=$(fl_load_lines gn | awk -v t="$t_hup" '$1 == "err" && $4 > t' | sed -n 1p)
t_say "observed: on gone, $spanning transaction(s) in flight committed; then: $(cut -c1-220 <<<"$refused")"
[ "$spanning" = 1 ] || t_fail "the transaction in flight on gone did not commit"
grep -q "^err 08004 .*removed from pgpool-broker's configuration" <<<"$refused" || t_fail "the next lease on gone was not refused with 08004: $refused"
fl_wait 5 '! stats | grep -q "^gone "' || t_fail "gone did not close: $(stats | tr '\n' ';')"
grep -q "\[pool=gone\] drained and closed" "$log" || t_fail "no 'drained and closed' for gone in the log"
[ "$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid IN (${gone_pids}0)")" = 0 ] ||
	t_fail "backends of gone are still open"
t_say "observed: gone closed, its backends (${gone_pids%,}) closed, pgpool_stats: $(stats | tr '\n' ';')"

# ---- a changed dsn recycles the pool's connections ----
main_pids() { pool_pids main; }
old_main=$(main_pids)
sed -i "s/^dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=app user=app$/& application_name=reloaded/" "$ini"
grep -q "application_name=reloaded" "$ini" || t_fail "could not edit the config"
hup
recycled() {
	local pids
	pids=$(main_pids)
	[ -n "$pids" ] && [ "$(t_sql postgres "SELECT count(*) FILTER (WHERE application_name <> 'reloaded')
		|| '/' || count(*) FROM pg_stat_activity WHERE pid IN (${pids}0)")" = 0/3 ]
}
fl_wait 5 recycled || t_fail "main's connections were not recycled with the new dsn: $(main_pids)"
t_say "observed: main's dsn changed: connections ${old_main%,} replaced by $(main_pids | sed 's/,$//') with application_name=reloaded"
[ "$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid IN (${old_main}0)")" = 0 ] ||
	t_fail "old connections of main are still open"

# ---- an invalid file changes nothing ----
cp "$ini" "$PGPOOL_TEST_TMP/good.ini"
printf '[pool broken]\nmax_connections = lots\n' >>"$ini"
logn=$(wc -l <"$log")
hup
fl_wait 3 'tail -n +"$((logn + 1))" "$log" | grep -q "reload refused, the configuration is unchanged"' || t_fail "an invalid config was not refused"
cp "$PGPOOL_TEST_TMP/good.ini" "$ini"
t_say "observed: invalid file: $(tail -n +"$((logn + 1))" "$log" | grep -o 'reload refused.*' | cut -c1-160); pools: $(stats | tr '\n' ';')"
[ "$(stats | awk '{ print $1, $2, $3, $4 }' | tr '\n' ';')" = "main open 3 4;added open 1 2;" ] || t_fail "the invalid reload changed something: $(stats | tr '\n' ';')"

fl_rows_check
FL_DB=tiny fl_rows_check gn
t_say "ok: sizes applied, a pool added, the removed pool drained (in-flight transaction committed) and closed"
