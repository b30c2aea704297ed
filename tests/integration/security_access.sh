#!/usr/bin/env bash
# test: once
# Who may lease (issue 7):
#   - allowed_uids / allowed_gids per pool, checked against the kernel's credentials of the
#     control socket's peer: the wrong user gets 28000 naming its uid and groups, a listed user
#     gets in, a listed supplementary group admits (SO_PEERGROUPS);
#   - auth = peer admits a listed user without a password, nobody else;
#   - a worker never gets the fd of a pool it did not authenticate for, even after forging a
#     lease in shm; the forged slot is taken back;
#   - repeated wrong passwords from one uid are slowed down (3 free, then 250 ms, 500 ms, ...)
#     and logged, without stalling the broker for anyone else;
#   - config checks: auth = peer without lists, unknown users, a world-readable config file or
#     password_file holding a password, sslmode=require, libpq's default sslmode=prefer towards
#     a remote host (refused: the connection would silently be plaintext), plaintext accepted
#     on loopback/Unix sockets and with an explicit sslmode=disable;
#   - the control socket's directory may not be writable by others (0777 or sticky 1777); the
#     socket and the shm segment get the configured mode and group.
# Runs processes as the user nobody (setpriv): the socket, the tool and the segment live under
# a fresh directory in /tmp that nobody can reach.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=security-lib.bash
source "$here/security-lib.bash"

[ "$(id -u)" = 0 ] || { echo "needs root (setpriv to another user)"; exit 77; }
command -v setpriv >/dev/null || { echo "setpriv (util-linux) is not installed"; exit 77; }

port=$PGPOOL_TEST_PGPORT
# A directory every user can traverse, outside the checkout (which may sit under /root).
pub=$(mktemp -d /tmp/pgpool-sec-access.XXXXXX)
chmod 755 "$pub"
trap 'rm -rf "$pub"; sec_cleanup' EXIT
cp "$PGPOOL_TEST_TOOLS/pgp-worker" "$pub/pgp-worker"
chmod 755 "$pub/pgp-worker"
group=4242 # a supplementary group only the test's nobody process gets
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_nobody_in_group() { setpriv --reuid=65534 --regid=65534 --groups="$group" "$@"; }

checks=0
ok() {
	checks=$((checks + 1))
	t_say "ok: $*"
}

# expect_error STATE DESC COMMAND...: the command fails with SQLSTATE STATE; prints its message.
expect_error() {
	local state=$1 desc=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		t_fail "$desc: expected $state, it succeeded: $out"
	fi
	grep -q "error: $state " <<<"$out" || t_fail "$desc: expected $state, got: $out"
	ok "$desc: $(grep -m1 "error: $state" <<<"$out" | cut -c1-220)"
}

expect_ok() {
	local desc=$1 out
	shift
	out=$("$@" 2>&1) || t_fail "$desc: $out"
	ok "$desc"
}

# ---- config checks (pgpool-broker --check) ---------------------------------------------------
cfgdir=$PGPOOL_TEST_TMP/cfg
mkdir -p "$cfgdir"
# check_config NAME MODE EXPECT TEXT: write the config with MODE, run --check; EXPECT "ok" or a
# part of the error message.
check_config() {
	local name=$1 mode=$2 expect=$3 text=$4 f=$cfgdir/$1.ini out
	printf '%s\n' "$text" >"$f"
	chmod "$mode" "$f"
	if out=$("$PGPOOL_TEST_BROKER" -c "$f" --check 2>&1); then
		[ "$expect" = ok ] || t_fail "--check $name: expected \"$expect\", it passed: $out"
		ok "--check $name: accepted"
	else
		[ "$expect" != ok ] || t_fail "--check $name: expected it to pass: $out"
		grep -qF -- "$expect" <<<"$out" || t_fail "--check $name: expected \"$expect\" in: $out"
		ok "--check $name: $(cut -c1-200 <<<"$out")"
	fi
}
base="[broker]
socket = $pub/x.sock
shm_name = $(sec_shm check)"
pool() { printf '[pool p]\ndsn = %s\n%s\n' "$1" "${2:-password = secret}"; }

