# tests/tools/broker-test-lib.sh: shared helpers of tests/integration/broker_*.sh.
# Source it; it builds pgpool-broker and pgp-worker from the tree (tests/tools/build.sh), runs a
# throwaway PostgreSQL (tests/lib/pg.sh) and one broker at a time, and counts checks.
#
# Environment:
#   PGPOOL_BROKER_TEST_PORT   PostgreSQL port (default 25200)
#   PGPOOL_TEST_EVENT_LOOP    event loops to run the checks on (default "io_uring epoll")
#   PGPOOL_BROKER_BIN         use this broker binary instead of building one
#   PGPOOL_BROKER_WRAPPER     run the broker under this command (e.g. "valgrind --error-exitcode=99")
#   PGPOOL_TEST_WORK          work directory root (default <repo>/.test-work)

bt_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/pg.sh
source "$bt_root/tests/lib/pg.sh"

BT_PORT=${PGPOOL_BROKER_TEST_PORT:-25200}
# tiny's acquire_timeout: a connect (SCRAM) in a broker under valgrind takes about a second.
BT_TINY_ACQUIRE=500ms
[ "${PGPOOL_TEST_SANITIZER:-}" = valgrind ] && BT_TINY_ACQUIRE=5s
BT_LOOPS=${PGPOOL_TEST_EVENT_LOOP:-io_uring epoll}
BT_BASE=${PGPOOL_TEST_WORK:-$bt_root/.test-work}/broker
BT_BIN=$BT_BASE/bin
BT_PASS=0
BT_FAIL=0
BT_SKIP=0
BT_PG_STARTED=0
BT_BROKER_PID=
BT_NAME=$(basename "$0" .sh)
BT_WORK=$BT_BASE/$BT_NAME

bt_log() { printf '%s\n' "$*"; }

bt_ok() {
	BT_PASS=$((BT_PASS + 1))
	printf 'ok - %s\n' "$*"
}

bt_not_ok() {
	BT_FAIL=$((BT_FAIL + 1))
	printf 'not ok - %s\n' "$*"
}

bt_skip() {
	BT_SKIP=$((BT_SKIP + 1))
	printf 'skip - %s\n' "$*"
}

# bt_check "what is checked" command args...: ok if the command succeeds.
bt_check() {
	local what=$1
	shift
	if "$@" >"$BT_WORK/check.out" 2>&1; then
		bt_ok "$what"
	else
		bt_not_ok "$what"
		sed 's/^/    | /' "$BT_WORK/check.out" | tail -n 15
	fi
}

# bt_check_fails "what" command args...: ok if the command fails.
bt_check_fails() {
	local what=$1
	shift
	if "$@" >"$BT_WORK/check.out" 2>&1; then
		bt_not_ok "$what (it succeeded)"
		sed 's/^/    | /' "$BT_WORK/check.out" | tail -n 15
	else
		bt_ok "$what"
	fi
}

bt_build() {
	mkdir -p "$BT_BIN"
	local newest
	newest=$(find "$bt_root/broker" "$bt_root/common" "$bt_root/tests/tools" -name '*.[ch]' \
		-newer "$BT_BIN/pgp-worker" 2>/dev/null | head -n1)
	local want=pgpool-broker opts=()
	if [ -n "${PGPOOL_BROKER_BIN:-}" ]; then
		want=pgp-worker
		opts=(--tools-only)
	fi
	if [ ! -x "$BT_BIN/pgp-worker" ] || [ ! -x "$BT_BIN/no-io-uring" ] || [ ! -x "$BT_BIN/$want" ] ||
		[ -n "$newest" ]; then
		"$bt_root/tests/tools/build.sh" "${opts[@]}" "$BT_BIN" || {
			echo "build failed" >&2
			exit 1
		}
	fi
	BT_BROKER=${PGPOOL_BROKER_BIN:-$BT_BIN/pgpool-broker}
	BT_WORKER=$BT_BIN/pgp-worker
}

bt_cleanup() {
	bt_broker_kill
	if [ "$BT_PG_STARTED" = 1 ]; then
		pg_stop "$BT_BASE/pg"
	fi
}

# bt_init: build, start PostgreSQL (unless already running on that directory), prepare tables.
bt_init() {
	mkdir -p "$BT_WORK"
	rm -f "$BT_WORK/broker-all.log" "$BT_WORK/broker.log"
	bt_build
	trap bt_cleanup EXIT
	if ! pg_as "$(pg_os_user)" "$PGBIN/pg_ctl" -D "$BT_BASE/pg/data" status >/dev/null 2>&1; then
		pg_start "$BT_BASE/pg" "$BT_PORT" || {
			echo "cannot start PostgreSQL on port $BT_PORT" >&2
			exit 1
		}
		BT_PG_STARTED=1
	fi
	bt_sql -q -c "SET client_min_messages = warning" \
		-c "CREATE TABLE IF NOT EXISTS broker_t (v int, who text)" \
		-c "GRANT ALL ON broker_t TO app" >/dev/null
}

# psql as the superuser on database app.
bt_sql() {
	pg_as "$(stat -c %U "$BT_BASE/pg/data")" "$PGBIN/psql" -X -h "$BT_BASE/pg" -p "$BT_PORT" \
		-U postgres -d app "$@"
}

# Backends of the pools' user opened by the broker.
bt_backends() {
	bt_sql -tAc "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND
		application_name = 'pgpool-broker' AND datname = '${1:-app}'"
}

