#!/usr/bin/env bash
# pgpool-cli against a private broker (tests/integration/ops/broker.sh), every command:
#   --help/--version, usage errors (2), no broker (3), permission (4: a user outside admin_group);
#   status, pools, slots, workers (text and JSON; slots and workers checked against
#   pg_stat_activity and a PHP process holding a lease); pause/resume (a lease waits, then is
#   served), disable/enable (08004, then served); flush idle|gracefully|all; reconnect (every
#   backend replaced); reload; is-alive; shutdown graceful (waits for a lease) + cancel, then
#   graceful to the end (exit 0), and fast (cuts a lease).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=ops/broker.sh
source "$here/ops/broker.sh"

T=$PGPOOL_TEST_TMP
[ -x "$OB_CLI_BIN" ] || t_fail "pgpool-cli was not built next to the broker ($OB_CLI_BIN)"

# expect_rc WANT DESC CMD...: run CMD, compare its exit status, keep its output in $out.
expect_rc() {
	local want=$1 desc=$2 rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = "$want" ] || {
		echo "$out" | head -n 20
		t_fail "$desc: exit $rc, expected $want"
	}
	t_say "ok: $desc (exit $rc)"
}

# Backend pids of the pool's database as PostgreSQL sees them (sorted, space-separated).
pg_backends() {
	t_sql app "SELECT string_agg(pid::text, ' ' ORDER BY pid) FROM pg_stat_activity
		WHERE datname = '${1:-app}' AND usename = 'app' AND application_name = '$OB_APP'"
}
cli_backends() {
	ob_cli --json slots "${1:-main}" | ob_json "' '.join(str(s['backend_pid']) for s in sorted(j, key=lambda s: s['backend_pid']) if s['backend_pid'])"
}

# pool_field POOL FIELD: a field of `pgpool-cli --json pools POOL`.
pool_field() {
	ob_cli --json pools "$1" | ob_json "j[0]['$2']"
}
pool_idle_is() { [ "$(pool_field "$1" idle)" = "$2" ]; }
pool_waiting_is() { [ "$(pool_field "$1" waiting)" = "$2" ]; }
# all_replaced BEFORE AFTER: no backend pid of BEFORE is in AFTER.
all_replaced() {
	local p
	for p in $1; do
		if grep -qw "$p" <<<"$2"; then
			echo "backend $p is still there (before: $1, after: $2)"
			return 1
		fi
	done
}
# replaces_all DESC MESSAGE PGPOOL-CLI-ARGS...: the command answers MESSAGE, main comes back to 2
# idle connections, and none of them is one of the backends from before.
replaces_all() {
	local desc=$1 msg=$2 before after
	shift 2
	before=$(pg_backends)
	expect_rc 0 "$desc" ob_cli "$@"
	grep -q "$msg" <<<"$out" || t_fail "$desc: $out"
	ob_wait 10 "main is back to 2 idle connections" pool_idle_is main 2 || t_fail "$desc: main not refilled"
	after=$(pg_backends)
	all_replaced "$before" "$after" || t_fail "$desc left a backend open"
	t_say "ok: $desc replaced $before by $after"
}
backend_gone() { [ -z "$(t_sql app "SELECT 1 FROM pg_stat_activity WHERE pid = $1")" ]; }

# hold NAME [POOL]: a PHP process holding a lease until release NAME; sets HOLD_PID, HOLD_BACKEND.
hold() {
	rm -f "$T/$1.ready" "$T/$1.release"
	ob_php "$here/php/ops_hold.php" "$T/$1.ready" "$T/$1.release" "${2:-main}" >"$T/$1.out" 2>&1 &
	t_bg_pids+=($!)
	ob_wait 10 "$1 holds a lease" test -s "$T/$1.ready" || { cat "$T/$1.out"; t_fail "hold $1"; }
	read -r HOLD_PID HOLD_BACKEND <"$T/$1.ready"
}
release() {
	touch "$T/$1.release"
	ob_wait 10 "$1 finished" grep -q '^after:' "$T/$1.out" || t_fail "$1 did not finish"
}

# ---- without a broker ----
expect_rc 0 "--help" "$OB_CLI_BIN" --help
for c in status pools slots workers flush pause resume enable disable reconnect reload shutdown is-alive; do
	grep -q "^  $c" <<<"$out" || t_fail "--help does not list $c"
