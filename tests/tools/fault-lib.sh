# shellcheck shell=bash
# tests/tools/fault-lib.sh: helpers of tests/fault/*.sh. Source it after tests/lib/testlib.sh.
#
# Private brokers (on the stack's PostgreSQL, with their own socket, shm name and config):
#   fl_broker_start NAME BROKER_LINES POOL_SECTIONS   write $PGPOOL_TEST_TMP/NAME/broker.ini
#                                   ([broker] with BROKER_LINES added, then POOL_SECTIONS) and
#                                   start it (tests/lib/broker.sh); waits for "ready:"
#   fl_broker_restart NAME          start it again with the same config (after a kill)
#   fl_broker_stop NAME [SIGNAL]    stop it and wait (default TERM); sets FL_RC (exit status)
#   fl_sock NAME / fl_log NAME      its control socket / its log
#   fl_pool NAME DBNAME [LINES]     a [pool NAME] section for app/secret on DBNAME
# Load (tests/fault/php/load_worker.php, one PgPool per process for its whole life):
#   fl_load_start N TAG SOCKET [SLEEP_IN_TXN_MS [PAUSE_MS [DSN]]]   N workers in the background
#   fl_load_stop TAG                let them finish their transaction and exit
#   fl_load_summary TAG             "ok=N uncertain=N err=N ..." plus errors by SQLSTATE
#   fl_rows_check TAGS...           exactly the committed rows exist (direct connection)
#   fl_first_ok TAG T, fl_failures_after TAG T   recovery after a moment T (Unix ms)
# fault_rows is (re)created by fl_rows_init.
# shellcheck source=../lib/broker.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/broker.sh"

fl_dir() { echo "$PGPOOL_TEST_TMP/$1"; }
fl_sock() { echo "$PGPOOL_TEST_TMP/$1/pgpool.sock"; }
fl_log() { echo "$PGPOOL_TEST_TMP/$1/broker.log"; }

fl_pool() {
	cat <<INI
[pool $1]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=$2 user=app
password = secret
${3:-}
INI
}

fl_broker_start() {
	local name=$1 extra=$2 pools=$3 dir
	dir=$(fl_dir "$name")
	mkdir -p "$dir"
	chmod 755 "$dir"
	install -m 0600 /dev/null "$dir/broker.ini" # holds a password: never world-readable
	# It holds passwords: the broker refuses a world-readable one.
	: >"$dir/broker.ini"
	chmod 600 "$dir/broker.ini"
	cat >"$dir/broker.ini" <<INI
[broker]
socket = $dir/pgpool.sock
socket_mode = 0666
shm_name = /pgpool-fault-$name-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
event_loop = ${PGPOOL_TEST_LOOP:-auto}
log_level = debug
$extra

$pools
INI
	fl_broker_restart "$name"
}

fl_broker_restart() {
	local dir
	dir=$(fl_dir "$1")
	broker_start "$dir" "$dir/broker.ini" "$PGPOOL_TEST_BROKER" || return 1
	for _ in $(seq 1 200); do
		grep -q "ready:" <(tail -n 50 "$dir/broker.log") && return 0
		sleep 0.05
	done
	echo "broker $1 did not become ready" >&2
	return 1
}

fl_broker_stop() {
	local dir pid sig=${2:-TERM}
	dir=$(fl_dir "$1")
	pid=$(cat "$dir/broker.pid" 2>/dev/null) || return 0
	FL_RC=
	kill -"$sig" "$pid" 2>/dev/null
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null && sig=KILL
	# Not our child (broker_start ran it in a session of its own): no exit status via wait.
	FL_RC=$(sed -n 's/.* INFO  stopped$/0/p' "$dir/broker.log" | tail -n1)
	rm -f "$dir/broker.pid"
	# A killed broker leaves its segment, under a name unique to this run: nobody else would
	# remove it. (A broker that stopped by itself must have removed it; that is not hidden here.)
	[ "$sig" != KILL ] || broker_shm_remove "$dir/broker.ini"
}

fl_rows_init() {
	t_sql app "DROP TABLE IF EXISTS fault_rows; CREATE TABLE fault_rows (id text PRIMARY KEY,
		at timestamptz DEFAULT clock_timestamp()); ALTER TABLE fault_rows OWNER TO app"
}

fl_load_start() {
	local n=$1 tag=$2 sock=$3 i
	rm -f "$PGPOOL_TEST_TMP/stop-$tag"
	for i in $(seq 1 "$n"); do
		: >"$PGPOOL_TEST_TMP/load-$tag-$i.out"
		php -n -d extension=pdo -d "extension=$PGPOOL_TEST_EXT" -d "pgpool.socket=$sock" \
			-d display_errors=stderr -d error_reporting=-1 \
			"$(dirname "${BASH_SOURCE[0]}")/../fault/php/load_worker.php" "$tag$i" \
			"$PGPOOL_TEST_TMP/load-$tag-$i.out" "$PGPOOL_TEST_TMP/stop-$tag" "${4:-0}" \
			"${5:-5}" "${6:-$PGPOOL_TEST_DSN}" 2>>"$PGPOOL_TEST_TMP/load-$tag.err" &
		t_bg_pids+=($!)
	done
}

