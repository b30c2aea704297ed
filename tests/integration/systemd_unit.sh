#!/usr/bin/env bash
# test: once
# systemd: `make install` (into a scratch INSTALL_ROOT) installs the unit, the sysusers.d entry,
# the man pages, pgpool-broker and pgpool-cli; `systemd-analyze verify` passes on the unit (with
# the installed binary and man pages); the unit has Type=notify, ExecReload by SIGHUP, its own
# user, RuntimeDirectory and the hardening the issue asks for, with io_uring allowed by its
# system call filter; systemd-analyze security rates it OK or better. Then the notification
# protocol itself, against a socket of our own as $NOTIFY_SOCKET: READY=1 with STATUS= once
# prefilled, STATUS= refreshed, RELOADING=1 with a current MONOTONIC_USEC on SIGHUP then READY=1,
# no STOPPING=1 for a cancellable `pgpool-cli shutdown`, STOPPING=1 on SIGTERM; and passwords
# from systemd credentials (password_file = %d/NAME with $CREDENTIALS_DIRECTORY).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=ops/broker.sh
source "$here/ops/broker.sh"

T=$PGPOOL_TEST_TMP
build=$(dirname "$PGPOOL_TEST_BROKER")
if ! command -v systemd-analyze >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		t_say "installing systemd (for systemd-analyze) from Debian"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd >"$T/apt.log" 2>&1 ||
			{ tail -n 5 "$T/apt.log"; t_fail "apt-get install systemd failed"; }
	else
		echo "systemd-analyze is missing and cannot be installed (not root or no apt-get)"
		exit 77
	fi
fi
[ -f "$build/Makefile" ] || { echo "no configured build next to $PGPOOL_TEST_BROKER"; exit 77; }

# ---- make install ----
root=$T/root
make -C "$build" install INSTALL_ROOT="$root" >"$T/install.log" 2>&1 || { tail -n 20 "$T/install.log"; t_fail "make install failed"; }
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
sysusersdir=$(pkg-config --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
prefix=$(sed -n 's/^prefix *= *//p' "$build/Makefile" | head -n1)
unit=$root$unitdir/pgpool-broker.service
for f in "$unit" "$root$sysusersdir/pgpool.conf" "$root$prefix/share/man/man8/pgpool-broker.8" \
	"$root$prefix/share/man/man1/pgpool-cli.1" "$root$prefix/share/man/man5/pgpool.ini.5"; do
	[ -f "$f" ] || t_fail "make install did not install $f"
done
for f in "$root$prefix/sbin/pgpool-broker" "$root$prefix/bin/pgpool-cli"; do
	[ -x "$f" ] || t_fail "make install did not install the executable $f"
done
grep -q "^ExecStart=$prefix/sbin/pgpool-broker -c /etc/pgpool/pgpool.ini$" "$unit" || t_fail "ExecStart points at $prefix/sbin"
t_say "ok: make install: $unitdir/pgpool-broker.service, $sysusersdir/pgpool.conf, 3 man pages, pgpool-broker, pgpool-cli"

# ---- systemd-analyze verify, with what make install put in place ----
mkdir -p "$T/verify"
sed "s|$prefix/sbin/pgpool-broker|$root$prefix/sbin/pgpool-broker|g" "$unit" >"$T/verify/pgpool-broker.service"
rc=0
MANPATH=$root$prefix/share/man: systemd-analyze verify --man=yes "$T/verify/pgpool-broker.service" >"$T/verify.out" 2>&1 || rc=$?
if [ "$rc" != 0 ] || grep -q 'pgpool-broker' "$T/verify.out"; then
	cat "$T/verify.out"
	t_fail "systemd-analyze verify: exit $rc"
fi
t_say "ok: systemd-analyze verify passes ($(systemd-analyze --version | head -n1))"

# ---- what the unit says ----
for want in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' 'User=pgpool' 'RuntimeDirectory=pgpool' \
	'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'MemoryDenyWriteExecute=yes'; do
	grep -qxF "$want" "$unit" || t_fail "the unit lacks $want"
done
filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
expand() {
	systemd-analyze syscall-filter "$1" | sed -n '2,$p' | sed 's/^ *//' | grep -v '^#' | grep -v '^$' |
		while read -r x; do case $x in @*) expand "$x" ;; *) echo "$x" ;; esac; done
}
allowed=$(for f in $filter; do case $f in @*) expand "$f" ;; *) echo "$f" ;; esac; done | sort -u)
for s in io_uring_setup io_uring_enter io_uring_register epoll_wait signalfd4 eventfd2 futex sendmsg recvmsg; do
	grep -qx "$s" <<<"$allowed" || t_fail "SystemCallFilter ($filter) does not allow $s"
done
t_say "ok: unit directives present; SystemCallFilter allows io_uring ($(wc -l <<<"$allowed") syscalls)"
exposure=$(systemd-analyze security --offline=yes "$T/verify/pgpool-broker.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for pgpool-broker.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
[[ $exposure =~ ^[0-9.]+\ (SAFE|OK)$ ]] || t_fail "systemd-analyze security: exposure '$exposure'"
t_say "ok: systemd-analyze security: exposure $exposure"
if systemd-sysusers --help 2>&1 | grep -q -- --dry-run; then
	systemd-sysusers --dry-run "$root$sysusersdir/pgpool.conf" >"$T/sysusers.out" 2>&1 ||
		{ cat "$T/sysusers.out"; t_fail "systemd-sysusers rejects pgpool.conf"; }
	t_say "ok: systemd-sysusers --dry-run accepts sysusers.d/pgpool.conf"
fi
for m in "$root$prefix"/share/man/man*/pgpool*; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null || true)
	[ -z "$w" ] || t_fail "man page $(basename "$m"): $w"
