# shellcheck shell=bash
# bench/lib.sh: the poolers bench/run compares, and what it measures of processes. Source it
# (after tests/lib/pg.sh, whose pg_as runs PgBouncer as the PostgreSQL OS user), then:
#   bench_broker_config FILE DIR PGPORT SHM DB:MIN:MAX...   write a pgpool-broker config with a
#                                           pool named DB (transaction mode) for each database DB
#                                           on 127.0.0.1:PGPORT, as user app
#   bench_pgbouncer_start DIR PGPORT PORT POOLSIZE   PgBouncer in transaction mode, clients over
#                                           its Unix socket DIR/.s.PGSQL.PORT with trust auth,
#                                           POOLSIZE server connections to 127.0.0.1:PGPORT (SCRAM)
#   bench_pgpool2_start DIR PGPORT PORT PCPPORT CHILDREN   Pgpool-II (raw mode, connection_cache
#                                           on, CHILDREN children), clients over its Unix socket
#                                           DIR/.s.PGSQL.PORT with trust auth, backend 127.0.0.1:PGPORT
#                                           (SCRAM with the password from pool_passwd)
#   bench_pooler_pid DIR                    main pid of the PgBouncer / Pgpool-II in DIR
#   bench_pooler_stop DIR                   stop it (fast shutdown; SIGKILL after 10 s)
#   bench_cpu_ticks PID...                  CPU time (clock ticks) of the processes and all their
#                                           descendants, including reaped children (cutime)
#   bench_rss_kb PID FIELD                  FIELD (VmRSS, RssAnon, RssFile, RssShmem) of /proc/PID/status
# Nothing listens on TCP but PostgreSQL: the poolers are reached over Unix sockets only, so the
# ports only name the sockets and never collide with a system-wide PgBouncer or Pgpool-II.

bench_broker_config() {
	local file=$1 dir=$2 pgport=$3 shm=$4 spec db min max
	shift 4
	install -m 0600 /dev/null "$file" # holds a password: never world-readable
	cat >"$file" <<INI
[broker]
socket = $dir/pgpool.sock
socket_mode = 0666
shm_name = $shm
event_loop = auto
log_level = warning
INI
	for spec in "$@"; do
		IFS=: read -r db min max <<<"$spec"
		cat >>"$file" <<INI

[pool $db]
dsn = host=127.0.0.1 port=$pgport dbname=$db user=app
password = secret
min_connections = $min
max_connections = $max
mode = transaction
acquire_timeout = 30s
INI
	done
	chmod 600 "$file" # it holds a password: the broker refuses configs others can read
}

bench_pgbouncer_start() {
	local dir=$1 pgport=$2 port=$3 size=$4 user
	user=$(pg_os_user)
	mkdir -p "$dir"
	cat >"$dir/pgbouncer.ini" <<INI
[databases]
app = host=127.0.0.1 port=$pgport dbname=app user=app password=secret

[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $dir
unix_socket_mode = 0777
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $size
min_pool_size = 0
reserve_pool_size = 0
max_db_connections = $size
max_client_conn = 1000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
INI
	echo '"app" "secret"' >"$dir/userlist.txt"
	chown -R "$user" "$dir"
	rm -f "$dir/pgbouncer.pid"
	# PgBouncer refuses to run as root.
	setsid runuser -u "$user" -- pgbouncer "$dir/pgbouncer.ini" >>"$dir/pgbouncer.out" 2>&1 </dev/null &
	bench_wait_socket "$dir/.s.PGSQL.$port" "$dir/pgbouncer.log" || return 1
	# Its own pid (not runuser's); SIGTERM is its immediate shutdown (SIGINT waits for clients).
	cp "$dir/pgbouncer.pid" "$dir/pooler.pid"
	echo TERM >"$dir/pooler.signal"
}

bench_pgpool2_start() {
	local dir=$1 pgport=$2 port=$3 pcp=$4 children=$5
	mkdir -p "$dir"
	# Pgpool-II 4.3 names the Unix socket directory socket_dir (unix_socket_directories in 4.4+).
	cat >"$dir/pgpool.conf" <<CONF
backend_clustering_mode = 'raw'
listen_addresses = ''
port = $port
socket_dir = '$dir'
pcp_listen_addresses = ''
pcp_port = $pcp
pcp_socket_dir = '$dir'
backend_hostname0 = '127.0.0.1'
backend_port0 = $pgport
backend_weight0 = 1
backend_flag0 = 'DISALLOW_TO_FAILOVER'
enable_pool_hba = on
pool_passwd = '$dir/pool_passwd'
num_init_children = $children
max_pool = 1
child_life_time = 0
child_max_connections = 0
connection_life_time = 0
client_idle_limit = 0
connection_cache = on
load_balance_mode = off
health_check_period = 0
sr_check_period = 0
failover_on_backend_error = off
reserved_connections = 0
memory_cache_enabled = off
logdir = '$dir'
pid_file_name = '$dir/pgpool.pid'
log_destination = 'stderr'
log_min_messages = warning
CONF
	echo 'local all all trust' >"$dir/pool_hba.conf"
	echo 'app:TEXTsecret' >"$dir/pool_passwd"
	: >"$dir/pcp.conf"
	rm -f "$dir/pgpool.pid" "$dir/pgpool_status"
	setsid pgpool -n -f "$dir/pgpool.conf" -a "$dir/pool_hba.conf" -F "$dir/pcp.conf" \
		>>"$dir/pgpool.log" 2>&1 </dev/null &
	echo $! >"$dir/pooler.pid"
	echo INT >"$dir/pooler.signal" # fast shutdown
	bench_wait_socket "$dir/.s.PGSQL.$port" "$dir/pgpool.log"
}

# bench_wait_socket SOCKET LOG: wait up to 15 s for a Unix socket to appear.
bench_wait_socket() {
	for _ in $(seq 1 150); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	echo "$1 did not appear within 15 s; last lines of $2:" >&2
	tail -n 20 "$2" >&2
	return 1
}

bench_pooler_pid() {
	cat "$1/pooler.pid" 2>/dev/null
}

bench_pooler_stop() {
	local pid
	pid=$(bench_pooler_pid "$1") || return 0
	if [ -n "$pid" ] && kill -"$(cat "$1/pooler.signal")" "$pid" 2>/dev/null; then
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$1/pooler.pid"
}

# bench_tree PID: PID and its descendants, one a line.
bench_tree() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1" 2>/dev/null || true); do
		bench_tree "$c"
	done
}

bench_cpu_ticks() {
	local p
	for p in "$@"; do
		bench_tree "$p"
	done | while read -r p; do
		# Fields after the command name: utime stime cutime cstime are 12..15. A process may
		# be gone by now (its time is in its parent's cutime once reaped).
		sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ s += $12 + $13 + $14 + $15 } END { printf "%d\n", s }'
}

bench_rss_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}