done
grep -q '^  3  no broker answers' <<<"$out" || t_fail "--help does not document exit status 3"
expect_rc 0 "--version" "$OB_CLI_BIN" --version
expect_rc 2 "unknown command" "$OB_CLI_BIN" -s "$T/none.sock" frobnicate
expect_rc 2 "pause without a pool" "$OB_CLI_BIN" -s "$T/none.sock" pause
expect_rc 2 "an argument with a space" "$OB_CLI_BIN" -s "$T/none.sock" pause "a b"
expect_rc 3 "no broker on the socket" "$OB_CLI_BIN" -s "$T/none.sock" status
grep -q "cannot connect to $T/none.sock" <<<"$out" || t_fail "the message names the socket: $out"

# ---- a broker with an admin_group ----
ob_start cli "admin_group = nogroup"
expect_rc 0 "-c CONFIG finds the admin socket next to the control socket" \
	"$OB_CLI_BIN" -c "$OB_INI" is-alive
grep -q '^alive: pgpool-broker' <<<"$out" || t_fail "is-alive says alive: $out"
[ "$(stat -c '%a %G' "$OB_ADMIN")" = "660 nogroup" ] || t_fail "admin socket mode/group: $(stat -c '%a %G' "$OB_ADMIN")"
t_say "ok: admin socket is 0660 nogroup"

# permission: root is allowed; `nobody` (primary group nogroup) too; `daemon` is not.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] && id daemon >/dev/null 2>&1; then
	expect_rc 0 "a member of admin_group (nobody:nogroup) may run status" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$OB_CLI_BIN" -s "$OB_ADMIN" status
	expect_rc 4 "a user outside admin_group (daemon) is refused" \
		setpriv --reuid=daemon --regid=daemon --clear-groups "$OB_CLI_BIN" -s "$OB_ADMIN" status
	grep -qi 'permission denied' <<<"$out" || t_fail "the refusal says permission denied: $out"
else
	t_say "skipped: permission checks need root, setpriv and the user daemon"
fi

# ---- status ----
expect_rc 0 "status" ob_cli status
grep -q '^state: *running$' <<<"$out" || t_fail "status shows state running: $out"
grep -q "^config: *$OB_INI$" <<<"$out" || t_fail "status shows the config file"
pid=$(ob_cli --json status | ob_json "j['pid']")
[ "$pid" = "$OB_PID" ] || t_fail "status --json pid $pid, broker pid $OB_PID"
[ "$(ob_cli --json status | ob_json "j['pools'], j['state'], j['ready']")" = "2 running True" ] ||
	t_fail "status --json pools/state/ready: $(ob_cli --json status)"
t_say "ok: status --json: pid $pid, 2 pools, running, ready"

# ---- pools ----
expect_rc 0 "pools" ob_cli pools
head -n1 <<<"$out" | grep -q '^NAME  *MODE  *STATUS  *TOTAL  *IDLE  *ACTIVE' || t_fail "pools header: $(head -n1 <<<"$out")"
grep -q '^main  *transaction  *open  *2  *2  *0 ' <<<"$out" || t_fail "pools row of main: $out"
[ "$(ob_cli --json pools | ob_json "[p['name'] for p in j]")" = "['main', 'tiny']" ] || t_fail "pools --json names"
[ "$(ob_cli --json pools tiny | ob_json "len(j), j[0]['max'], j[0]['mode']")" = "1 1 transaction" ] ||
	t_fail "pools tiny --json"
expect_rc 1 "pools of an unknown pool" ob_cli pools nosuch
grep -q 'no pool named "nosuch" (configured: main, tiny)' <<<"$out" || t_fail "unknown pool message: $out"

# ---- slots and workers ----
pg=$(pg_backends)
cl=$(cli_backends)
[ -n "$pg" ] && [ "$pg" = "$cl" ] || t_fail "slots backend pids ($cl) differ from pg_stat_activity ($pg)"
t_say "ok: slots show the backends pg_stat_activity shows: $cl"
hold h1
expect_rc 0 "slots main" ob_cli slots main
grep -Eq "^main +[0-9]+ +leased +$HOLD_PID +$HOLD_BACKEND " <<<"$out" ||
	{ echo "$out"; t_fail "slots shows the leased slot with owner pid $HOLD_PID and backend $HOLD_BACKEND"; }
