#!/usr/bin/env bash
# test: once
# The server refuses new connections while the pool is short of one: the database `tiny` is at
# its CONNECTION LIMIT (another client holds the only connection it allows) when the broker's
# backend of pool tiny (max_connections 1, acquire_timeout 500 ms) is terminated. Checks:
#  - a lease during the broker's failing attempts (before the circuit breaker opens) fails after
#    acquire_timeout with 53300 whose message says that 0 of 1 connections are open, that the
#    broker's attempts are failing, and gives the server's error ("too many connections for
#    database"), not "all connections busy, raise max_connections";
#  - pool main, on another database, answers meanwhile;
#  - once the limit is lifted, pool tiny answers again within 5 s, without a broker restart;
#  - a pool that is really full still says "exhausted: all 1 connections busy".
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

log=$PGPOOL_TEST_STACK/broker.log
q_tiny='try { $db = new PgPool("pgsql:host=127.0.0.1;port=" . getenv("PGPOOL_TEST_PGPORT") . ";dbname=tiny", getenv("PGPOOL_TEST_USER"), getenv("PGPOOL_TEST_PASSWORD"), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]); $v = $db->query("SELECT 7")->fetchColumn(); echo "ok $v\n"; } catch (PDOException $e) { echo "err ", $e->getCode(), " ", $e->getMessage(), "\n"; }'
q_main='$db = new PgPool(getenv("PGPOOL_TEST_DSN"), getenv("PGPOOL_TEST_USER"), getenv("PGPOOL_TEST_PASSWORD")); echo "ok ", $db->query("SELECT 8")->fetchColumn(), "\n";'

restore() {
	t_sql postgres "ALTER DATABASE tiny CONNECTION LIMIT -1" >/dev/null 2>&1 || true
	t_sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'tiny' AND application_name = 'server_full_hog'" >/dev/null 2>&1 || true
}
trap 'restore; t_cleanup' EXIT

out=$(t_php -r "$q_tiny")
[ "$out" = "ok 7" ] || t_fail "pool tiny does not answer before the test: $out"
bpid=$(t_sql postgres "SELECT pid FROM pg_stat_activity WHERE datname = 'tiny' AND application_name = 'pgpool-broker'")
[ -n "$bpid" ] || t_fail "no backend of pool tiny in pg_stat_activity"

# Room for one more client, take it, then lower the limit to what is taken.
t_sql postgres "ALTER DATABASE tiny CONNECTION LIMIT 2" >/dev/null
t_bg env PGPASSWORD="$PGPOOL_TEST_PASSWORD" PGAPPNAME=server_full_hog \
	"$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PGPOOL_TEST_PGPORT" -U "$PGPOOL_TEST_USER" -d tiny \
	-c "SELECT pg_sleep(60)" >/dev/null 2>&1
for _ in $(seq 100); do
	[ "$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'server_full_hog'")" = 1 ] && break
	sleep 0.1
done
[ "$(t_sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'server_full_hog'")" = 1 ] ||
	t_fail "the competing client did not connect to tiny"
t_sql postgres "ALTER DATABASE tiny CONNECTION LIMIT 1" >/dev/null
logn=$(wc -l <"$log")
t_sql postgres "SELECT pg_terminate_backend($bpid)" >/dev/null
t_say "injected: database tiny at its connection limit (1, held by another client), pool tiny's backend $bpid terminated"

# The broker notices the dead idle backend and fails to replace it.
for _ in $(seq 50); do
	tail -n +"$((logn + 1))" "$log" | grep -q 'pool=tiny.*too many connections for database' && break
	sleep 0.1
done
tail -n +"$((logn + 1))" "$log" | grep -q 'pool=tiny.*too many connections for database' ||
	t_fail "the broker logged no failed attempt for pool tiny: $(tail -n +"$((logn + 1))" "$log" | grep -v DEBUG | tail -5)"

t0=$(t_now)
out=$(t_php -r "$q_tiny")
t1=$(t_now)
t_say "observed: lease on pool tiny: $out ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms)"
case $out in
"err 53300 "*"only 0 of 1 connections are open"*"attempts to open more are failing"*"too many connections for database"*) ;;
*) t_fail "expected 53300 naming the failing connection attempts and the server's error, got: $out" ;;
esac
case $out in *"raise max_connections"*) t_fail "the message still advises raising max_connections: $out" ;; esac

out=$(t_php -r "$q_main")
[ "$out" = "ok 8" ] || t_fail "pool main did not answer meanwhile: $out"
t_say "observed: pool main answered meanwhile"

restore
t_say "injected: limit lifted, the competing client gone"
ok=
for _ in $(seq 50); do
	out=$(t_php -r "$q_tiny")
	[ "$out" = "ok 7" ] && ok=1 && break
	sleep 0.1
done
[ -n "$ok" ] || t_fail "pool tiny did not recover within 5 s: $out"
t_say "observed: pool tiny answers again"

# Really full: one lease held by a transaction in another process.
t_bg "${T_PHP[@]}" -r '$db = new PgPool("pgsql:host=127.0.0.1;port=" . getenv("PGPOOL_TEST_PGPORT") . ";dbname=tiny", getenv("PGPOOL_TEST_USER"), getenv("PGPOOL_TEST_PASSWORD")); $db->beginTransaction(); $db->query("SELECT 1"); echo "held\n"; sleep(3);' >"$PGPOOL_TEST_TMP/holder.out"
for _ in $(seq 50); do
	grep -q held "$PGPOOL_TEST_TMP/holder.out" && break
	sleep 0.1
done
out=$(t_php -r "$q_tiny")
case $out in
"err 53300 "*"exhausted: all 1 connections busy"*) ;;
*) t_fail "a full pool should say exhausted, got: $out" ;;
esac
t_say "observed: with the one connection in use: $out"
echo "PASS: a server refusing connections is named in the 53300 message; the pool recovers"