check_config peer-no-lists 600 "auth = peer needs allowed_uids" "$base
$(pool "host=127.0.0.1 user=app" "auth = peer")"
check_config unknown-user 600 'no such user "no-such-user-pgpool"' "$base
$(pool "host=127.0.0.1 user=app")
allowed_uids = www-data, no-such-user-pgpool"
check_config unknown-group 600 'no such group "no-such-group-pgpool"' "$base
$(pool "host=127.0.0.1 user=app")
allowed_gids = no-such-group-pgpool"
check_config peer-ok 600 ok "$base
$(pool "host=127.0.0.1 user=app" "auth = peer")
allowed_uids = nobody, 0
allowed_gids = nogroup"
check_config world-readable 644 "is readable by every user" "$base
$(pool "host=127.0.0.1 user=app")"
check_config world-writable 602 "is writable by every user" "$base
$(pool "host=127.0.0.1 user=app")"
check_config dsn-password-readable 644 "is readable by every user" "$base
$(pool "host=127.0.0.1 user=app password=secret" "")"
check_config group-readable 640 ok "$base
$(pool "host=127.0.0.1 user=app")"
printf 'secret\n' >"$cfgdir/pw"
chmod 644 "$cfgdir/pw"
check_config password-file-readable 644 "password_file \"$cfgdir/pw\" holds a password and is readable" "$base
$(pool "host=127.0.0.1 user=app" "password_file = $cfgdir/pw")"
chmod 600 "$cfgdir/pw"
check_config password-file-private 644 ok "$base
$(pool "host=127.0.0.1 user=app" "password_file = $cfgdir/pw")"
check_config sslmode-require 600 "TLS session cannot be handed over" "$base
$(pool "host=127.0.0.1 user=app sslmode=require")"
check_config sslmode-verify-full 600 "sslmode=verify-full is not supported" "$base
$(pool "postgresql://app@db.example.com/app?sslmode=verify-full")"
check_config remote-default-prefer 600 "write sslmode=disable to accept plaintext" "$base
$(pool "host=10.1.2.3 user=app")"
check_config remote-prefer 600 "sslmode=prefer and host 10.1.2.3" "$base
$(pool "host=10.1.2.3 user=app sslmode=prefer")"
check_config remote-second-host 600 "host 10.0.0.9 is not a loopback" "$base
$(pool "host=127.0.0.1,10.0.0.9 user=app")"
check_config remote-disable 600 ok "$base
$(pool "host=10.1.2.3 user=app sslmode=disable")"
check_config hostaddr-loopback 600 ok "$base
$(pool "host=db.example.com hostaddr=127.0.0.1 user=app")"
check_config loopback-v6 600 ok "$base
$(pool "host=::1 user=app")"
check_config unix-socket 600 ok "$base
$(pool "host=/var/run/postgresql user=app")"

# ---- the socket's directory ------------------------------------------------------------------
for mode in 0777 1777; do
	d=$pub/dir-$mode
	mkdir -p "$d"
	chmod "$mode" "$d"
	printf '%s\n' "[broker]
socket = $d/pgpool.sock
shm_name = $(sec_shm dir)
$(pool "host=127.0.0.1 port=$port dbname=app user=app")" >"$cfgdir/dir.ini"
	chmod 600 "$cfgdir/dir.ini"
	if out=$(timeout 10 "$PGPOOL_TEST_BROKER" -c "$cfgdir/dir.ini" 2>&1); then
		t_fail "the broker started with its socket in a directory of mode $mode"
	fi
	grep -q "is writable by every user" <<<"$out" || t_fail "socket dir $mode: unexpected message: $out"
	[ ! -e "$d/pgpool.sock" ] || t_fail "socket dir $mode: a socket was left behind"
	ok "socket directory $mode refused: $(grep -m1 'writable by every user' <<<"$out" | cut -c26-200)"
