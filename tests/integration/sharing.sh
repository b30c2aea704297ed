#!/usr/bin/env bash
# Sharing: 16 concurrent PHP processes x 200 requests on the `main` pool (max_connections = 4).
# Checks: zero errors; every answer carries the values of its own process and request (no
# cross-talk); every committed row is there exactly once; pg_stat_activity, sampled every 5 ms,
# never shows more than 4 backends of the pool's user and database.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../lib/sampler.sh
source "$here/../lib/sampler.sh"

procs=16
requests=200
max=4

t_sql app "DROP TABLE IF EXISTS sharing_log; CREATE TABLE sharing_log (proc int, req int, marker text, PRIMARY KEY (proc, req)); ALTER TABLE sharing_log OWNER TO app"

sampler_start "$PGPOOL_TEST_TMP" "$PGPOOL_TEST_PGDIR" "$PGPOOL_TEST_PGPORT" app app 5
t_say "running $procs PHP processes x $requests requests against pool main (max_connections = $max)"
start=$(t_now)
pids=()
for ((p = 1; p <= procs; p++)); do
	"${T_PHP[@]}" "$here/php/sharing_worker.php" "$p" "$requests" >"$PGPOOL_TEST_TMP/proc-$p.out" 2>"$PGPOOL_TEST_TMP/proc-$p.err" &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
end=$(t_now)
sampled=$(sampler_stop "$PGPOOL_TEST_TMP")
peak=$(sampler_peak "$PGPOOL_TEST_TMP")

ok=0
errors=0
for ((p = 1; p <= procs; p++)); do
	line=$(cat "$PGPOOL_TEST_TMP/proc-$p.out")
	if [[ $line =~ ok=([0-9]+)\ errors=([0-9]+) ]]; then
		ok=$((ok + BASH_REMATCH[1]))
		errors=$((errors + BASH_REMATCH[2]))
	else
		errors=$((errors + 1))
		echo "process $p printed no result: ${line:-<nothing>}"
	fi
	if [ -s "$PGPOOL_TEST_TMP/proc-$p.err" ]; then
		sed "s/^/  process $p: /" "$PGPOOL_TEST_TMP/proc-$p.err" | head -n 5
	fi
done
total=$((procs * requests))
t_say "requests: $ok of $total correct, $errors errors, $failed processes exited non-zero, $(echo "$start $end" | awk -v n="$total" '{printf "%.1f s, %.0f req/s", $2 - $1, n / ($2 - $1)}')"
t_say "backends of app@app in pg_stat_activity: $sampled"

rows=$(t_sql app "SELECT count(*), count(DISTINCT (proc, req)), count(*) FILTER (WHERE marker <> 'p' || proc || 'r' || req) FROM sharing_log")
t_say "committed rows (count, distinct, wrong marker): $rows"

[ "$ok" -eq "$total" ] && [ "$errors" -eq 0 ] && [ "$failed" -eq 0 ] || t_fail "expected $total correct requests and no errors"
[ "$rows" = "$total|$total|0" ] || t_fail "expected $total committed rows, each once, with its own marker"
[ -n "$peak" ] && [ "$peak" -ge 1 ] || t_fail "the sampler saw no backend at all ($sampled)"
[ "$peak" -le "$max" ] || t_fail "pg_stat_activity showed $peak backends of the pool's user, more than max_connections = $max"
t_say "ok: no errors, no cross-talk, at most $peak backends for $procs processes"