ob_cli --json slots main | ob_json "[s for s in j if s['state']=='leased'][0]" >"$T/slot.json"
python3 - "$T/slot.json" <<'PY' || t_fail "slot record of the leased slot"
import ast, sys
s = ast.literal_eval(open(sys.argv[1]).read())
assert s['age'] >= 0 and s['idle'] is None and s['queries'] >= 1 and s['leases'] >= 1, s
assert set(s) >= {'pool', 'slot', 'state', 'owner_pid', 'backend_pid', 'age', 'idle', 'queries', 'prepared'}, s
PY
expect_rc 0 "workers" ob_cli workers
grep -Eq "^ *$HOLD_PID +[0-9]+ +[0-9]+ +[0-9]+ +main +1$" <<<"$out" ||
	{ echo "$out"; t_fail "workers lists pid $HOLD_PID attached to main with 1 lease"; }
release h1
grep -q '^after: ok' "$T/h1.out" || t_fail "the holder finished cleanly: $(cat "$T/h1.out")"

# ---- pause / resume ----
expect_rc 0 "pause main" ob_cli pause main
grep -q 'paused' <<<"$out" || t_fail "pause says paused: $out"
[ "$(pool_field main status)" = paused ] || t_fail "status paused"
ob_php "$here/php/ops_query.php" main "SELECT 42" >"$T/paused.out" 2>&1 &
qpid=$!
t_bg_pids+=($qpid)
ob_wait 5 "the query waits in the queue" pool_waiting_is main 1 ||
	t_fail "the lease request did not queue while paused: $(cat "$T/paused.out")"
sleep 0.5
kill -0 "$qpid" 2>/dev/null || t_fail "the query did not wait while the pool was paused: $(cat "$T/paused.out")"
expect_rc 0 "resume main" ob_cli resume main
grep -q 'open (was paused): 1 waiter(s) served' <<<"$out" || t_fail "resume served the waiter: $out"
wait "$qpid" || true
read -r st val secs _ <"$T/paused.out"
[ "$st $val" = "ok 42" ] || t_fail "the waiting query succeeded after resume: $(cat "$T/paused.out")"
awk -v s="$secs" 'BEGIN { exit !(s >= 0.5) }' || t_fail "the query waited ($secs s)"
t_say "ok: paused pool queued the query; resume served it after $secs s"

# ---- disable / enable ----
expect_rc 0 "disable main" ob_cli disable main
read -r st code _ <<<"$(ob_php "$here/php/ops_query.php" main "SELECT 1")"
[ "$st $code" = "error 08004" ] || t_fail "a lease of a disabled pool fails with 08004 (got $st $code)"
t_say "ok: disabled pool: 08004"
expect_rc 0 "enable main" ob_cli enable main
read -r st val _ <<<"$(ob_php "$here/php/ops_query.php" main "SELECT 7")"
[ "$st $val" = "ok 7" ] || t_fail "enabled pool serves again ($st $val)"
expect_rc 0 "enable an open pool" ob_cli enable main
grep -q 'open already' <<<"$out" || t_fail "enable of an open pool says so: $out"

# ---- flush ----
replaces_all "flush idle main" '2 idle connection(s) closed, 0 in use cut, 0 to close when released' \
	flush idle main

hold h2
expect_rc 0 "flush gracefully main" ob_cli flush gracefully main
grep -q '1 to close when released' <<<"$out" || t_fail "flush gracefully marks the leased one: $out"
t_sql app "SELECT 1 FROM pg_stat_activity WHERE pid = $HOLD_BACKEND" | grep -q 1 ||
	t_fail "the leased backend was closed under its holder"
release h2
grep -q '^after: ok' "$T/h2.out" || t_fail "the holder of a gracefully flushed connection finished fine: $(cat "$T/h2.out")"
ob_wait 5 "the released backend is closed" backend_gone "$HOLD_BACKEND" ||
	t_fail "backend $HOLD_BACKEND still open after its lease ended (flush gracefully)"
t_say "ok: flush gracefully closed backend $HOLD_BACKEND once its lease ended"

hold h3
expect_rc 0 "flush all main" ob_cli flush all main
grep -q '1 in use cut' <<<"$out" || t_fail "flush all cuts the leased one: $out"
release h3
grep -q '^after: 08006' "$T/h3.out" || t_fail "the holder of a cut connection gets 08006: $(cat "$T/h3.out")"
t_say "ok: flush all cut a leased connection: $(cat "$T/h3.out")"

# ---- reconnect ----
ob_wait 10 "main has 2 idle again" pool_idle_is main 2 ||
	t_fail "main not back to 2 idle"
replaces_all "reconnect main" '2 idle connection(s) replaced now' reconnect main