done

# ---- a broker with access lists --------------------------------------------------------------
mkdir -p "$pub/run"
sec_broker_start access "[broker]
socket = $pub/run/pgpool.sock
socket_mode = 0666
socket_group = nogroup
shm_name = $(sec_shm access)
event_loop = ${PGPOOL_TEST_LOOP:-auto}
log_level = debug
[pool open]
dsn = host=127.0.0.1 port=$port dbname=app user=app
password = secret
max_connections = 2
[pool rootonly]
dsn = host=127.0.0.1 port=$port dbname=tiny user=app
password = secret
max_connections = 2
allowed_uids = root
[pool nobodyonly]
dsn = host=127.0.0.1 port=$port dbname=sess user=app
password = secret
max_connections = 2
allowed_uids = nobody
[pool bygroup]
dsn = host=127.0.0.1 port=$port dbname=postgres user=app
password = secret
max_connections = 2
allowed_gids = $group
[pool peer]
dsn = host=127.0.0.1 port=$port dbname=template1 user=app
password = secret
max_connections = 2
auth = peer
allowed_uids = nobody" || t_fail "the broker did not start"
sock=$pub/run/pgpool.sock
shm=$(sed -n 's/^shm_name = //p' "$SEC_DIR/broker.ini")
W=("$pub/pgp-worker" -S "$sock" -U app)

[ "$(stat -c '%a %G' "$sock")" = "666 nogroup" ] || t_fail "socket: $(stat -c '%a %G' "$sock"), expected 666 nogroup"
[ "$(stat -c '%a %G' "/dev/shm$shm")" = "666 nogroup" ] || t_fail "shm: $(stat -c '%a %G' "/dev/shm$shm")"
ok "socket and shm segment have the configured mode 0666 and group nogroup"

expect_ok "root -> pool open (no lists)" "${W[@]}" -P secret --pool open -c "select 1" -q
expect_ok "root -> pool rootonly (allowed_uids = root)" "${W[@]}" -P secret --pool rootonly -c "select 1" -q
expect_error 28000 "root -> pool nobodyonly" "${W[@]}" -P secret --pool nobodyonly -c "select 1" -q
expect_error 28000 "root -> pool peer (auth = peer, not listed)" "${W[@]}" -P secret --pool peer -c "select 1" -q
expect_ok "nobody -> pool nobodyonly" as_nobody "${W[@]}" -P secret --pool nobodyonly -c "select 1" -q
expect_ok "nobody -> pool open" as_nobody "${W[@]}" -P secret --pool open -c "select 1" -q
expect_error 28000 "nobody -> pool rootonly" as_nobody "${W[@]}" -P secret --pool rootonly -c "select 1" -q
expect_error 28000 "nobody without group $group -> pool bygroup" as_nobody "${W[@]}" -P secret --pool bygroup -c "select 1" -q
expect_ok "nobody with supplementary group $group -> pool bygroup" as_nobody_in_group "${W[@]}" -P secret --pool bygroup -c "select 1" -q
expect_ok "nobody -> pool peer with a wrong password (auth = peer ignores it)" as_nobody "${W[@]}" -P not-the-password --pool peer -c "select 1" -q
grep -q "refused: uid 0 (root)" "$SEC_DIR/broker.log" || t_fail "refusals are not logged with the uid"
ok "refusals logged with uid and groups: $(grep -m1 'refused: uid' "$SEC_DIR/broker.log" | cut -c25-200)"

# ---- fds only for authenticated pools --------------------------------------------------------
# Pool rootonly is index 1. root authenticates for pool open only, forges a lease of slot 0 of
# pool rootonly in shm, and asks for its fd.
"${W[@]}" -P secret --pool rootonly -c "select 1" -q >/dev/null # connected and idle
rc=0
out=$("${W[@]}" -P secret --pool open --steal 0 --steal-pool 1 2>&1) || rc=$?
[ "$rc" != 4 ] || t_fail "the broker passed the fd of a pool the worker did not authenticate for: $out"
grep -q "FORGED a lease" <<<"$out" || t_fail "could not forge the lease: $out"
grep -q "error: 08P01 pool index 1: this process has not attached to it" <<<"$out" ||
	t_fail "unexpected answer to the stolen FD_REQ: $out"