fl_load_stop() {
	local tag=$1 f
	touch "$PGPOOL_TEST_TMP/stop-$tag"
	for _ in $(seq 1 300); do
		local running=0
		for f in "$PGPOOL_TEST_TMP"/load-"$tag"-*.out; do
			grep -q '^done ' "$f" || running=1
		done
		[ "$running" = 0 ] && return 0
		sleep 0.05
	done
	echo "load workers $tag did not stop within 15 s" >&2
	return 1
}

# fl_load_lines TAG: every outcome line of the TAG workers.
fl_load_lines() { cat "$PGPOOL_TEST_TMP"/load-"$1"-*.out; }

fl_load_summary() {
	fl_load_lines "$1" | awk '
		$1 == "ok" { ok++; if ($3 > max) max = $3 }
		$1 == "uncertain" { unc++; if ($3 > max) max = $3; st[$4]++ }
		$1 == "err" { err++; if ($3 > max) max = $3; st[$2]++ }
		END { printf "ok=%d uncertain=%d err=%d max_ms=%d", ok, unc, err, max;
			for (s in st) printf " %s=%d", s, st[s]; printf "\n" }'
}

# fl_first_ok TAG T: "FIRST LAST" — ms from T (Unix ms) to the first commit after T, and to the
# moment the last of the TAG workers had committed after T ("-1" if one never did).
fl_first_ok() {
	local f first=-1 last=0 w
	for f in "$PGPOOL_TEST_TMP"/load-"$1"-*.out; do
		w=$(awk -v t="$2" '$1 == "ok" && $4 > t { print $4 - t; exit }' "$f")
		if [ -z "$w" ]; then
			last=-1
			continue
		fi
		{ [ "$first" = -1 ] || [ "$w" -lt "$first" ]; } && first=$w
		[ "$last" != -1 ] && [ "$w" -gt "$last" ] && last=$w
	done
	echo "$first $last"
}

# fl_failures_after TAG T: failures (err and uncertain lines) that ended after T (Unix ms).
fl_failures_after() {
	fl_load_lines "$1" | awk -v t="$2" '($1 == "err" && $4 > t) || ($1 == "uncertain" && $5 > t)' | wc -l
}

# fl_load_states TAG: the SQLSTATEs of failures, one a line, sorted, unique.
fl_load_states() {
	fl_load_lines "$1" | awk '$1 == "err" { print $2 } $1 == "uncertain" { print $4 }' | sort -u
}

# fl_rows_check TAG...: every "ok" row exists, no row exists that no worker tried, and a row of
# a failed transaction exists only if its COMMIT was uncertain. Prints the counts. The table is
# fault_rows of database $FL_DB (default app).
fl_rows_check() {
	local t committed uncertain db missing extra
	: >"$PGPOOL_TEST_TMP/rows.ok"
	: >"$PGPOOL_TEST_TMP/rows.maybe"
	for t in "$@"; do
		fl_load_lines "$t" | awk '$1 == "ok" { print $2 }' >>"$PGPOOL_TEST_TMP/rows.ok"
		fl_load_lines "$t" | awk '$1 == "uncertain" { print $2 }' >>"$PGPOOL_TEST_TMP/rows.maybe"
	done
	sort -o "$PGPOOL_TEST_TMP/rows.ok" "$PGPOOL_TEST_TMP/rows.ok"
	sort "$PGPOOL_TEST_TMP/rows.ok" "$PGPOOL_TEST_TMP/rows.maybe" >"$PGPOOL_TEST_TMP/rows.any"
	t_sql "${FL_DB:-app}" "SELECT id FROM fault_rows ORDER BY 1" | sort >"$PGPOOL_TEST_TMP/rows.db"
	committed=$(wc -l <"$PGPOOL_TEST_TMP/rows.ok")
	uncertain=$(wc -l <"$PGPOOL_TEST_TMP/rows.maybe")
	db=$(wc -l <"$PGPOOL_TEST_TMP/rows.db")
	missing=$(comm -23 "$PGPOOL_TEST_TMP/rows.ok" "$PGPOOL_TEST_TMP/rows.db" | wc -l)
	extra=$(comm -13 "$PGPOOL_TEST_TMP/rows.any" "$PGPOOL_TEST_TMP/rows.db" | wc -l)
	t_say "rows: $committed committed, $uncertain uncertain (COMMIT cut), $db in the database, $missing committed but missing, $extra never committed but present"
	[ "$missing" = 0 ] || t_fail "$missing committed row(s) missing: $(comm -23 "$PGPOOL_TEST_TMP/rows.ok" "$PGPOOL_TEST_TMP/rows.db" | head -n 5 | tr '\n' ' ')"
	[ "$extra" = 0 ] || t_fail "$extra row(s) of failed transactions were committed: $(comm -13 "$PGPOOL_TEST_TMP/rows.any" "$PGPOOL_TEST_TMP/rows.db" | head -n 5 | tr '\n' ' ')"
}

# fl_wait SECONDS 'shell condition': poll (every 50 ms) until it holds; 1 if it never did.
fl_wait() {
	local deadline
	deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	while ! eval "$2" >/dev/null 2>&1; do
		[ "$(($(date +%s%N) / 1000000))" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

fl_now_ms() { echo $(($(date +%s%N) / 1000000)); }
