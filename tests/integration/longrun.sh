#!/usr/bin/env bash
# Long-running worker (as RoadRunner runs PHP): one CLI process serves 10,000 requests in a loop
# with one PgPool kept across them. Checks: every request works; between requests the process
# holds no lease (pgpool_stats: active 0, idle == total); memory does not grow: memory_get_usage()
# and RSS after request 1,000 and after request 10,000 differ by at most 64 KiB and 512 KiB, and
# RSS grows by at most 128 KiB over the second half (a leak of ~26 bytes a request or more).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

n=10000
mem_limit=$((64 * 1024))
rss_limit=$((512 * 1024))
rss_half_limit=$((128 * 1024))
t_sql app "DROP TABLE IF EXISTS longrun; CREATE TABLE longrun (id int PRIMARY KEY, n int NOT NULL); INSERT INTO longrun VALUES (1, 0); ALTER TABLE longrun OWNER TO app"

t_say "one PHP process serving $n requests"
start=$(t_now)
out=$(t_php "$here/php/longrun_worker.php" "$n" 2>"$PGPOOL_TEST_TMP/worker.err") || {
	cat "$PGPOOL_TEST_TMP/worker.err"
	t_fail "the worker exited with an error: $out"
}
end=$(t_now)
[ -s "$PGPOOL_TEST_TMP/worker.err" ] && head -n 10 "$PGPOOL_TEST_TMP/worker.err"
t_say "$out ($(echo "$start $end" | awk -v n="$n" '{printf "%.1f s, %.0f req/s", $2 - $1, n / ($2 - $1)}'))"
[[ $out =~ errors=([0-9]+)\ lease_leaks=([0-9]+)\ mem_1000=([0-9]+)\ mem_last=([0-9]+)\ rss_1000=([0-9]+)\ rss_half=([0-9]+)\ rss_last=([0-9]+) ]] ||
	t_fail "unexpected output"
errors=${BASH_REMATCH[1]} leaks=${BASH_REMATCH[2]}
mem_growth=$((BASH_REMATCH[4] - BASH_REMATCH[3]))
rss_growth=$((BASH_REMATCH[7] - BASH_REMATCH[5]))
rss_half_growth=$((BASH_REMATCH[7] - BASH_REMATCH[6]))
t_say "growth from request 1,000 to $n: memory_get_usage $mem_growth bytes, RSS $rss_growth bytes ($rss_half_growth in the second half)"
updates=$(t_sql app "SELECT n FROM longrun WHERE id = 1")
t_say "committed updates: $updates"

[ "$errors" = 0 ] || t_fail "$errors requests failed"
[ "$updates" = "$n" ] || t_fail "expected $n committed updates, found $updates"
[ "$leaks" = 0 ] || t_fail "a lease was held between requests $leaks times"
if [ "${PGPOOL_TEST_SANITIZER:-}" = asan ]; then
	# USE_ZEND_ALLOC=0 makes memory_get_usage 0 and ASan's quarantine keeps freed memory
	# resident: no bound would mean anything. LeakSanitizer watches this process instead.
	t_say "ok: $n requests, no lease between requests (memory bounds: plain run only)"
	exit 0
fi
[ "$mem_growth" -le "$mem_limit" ] || t_fail "memory_get_usage grew by $mem_growth bytes (limit $mem_limit)"
[ "$rss_growth" -le "$rss_limit" ] || t_fail "RSS grew by $rss_growth bytes (limit $rss_limit)"
[ "$rss_half_growth" -le "$rss_half_limit" ] ||
	t_fail "RSS grew by $rss_half_growth bytes over requests $((n / 2)) to $n (limit $rss_half_limit)"
t_say "ok: $n requests, no lease between requests, no memory growth"