ok "FD_REQ for a forged lease of another pool refused: $(grep -m1 error: <<<"$out")"
for _ in $(seq 1 60); do
	"${W[@]}" -P secret --pool rootonly -n 4 -c "select 1" -q >/dev/null 2>&1 && break
	sleep 0.1
done
"${W[@]}" -P secret --pool rootonly -n 4 -c "select 1" -q >/dev/null 2>&1 ||
	t_fail "pool rootonly does not serve after the forged lease"
ok "the forged slot was taken back; pool rootonly serves"

# ---- failed passwords are slowed down per uid -------------------------------------------------
# As nobody (root's record stays clean for the rest): 6 wrong passwords in a row.
times=()
for i in 1 2 3 4 5 6; do
	t0=$(date +%s%3N)
	as_nobody "${W[@]}" -P wrong --pool open -c "select 1" -q >/dev/null 2>&1 && t_fail "a wrong password was accepted"
	times+=($(($(date +%s%3N) - t0)))
done
t_say "wrong-password attempts of uid 65534 took (ms): ${times[*]}"
if [ "${PGPOOL_TEST_SANITIZER:-}" = valgrind ]; then
	# A broker under valgrind answers now and then hundreds of ms late, and a delay runs from
	# the failure, not from the answer: only the delays' sum is checked (250 + 500 ms).
	[ $((times[3] + times[4] + times[5])) -ge 650 ] ||
		t_fail "attempts 4-6 were not delayed by ~750 ms in all (${times[*]} ms)"
else
	for i in 0 1 2 3; do
		[ "${times[$i]}" -lt 200 ] || t_fail "attempt $((i + 1)) was slowed down already (${times[$i]} ms)"
	done
	# The delay runs from the previous failure; the next process starting up takes some of it.
	[ "${times[4]}" -ge 200 ] || t_fail "attempt 5 was not delayed by ~250 ms (${times[4]} ms)"
	[ "${times[5]}" -ge 400 ] || t_fail "attempt 6 was not delayed by ~500 ms (${times[5]} ms)"
fi
ok "3 free failures, then delays grow: ${times[*]} ms"
grep -q "uid 65534 (pid [0-9]*): [0-9]* failed password checks in a row" "$SEC_DIR/broker.log" ||
	t_fail "the throttling is not logged with uid and pool"
ok "logged: $(grep -m1 'failed password checks in a row' "$SEC_DIR/broker.log" | cut -c25-200)"
# While a held-back ATTACH waits, the broker answers everyone else at once.
as_nobody "${W[@]}" -P wrong --pool open -c "select 1" -q >/dev/null 2>&1 &
held=$!
sleep 0.1
t0=$(date +%s%3N)
"${W[@]}" --ping >/dev/null 2>&1 || t_fail "PING failed while an ATTACH was held back"
"${W[@]}" -P secret --pool open -c "select 1" -q >/dev/null 2>&1 || t_fail "root could not lease while nobody was slowed down"
ms=$(($(date +%s%3N) - t0))
wait "$held" || true
[ "$ms" -lt 500 ] || t_fail "root's PING + lease took $ms ms while nobody's ATTACH was held back"
ok "another uid is served at once while the slowed-down ATTACH waits ($ms ms for PING + lease)"
# The right password still gets through (later, not never).
t0=$(date +%s%3N)
as_nobody "${W[@]}" -P secret --pool open -c "select 1" -q >/dev/null 2>&1 || t_fail "the right password failed after the failures"
ok "the right password of the slowed-down uid succeeds after $(($(date +%s%3N) - t0)) ms"

grep -q "secret" "$SEC_DIR/broker.log" && t_fail "the password appears in the broker log"
t_say "ok: $checks checks"
