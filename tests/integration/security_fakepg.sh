#!/usr/bin/env bash
# test: once
# A malicious or broken PostgreSQL (tests/tools/fake-pg): the broker connects to it through
# libpq (cleartext password auth), and PHP code runs statements whose answers are truncated,
# oversized (length words near 2^31, counts that lie), out of order, invalid, or cut off
# mid-message. Checks: each gives the PHP user a PDOException of class 08 (never a hang, a crash
# or an overflow: the --asan and --valgrind runs check the latter), the slot is discarded, the
# pool keeps serving; valid but unusual answers (2 MB row, 1664 columns, 5000 notices, a slow
# drip, values that do not convert) come through; pgpool.max_message_size refuses a message
# larger than itself before reading or allocating it; the broker survives all of it.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=security-lib.bash
source "$here/security-lib.bash"

fake=$PGPOOL_TEST_TOOLS/fake-pg
[ -x "$fake" ] || t_fail "$fake was not built"
port=$(sec_port)
t_bg "$fake" --port "$port" --auth cleartext --password fakepw --log "$PGPOOL_TEST_TMP/fake-pg.log"
for _ in $(seq 1 50); do
	grep -q listening "$PGPOOL_TEST_TMP/fake-pg.log" 2>/dev/null && break
	sleep 0.1
done

sec_broker_start fake "[broker]
socket = $PGPOOL_TEST_TMP/fake/pgpool.sock
socket_mode = 0660
shm_name = $(sec_shm fake)
log_level = debug
[pool fake]
dsn = host=127.0.0.1 port=$port dbname=app user=app
password = fakepw
min_connections = 1
max_connections = 2
acquire_timeout = 3s
query_timeout = 10s" || t_fail "the broker did not start against fake-pg"
t_say "broker connected to fake-pg on port $port: $(grep -c 'ready$' "$PGPOOL_TEST_TMP/fake-pg.log") backend(s) past startup"

php_fake() {
	php -n -d extension=pdo -d "extension=$PGPOOL_TEST_EXT" -d "pgpool.socket=$SEC_SOCK" \
		-d display_errors=stderr -d error_reporting=-1 "$@"
}

hostile=(truncated huge_length length_minus short_length unknown_type count_more count_less
	value_length value_negative rowdesc_lies columns_mismatch row_before_desc rfq_first
	rfq_bad_status rfq_long error_unterminated error_bad_sqlstate error_empty close_in_header
	close_after_desc close_before_rfq extra_after_rfq copy_out auth_again)
valid=(big_2m many_columns notice_flood slow_drip bad_values param_huge param_encoding tag_garbage)

fails=0
# run_php NAME [PHP -d OPTIONS...] -- MODE SCENARIO...
run_php() {
	local name=$1 rc=0 opts=()
	shift
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	php_fake "${opts[@]}" "$here/php/security_fakepg.php" "$@" >"$PGPOOL_TEST_TMP/$name.out" 2>"$PGPOOL_TEST_TMP/$name.err" || rc=$?
	grep -E '^(FAIL|failures)' "$PGPOOL_TEST_TMP/$name.out" | sed "s/^/[$name] /" || true
	if [ -s "$PGPOOL_TEST_TMP/$name.err" ]; then
		echo "[$name] PHP wrote to stderr (warnings, crash?):"
		head -n 20 "$PGPOOL_TEST_TMP/$name.err"
		rc=1
	fi
	t_say "$name: $(grep -c '^ok' "$PGPOOL_TEST_TMP/$name.out") checks ok, exit $rc"
	[ "$rc" = 0 ] || fails=$((fails + 1))
}

run_php hostile -- hostile "${hostile[@]}"
run_php valid -- valid "${valid[@]}"
run_php limit -d pgpool.max_message_size=1M -- limit big_2m big_header

broker_alive "$SEC_DIR" || t_fail "the broker died; its log: $(tail -n 20 "$SEC_DIR/broker.log")"
# The broker must have seen the discarded connections and opened new ones, never crashed.
opened=$(grep -c 'ready$' "$PGPOOL_TEST_TMP/fake-pg.log")
t_say "fake-pg saw $opened backend connections past startup; scenarios run: $(grep -c scenario "$PGPOOL_TEST_TMP/fake-pg.log")"
[ "$fails" = 0 ] || {
	cat "$PGPOOL_TEST_TMP"/*.out | grep -v '^ok' | head -n 40
	t_fail "$fails PHP run(s) failed"
}
t_say "ok: every hostile answer gave a PDOException and a discarded connection; valid ones came through; pgpool.max_message_size refused larger messages up front"
