#!/usr/bin/env bash
# test: once
# A backend that stops answering (issue 3, failure 8). Injected: SIGSTOP to the PostgreSQL
# backend of a connection leased by a worker in the middle of its transaction, on a private
# broker whose pool `main` has query_timeout = 1s. Checked: the worker's next statement fails
# within query_timeout plus the drain bound (SQLSTATE 08006, "could not be cancelled: the
# connection was closed"), not after minutes; while the backend is still stopped the broker keeps
# answering (a new process attaches and is served by the other connections, 20 statements); the
# slot is discarded and replaced by a new backend; after SIGCONT the stopped backend goes away.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
lib=$here/../lib
# shellcheck source=../lib/broker.sh
source "$lib/broker.sh"

tmp=$PGPOOL_TEST_TMP
bdir=$tmp/broker
sock=$bdir/stall.sock
stopped=
mkdir -p "$bdir"
chmod 755 "$tmp" "$bdir"
cleanup() {
	[ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null
	broker_stop "$bdir"
	t_cleanup
}
trap cleanup EXIT

# The stack's configuration with its own socket and shm segment, and query_timeout on `main`.
sed -e "s|^socket *=.*|socket = $sock|" -e "s|^shm_name *=.*|shm_name = /pgpool-stall-$$|" \
	-e 's|^\[pool main\]|[pool main]\nquery_timeout = 1s|' "$PGPOOL_TEST_CONFIG" >"$bdir/broker.ini"
grep -q '^query_timeout = 1s' "$bdir/broker.ini" || t_fail "could not write the private broker config"
chmod 600 "$bdir/broker.ini" # it holds a password: the broker refuses a world-readable one
broker_start "$bdir" "$bdir/broker.ini" "$PGPOOL_TEST_BROKER" || t_fail "private broker did not start"
php_stall() { "${T_PHP[@]}" -d "pgpool.socket=$sock" "$@"; }

# The victim: holds a transaction, tells its backend pid, waits for the go, runs one statement.
cat >"$tmp/victim.php" <<'PHP'
<?php
[$dir, $dsn, $user, $pass] = array_slice($argv, 1);
$db = new PgPool($dsn, $user, $pass);
$db->beginTransaction();
file_put_contents("$dir/victim.pid", $db->query("SELECT pg_backend_pid()")->fetchColumn());
while (!file_exists("$dir/go")) {
    usleep(20000);
}
$t = microtime(true);
try {
    $db->query("SELECT 1");
    echo "no error\n";
} catch (PDOException $e) {
    printf("took=%.2f state=%s in_txn=%d msg=%s\n", microtime(true) - $t, $e->errorInfo[0],
        $db->inTransaction(), strtr($e->getMessage(), "\n", ' '));
}
PHP
# Others: a new process (ATTACH round trip to the broker) running 20 statements.
cat >"$tmp/others.php" <<'PHP'
<?php
[$dsn, $user, $pass, $victim] = array_slice($argv, 1);
$t = microtime(true);
$db = new PgPool($dsn, $user, $pass);
$pids = [];
for ($i = 0; $i < 20; $i++) {
    $pids[$db->query("SELECT pg_backend_pid()")->fetchColumn()] = true;
}
printf("took=%.2f statements=20 backends=%d victim_used=%d\n", microtime(true) - $t, count($pids),
    isset($pids[$victim]));
PHP
cat >"$tmp/stats.php" <<'PHP'
<?php
$s = pgpool_stats('main');
echo "total=", $s['total'], " idle=", $s['idle'], " active=", $s['active'], " discards=", $s['discards'], "\n";
PHP
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -n1; }

for _ in $(seq 1 50); do
	s=$(php_stall "$tmp/stats.php")
	[ "$(field idle "$s")" -ge 2 ] && break
	sleep 0.1
done
before=$(php_stall "$tmp/stats.php")
t_say "private broker, pool main with query_timeout = 1s: $before"

php_stall "$tmp/victim.php" "$tmp" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" >"$tmp/victim.out" 2>&1 &
victim=$!
for _ in $(seq 1 100); do
	[ -s "$tmp/victim.pid" ] && break
	sleep 0.05
done
bpid=$(cat "$tmp/victim.pid" 2>/dev/null) || t_fail "the victim did not start: $(cat "$tmp/victim.out")"
kill -STOP "$bpid"
stopped=$bpid
t_say "injected: SIGSTOP to backend $bpid, leased by worker $victim inside a transaction"
touch "$tmp/go"

# While the backend is stopped: the broker answers, the other connections serve.
others=$(php_stall "$tmp/others.php" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" "$bpid" 2>&1) ||
	t_fail "another worker failed while backend $bpid was stopped: $others"
t_say "meanwhile a new worker (attach + 20 statements): $others"
awk -v t="$(field took "$others")" 'BEGIN { exit !(t < 2.0) }' || t_fail "other workers were slowed down: $others"
[ "$(field victim_used "$others")" = 0 ] || t_fail "a worker was given the stopped backend"

wait "$victim" || true
out=$(cat "$tmp/victim.out")
t_say "victim: $out"
took=$(field took "$out")
[ -n "$took" ] || t_fail "the victim's statement did not fail: $out"
awk -v t="$took" 'BEGIN { exit !(t >= 0.9 && t < 2.8) }' || t_fail "expected the statement to end after query_timeout (1 s) + the drain bound (1 s), took $took s"
grep -q 'state=08006' <<<"$out" || t_fail "expected SQLSTATE 08006"
grep -q 'could not be cancelled: the connection was closed' <<<"$out" || t_fail "expected the connection to be closed"
grep -q 'in_txn=0' <<<"$out" || t_fail "the lost transaction should be over"

# The slot was discarded and replaced with a new backend (while the old one is still stopped).
ok=0
for _ in $(seq 1 100); do
	s=$(php_stall "$tmp/stats.php")
	if [ "$(field discards "$s")" -gt "$(field discards "$before")" ] && [ "$(field active "$s")" = 0 ] &&
		[ "$(field idle "$s")" -ge "$(field idle "$before")" ]; then
		ok=1
		break
	fi
	sleep 0.1
done
t_say "after the stall: $s"
[ "$ok" = 1 ] || t_fail "expected the slot discarded and replaced (before: $before)"
fresh=$(php_stall "$tmp/others.php" "$PGPOOL_TEST_DSN" "$PGPOOL_TEST_USER" "$PGPOOL_TEST_PASSWORD" "$bpid" 2>&1) ||
	t_fail "the pool does not serve after the stall: $fresh"
[ "$(field victim_used "$fresh")" = 0 ] || t_fail "the stopped backend is still in the pool"

kill -CONT "$bpid"
stopped=
for _ in $(seq 1 50); do
	[ -z "$(t_sql postgres "SELECT 1 FROM pg_stat_activity WHERE pid = $bpid")" ] && break
	sleep 0.1
done
[ -z "$(t_sql postgres "SELECT 1 FROM pg_stat_activity WHERE pid = $bpid")" ] || t_fail "backend $bpid is still there after SIGCONT"
t_say "after SIGCONT backend $bpid exited (its socket had been shut down)"
t_say "ok: a stalled backend costs its worker query_timeout + 1 s, the broker and the other connections keep serving, the slot is replaced"
