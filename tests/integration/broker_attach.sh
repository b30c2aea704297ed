#!/usr/bin/env bash
# broker_attach.sh: config validation (--check) and worker authentication.
#   --check: a good config passes and prints one line per pool with the dsn password redacted;
#   each kind of bad config fails naming file, line and problem.
#   ATTACH by pool name and by DSN key, wrong password (28P01), unknown pool/DSN (08001),
#   FD_REQ of a slot not leased (08003) or without ATTACH (08P01), PING; on each event loop.
#   With io_uring refused (seccomp): auto falls back to epoll, io_uring exits with the reason.
set -uo pipefail
source "$(dirname "$0")/../tools/broker-test-lib.sh"
bt_init

# ---- --check ----
cfg=$BT_WORK/check.ini
good() {
	install -m 0600 /dev/null "$cfg" # holds a password: never world-readable
	cat >"$cfg" <<'INI'
# comment
[broker]
socket = /tmp/x/pgpool.sock   ; trailing comment
shm_name = /pgpool-check
[pool main]
dsn = postgres://app:topsecret@127.0.0.1:5432/app
min_connections = 1
max_connections = 2
acquire_timeout = 250ms
INI
}
good
bt_check "--check accepts a valid config" "$BT_BROKER" -c "$cfg" --check
"$BT_BROKER" -c "$cfg" --check >"$BT_WORK/check.txt" 2>&1
bt_check "--check prints the pool with the dsn password redacted" \
	grep -q 'pool main: dsn ".*password=\*\*\*\*\*\*\*\*' "$BT_WORK/check.txt"
bt_check_fails "--check output never shows the password" grep -q topsecret "$BT_WORK/check.txt"

# bad_config "what" 'sed expression or appended text' 'expected message part'
bad_config() {
	local what=$1 edit=$2 expect=$3
	good
	if [ "${edit#append:}" != "$edit" ]; then
		printf '%s\n' "${edit#append:}" >>"$cfg"
	else
		sed -i "$edit" "$cfg"
	fi
	if "$BT_BROKER" -c "$cfg" --check >"$BT_WORK/bad.out" 2>&1; then
		bt_not_ok "--check rejects $what (exit 0)"
	elif grep -q "$cfg:[0-9]*: .*$expect" "$BT_WORK/bad.out"; then
		bt_ok "--check rejects $what: $(head -c 150 "$BT_WORK/bad.out")"
	else
		bt_not_ok "--check rejects $what with file:line and \"$expect\""
		sed 's/^/    | /' "$BT_WORK/bad.out"
	fi
}
bad_config "an unknown key" 's/^min_connections = 1/min_conections = 1/' 'unknown key "min_conections"'
bad_config "an unknown section" 'append:[pooll x]' 'unknown section'
bad_config "a bad duration" 's/250ms/5 years/' 'bad duration'
bad_config "min > max" 's/^min_connections = 1/min_connections = 3/' 'greater than'
bad_config "sslmode=require" 's|/app$|/app?sslmode=require|' 'TLS session cannot be'
bad_config "a duplicate pool" 'append:[pool main]' 'duplicate pool'
bad_config "a duplicate key" 'append:max_connections = 3' 'duplicate key'
bad_config "two pools with one (host,port,dbname,user)" \
	'append:[pool other]
dsn = host=127.0.0.1 port=5432 dbname=app user=app
password = x' 'same host, port, dbname and user'
bad_config "a pool without password" 's|app:topsecret@|app@|' 'no password'
bad_config "password and password_env together" 'append:password = x
password_env = HOME' 'give only one'
bad_config "a bad event_loop" 's|^shm_name.*|&\nevent_loop = kqueue|' 'event_loop must be'
# An empty password would admit any process that can open the control socket: refused from
# every source, not only inline.
install -m 0600 /dev/null "$BT_WORK/empty.pw"
printf '\n' >"$BT_WORK/newline.pw"
chmod 0600 "$BT_WORK/newline.pw"
export PGPOOL_TEST_EMPTY_PW=
bad_config "an inline empty password" 's|app:topsecret@|app@|; $a password =' 'empty value'
bad_config "an empty password_file" "s|app:topsecret@|app@|; \$a password_file = $BT_WORK/empty.pw" \
	'empty.pw" is empty'
bad_config "a password_file holding only a newline" \
	"s|app:topsecret@|app@|; \$a password_file = $BT_WORK/newline.pw" 'newline.pw" is empty'
bad_config 'password_env naming an empty variable' \
	's|app:topsecret@|app@|; $a password_env = PGPOOL_TEST_EMPTY_PW' 'PGPOOL_TEST_EMPTY_PW is empty'
bad_config "an empty password in the dsn" \
	"s|^dsn = .*|dsn = host=127.0.0.1 dbname=app user=app password=''|" 'dsn gives an empty password'
# The dsn as libpq reads it: what libpq would refuse at connect time fails --check, with its reason.
bad_config "an unknown dsn keyword (libpq)" \
	's|^dsn = .*|dsn = host=127.0.0.1 dbname=app user=app bogus=1 password=x|' \
	'refused by libpq: invalid connection option "bogus"'
