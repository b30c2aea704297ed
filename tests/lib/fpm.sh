# shellcheck shell=bash
# tests/lib/fpm.sh: a throwaway php-fpm with the pgpool extension, for the demo and the tests.
# Source it, then:
#   fpm_start DIR EXT_SO BROKER_SOCKET CHILDREN [NAME=VALUE...]
#       writes DIR/php-fpm.conf (pm = static, CHILDREN children, listening on DIR/fpm.sock,
#       children running as www-data when started as root, no php.ini: pdo + EXT_SO loaded,
#       pgpool.socket = BROKER_SOCKET, each NAME=VALUE passed to PHP as an environment variable),
#       starts php-fpm in the foreground in the background and waits for the socket
#   fpm_stop DIR     stop it (SIGQUIT: graceful, then SIGKILL)
#   fpm_pids DIR     the children's pids, one a line
# Logs: DIR/fpm.log (master and children's stderr), DIR/php-errors.log (PHP errors).
# PGPOOL_FPM_ARGS, if set, is appended to php-fpm's command line (e.g. "-d extension=pdo_pgsql
# -d zend_extension=opcache" for bench/run).

fpm_bin() {
	local b
	for b in php-fpm8.2 php-fpm /usr/sbin/php-fpm8.2 /usr/sbin/php-fpm; do
		command -v "$b" >/dev/null 2>&1 && { command -v "$b"; return 0; }
	done
	ls /usr/sbin/php-fpm* 2>/dev/null | sort -V | tail -n1
}

fpm_start() {
	local dir=$1 ext=$2 sock=$3 children=$4 kv bin pid
	shift 4
	bin=$(fpm_bin)
	[ -n "$bin" ] || { echo "php-fpm not found (apt-get install php8.2-fpm)" >&2; return 1; }
	mkdir -p "$dir"
	chmod 755 "$dir"
	: >"$dir/php-errors.log"
	{
		echo "[global]"
		echo "pid = $dir/fpm.pid"
		echo "error_log = $dir/fpm.log"
		echo "daemonize = no"
		echo "log_level = notice"
		echo "[pgpool]"
		if [ "$(id -u)" = 0 ]; then
			echo "user = www-data"
			echo "group = www-data"
		fi
		echo "listen = $dir/fpm.sock"
		echo "listen.mode = 0600"
		echo "pm = static"
		echo "pm.max_children = $children"
		echo "catch_workers_output = yes"
		echo "decorate_workers_output = no"
		echo "clear_env = yes"
		echo "php_admin_value[pgpool.socket] = $sock"
		echo "php_admin_value[error_log] = $dir/php-errors.log"
		echo "php_admin_flag[log_errors] = on"
		echo "php_admin_flag[display_errors] = off"
		for kv in "$@"; do
			echo "env[${kv%%=*}] = \"${kv#*=}\""
		done
	} >"$dir/php-fpm.conf"
	[ "$(id -u)" = 0 ] && chown www-data "$dir/php-errors.log"
	rm -f "$dir/fpm.sock"
	# shellcheck disable=SC2086 # PGPOOL_FPM_ARGS: extra php-fpm arguments, split on blanks
	"$bin" -F -n -y "$dir/php-fpm.conf" -d extension=pdo -d "extension=$ext" ${PGPOOL_FPM_ARGS:-} \
		>>"$dir/fpm.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/fpm.master.pid"
	for _ in $(seq 1 100); do
		if [ -S "$dir/fpm.sock" ] && [ "$(fpm_pids "$dir" | wc -l)" -ge "$children" ]; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "php-fpm exited during startup; $dir/fpm.log:" >&2
			tail -n 30 "$dir/fpm.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "php-fpm did not come up within 10 s; $dir/fpm.log:" >&2
	tail -n 30 "$dir/fpm.log" >&2
	return 1
}

fpm_pids() {
	local master
	master=$(cat "$1/fpm.master.pid" 2>/dev/null) || return 0
	pgrep -P "$master" 2>/dev/null || true
}

fpm_stop() {
	local dir=$1 pid
	pid=$(cat "$dir/fpm.master.pid" 2>/dev/null) || return 0
	if kill -QUIT "$pid" 2>/dev/null; then
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/fpm.master.pid"
}
