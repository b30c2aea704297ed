#!/usr/bin/env bash
# test: once
# Event loop selection. With io_uring refused by a seccomp filter (as in many containers):
# `event_loop = io_uring` makes the broker exit with an error that names io_uring, and
# `event_loop = auto` falls back to epoll, says so in its log, and serves PgPool queries.
# Where io_uring works, `event_loop = io_uring` says io_uring in its log and serves queries.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../lib/broker.sh
source "$here/../lib/broker.sh"

deny=${PGPOOL_TEST_HELPERS:?}/no_io_uring
probe=$PGPOOL_TEST_HELPERS/io_uring_probe
dir=$PGPOOL_TEST_TMP/broker
mkdir -p "$dir"
trap 'broker_stop "$dir"; t_cleanup' EXIT

# query_through SOCKET: one query through a PgPool on the broker at SOCKET.
query_through() {
	PGPOOL_TEST_SOCKET=$1 t_php -r '
		$db = new PgPool(getenv("PGPOOL_TEST_DSN"), getenv("PGPOOL_TEST_USER"), getenv("PGPOOL_TEST_PASSWORD"));
		echo $db->query("SELECT 40 + 2")->fetchColumn(), "\n";' 2>&1
}

t_say "event_loop = io_uring with io_uring refused: the broker must refuse to start"
"$here/../lib/stack.sh" config "$dir" "$PGPOOL_TEST_PGPORT" io_uring
rc=0
timeout 10 "$deny" "$PGPOOL_TEST_BROKER" -c "$dir/broker.ini" >"$dir/refused.log" 2>&1 || rc=$?
sed 's/^/  broker: /' "$dir/refused.log" | tail -n 5
[ "$rc" != 0 ] && [ "$rc" != 124 ] || t_fail "broker exit status $rc (expected an error exit, not success or a hang)"
grep -qi 'io_uring' "$dir/refused.log" || t_fail "the broker's error does not name io_uring"

t_say "event_loop = auto with io_uring refused: the broker must fall back to epoll"
"$here/../lib/stack.sh" config "$dir" "$PGPOOL_TEST_PGPORT" auto
: >"$dir/broker.log"
PGPOOL_BROKER_WRAPPER=$deny broker_start "$dir" "$dir/broker.ini" "$PGPOOL_TEST_BROKER" ||
	t_fail "the broker did not start with event_loop = auto"
out=$(query_through "$dir/pgpool.sock") || true
t_say "query through the fallback broker: $out"
[ "$out" = 42 ] || t_fail "query through the fallback broker failed"
grep -i 'epoll' "$dir/broker.log" | head -n 3 | sed 's/^/  broker: /'
grep -qi 'epoll' "$dir/broker.log" || t_fail "the broker's log does not say it uses epoll"
broker_stop "$dir"

if "$probe" >/dev/null; then
	t_say "event_loop = io_uring where io_uring works"
	"$here/../lib/stack.sh" config "$dir" "$PGPOOL_TEST_PGPORT" io_uring
	: >"$dir/broker.log"
	broker_start "$dir" "$dir/broker.ini" "$PGPOOL_TEST_BROKER" || t_fail "the broker did not start with event_loop = io_uring"
	out=$(query_through "$dir/pgpool.sock") || true
	[ "$out" = 42 ] || t_fail "query through the io_uring broker failed: $out"
	grep -qi 'io_uring' "$dir/broker.log" || t_fail "the broker's log does not say it uses io_uring"
	broker_stop "$dir"
else
	t_say "io_uring is refused on this machine: $("$probe" || true)"
fi
t_say "ok: event loop chosen as configured, auto falls back to epoll"
