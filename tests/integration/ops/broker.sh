# shellcheck shell=bash
# tests/integration/ops/broker.sh: a private pgpool-broker for the operations tests (cli, metrics,
# logs, systemd_unit), on the stack's PostgreSQL, so that pausing, disabling, flushing or shutting
# it down never disturbs the stack's broker that other tests share. Source it after testlib.sh.
#
#   ob_start NAME [BROKER_LINES] [POOL_LINES]  start it; sets OB_DIR OB_INI OB_SOCK OB_ADMIN OB_LOG
#                                              OB_PID OB_SHM OB_APP (application_name); BROKER_LINES go into [broker],
#                                              POOL_LINES after the pools
#   ob_stop [SIGNAL]                           stop it (SIGTERM by default), wait, clean up
#   ob_cli ARGS...                             pgpool-cli on its admin socket
#   ob_php ARGS...                             php with the extension, on its control socket
#   ob_wait SECONDS DESC CMD...                poll CMD every 50 ms until it succeeds
#   ob_json EXPR                               evaluate a Python expression on stdin's JSON (j)
#
# Pools: main (app, min 2, max 3, acquire_timeout 3s) and tiny (database tiny, max 1, 500ms).

OB_CLI_BIN=$(dirname "$PGPOOL_TEST_BROKER")/pgpool-cli
OB_PID=

ob_start() {
	local name=$1 broker_lines=${2:-} pool_lines=${3:-}
	OB_DIR=$PGPOOL_TEST_TMP/$name
	mkdir -p "$OB_DIR"
	chmod 755 "$OB_DIR"
	OB_INI=$OB_DIR/broker.ini
	OB_SOCK=$OB_DIR/pgpool.sock
	OB_ADMIN=$OB_DIR/admin.sock
	OB_LOG=$OB_DIR/broker.log
	# Unique per directory: other checkouts may run the same test on this machine.
	OB_SHM=/pgpool-ops-$(printf '%s' "$OB_DIR" | cksum | cut -d' ' -f1)
	OB_APP=ops-$name # application_name of its backends, to tell them from the stack broker's
	cat >"$OB_INI" <<INI
; private broker of $(basename "$0")
[broker]
socket = $OB_SOCK
socket_mode = 0666
shm_name = $OB_SHM
event_loop = ${PGPOOL_TEST_LOOP:-auto}
log_level = debug
shutdown_timeout = 5s
$broker_lines

[pool main]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=app user=app application_name=$OB_APP
password = secret
min_connections = 2
max_connections = 3
acquire_timeout = 3s

[pool tiny]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=tiny user=app application_name=$OB_APP
password = secret
max_connections = 1
acquire_timeout = 500ms
$pool_lines
INI
	chmod 0600 "$OB_INI" # it holds passwords: the broker refuses a world-readable one
	"$PGPOOL_TEST_BROKER" -c "$OB_INI" >"$OB_LOG" 2>&1 &
	OB_PID=$!
	if ! ob_wait 15 "the private broker is ready" grep -q 'ready: every pool is prefilled' "$OB_LOG"; then
		tail -n 20 "$OB_LOG"
		t_fail "the private broker did not start"
	fi
}

# ob_stop [SIGNAL]: stop the private broker; 0 if it exited by itself with status 0.
ob_stop() {
	local sig=${1:-TERM} rc=0
	[ -n "$OB_PID" ] || return 0
	kill "-$sig" "$OB_PID" 2>/dev/null || true
	for _ in $(seq 1 200); do
		kill -0 "$OB_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$OB_PID" 2>/dev/null; then
		kill -KILL "$OB_PID" 2>/dev/null || true
		rc=1
	fi
	wait "$OB_PID" 2>/dev/null || rc=$?
	OB_PID=
	rm -f "/dev/shm/${OB_SHM#/}"
	return "$rc"
}

ob_cli() {
	"$OB_CLI_BIN" -s "$OB_ADMIN" "$@"
}

ob_php() {
	"${T_PHP[@]}" -d "pgpool.socket=$OB_SOCK" "$@"
}

ob_wait() {
	local secs=$1 desc=$2 i
	shift 2
	for ((i = 0; i < secs * 20; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	echo "timed out after ${secs}s waiting for: $desc"
	return 1
}

ob_json() {
	python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

ob_cleanup() {
	ob_stop KILL >/dev/null 2>&1 || true
	t_cleanup
}
trap ob_cleanup EXIT
