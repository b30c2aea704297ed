#!/usr/bin/env bash
# test: once
# Logs: every line of the broker's log is one event with a UTC time and a level; events about a
# pool or a backend carry [pool=NAME] or [pool=NAME slot=N]; passwords never appear (not in the
# log, --check, pgpool-cli output or /metrics; a dsn with a password is shown redacted), not even
# a wrong one a worker tried. The slow-query log: a statement slower than the pool's
# slow_query_threshold is logged with the pool, its duration, the worker's pid and the SQL cut to
# 500 bytes on one line; a fast one is not.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=ops/broker.sh
source "$here/ops/broker.sh"

T=$PGPOOL_TEST_TMP
pw='Zq7-ops-LOG-pw'
wrong='Wr0ng-ops-LOG-pw'
t_sql app "DO \$\$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ops_logs') THEN
		CREATE ROLE ops_logs LOGIN PASSWORD '$pw';
	END IF; END \$\$; ALTER ROLE ops_logs PASSWORD '$pw'" >/dev/null

ob_start logs "metrics = 127.0.0.1:0" "
[pool uri]
dsn = postgres://ops_logs:$pw@127.0.0.1:$PGPOOL_TEST_PGPORT/app?application_name=ops-logs
min_connections = 1
max_connections = 2

[pool slow]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=sess user=app application_name=ops-logs
password = secret
max_connections = 1
slow_query_threshold = 100ms"

# ---- activity worth logging ----
read -r st _ <<<"$(ob_php -r "
	\$db = new PgPool('pgpool:pool=uri', 'ops_logs', '$pw', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
	echo 'ok ', \$db->query('SELECT current_user')->fetchColumn(), PHP_EOL;")"
[ "$st" = ok ] || t_fail "a query on the pool with the password in its dsn"
out=$(ob_php -r "
	try { new PgPool('pgpool:pool=uri', 'ops_logs', '$wrong'); echo 'accepted'; }
	catch (PDOException \$e) { echo \$e->getCode(); }")
[ "$out" = 28P01 ] || t_fail "a wrong password is refused with 28P01 (got $out)"
long=$(printf 'x%.0s' $(seq 1 1200))
ob_php -r "
	\$db = new PgPool('pgpool:pool=slow', 'app', 'secret', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
	\$db->query('SELECT 1 AS fast_one')->fetchColumn();
	\$db->query(\"SELECT pg_sleep(0.25), 'slow-marker\nsecond line', '$long'\")->fetchColumn();
	echo getmypid();" >"$T/slow.pid" || t_fail "the slow query failed"
php_pid=$(cat "$T/slow.pid")
ob_wait 5 "the slow query is logged" grep -q 'slow query:' "$OB_LOG" || t_fail "no slow query in the log"

"$PGPOOL_TEST_BROKER" -c "$OB_INI" --check >"$T/check.out" 2>&1 || t_fail "--check: $(cat "$T/check.out")"
ob_cli status >"$T/cli.out"
ob_cli --json pools >>"$T/cli.out"
ob_cli --json slots >>"$T/cli.out"
curl -s "http://$(ob_cli --json status | ob_json "j['metrics']")/metrics" >"$T/metrics.txt"
ob_stop || t_fail "the broker did not stop cleanly"

# ---- every line: time, level, message ----
bad=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (DEBUG|INFO |WARN |ERROR) [^ ]' "$OB_LOG" || true)
lines=$(wc -l <"$OB_LOG")
[ "$bad" = 0 ] || {
	grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z (DEBUG|INFO |WARN |ERROR) ' "$OB_LOG" | head -n 5
	t_fail "$bad of $lines log lines lack the time/level prefix"
}
t_say "ok: all $lines log lines are 'TIME LEVEL message'"
for what in 'backend connected' 'backend closed'; do
	n=$(grep -c "$what" "$OB_LOG" || true)
	tagged=$(grep -cE "\[pool=[a-z]+ slot=[0-9]+\] $what" "$OB_LOG" || true)
	[ "$n" -ge 1 ] && [ "$n" = "$tagged" ] || t_fail "'$what': $tagged of $n lines carry [pool= slot=]"
done
grep -qE '\[pool=uri\] worker pid=[0-9]+ uid=[0-9]+ attached' "$OB_LOG" || t_fail "attach is logged with its pool"
grep -qE 'WARN  \[pool=uri\] authentication failed for worker pid=[0-9]+' "$OB_LOG" || t_fail "a refused password is logged as a warning of its pool"
t_say "ok: backend and worker events carry their pool (and slot)"

# ---- no password anywhere ----
for f in "$OB_LOG" "$T/check.out" "$T/cli.out" "$T/metrics.txt"; do
	if grep -qF -e "$pw" -e "$wrong" "$f"; then
		grep -nF -e "$pw" -e "$wrong" "$f" | head -n 3
		t_fail "a password appears in $(basename "$f")"
	fi
done
grep -q 'password=\*\*\*\*\*\*\*\*' "$OB_LOG" || t_fail "the dsn of pool uri is logged redacted"
grep -q 'pool uri: dsn ".*password=\*\*\*\*\*\*\*\*' "$T/check.out" || t_fail "--check shows the dsn redacted"
t_say "ok: no password in the log, --check, pgpool-cli or /metrics; dsns redacted"

# ---- slow-query log ----
line=$(grep 'slow query:' "$OB_LOG")
[ "$(grep -c 'slow query:' "$OB_LOG")" = 1 ] || t_fail "exactly one slow query logged (the fast one is not): $line"
[[ $line =~ WARN\ \ \[pool=slow\]\ slow\ query:\ ([0-9]+)\ ms,\ worker\ pid=([0-9]+):\ (.*)$ ]] ||
	t_fail "slow query line format: $line"
ms=${BASH_REMATCH[1]}
pid=${BASH_REMATCH[2]}
sql=${BASH_REMATCH[3]}
[ "$ms" -ge 250 ] && [ "$ms" -lt 10000 ] || t_fail "slow query duration $ms ms (slept 250 ms)"
[ "$pid" = "$php_pid" ] || t_fail "slow query worker pid $pid, PHP's pid $php_pid"
[ "${#sql}" -le 500 ] && [ "${#sql}" -ge 400 ] || t_fail "the SQL is cut to 500 bytes (${#sql})"
[[ $sql == "SELECT pg_sleep(0.25), 'slow-marker second line', 'xxx"* ]] || t_fail "the SQL, on one line: ${sql:0:80}"
t_say "ok: slow query logged: pool slow, $ms ms, worker pid $pid, ${#sql} bytes of SQL on one line"
