# shellcheck shell=bash
# tests/lib/broker.sh: start and stop a pgpool-broker for tests, the demo and benchmarks.
# Source it, then:
#   broker_start DIR CONFIG [BROKER_BIN]   run BROKER_BIN (default ./pgpool-broker) -c CONFIG in
#                                          the background, in a session of its own (so a test's
#                                          process-group cleanup or Ctrl-C never hits it), log to
#                                          DIR/broker.log, pid in DIR/broker.pid; waits until the
#                                          config's control socket appears
#   broker_stop DIR                        SIGTERM, then SIGKILL after 10 s
#   broker_alive DIR                       exit 0 if the broker of DIR runs
#   broker_socket CONFIG                   print the [broker] socket path of CONFIG
#   broker_shm_remove CONFIG               remove the shm segment of CONFIG (only a broker that
#                                          died without cleaning up leaves it behind)
# PGPOOL_BROKER_WRAPPER, if set, is a command prefix (e.g. a seccomp wrapper, valgrind).

broker_socket() {
	sed -n 's/^[[:space:]]*socket[[:space:]]*=[[:space:]]*\([^[:space:];]*\).*/\1/p' "$1" | head -n1
}

broker_shm() {
	sed -n 's/^[[:space:]]*shm_name[[:space:]]*=[[:space:]]*\([^[:space:];]*\).*/\1/p' "$1" | head -n1
}

broker_shm_remove() {
	local shm
	[ -f "$1" ] || return 0
	shm=$(broker_shm "$1")
	[ -z "$shm" ] || rm -f "/dev/shm/${shm#/}"
}

broker_alive() {
	local pid
	pid=$(cat "$1/broker.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

broker_start() {
	local dir=$1 config=$2 bin=${3:-./pgpool-broker} sock pid
	sock=$(broker_socket "$config")
	[ -n "$sock" ] || { echo "broker_start: no socket in $config" >&2; return 1; }
	rm -f "$sock"
	# shellcheck disable=SC2086
	setsid ${PGPOOL_BROKER_WRAPPER:-} "$bin" -c "$config" >>"$dir/broker.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/broker.pid"
	for _ in $(seq 1 150); do
		[ -S "$sock" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			echo "pgpool-broker exited during startup; last lines of $dir/broker.log:" >&2
			tail -n 30 "$dir/broker.log" >&2
			rm -f "$dir/broker.pid"
			return 1
		fi
		sleep 0.1
	done
	echo "pgpool-broker: socket $sock did not appear within 15 s; last lines of $dir/broker.log:" >&2
	tail -n 30 "$dir/broker.log" >&2
	return 1
}

broker_stop() {
	local dir=$1 pid
	pid=$(cat "$dir/broker.pid" 2>/dev/null) || return 0
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "pgpool-broker $pid ignored SIGTERM for 10 s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$dir/broker.pid"
}
