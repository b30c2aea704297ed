#!/usr/bin/env bash
# test: once
# The first ATTACH to a pool that has never connected, with PostgreSQL down (red team B, finding
# 1). A private broker starts while PostgreSQL is stopped, with three pools (min_connections 0
# unless said):
#   b: min_connections 2, circuit_breaker_threshold 5 (the circuit opens after ~2 s);
#   c: circuit_breaker_threshold 0 (never opens), acquire_timeout 10 s (above
#      pgpool.broker_timeout's 5 s);
#   a: circuit_breaker_threshold 0, connect_retry_max 200ms;
#   d: the defaults (threshold 5, acquire_timeout 5 s).
# Checks:
#  - b, circuit open: `new PgPool` fails at once (< 1 s) with 08006 saying since when PostgreSQL is
#    down and the last connect error (OPERATIONS.md: while it is open, leases fail at once);
#  - d: an ATTACH waiting when the circuit opens (~1.5 s of retries) is answered then with 08006;
#  - c: `new PgPool` is answered before the worker's own broker_timeout with 53300 and the last
#    connect error, not with 08001 "did not answer ATTACH" (the broker is alive);
#  - a: PostgreSQL comes back while a first `new PgPool` + query waits: the broker keeps retrying
#    with its backoff during the wait, so the request is served within 1 s of PostgreSQL being
#    back (not after acquire_timeout).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

data=$PGPOOL_TEST_PGDIR/data
sock=$(fl_sock ad)
log=$(fl_log ad)
pg_ctl() { pg_as "$(stat -c %U "$data")" "$PGBIN/pg_ctl" -D "$data" -l "$PGPOOL_TEST_PGDIR/server.log" "$@" >/dev/null; }
# Whatever happens, PostgreSQL runs again for the tests after this one.
trap '[ -f "$data/postmaster.pid" ] || pg_ctl -w start || true; fl_broker_stop ad KILL; t_cleanup' EXIT
# attach POOL: a fresh PHP process: new PgPool + one query; prints "ok MS" or "err SQLSTATE MS MESSAGE"
attach() {
	"${T_PHP[@]}" -d "pgpool.socket=$sock" -r '
		$t = microtime(true);
		try {
			$db = new PgPool("pgpool:pool=" . $argv[1], "app", "secret", [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
			$db->query("SELECT 1")->fetchColumn();
			printf("ok %d\n", (microtime(true) - $t) * 1000);
		} catch (PDOException $e) {
			printf("err %s %d %s\n", $e->errorInfo[0] ?? "?????", (microtime(true) - $t) * 1000, $e->getMessage());
		}' "$1"
}
# expect_err LABEL "ATTACH OUTPUT" SQLSTATE MAX_MS REGEX: the attach failed with SQLSTATE within
# MAX_MS, its message matching REGEX
expect_err() {
	local res st ms msg
	read -r res st ms msg <<<"$2"
	t_say "$1: $res $st after $ms ms: ${msg:0:200}"
	[ "$res" = err ] && [ "$st" = "$3" ] || t_fail "$1: expected $3, got: $res $st $msg"
	[ "$ms" -lt "$4" ] || t_fail "$1: answered after $ms ms (limit $4 ms)"
	grep -q "$5" <<<"$msg" || t_fail "$1: the message does not match '$5': $msg"
	grep -q "did not answer" <<<"$msg" && t_fail "$1: blamed the broker: $msg"
	return 0
}
status_of() { "${T_PHP[@]}" -d "pgpool.socket=$sock" -r 'echo pgpool_stats($argv[1])["status"] ?? "none";' "$1"; }

pg_ctl -m fast -w stop || t_fail "pg_ctl stop failed"
t_say "injected: PostgreSQL stopped before the broker starts"
fl_broker_start ad "" "$(fl_pool a app "circuit_breaker_threshold = 0
connect_retry_max = 200ms")
$(fl_pool b tiny "min_connections = 2")
$(fl_pool c sess "circuit_breaker_threshold = 0
acquire_timeout = 10s")
[pool d]
dsn = host=localhost port=$PGPOOL_TEST_PGPORT dbname=app user=app
password = secret" || t_fail "the broker did not start with PostgreSQL down: $(tail -n 5 "$log")"

# b: the circuit opens; a new process's first attach must fail at once.
fl_wait 8 'test "$(status_of b)" = circuit_open' || t_fail "pool b's circuit did not open within 8 s: $(status_of b)"
expect_err "b (circuit open)" "$(attach b)" 08006 1000 "unreachable since .*last error: .*circuit breaker is open"

# d: its first attach starts the retries; the circuit opens while it waits: its first attach starts the retries; the circuit opens while it waits.
attach d >"$PGPOOL_TEST_TMP/attach-d.out" &
t_bg_pids+=($!)
# c: never opens its circuit, acquire_timeout above broker_timeout: the answer must come before pgpool.broker_timeout (5000 ms) and quote the last error.
expect_err "c (no circuit breaker, acquire_timeout 10 s)" "$(attach c)" 53300 4900 "no connection within .*last error: .*refused"
wait "${t_bg_pids[-1]}"
expect_err "d (circuit opens during the wait, ~1.5 s)" "$(cat "$PGPOOL_TEST_TMP/attach-d.out")" 08006 3500 "circuit breaker is open"

# a: PostgreSQL comes back during the first attach's wait.
out=$PGPOOL_TEST_TMP/attach-a.out
t0=$(fl_now_ms)
attach a >"$out" &
t_bg_pids+=($!)
sleep 0.6
pg_ctl -w start || t_fail "pg_ctl start failed"
t_up=$(fl_now_ms)
fl_wait 8 'test -s "$out"' || t_fail "a: no answer within 8 s of PostgreSQL being back"
t_done=$(fl_now_ms)
read -r res ms _ <<<"$(cat "$out")"
t_say "a: PostgreSQL back $((t_up - t0)) ms after the request began; request: $(cat "$out") (answered $((t_done - t_up)) ms after PostgreSQL was back)"
[ "$res" = ok ] || t_fail "a: the request failed: $(cat "$out")"
[ $((t_done - t_up)) -lt 1000 ] ||
	t_fail "a: served $((t_done - t_up)) ms after PostgreSQL was back (the broker must retry during the wait)"
n=$(grep -c "\[pool=a slot=[0-9]*\] backend connection failed" "$log" || true)
[ "$n" -ge 2 ] || t_fail "a: expected the broker to retry during the wait, saw $n failed attempt(s)"
# The stack's own broker saw PostgreSQL go too: the next test needs it serving again.
stack_ok() {
	"${T_PHP[@]}" -r '$db = new PgPool(getenv("PGPOOL_TEST_DSN"), "app", "secret");
		exit($db->query("SELECT 1")->fetchColumn() == 1 && pgpool_stats("main")["status"] === "open" ? 0 : 1);'
}
fl_wait 8 stack_ok || t_fail "the stack broker's pool main does not serve again"
t_say "ok: circuit open fails new PgPool at once (08006), no circuit answers before broker_timeout (53300 + last error), retries serve the first request as soon as PostgreSQL is back"