done
t_say "ok: man pages render without warnings"

# ---- the notification protocol ----
notify=$T/notify.sock
python3 - "$notify" "$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], 'a', buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        mono = time.clock_gettime(time.CLOCK_MONOTONIC)
        log.write(f'@{mono:.6f} ' + msg.replace('\n', ' | ') + '\n')
PY
t_bg_pids+=($!)
ob_wait 5 "the notify listener" test -S "$notify" || t_fail "no notify socket"
mkdir -p "$T/creds"
printf 'secret\n' >"$T/creds/cred.password"
chmod 0600 "$T/creds/cred.password"
cred_pool="
[pool cred]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=sess user=app
password_file = %d/cred.password
max_connections = 1"
export NOTIFY_SOCKET=$notify CREDENTIALS_DIRECTORY=$T/creds
ob_start notify "" "$cred_pool"
ob_wait 5 "READY=1" grep -q 'READY=1 | STATUS=' "$T/notify.log" || t_fail "no READY=1 with STATUS= ($(cat "$T/notify.log"))"
ob_wait 5 "a STATUS= update" grep -qE '^@[0-9.]+ STATUS=3 pool\(s\), 2 backend\(s\) \(0 leased, 2 idle\), 0 waiting, 0 worker\(s\)$' "$T/notify.log" ||
	t_fail "no STATUS= summary: $(cat "$T/notify.log")"
t_say "ok: READY=1 and STATUS=: $(grep -m1 '^@[0-9.]* STATUS=' "$T/notify.log" | cut -d' ' -f2-)"

read -r st val _ <<<"$(ob_php "$here/php/ops_query.php" cred "SELECT 5")"
[ "$st $val" = "ok 5" ] || t_fail "a pool whose password_file is %d/cred.password serves ($st $val)"
grep -q 'pool cred: .* password from password_file' <("$PGPOOL_TEST_BROKER" -c "$OB_INI" --check) ||
	t_fail "--check reads the credential"
out=$(env -u CREDENTIALS_DIRECTORY "$PGPOOL_TEST_BROKER" -c "$OB_INI" --check 2>&1) && t_fail "--check passes without \$CREDENTIALS_DIRECTORY"
grep -q 'password_file uses %d, but $CREDENTIALS_DIRECTORY is not set' <<<"$out" || t_fail "message without credentials: $out"
t_say "ok: password_file = %d/... reads \$CREDENTIALS_DIRECTORY; without it: $out"

kill -HUP "$OB_PID"
ob_wait 5 "RELOADING=1" grep -q 'RELOADING=1' "$T/notify.log" || t_fail "no RELOADING=1 on SIGHUP"
line=$(grep 'RELOADING=1' "$T/notify.log" | head -n1)
[[ $line =~ ^@([0-9.]+)\ .*MONOTONIC_USEC=([0-9]+) ]] || t_fail "RELOADING=1 without MONOTONIC_USEC: $line"
skew=$(awk -v a="${BASH_REMATCH[1]}" -v b="${BASH_REMATCH[2]}" 'BEGIN { d = a - b / 1e6; print (d < 0 ? -d : d) }')
awk -v d="$skew" 'BEGIN { exit !(d < 2) }' || t_fail "MONOTONIC_USEC is ${skew}s away from CLOCK_MONOTONIC"
ob_wait 5 "READY=1 after the reload" sh -c "sed -n '/RELOADING=1/,\$p' '$T/notify.log' | grep -q 'READY=1'" ||
	t_fail "no READY=1 after the reload"
t_say "ok: SIGHUP: RELOADING=1 with MONOTONIC_USEC (${skew}s from CLOCK_MONOTONIC), then READY=1"

# A lease keeps the graceful shutdown waiting, so that it can be cancelled.
ob_php "$here/php/ops_hold.php" "$T/hold.ready" "$T/hold.release" main >"$T/hold.out" 2>&1 &
t_bg_pids+=($!)
ob_wait 10 "a lease is held" test -s "$T/hold.ready" || t_fail "cannot hold a lease: $(cat "$T/hold.out")"
ob_cli shutdown >/dev/null || t_fail "pgpool-cli shutdown"
sleep 0.5
ob_cli shutdown cancel >/dev/null || t_fail "pgpool-cli shutdown cancel"
touch "$T/hold.release"
! grep -q 'STOPPING=1' "$T/notify.log" || t_fail "a cancellable pgpool-cli shutdown sent STOPPING=1"
ob_wait 5 "READY=1 after the cancel" sh -c "[ \$(grep -c 'READY=1' '$T/notify.log') -ge 3 ]" || t_fail "no READY=1 after shutdown cancel"
t_say "ok: pgpool-cli shutdown + cancel: no STOPPING=1, READY=1 again"
ob_stop TERM || t_fail "the broker did not stop cleanly on SIGTERM"
ob_wait 5 "STOPPING=1" grep -q 'STOPPING=1' "$T/notify.log" || t_fail "no STOPPING=1 on SIGTERM"
t_say "ok: SIGTERM: STOPPING=1, exit 0"
