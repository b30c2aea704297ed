# shellcheck shell=bash
# tests/integration/security-lib.bash: helpers of tests/integration/security_*.sh (sourced after
# tests/lib/testlib.sh; not a test itself: the runner only takes *.sh).
#
#   sec_broker_start NAME CONFIG_TEXT   write $PGPOOL_TEST_TMP/NAME/broker.ini (mode 0600: it may
#                                       hold a password) with CONFIG_TEXT, start the built broker
#                                       on it (tests/lib/broker.sh, PGPOOL_BROKER_WRAPPER applies)
#                                       and wait for its "ready:" line; SEC_DIR, SEC_SOCK set
#   sec_broker_stop NAME                SIGTERM and wait
#   sec_port [FIRST]                    print a free TCP port on 127.0.0.1, FIRST or above
#   sec_shm NAME                        a shm name unique to this test run (/pgpool-sec-...)
# Brokers started here are stopped by the EXIT trap (sec_cleanup, chained to testlib's).

# shellcheck source=../lib/broker.sh
source "$t_lib/broker.sh"

sec_brokers=()

sec_cleanup() {
	local d
	for d in "${sec_brokers[@]}"; do
		broker_stop "$d" >/dev/null 2>&1 || true
	done
	t_cleanup
}
trap sec_cleanup EXIT

sec_port() {
	local p=${1:-$((PGPOOL_TEST_PGPORT + 5))}
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((p + 1))
	done
	echo "$p"
}

sec_shm() {
	echo "/pgpool-sec-$1-$(printf '%s' "$PGPOOL_TEST_TMP" | cksum | cut -d' ' -f1)"
}

sec_broker_start() {
	local name=$1 text=$2 i
	SEC_DIR=$PGPOOL_TEST_TMP/$name
	mkdir -p "$SEC_DIR"
	(umask 077 && printf '%s\n' "$text" >"$SEC_DIR/broker.ini")
	SEC_SOCK=$(broker_socket "$SEC_DIR/broker.ini")
	: >"$SEC_DIR/broker.log"
	broker_start "$SEC_DIR" "$SEC_DIR/broker.ini" "$PGPOOL_TEST_BROKER" || return 1
	sec_brokers+=("$SEC_DIR")
	for i in $(seq 1 200); do
		grep -q "ready:" "$SEC_DIR/broker.log" && return 0
		broker_alive "$SEC_DIR" || break
		sleep 0.05
	done
	echo "broker $name did not become ready; its log:" >&2
	tail -n 20 "$SEC_DIR/broker.log" >&2
	return 1
}

sec_broker_stop() {
	broker_stop "$PGPOOL_TEST_TMP/$1"
}
