#!/usr/bin/env bash
# test: once
# session_leak: session state set in one php-fpm request is never visible in another
# (transaction mode, DESIGN.md invariant 3). php-fpm with 6 children shares the pool `main`
# (4 backends). A "dirty" request changes everything a session can hold outside a transaction
# (SET of reported and unreported settings, set_config(), a temporary table, PREPARE, LISTEN, a
# session advisory lock, a cursor WITH HOLD, SET TIME ZONE / DateStyle / search_path) and ends
# without cleaning up; right after it, and while more dirty requests run, "check" requests read
# all of that in one statement on whatever backend they get. Every check must see exactly the
# state of a fresh session; the dirty requests' work stays pinned to their own connection.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
lib=$here/../lib
# shellcheck source=../lib/fpm.sh
source "$lib/fpm.sh"
# shellcheck source=../lib/fcgi.sh
source "$lib/fcgi.sh"

fpm=$PGPOOL_TEST_TMP/fpm
trap 'fpm_stop "$fpm"; t_cleanup' EXIT
rounds=25
mkdir -p "$fpm"
cat >"$fpm/dirty.php" <<'PHP'
<?php
$db = new PgPool(getenv('LEAK_DSN'), getenv('LEAK_USER'), getenv('LEAK_PASSWORD'));
$n = (int) ($_GET['n'] ?? 0);
foreach ([
    "SET work_mem = '7MB'", "SET application_name = 'leak_$n'", "SET search_path = pg_catalog",
    "SELECT set_config('statement_timeout', '12345', false)", "SET TIME ZONE 'Asia/Tokyo'",
    "SET DateStyle = 'German'", "CREATE TEMP TABLE leak_tmp (a int)", "PREPARE leak_stmt AS SELECT 1",
    "LISTEN leak_chan", "SELECT pg_advisory_lock(4242)", "DECLARE leak_cur CURSOR WITH HOLD FOR SELECT 1",
] as $sql) {
    $db->exec($sql);
}
/* the pinned connection sees its own state */
echo "dirty ", $db->query("SHOW work_mem")->fetchColumn(), " ", $db->query("SHOW application_name")->fetchColumn(), "\n";
PHP
cat >"$fpm/check.php" <<'PHP'
<?php
$db = new PgPool(getenv('LEAK_DSN'), getenv('LEAK_USER'), getenv('LEAK_PASSWORD'));
/* one statement: one backend, everything a session could have kept */
echo implode('|', $db->query("SELECT current_setting('work_mem'), current_setting('application_name'),
    current_setting('search_path'), current_setting('statement_timeout'), current_setting('TimeZone'),
    current_setting('DateStyle'), to_regclass('pg_temp.leak_tmp') IS NOT NULL,
    (SELECT count(*) FROM pg_prepared_statements WHERE name = 'leak_stmt'),
    (SELECT count(*) FROM pg_listening_channels()),
    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
    (SELECT count(*) FROM pg_cursors WHERE name = 'leak_cur')")->fetch(PDO::FETCH_NUM)), "\n";
PHP
chmod 644 "$fpm"/*.php
fpm_start "$fpm" "$PGPOOL_TEST_EXT" "$PGPOOL_TEST_SOCKET" 6 "LEAK_DSN=$PGPOOL_TEST_DSN" \
	"LEAK_USER=$PGPOOL_TEST_USER" "LEAK_PASSWORD=$PGPOOL_TEST_PASSWORD"

fresh=$(fcgi_get "$fpm/fpm.sock" "$fpm/check.php") || t_fail "check request failed: $fresh"
t_say "a fresh session reads: $fresh"
case $fresh in *leak* | *7MB* | *12345*) t_fail "the pool was not clean before the test: $fresh" ;; esac

checks=0
for i in $(seq 1 $rounds); do
	d=$(fcgi_get "$fpm/fpm.sock" "$fpm/dirty.php" "n=$i") || t_fail "dirty request $i failed: $d"
	[ "$d" = "dirty 7MB leak_$i" ] || t_fail "the dirty request did not see its own state: $d"
	# checks right after, and concurrently with the next dirty request
	jobs=()
	fcgi_get "$fpm/fpm.sock" "$fpm/dirty.php" "n=$i" >/dev/null &
	jobs+=($!)
	for j in 1 2 3 4; do
		fcgi_get "$fpm/fpm.sock" "$fpm/check.php" >"$PGPOOL_TEST_TMP/check.$i.$j" &
		jobs+=($!)
	done
	wait "${jobs[@]}" # not php-fpm, also a child of this shell
	for j in 1 2 3 4; do
		got=$(cat "$PGPOOL_TEST_TMP/check.$i.$j")
		checks=$((checks + 1))
		[ "$got" = "$fresh" ] || t_fail "round $i: a request saw another request's session state: $got (fresh: $fresh)"
	done
done
t_say "$((rounds * 2)) dirty requests, $checks checks on the 4 backends: every check saw a fresh session"
sleep 0.5
stats=$(t_php -r '$s = pgpool_stats("main"); echo "active=", $s["active"], " idle=", $s["idle"], " total=", $s["total"];')
t_say "pool after the test: $stats"
grep -q 'active=0' <<<"$stats" || t_fail "a lease is still held"
left=$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'leak_%'")
[ "$left" = 0 ] || t_fail "$left backends still carry a dirty request's application_name"
t_say "ok: no session state leaked between requests"
