#!/usr/bin/env bash
# tests/lib/stack.sh: a PostgreSQL + pgpool-broker pair for tests and manual experiments.
#
#   tests/lib/stack.sh start DIR PORT [LOOP] [BROKER_BIN]   start both, print `export ...` lines
#   tests/lib/stack.sh stop DIR                             stop both
#
# LOOP is the broker's event_loop (auto | io_uring | epoll; default auto). BROKER_BIN defaults to
# ./pgpool-broker. The broker config is tests/lib/broker.ini.in with DIR/PORT/LOOP filled in; its
# log goes to DIR/broker.log. The exported variables are what tests read:
#   PGPOOL_TEST_SOCKET    the broker's control socket (pass as -d pgpool.socket=...)
#   PGPOOL_TEST_DSN       pgsql: DSN of the `main` pool (TCP, SCRAM)
#   PGPOOL_TEST_USER / PGPOOL_TEST_PASSWORD
#   PGPOOL_TEST_PGDIR / PGPOOL_TEST_PGPORT   for direct superuser checks (tests/lib/pg.sh pg_psql)
#   PGPOOL_TEST_BROKER_PID, PGPOOL_TEST_CONFIG, PGPOOL_TEST_SHM
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pg.sh
source "$here/pg.sh"

cmd=${1:?usage: stack.sh start|stop DIR ...}
dir=${2:?DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

case $cmd in
start)
	port=${3:?PORT}
	loop=${4:-auto}
	broker=${5:-./pgpool-broker}
	name=$(basename "$dir")-$port
	pg_start "$dir/pg" "$port"
	for db in tiny sess; do
		if [ "$(pg_psql "$dir/pg" "$port" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
			pg_psql "$dir/pg" "$port" -q -c "CREATE DATABASE $db OWNER app" >/dev/null
		fi
	done
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@LOOP@|$loop|g" -e "s|@NAME@|$name|g" \
		"$here/broker.ini.in" >"$dir/broker.ini"
	"$broker" -c "$dir/broker.ini" >>"$dir/broker.log" 2>&1 &
	echo $! >"$dir/broker.pid"
	for _ in $(seq 1 100); do
		[ -S "$dir/pgpool.sock" ] && break
		if ! kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null; then
			echo "pgpool-broker exited during startup; log:" >&2
			tail -n 30 "$dir/broker.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	[ -S "$dir/pgpool.sock" ] || { echo "broker socket did not appear" >&2; exit 1; }
	cat <<ENV
export PGPOOL_TEST_SOCKET=$dir/pgpool.sock
export PGPOOL_TEST_DSN='pgsql:host=127.0.0.1;port=$port;dbname=app'
export PGPOOL_TEST_USER=app
export PGPOOL_TEST_PASSWORD=secret
export PGPOOL_TEST_PGDIR=$dir/pg
export PGPOOL_TEST_PGPORT=$port
export PGPOOL_TEST_BROKER_PID=$(cat "$dir/broker.pid")
export PGPOOL_TEST_CONFIG=$dir/broker.ini
export PGPOOL_TEST_SHM=/pgpool-$name
ENV
	;;
stop)
	if [ -f "$dir/broker.pid" ]; then
		pid=$(cat "$dir/broker.pid")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		rm -f "$dir/broker.pid"
	fi
	pg_stop "$dir/pg"
	;;
*)
	echo "usage: stack.sh start DIR PORT [LOOP] [BROKER_BIN] | stop DIR" >&2
	exit 2
	;;
esac
