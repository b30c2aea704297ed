# shellcheck shell=bash
# tests/lib/testlib.sh: sourced by tests/integration/*.sh (and tests/fault/*.sh).
#
# The runner (scripts/test) starts a stack (tests/lib/stack.sh) and runs each test script with
# bash, with these variables exported besides stack.sh's PGPOOL_TEST_*:
#   PGPOOL_TEST_EXT      the built modules/pgpool.so
#   PGPOOL_TEST_BROKER   the built pgpool-broker
#   PGPOOL_TEST_TOOLS    directory of the built tests/tools programs (e.g. pgp-worker)
#   PGPOOL_TEST_LOOP     the broker's event loop of this run (epoll | io_uring)
#   PGPOOL_TEST_TMP      an empty scratch directory for this test
#   PGPOOL_TEST_HELPERS  directory of tests/lib's small C helpers (io_uring_probe, no_io_uring)
#   PGPOOL_TEST_SRC      the source checkout scripts/test was started from (has .git)
# Tests run from the build copy (no .git); a script whose second line is "# test: once" runs on
# the first event loop only.
# Exit status: 0 pass, 1 fail, 77 skip (say why on the last line). Print what is checked and
# what was measured; on failure say what was expected and what happened. The broker of the
# stack must be running when the test ends (use `stack.sh broker-restart` after killing it).
#
# Helpers:
#   t_php ARGS...        php with pdo, pdo_pgsql and pgpool loaded, pgpool.socket set
#   "${T_PHP[@]}" ARGS... the same as a plain command: use it for background jobs, so that $! is
#                        php's own pid (a function run with & is a subshell around php)
#   t_sql DB SQL         run SQL as the superuser over the Unix socket, print unaligned tuples
#   t_say MSG            print a progress line
#   t_fail MSG           print "FAIL: MSG" and exit 1
#   t_check COND_DESC CMD...   run CMD; on failure t_fail COND_DESC
#   t_bg CMD...          start CMD in the background, remembered for cleanup at exit
#   t_now                wall-clock seconds with microseconds (comparable to PHP microtime(true))
set -euo pipefail

t_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pg.sh
source "$t_lib/pg.sh"

for v in PGPOOL_TEST_EXT PGPOOL_TEST_SOCKET PGPOOL_TEST_DSN PGPOOL_TEST_USER PGPOOL_TEST_PASSWORD \
	PGPOOL_TEST_PGDIR PGPOOL_TEST_PGPORT; do
	if [ -z "${!v:-}" ]; then
		echo "FAIL: $v is not set: run this test through scripts/test (or export tests/lib/stack.sh's variables)"
		exit 1
	fi
done
PGPOOL_TEST_TMP=${PGPOOL_TEST_TMP:-$(mktemp -d)}
export PGPOOL_TEST_TMP

T_PHP=(php -n -d extension=pdo -d extension=pdo_pgsql -d "extension=$PGPOOL_TEST_EXT"
	-d "pgpool.socket=$PGPOOL_TEST_SOCKET" -d display_errors=stderr -d error_reporting=-1)
t_php() {
	"${T_PHP[@]}" "$@"
}

t_sql() {
	local db=$1
	shift
	PGOPTIONS='-c client_min_messages=warning' \
		pg_psql "$PGPOOL_TEST_PGDIR" "$PGPOOL_TEST_PGPORT" -d "$db" -v ON_ERROR_STOP=1 -qtA -c "$@"
}

t_say() { echo "$*"; }

t_fail() {
	echo "FAIL: $*"
	exit 1
}

t_check() {
	local desc=$1
	shift
	"$@" || t_fail "$desc"
}

t_bg_pids=()
t_bg() {
	"$@" &
	t_bg_pids+=($!)
}

t_cleanup() {
	local p
	for p in "${t_bg_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap t_cleanup EXIT

t_now() { date +%s.%6N; }