# bt_config LOOP [extra [broker] lines]: write $BT_WORK/broker.ini. BT_MAIN_EXTRA and
# BT_TINY_EXTRA are more lines for the pools main and tiny, BT_EXTRA_POOLS more [pool] sections.
bt_config() {
	local loop=$1 extra=${2:-}
	BT_SOCK=$BT_WORK/run/pgpool.sock
	BT_W=("$BT_WORKER" -S "$BT_SOCK" --pool main -U app -P secret)
	# Unique per work directory: other checkouts may run the same test on this machine.
	BT_SHM=/pgpool-bt-$(printf '%s' "$BT_WORK" | cksum | cut -d' ' -f1)
	mkdir -p "$BT_WORK"
	install -m 0600 /dev/null "$BT_WORK/broker.ini" # holds a password: never world-readable
	cat >"$BT_WORK/broker.ini" <<INI
; written by $BT_NAME
[broker]
socket = $BT_SOCK
socket_mode = 0666
shm_name = $BT_SHM
event_loop = $loop
log_level = debug
shutdown_timeout = 3s
$extra

[pool main]
dsn = host=127.0.0.1 port=$BT_PORT dbname=app user=app
password = secret
min_connections = 2
max_connections = 4
mode = transaction
acquire_timeout = 5s

${BT_MAIN_EXTRA:-}

[pool tiny]
dsn = postgresql://app@127.0.0.1:$BT_PORT/postgres
password_env = BT_TINY_PASSWORD
min_connections = 0
max_connections = 1
acquire_timeout = $BT_TINY_ACQUIRE
${BT_TINY_EXTRA:-}

${BT_EXTRA_POOLS:-}
INI
}

# bt_broker_start LOOP: start a broker on a fresh config; returns 1 (and says why) if the loop
# is not available here.
bt_broker_start() {
	local loop=$1
	bt_config "$loop" "${2:-}"
	# Keep every run's log for diagnosis; broker.log is the current broker's.
	[ -f "$BT_WORK/broker.log" ] && cat "$BT_WORK/broker.log" >>"$BT_WORK/broker-all.log"
	: >"$BT_WORK/broker.log"
	# shellcheck disable=SC2086
	BT_TINY_PASSWORD=secret ${PGPOOL_BROKER_WRAPPER:-} "$BT_BROKER" -c "$BT_WORK/broker.ini" \
		>>"$BT_WORK/broker.log" 2>&1 &
	BT_BROKER_PID=$!
	for _ in $(seq 1 200); do
		[ -S "$BT_SOCK" ] && grep -q "ready:" "$BT_WORK/broker.log" && return 0
		if ! kill -0 "$BT_BROKER_PID" 2>/dev/null; then
			wait "$BT_BROKER_PID" 2>/dev/null
			BT_BROKER_PID=
			if grep -q "io_uring_queue_init failed" "$BT_WORK/broker.log"; then
				bt_skip "event_loop = io_uring: io_uring is not available on this machine"
				return 1
			fi
			echo "broker exited during startup:" >&2
			tail -n 20 "$BT_WORK/broker.log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "broker did not become ready" >&2
	tail -n 20 "$BT_WORK/broker.log" >&2
	return 1
}

# bt_broker_stop [SIGNAL]: stop the broker and wait; sets BT_BROKER_RC.
bt_broker_stop() {
	local sig=${1:-TERM}
	BT_BROKER_RC=
	[ -n "$BT_BROKER_PID" ] || return 0
	kill -"$sig" "$BT_BROKER_PID" 2>/dev/null
	for _ in $(seq 1 300); do
		kill -0 "$BT_BROKER_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$BT_BROKER_PID" 2>/dev/null; then
		kill -KILL "$BT_BROKER_PID" 2>/dev/null
		echo "broker did not stop on SIG$sig" >&2
	fi
	wait "$BT_BROKER_PID" 2>/dev/null
	BT_BROKER_RC=$?
	BT_BROKER_PID=
}

bt_broker_kill() {
	if [ -n "$BT_BROKER_PID" ]; then
		kill -KILL "$BT_BROKER_PID" 2>/dev/null
		wait "$BT_BROKER_PID" 2>/dev/null
		BT_BROKER_PID=
	fi
}

# pgp-worker on the main pool (extra arguments follow). For a worker started in the background
# that a test will kill, use "${BT_W[@]}" ... & so that $! is pgp-worker itself, not a subshell.
bt_worker() {
	"$BT_WORKER" -S "$BT_SOCK" --pool main -U app -P secret "$@"
}

bt_stats() {
	"$BT_WORKER" -S "$BT_SOCK" --stats
}

# bt_stat POOL FIELD: one counter from --stats.
bt_stat() {
	bt_stats | awk -v p="pool=$1" -v f="$2" '$1 == p {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}

# bt_wait_for SECONDS command...: poll until the command succeeds. With a single argument, that
# string is evaluated anew each time: bt_wait_for 2 'test "$(leftovers)" = 0' (a "$(...)" in
# separate arguments would be expanded only once, before the first try).
bt_wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	if [ $# -eq 1 ]; then
		while ! eval "$1" >/dev/null 2>&1; do
			[ $SECONDS -lt $deadline ] || return 1
			sleep 0.02
		done
		return 0
	fi
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.02
	done
}

bt_now_ms() { date +%s%3N; }

# Exit status for scripts/test: 0 pass, 1 fail, 77 when everything was skipped.
bt_finish() {
	echo "$BT_NAME: $BT_PASS passed, $BT_FAIL failed, $BT_SKIP skipped"
	[ "$BT_FAIL" = 0 ] || return 1
	[ "$BT_PASS" = 0 ] && [ "$BT_SKIP" -gt 0 ] && return 77
	return 0
}