bad_config "an unknown URI parameter (libpq)" 's|/app$|/app?bogus=1|' 'refused by libpq: invalid URI query parameter'
bad_config "a port out of range" 's|:5432/|:99999/|' 'port "99999" is not a port number'
bad_config "port 0" 's|^dsn = .*|dsn = host=127.0.0.1 port=0 dbname=app user=app password=x|' 'port "0"'
bad_config "more ports than hosts" \
	's|^dsn = .*|dsn = host=127.0.0.1,localhost port=1,2,3 dbname=app user=app password=x|' '3 ports for 2 hosts'

# ---- attach ----
for loop in $BT_LOOPS; do
	bt_log "# event_loop = $loop"
	bt_broker_start "$loop" || continue
	bt_check "[$loop] broker logs the loop it runs" grep -q "event loop $loop" "$BT_WORK/broker.log"
	bt_check "[$loop] PING answers with the shm name" sh -c \
		"'$BT_WORKER' -S '$BT_SOCK' --ping | grep -q 'shm=$BT_SHM'"
	bt_check "[$loop] ATTACH by pool name with the right password, query" sh -c \
		"'$BT_WORKER' -S '$BT_SOCK' --pool main -U app -P secret -c 'select 40+2' | grep -qx 42"
	bt_check "[$loop] ATTACH by DSN key (host, port, dbname, user)" sh -c \
		"'$BT_WORKER' -S '$BT_SOCK' --dsn 'pgsql:host=127.0.0.1;port=$BT_PORT;dbname=app' \
		-U app -P secret -c 'select current_database()' | grep -qx app"
	bt_check "[$loop] wrong password: 28P01 naming user and pool" sh -c \
		"'$BT_WORKER' -S '$BT_SOCK' --pool main -U app -P wrong -c 'select 1' 2>&1 |
		grep -q 'error: 28P01 password authentication failed for user \"app\" (pgpool pool \"main\")'"
	bt_check "[$loop] wrong user: 28P01" "$BT_WORKER" -S "$BT_SOCK" --pool main -U bob -P secret \
		--expect-error 28P01
	bt_check "[$loop] unknown pool: 08001 naming the configured pools" sh -c \
		"'$BT_WORKER' -S '$BT_SOCK' --pool nope -U app -P secret 2>&1 |
		grep -q 'error: 08001 .*\"nope\".*main (host=127.0.0.1'"
	bt_check "[$loop] unknown DSN: 08001" "$BT_WORKER" -S "$BT_SOCK" \
		--dsn "pgsql:host=127.0.0.1;port=$BT_PORT;dbname=nodb" -U app -P secret --expect-error 08001
	bt_check "[$loop] pool with min_connections=0: ATTACH waits for the first backend and returns its parameters" \
		sh -c "'$BT_WORKER' -S '$BT_SOCK' --pool tiny -U app -P secret -v -c 'select 1' 2>&1 |
		grep -q 'server_version=[0-9]'"
	bt_check "[$loop] FD_REQ for a slot not leased: 08003, no fd" "$BT_WORKER" -S "$BT_SOCK" \
		--pool main -U app -P secret --steal 0 --expect-error 08003
	bt_check "[$loop] FD_REQ without ATTACH: 08P01, no fd" "$BT_WORKER" -S "$BT_SOCK" \
		--steal 0 --no-attach --expect-error 08P01
	bt_check "[$loop] no password in the broker log" bash -c "! grep -q secret '$BT_WORK/broker.log'"
	bt_broker_stop TERM
	bt_check "[$loop] broker exits 0 on SIGTERM" test "$BT_BROKER_RC" = 0
done
# Containers often refuse io_uring (seccomp): no-io-uring makes io_uring_setup fail with EPERM.
bt_log "# io_uring refused by seccomp"
PGPOOL_BROKER_WRAPPER=$BT_BIN/no-io-uring bt_broker_start auto &&
	bt_check "event_loop = auto without io_uring: falls back to epoll and says why" \
		grep -q "io_uring is not available (Operation not permitted): falling back to epoll" \
		"$BT_WORK/broker.log" &&
	bt_check "... and serves on epoll" bt_worker -c "select 1" -q
bt_broker_stop TERM
bt_config io_uring
BT_TINY_PASSWORD=secret "$BT_BIN/no-io-uring" "$BT_BROKER" -c "$BT_WORK/broker.ini" >"$BT_WORK/refused.log" 2>&1
rc=$?
bt_check "event_loop = io_uring without io_uring: exits non-zero with the reason" \
	bash -c "test $rc != 0 && grep -q 'event_loop = io_uring, but io_uring_queue_init failed: Operation not permitted' '$BT_WORK/refused.log'"
bt_check "... leaving no socket or shm segment behind" \
	bash -c "test ! -e '$BT_SOCK' && test ! -e /dev/shm$BT_SHM"
bt_finish
