#!/usr/bin/env bash
# php-fpm: the demo's setup as a test. php-fpm with pm = static and 16 children (as www-data)
# serves tests/lib/php/demo_page.php (new PgPool, a primary-key SELECT, an UPDATE in a
# transaction, a SELECT); 2,000 requests arrive over FastCGI from 16 concurrent clients. Checks:
# every response is right for its own request; every UPDATE is committed once; more php-fpm
# workers than backends served the load; pg_stat_activity never shows more than 4 backends of the
# pool's user; pgpool_stats() through php-fpm agrees (total <= 4, nothing leased afterwards).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
lib=$here/../lib
# shellcheck source=../lib/fpm.sh
source "$lib/fpm.sh"
# shellcheck source=../lib/fcgi.sh
source "$lib/fcgi.sh"
# shellcheck source=../lib/sampler.sh
source "$lib/sampler.sh"

children=16
requests=2000
max=4
fpm=$PGPOOL_TEST_TMP/fpm
trap 'fpm_stop "$fpm"; t_cleanup' EXIT

t_sql app "SET ROLE app; $(cat "$lib/demo_schema.sql")"
mkdir -p "$fpm"
cp "$lib/php/demo_page.php" "$lib/php/stats_page.php" "$fpm/"
chmod 644 "$fpm"/*.php
fpm_start "$fpm" "$PGPOOL_TEST_EXT" "$PGPOOL_TEST_SOCKET" "$children" \
	"PGPOOL_PAGE_DSN=$PGPOOL_TEST_DSN" "PGPOOL_PAGE_USER=$PGPOOL_TEST_USER" \
	"PGPOOL_PAGE_PASSWORD=$PGPOOL_TEST_PASSWORD"
t_say "php-fpm up: $(fpm_pids "$fpm" | wc -l) children"

sampler_start "$PGPOOL_TEST_TMP" "$PGPOOL_TEST_PGDIR" "$PGPOOL_TEST_PGPORT" app app 5
load_ok=1
load=$(fcgi_load "$fpm/fpm.sock" "$fpm/demo_page.php" "$requests" "$children" "$PGPOOL_TEST_TMP/load") || load_ok=0
sampled=$(sampler_stop "$PGPOOL_TEST_TMP")
peak=$(sampler_peak "$PGPOOL_TEST_TMP")
t_say "load: $load"
t_say "backends of app@app in pg_stat_activity: $sampled"
if [ "$load_ok" = 0 ]; then
	echo "wrong responses (first 10):"
	head -n 10 "$PGPOOL_TEST_TMP/load/bad" 2>/dev/null || true
	echo "PHP errors:"
	tail -n 10 "$fpm/php-errors.log"
	tail -n 10 "$fpm/fpm.log"
	t_fail "expected $requests correct responses"
fi
stats=$(fcgi_get "$fpm/fpm.sock" "$fpm/stats_page.php") || t_fail "stats page failed: $stats"
t_say "pgpool_stats() via php-fpm: $(echo "$stats" | tr -d ' \n' | cut -c1-400)"
total=$(echo "$stats" | php -n -r '$s = json_decode(stream_get_contents(STDIN), true); $m = $s["main"] ?? $s;
	echo ($m["total"] ?? "?"), " ", ($m["idle"] ?? "?"), " ", ($m["active"] ?? "?"), " ", ($m["max"] ?? "?");')
read -r s_total s_idle s_active s_max <<<"$total"
balance=$(t_sql app "SELECT sum(balance) FROM pgpool_demo")
[[ $load =~ workers=([0-9]+)\ backends=([0-9]+) ]] || t_fail "unexpected load output"
workers=${BASH_REMATCH[1]}
t_say "sum of balances: $balance; $workers php-fpm workers served by a pool of $s_total (peak $peak backends)"

[ "$balance" = "$requests" ] || t_fail "expected $requests committed updates, found $balance"
[ -n "$peak" ] && [ "$peak" -ge 1 ] && [ "$peak" -le "$max" ] || t_fail "peak backends $peak (expected 1..$max)"
[ "$workers" -gt "$max" ] || t_fail "only $workers php-fpm workers served requests; expected more than $max"
[ "$s_max" = "$max" ] || t_fail "pgpool_stats max = $s_max, expected $max"
[ "$s_total" -le "$max" ] && [ "$s_active" = 0 ] && [ "$s_idle" = "$s_total" ] ||
	t_fail "pgpool_stats after the load: total $s_total, idle $s_idle, active $s_active (expected nothing leased)"
t_say "ok: $requests responses correct, $workers workers on at most $peak backends"
