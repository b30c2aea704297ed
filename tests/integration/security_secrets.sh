#!/usr/bin/env bash
# test: once
# No secret leaves where it was put (issue 7). A role with a password found nowhere else
# (sec_secrets) backs four pools whose passwords come from each source the broker knows: a dsn
# URI, `password =`, password_file and password_env. While PHP workers hold leases of every pool
# and one tries a wrong password, the test greps for both passwords in:
#   - the shared-memory segment (/dev/shm/NAME, every byte);
#   - argv of the broker and of the PHP workers (/proc/PID/cmdline), and the names of the
#     broker's threads;
#   - the broker's log (debug level), --check output;
#   - /metrics, and every read command of pgpool-cli (text and --json);
#   - phpinfo() and the PHP workers' own output;
# and checks that dsns are shown redacted (password=********).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=ops/broker.sh
source "$here/ops/broker.sh"

command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
T=$PGPOOL_TEST_TMP
port=$PGPOOL_TEST_PGPORT
pw="Sx9-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-sec"
wrong="Wr9-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-bad"
t_sql app "DO \$\$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sec_secrets') THEN
		CREATE ROLE sec_secrets LOGIN;
	END IF; END \$\$; ALTER ROLE sec_secrets PASSWORD '$pw'" >/dev/null
install -m 0600 /dev/null "$T/pw"
printf '%s\n' "$pw" >"$T/pw"
export SEC_SECRETS_PW=$pw # password_env of pool senv (and what the PHP workers read)

ob_start secrets "metrics = 127.0.0.1:0" "
[pool sdsn]
dsn = postgres://sec_secrets:$pw@127.0.0.1:$port/app?application_name=sec-secrets
max_connections = 2
[pool skey]
dsn = host=127.0.0.1 port=$port dbname=tiny user=sec_secrets
password = $pw
max_connections = 2
[pool sfile]
dsn = host=127.0.0.1 port=$port dbname=sess user=sec_secrets
password_file = $T/pw
max_connections = 2
[pool senv]
dsn = host=127.0.0.1 port=$port dbname=postgres user=sec_secrets
password_env = SEC_SECRETS_PW
max_connections = 2"
metrics_addr=$(ob_cli --json status | ob_json "j['metrics']")

# PHP workers: each pool leased and held (in a transaction) while the checks run.
cat >"$T/worker.php" <<'PHP'
<?php
$pw = getenv('SEC_SECRETS_PW');
$dbs = [];
foreach (['sdsn', 'skey', 'sfile', 'senv'] as $pool) {
    $db = new PgPool("pgpool:pool=$pool", 'sec_secrets', $pw, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    $db->beginTransaction();
    echo $pool, ' ', $db->query('SELECT current_user')->fetchColumn(), "\n";
    $dbs[] = $db;
}
try {
    new PgPool('pgpool:pool=skey', 'sec_secrets', getenv('SEC_SECRETS_WRONG'));
} catch (PDOException $e) {
    echo 'wrong password: ', $e->getMessage(), "\n";
}
phpinfo(INFO_MODULES | INFO_CONFIGURATION | INFO_GENERAL);
echo "HOLDING\n";
flush();
sleep(20);
PHP
SEC_SECRETS_WRONG=$wrong "${T_PHP[@]}" -d "pgpool.socket=$OB_SOCK" "$T/worker.php" >"$T/worker.out" 2>&1 &
worker=$!
t_bg_pids+=("$worker")
ob_wait 15 "the PHP worker holds its leases" grep -q HOLDING "$T/worker.out" || t_fail "the worker did not get going: $(tail -n 5 "$T/worker.out")"
grep -q "^senv sec_secrets" "$T/worker.out" || t_fail "the worker did not lease every pool: $(head -n 5 "$T/worker.out")"

# ---- collect everything that could show a secret ----
cp "/dev/shm${OB_SHM}" "$T/shm.bin"
tr '\0' ' ' <"/proc/$OB_PID/cmdline" >"$T/broker.cmdline"
tr '\0' ' ' <"/proc/$worker/cmdline" >"$T/worker.cmdline"
cat /proc/"$OB_PID"/task/*/comm >"$T/broker.threads"
curl -sf "http://$metrics_addr/metrics" >"$T/metrics.txt" || t_fail "GET /metrics failed"
: >"$T/cli.out"
for cmd in status pools slots workers; do
	for json in "" --json; do
		# shellcheck disable=SC2086
		ob_cli $json $cmd >>"$T/cli.out" 2>&1 || t_fail "pgpool-cli $json $cmd failed: $(tail -n 3 "$T/cli.out")"
	done
done
"$PGPOOL_TEST_BROKER" -c "$OB_INI" --check >"$T/check.out" 2>&1 || t_fail "--check failed: $(cat "$T/check.out")"
sleep 0.2
cp "$OB_LOG" "$T/broker.log"

[ "$(wc -c <"$T/shm.bin")" -gt 4096 ] || t_fail "could not read the shm segment"
grep -q "sec_secrets" "$T/cli.out" 2>/dev/null || grep -q "skey" "$T/cli.out" || t_fail "pgpool-cli printed nothing about the pools"
grep -q 'pgpool_' "$T/metrics.txt" || t_fail "/metrics is empty"
grep -q "pgpool support" "$T/worker.out" || t_fail "phpinfo() did not run"
grep -q "28P01" "$T/worker.out" || t_fail "the wrong password was not refused"

leaks=0
for f in shm.bin broker.cmdline worker.cmdline broker.threads broker.log check.out metrics.txt cli.out worker.out; do
	for secret in "$pw" "$wrong"; do
		if grep -aqF -- "$secret" "$T/$f"; then
			echo "LEAK: $f contains $([ "$secret" = "$pw" ] && echo "the password" || echo "the wrong password")"
			grep -aF -- "$secret" "$T/$f" | head -n 3 | cut -c1-200
			leaks=$((leaks + 1))
		fi
	done
	t_say "checked $f ($(wc -c <"$T/$f") bytes)"
done
[ "$leaks" = 0 ] || t_fail "$leaks place(s) show a password"
grep -q 'dsn "host=127.0.0.1 port=[0-9]* user=sec_secrets password=\*\*\*\*\*\*\*\* dbname=app' "$T/broker.log" ||
	grep -q 'password=\*\*\*\*\*\*\*\*' "$T/broker.log" || t_fail "the URI dsn is not logged redacted"
grep -q 'password=\*\*\*\*\*\*\*\*' "$T/check.out" || t_fail "--check does not show the dsn redacted"
t_say "ok: neither password in shm, argv, thread names, the log, --check, /metrics, pgpool-cli, phpinfo or PHP's output; dsns redacted"
