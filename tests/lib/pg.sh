# shellcheck shell=bash
# tests/lib/pg.sh: start and stop a throwaway PostgreSQL for tests, benchmarks and the demo.
# Source it, then:
#   pg_start DIR PORT      initdb (as a non-root user) + start on 127.0.0.1:PORT and a Unix socket
#                          in DIR; creates role app/secret (SCRAM) and database app owned by it.
#   pg_stop DIR            fast shutdown
#   pg_psql DIR PORT ARGS  psql as the superuser over the Unix socket
#   pg_stop_all ROOT       stop every server with its data directory under ROOT
# Exports PGTEST_USER (the OS user running PostgreSQL) and PGBIN.
# The server runs as a non-root user because initdb refuses root: `postgres` if it exists,
# else a `pgpool-test` system user created here.

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
export PGBIN

pg_os_user() {
	if [ "$(id -u)" != 0 ]; then
		id -un
		return
	fi
	if id postgres >/dev/null 2>&1; then
		echo postgres
		return
	fi
	if ! id pgpool-test >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin pgpool-test >/dev/null 2>&1 ||
			adduser --system --no-create-home pgpool-test >/dev/null 2>&1
	fi
	echo pgpool-test
}

pg_as() {
	local u=$1
	shift
	if [ "$(id -u)" = 0 ] && [ "$u" != root ]; then
		runuser -u "$u" -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	local dir=$1 port=$2
	PGTEST_USER=$(pg_os_user)
	export PGTEST_USER
	mkdir -p "$dir"
	chown "$PGTEST_USER" "$dir"
	chmod 700 "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		echo postgres >"$dir/pwfile"
		chown "$PGTEST_USER" "$dir/pwfile"
		pg_as "$PGTEST_USER" "$PGBIN/initdb" -D "$dir/data" -U postgres -A scram-sha-256 \
			--pwfile="$dir/pwfile" >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			return 1
		}
		cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_connections = off
CONF
		cat >"$dir/data/pg_hba.conf" <<HBA
local all postgres trust
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
HBA
	fi
	# A server of an earlier run whose directory was removed under it still holds the port until
	# its lock-file recheck (once a minute) makes it exit: wait for that rather than fail.
	local i
	for ((i = 0; i < 90; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
		[ "$i" = 0 ] && echo "pg_start: port $port is still taken; waiting up to 90 s" >&2
		sleep 1
	done
	pg_as "$PGTEST_USER" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
		cat "$dir/server.log" >&2
		return 1
	}
	pg_psql "$dir" "$port" -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN
    CREATE ROLE app LOGIN PASSWORD 'secret';
  END IF;
END \$\$;
SQL
	if [ "$(pg_psql "$dir" "$port" -tAc "SELECT 1 FROM pg_database WHERE datname='app'")" != 1 ]; then
		pg_psql "$dir" "$port" -q -c "CREATE DATABASE app OWNER app" >/dev/null
	fi
}

pg_stop() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	pg_as "$(stat -c %U "$dir/data")" "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
}

pg_psql() {
	local dir=$1 port=$2
	shift 2
	pg_as "$(stat -c %U "$dir/data")" "$PGBIN/psql" -X -h "$dir" -p "$port" -U postgres -d postgres "$@"
}

# pg_stop_all ROOT: stop every server whose data directory lies under ROOT (what a killed test
# may have left running).
pg_stop_all() {
	local pidfile data pid root
	while IFS= read -r -d '' pidfile; do
		data=$(dirname "$pidfile")
		pg_as "$(stat -c %U "$data")" "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
	done < <(find "$1" -name postmaster.pid -print0 2>/dev/null)
	# A postmaster whose pid file is gone (its stop timed out, then the directory was removed):
	# found by the data directory on its command line; SIGQUIT is PostgreSQL's immediate stop.
	root=$(cd "$1" 2>/dev/null && pwd) || return 0
	for pid in $(pgrep -x postgres 2>/dev/null); do
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $root/"; then
			kill -QUIT "$pid" 2>/dev/null || true
		fi
	done
}