# ---- reload ----
expect_rc 0 "reload" ob_cli reload
grep -q "^reloaded $OB_INI: 2 pool(s) configured" <<<"$out" || t_fail "reload answers what it did: $out"
grep -q 'reloaded: 2 pool(s) kept' "$OB_LOG" || t_fail "the broker logs the reload"
expect_rc 0 "is-alive after reload" ob_cli is-alive
# A file the broker refuses fails the command with the broker's reason (as systemctl reload
# does), in text and in JSON; the running configuration stays.
cp "$OB_INI" "$T/good.ini"
echo "bogus_key = 1" >>"$OB_INI"
expect_rc 1 "reload of a file with an unknown key fails" ob_cli reload
grep -q "reload refused, the configuration is unchanged: $OB_INI:[0-9]*: unknown key \"bogus_key\"" <<<"$out" ||
	t_fail "reload names the file, the line and the problem: $out"
rc=0
out=$(ob_cli --json reload 2>/dev/null) || rc=$?
[ "$rc" = 1 ] || t_fail "--json reload of that file: exit $rc, expected 1"
[ "$(ob_json "j['ok']" <<<"$out")" = False ] || t_fail "--json reload says ok: $out"
ob_json "j['error']" <<<"$out" | grep -q 'unknown key "bogus_key"' || t_fail "--json reload gives the reason: $out"
t_say "ok: --json reload of that file: exit 1, $out"
# A pool the reload cannot add (no slot range of its max_connections left) fails it too.
cat "$T/good.ini" >"$OB_INI"
printf '\n[pool huge]\ndsn = host=localhost port=%s dbname=app user=app\npassword = secret\nmax_connections = 4000\n' \
	"$PGPOOL_TEST_PGPORT" >>"$OB_INI"
expect_rc 1 "reload that cannot add a pool fails" ob_cli reload
grep -q 'could not add pool(s) huge' <<<"$out" || t_fail "reload names the pool it could not add: $out"
cat "$T/good.ini" >"$OB_INI"
expect_rc 0 "reload of the good file again" ob_cli reload
[ "$(ob_cli --json pools | ob_json "','.join(p['name'] for p in j)")" = "main,tiny" ] || t_fail "pools after the reloads"

# ---- shutdown ----
hold h4
expect_rc 0 "shutdown (graceful)" ob_cli shutdown
grep -q 'graceful shutdown: no new leases; waiting up to 5000 ms for 1 lease' <<<"$out" || t_fail "shutdown: $out"
sleep 0.3
kill -0 "$OB_PID" || t_fail "the broker did not wait for the lease"
expect_rc 5 "is-alive while stopping" ob_cli is-alive
expect_rc 0 "shutdown cancel" ob_cli shutdown cancel
expect_rc 0 "is-alive after cancel" ob_cli is-alive
release h4
grep -q '^after: ok' "$T/h4.out" || t_fail "the lease held across shutdown+cancel finished: $(cat "$T/h4.out")"
read -r st val _ <<<"$(ob_php "$here/php/ops_query.php" main "SELECT 9")"
[ "$st $val" = "ok 9" ] || t_fail "the broker serves new workers after cancel ($st $val)"
expect_rc 1 "cancel without a shutdown" ob_cli shutdown cancel

hold h5
expect_rc 0 "shutdown graceful" ob_cli shutdown graceful
sleep 0.3
kill -0 "$OB_PID" || t_fail "the broker did not wait for the lease (graceful)"
release h5
grep -q '^after: ok' "$T/h5.out" || t_fail "the lease finished during a graceful shutdown: $(cat "$T/h5.out")"
ob_wait 10 "the broker exits" sh -c "! kill -0 $OB_PID" || t_fail "the broker did not exit after the last lease"
wait "$OB_PID" && rc=0 || rc=$?
OB_PID=
[ "$rc" = 0 ] || t_fail "graceful shutdown exit status $rc"
[ ! -e "$OB_ADMIN" ] || t_fail "the admin socket was not removed"
t_say "ok: graceful shutdown waited for the lease, exit 0, admin socket removed"

ob_start cli2
hold h6
t0=$(t_now)
expect_rc 0 "shutdown fast" ob_cli shutdown fast
ob_wait 5 "the broker exits" sh -c "! kill -0 $OB_PID" || t_fail "fast shutdown did not exit"
t1=$(t_now)
OB_PID=
release h6
grep -q '^after: 08' "$T/h6.out" || t_fail "the lease cut by a fast shutdown fails with class 08: $(cat "$T/h6.out")"
t_say "ok: fast shutdown in $(echo "$t0 $t1" | awk '{printf "%.2f s", $2 - $1}'), the holder got: $(cat "$T/h6.out")"
t_say "ok: every pgpool-cli command behaves as documented"
