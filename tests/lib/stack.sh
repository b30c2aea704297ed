#!/usr/bin/env bash
# tests/lib/stack.sh: a PostgreSQL + pgpool-broker pair for tests and manual experiments.
#
#   tests/lib/stack.sh start DIR PORT [LOOP] [BROKER_BIN]   start both, print `export ...` lines
#   tests/lib/stack.sh stop DIR                             stop both
#   tests/lib/stack.sh broker-restart DIR                   stop the broker (if running) and start
#                                                           it again with the same config
#   tests/lib/stack.sh broker-alive DIR                     exit 0 if the broker runs
#   tests/lib/stack.sh config DIR PORT [LOOP]               only write DIR/broker.ini
#
# LOOP is the broker's event_loop (auto | io_uring | epoll; default auto). BROKER_BIN defaults to
# ./pgpool-broker. The broker config is tests/lib/broker.ini.in with DIR/PORT/LOOP filled in; its
# log goes to DIR/broker.log. The exported variables are what tests read (also kept in DIR/env):
#   PGPOOL_TEST_SOCKET    the broker's control socket (pass as -d pgpool.socket=...)
#   PGPOOL_TEST_DSN       pgsql: DSN of the `main` pool (TCP, SCRAM)
#   PGPOOL_TEST_USER / PGPOOL_TEST_PASSWORD
#   PGPOOL_TEST_PGDIR / PGPOOL_TEST_PGPORT   for direct superuser checks (tests/lib/pg.sh pg_psql)
#   PGPOOL_TEST_BROKER_PID, PGPOOL_TEST_CONFIG, PGPOOL_TEST_SHM
#   PGPOOL_TEST_STACK     DIR (for broker-restart)
# The broker runs in a session of its own; a test that restarts it uses broker-restart so the
# pid file stays right. PGPOOL_BROKER_WRAPPER (tests/lib/broker.sh) applies to every start.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pg.sh
source "$here/pg.sh"
# shellcheck source=broker.sh
source "$here/broker.sh"

cmd=${1:?usage: stack.sh start|stop|broker-restart|broker-alive DIR ...}
dir=${2:?DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# write_config DIR PORT LOOP: DIR/broker.ini from the template.
write_config() {
	local d=$1 p=$2 l=$3
	# It holds a password: the broker refuses a config file every user can read.
	install -m 0600 /dev/null "$d/broker.ini"
	# @NAME@ (the shm name) carries a hash of DIR: another checkout's run on the same port
	# must never remove this run's segment when it sweeps its own leftovers.
	sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$p|g" -e "s|@LOOP@|$l|g" \
		-e "s|@NAME@|$(basename "$d")-$p-$(printf '%s' "$d" | cksum | cut -d' ' -f1)|g" \
		"$here/broker.ini.in" >"$d/broker.ini"
}


case $cmd in
start)
	port=${3:?PORT}
	loop=${4:-auto}
	broker=${5:-./pgpool-broker}
	broker=$(cd "$(dirname "$broker")" && pwd)/$(basename "$broker")
	pg_start "$dir/pg" "$port"
	for db in tiny sess; do
		if [ "$(pg_psql "$dir/pg" "$port" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
			pg_psql "$dir/pg" "$port" -q -c "CREATE DATABASE $db OWNER app" >/dev/null
		fi
	done
	write_config "$dir" "$port" "$loop"
	echo "$broker" >"$dir/broker.bin"
	broker_start "$dir" "$dir/broker.ini" "$broker" >&2
	cat >"$dir/env" <<ENV
export PGPOOL_TEST_SOCKET=$dir/pgpool.sock
export PGPOOL_TEST_DSN='pgsql:host=127.0.0.1;port=$port;dbname=app'
export PGPOOL_TEST_USER=app
export PGPOOL_TEST_PASSWORD=secret
export PGPOOL_TEST_PGDIR=$dir/pg
export PGPOOL_TEST_PGPORT=$port
export PGPOOL_TEST_BROKER_PID=$(cat "$dir/broker.pid")
export PGPOOL_TEST_CONFIG=$dir/broker.ini
export PGPOOL_TEST_SHM=$(broker_shm "$dir/broker.ini")
export PGPOOL_TEST_STACK=$dir
ENV
	cat "$dir/env"
	;;
broker-restart)
	broker_stop "$dir"
	broker_start "$dir" "$dir/broker.ini" "$(cat "$dir/broker.bin")" >&2
	sed -i "s/^export PGPOOL_TEST_BROKER_PID=.*/export PGPOOL_TEST_BROKER_PID=$(cat "$dir/broker.pid")/" "$dir/env"
	cat "$dir/env"
	;;
broker-alive)
	broker_alive "$dir"
	;;
config)
	write_config "$dir" "${3:?PORT}" "${4:-auto}"
	;;
stop)
	broker_stop "$dir"
	broker_shm_remove "$dir/broker.ini"
	pg_stop "$dir/pg"
	;;
*)
	echo "usage: stack.sh start DIR PORT [LOOP] [BROKER_BIN] | stop DIR | broker-restart DIR | broker-alive DIR | config DIR PORT [LOOP]" >&2
	exit 2
	;;
esac
