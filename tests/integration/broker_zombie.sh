#!/usr/bin/env bash
# test: once
# A SIGKILLed broker that its parent has not reaped yet (a zombie: a container whose PID 1 does
# not reap, a wrapper script) holds nothing any more: the next broker on the same shm_name and
# socket starts, takes over the stale segment and terminates the backends the dead one left.
# The parent here is a Python process that never waits for the first broker until the end.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

T=$PGPOOL_TEST_TMP
D=$T/zombie
mkdir -p "$D"
SHM=/pgpool-zombie-$(printf '%s' "$D" | cksum | cut -d' ' -f1)
APP=zombie-$$
cat >"$D/broker.ini" <<INI
[broker]
socket = $D/pgpool.sock
shm_name = $SHM
admin_socket = off
event_loop = ${PGPOOL_TEST_LOOP:-auto}

[pool main]
dsn = host=127.0.0.1 port=$PGPOOL_TEST_PGPORT dbname=app user=app application_name=$APP
password = secret
min_connections = 1
max_connections = 2
INI
chmod 0600 "$D/broker.ini"
trap 'rm -f "/dev/shm/${SHM#/}"; t_cleanup' EXIT

backends() {
	t_sql app "SELECT string_agg(pid::text, ' ' ORDER BY pid) FROM pg_stat_activity WHERE application_name = '$APP'"
}

python3 - "$PGPOOL_TEST_BROKER" "$D" <<'PY' || t_fail "see above"
import os, signal, subprocess, sys, time

broker, d = sys.argv[1], sys.argv[2]
ini = d + "/broker.ini"

def start(log):
    p = subprocess.Popen([broker, "-c", ini], stderr=open(log, "w"), stdout=subprocess.DEVNULL)
    for _ in range(300):
        if "ready: every pool is prefilled" in open(log).read():
            return p
        if p.poll() is not None:
            break
        time.sleep(0.05)
    print(open(log).read()[-1500:])
    sys.exit("FAIL: the broker (%s) did not become ready, exit %s" % (log, p.poll()))

def state(pid):
    return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]

first = start(d + "/first.log")
os.kill(first.pid, signal.SIGKILL)
# Past the 2 s heartbeat window, so only the process state can tell it is dead.
time.sleep(2.5)
st = state(first.pid)
if st != "Z":
    sys.exit("FAIL: the killed broker should be a zombie (not reaped), state %s" % st)
print("ok: the SIGKILLed broker pid %d is a zombie (state Z, not reaped)" % first.pid)

second = start(d + "/second.log")
log = open(d + "/second.log").read()
if "stale shm segment" not in log or "pid %d" % first.pid not in log:
    print(log[-1500:])
    sys.exit("FAIL: the second broker did not say it replaced the dead broker's segment")
print("ok: a second broker started while the first is a zombie, and took over its segment")
open(d + "/second.pid", "w").write(str(second.pid))
# Keep the second one running for the shell's checks; reap the first only now.
first.wait()
PY
second=$(cat "$D/second.pid")
t_bg_pids+=("$second")

# The second broker ends the first one's orphaned backend; its own stays.
ok=0
for _ in $(seq 1 100); do
	n=$(backends)
	if [ "$(wc -w <<<"$n")" = 1 ] && grep -q 'orphan' "$D/second.log"; then
		ok=1
		break
	fi
	sleep 0.1
done
[ "$ok" = 1 ] || { tail -n 20 "$D/second.log"; t_fail "backends of application_name $APP: '$n' (expected the second broker's one only)"; }
t_say "ok: the dead broker's backend was terminated, the new broker has its own ($n)"

kill -TERM "$second"
for _ in $(seq 1 100); do
	kill -0 "$second" 2>/dev/null || break
	sleep 0.05
done
t_say "PASS"
