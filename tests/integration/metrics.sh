#!/usr/bin/env bash
# Metrics: [broker] metrics serves Prometheus text on /metrics from the broker's loop.
#   - after a workload (queries, prepared statements, a transaction, an acquire timeout and a
#     disabled pool on `tiny`), pgpool_stats(), `pgpool-cli --json pools` and /metrics agree on
#     every number of every pool (ops/metrics_check.py agree), histogram counts included;
#   - the exposition is well formed (HELP/TYPE, names, _total, cumulative buckets, +Inf = _count);
#   - HTTP: HEAD, 404, 405, 400, 431 for an oversized request; clients that send nothing or
#     half a request do not delay a scrape (the loop never blocks), and the broker stays up;
#   - pools removed and added back by reloads: a closed pool leaves /metrics, pgpool_pools and
#     `pgpool-cli pools`; added back under its name it serves a PHP process attached before;
#     70 add/remove cycles of new names never run out of pool entries nor duplicate a series.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=ops/broker.sh
source "$here/ops/broker.sh"

T=$PGPOOL_TEST_TMP
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
ob_start metrics "metrics = 127.0.0.1:0"
addr=$(ob_cli --json status | ob_json "j['metrics']")
[[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]] || t_fail "status shows the metrics address (got $addr)"
url=http://$addr/metrics
grep -q "metrics: http://$addr/metrics" "$OB_LOG" || t_fail "the broker logs the metrics URL"
t_say "metrics on $url"

# ---- workload ----
work=()
for i in 1 2 3; do
	ob_php "$here/php/ops_workload.php" main 50 >"$T/work-$i.out" 2>&1 &
	work+=($!)
done
t_bg_pids+=("${work[@]}")
wait "${work[@]}" || true
for i in 1 2 3; do grep -qx ok "$T/work-$i.out" || t_fail "workload $i: $(cat "$T/work-$i.out")"; done
rm -f "$T/tiny.ready" "$T/tiny.release"
ob_php "$here/php/ops_hold.php" "$T/tiny.ready" "$T/tiny.release" tiny >"$T/tiny.out" 2>&1 &
t_bg_pids+=($!)
ob_wait 10 "a lease of tiny" test -s "$T/tiny.ready" || t_fail "cannot hold tiny: $(cat "$T/tiny.out")"
read -r st code _ <<<"$(ob_php "$here/php/ops_query.php" tiny "SELECT 1")"
[ "$st $code" = "error 53300" ] || t_fail "a second lease of tiny (max 1) times out with 53300 (got $st $code)"
touch "$T/tiny.release"
ob_wait 10 "the tiny holder finished" grep -q '^after: ok' "$T/tiny.out" || t_fail "tiny holder: $(cat "$T/tiny.out")"
ob_cli disable tiny >/dev/null
read -r st code _ <<<"$(ob_php "$here/php/ops_query.php" tiny "SELECT 1")"
[ "$st $code" = "error 08004" ] || t_fail "a lease of disabled tiny fails with 08004 (got $st $code)"
ob_cli enable tiny >/dev/null
t_say "workload: 3 x (50 queries + 10 prepared + 1 transaction) on main; 53300 and 08004 on tiny"

# ---- agreement, at rest ----
idle_all() { [ "$(ob_cli --json pools | ob_json "sum(p['active'] + p['connecting'] + p['waiting'] for p in j)")" = 0 ]; }
ob_wait 10 "no lease, connect or waiter left" idle_all || t_fail "the pools did not come to rest"
agreed=0
for attempt in 1 2 3; do
	ob_cli --json pools >"$T/cli1.json"
	curl -sf "$url" >"$T/metrics.txt" || t_fail "GET $url failed"
	ob_php -r 'echo json_encode(pgpool_stats());' >"$T/stats.json"
	ob_cli --json pools >"$T/cli2.json"
	# Something that moved between the reads (a health check of the broker's own) means: again.
	cmp -s "$T/cli1.json" "$T/cli2.json" || continue
	if python3 "$here/ops/metrics_check.py" agree "$T/stats.json" "$T/cli1.json" "$T/metrics.txt" >"$T/agree.out"; then
		agreed=1
		break
	fi
done
cat "$T/agree.out"
[ "$agreed" = 1 ] || t_fail "pgpool_stats(), pgpool-cli pools and /metrics disagree"
python3 - "$T/stats.json" <<'PY' || t_fail "the workload left the expected counts"
import json, sys
s = json.load(open(sys.argv[1]))
m, t = s['main'], s['tiny']
assert m['queries'] >= 3 * 61 and m['acquires'] >= 3 * 61 and m['fd_transfers'] >= 1, m
assert t['acquire_timeouts'] >= 1 and t['errors'] >= 2, t
PY
python3 "$here/ops/metrics_check.py" format "$T/metrics.txt" || t_fail "the exposition is not well formed"
grep -q '^pgpool_errors_total{pool="tiny",type="acquire_timeout"} [1-9]' "$T/metrics.txt" || t_fail "errors by type: acquire_timeout"
grep -q '^pgpool_errors_total{pool="tiny",type="pool_unavailable"} [1-9]' "$T/metrics.txt" || t_fail "errors by type: pool_unavailable"
grep -q '^pgpool_build_info{version="[0-9.]*",event_loop="\(io_uring\|epoll\)"} 1$' "$T/metrics.txt" || t_fail "build info"
t_say "ok: pgpool_stats(), pgpool-cli pools and /metrics agree; the exposition is well formed"
# Every metric the Grafana dashboard and OPERATIONS.md's alerts query exists.
for doc in "$here/../../docs/grafana-dashboard.json" "$here/../../docs/OPERATIONS.md"; do
	[ -f "$doc" ] || continue
	for m in $(grep -oE 'pgpool_[a-z_]+\(?' "$doc" | grep -v '($' | sort -u); do
		grep -q "^$m[{ ]" "$T/metrics.txt" || grep -q "^# TYPE $m " "$T/metrics.txt" ||
			t_fail "$(basename "$doc") uses $m, which /metrics does not have"
	done
	t_say "ok: every pgpool_* metric named in $(basename "$doc") is served"
done

# ---- HTTP ----
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "http://$addr/nope")" = 404 ] || t_fail "GET /nope is not 404"
[ "$(code -X POST "$url")" = 405 ] || t_fail "POST /metrics is not 405"
hdr=$(curl -sI "$url")
grep -qi '^Content-Type: text/plain; version=0.0.4' <<<"$hdr" || t_fail "HEAD: content type: $hdr"
[ "$(curl -s -X HEAD "$url" -o - --max-time 5 2>/dev/null | wc -c)" = 0 ] || true
python3 - "$addr" <<'PY' || t_fail "raw HTTP checks"
import socket, sys, time
host, port = sys.argv[1].split(':')
def ask(data, wait=5):
    s = socket.create_connection((host, int(port)), timeout=wait)
    s.sendall(data)
    out = b''
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    finally:
        s.close()
    return out
r = ask(b'HEAD /metrics HTTP/1.0\r\n\r\n')
assert r.startswith(b'HTTP/1.1 200 ') and r.endswith(b'\r\n\r\n'), r[:200]
r = ask(b'GARBAGE\r\n\r\n')
assert r.startswith(b'HTTP/1.1 400 '), r[:100]
r = ask(b'GET /metrics HTTP/1.1\r\nX-Big: ' + b'a' * 9000 + b'\r\n\r\n')
assert r.startswith(b'HTTP/1.1 431 '), r[:100]
# Clients that send nothing or half a request do not hold up a scrape.
idle = [socket.create_connection((host, int(port))) for _ in range(5)]
idle[0].sendall(b'GET /metr')
t0 = time.time()
r = ask(b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
dt = time.time() - t0
assert r.startswith(b'HTTP/1.1 200 ') and b'pgpool_queries_total' in r, r[:200]
assert dt < 1.0, f'a scrape took {dt:.3f} s next to idle clients'
for s in idle:
    s.close()
print(f'raw HTTP: HEAD, 400, 431 ok; a scrape next to 5 stalled clients took {dt * 1000:.1f} ms')
PY
# ---- pools removed and added back by reloads ----
# A closed pool (removed, drained) is no pool any more: not in /metrics, pgpool_pools or
# `pgpool-cli pools`; one added back under its name takes its old entry, so /metrics never has
# one series twice and a PHP process that attached before the removal is served again; entries
# of removed pools are reused, so add/remove cycles never run out of the 64.
cp "$OB_INI" "$T/base.ini"
with_pool() { # with_pool NAME [MAX]: the base file plus pool NAME (the file keeps its mode)
	{
		cat "$T/base.ini"
		printf '\n[pool %s]\ndsn = host=localhost port=%s dbname=app user=app application_name=%s\n' \
			"$1" "$PGPOOL_TEST_PGPORT" "$OB_APP"
		printf 'password = secret\nmax_connections = %s\n' "${2:-2}"
	} >"$OB_INI"
}
pool_names() { ob_cli pools | awk 'NR > 1 { printf "%s%s", n++ ? " " : "", $1 }'; }
no_pool() { ! grep -qw "$1" <<<"$(pool_names)"; }
reload_ok() { ob_cli reload >"$T/reload.out" 2>&1 || t_fail "reload ($1): $(cat "$T/reload.out")"; }

with_pool b
reload_ok "add b"
cat >"$T/reuse.php" <<'PHP'
<?php
// Attach to b and query; when told to, query again (b was removed and added back meanwhile).
[, $go, $go2] = $argv;
$db = new PgPool('pgpool:pool=b', 'app', 'secret', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
echo 'before: ', $db->query('SELECT 1')->fetchColumn(), "\n";
while (!file_exists($go)) usleep(20000);
try {
	$v = $db->query('SELECT 2')->fetchColumn(); // before the echo: the test waits for the line
	echo 'after: ', $v, "\n";
} catch (PDOException $e) {
	echo 'after: error ', $e->getCode(), ' ', $e->getMessage(), "\n";
}
// Removed and added back again, larger than its old entry: it lives in another entry now.
while (!file_exists($go2)) usleep(20000);
try {
	$db2 = new PgPool('pgpool:pool=b', 'app', 'secret', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
	$v = $db2->query('SELECT 3')->fetchColumn();
	$w = $db->query('SELECT 4')->fetchColumn();
	echo "grown new: $v\ngrown old: $w\n";
} catch (PDOException $e) {
	echo 'grown: error ', $e->getCode(), ' ', $e->getMessage(), "\n";
}
PHP
ob_php "$T/reuse.php" "$T/reuse.go" "$T/reuse.go2" >"$T/reuse.out" 2>&1 &
t_bg_pids+=($!)
ob_wait 10 "the PHP process attached to b" grep -q '^before: 1' "$T/reuse.out" || t_fail "b: $(cat "$T/reuse.out")"
cat "$T/base.ini" >"$OB_INI"
reload_ok "remove b"
ob_wait 10 "b drained and closed" no_pool b || t_fail "pgpool-cli pools still lists the closed pool b: $(pool_names)"
curl -sf "$url" >"$T/metrics-closed.txt" || t_fail "GET $url failed"
! grep -q 'pool="b"' "$T/metrics-closed.txt" || t_fail "/metrics shows the closed pool b"
grep -qx 'pgpool_pools 2' "$T/metrics-closed.txt" || t_fail "pgpool_pools: $(grep '^pgpool_pools ' "$T/metrics-closed.txt")"
with_pool b
reload_ok "add b back"
touch "$T/reuse.go"
ob_wait 10 "the PHP process queried b again" grep -q '^after:' "$T/reuse.out" || t_fail "b again: $(cat "$T/reuse.out")"
grep -qx 'after: 2' "$T/reuse.out" || t_fail "a process attached before b was removed is served by b added back: $(cat "$T/reuse.out")"
cat "$T/base.ini" >"$OB_INI"
reload_ok "remove b again"
ob_wait 10 "b drained and closed again" no_pool b || t_fail "b not closed: $(pool_names)"
with_pool b 8
reload_ok "add b back with max_connections 8"
touch "$T/reuse.go2"
ob_wait 10 "the PHP process used b grown" grep -q '^grown' "$T/reuse.out" || t_fail "b grown: $(cat "$T/reuse.out")"
grep -qx 'grown new: 3' "$T/reuse.out" && grep -qx 'grown old: 4' "$T/reuse.out" ||
	t_fail "a process attached before b was removed is served by b added back larger (another entry): $(cat "$T/reuse.out")"
t_say "ok: a closed pool is gone from /metrics and pgpool-cli pools; added back, it serves the processes attached before (in its old entry, or in another one when larger)"

# Cycles with a new name each time: more than the 64 entries, none left open.
t0=$SECONDS
for i in $(seq 1 70); do
	with_pool "c$i"
	reload_ok "add c$i"
	with_pool b
	reload_ok "remove c$i"
	ob_wait 10 "c$i drained and closed" no_pool "c$i" || t_fail "c$i was not closed"
done
grep -q 'cannot add the pool' "$OB_LOG" && t_fail "a pool could not be added: $(grep 'cannot add the pool' "$OB_LOG" | tail -n 1)"
t_say "ok: 70 pools added and removed ($((SECONDS - t0)) s), none refused"
with_pool c71
reload_ok "add c71, remove b"
ob_wait 10 "b drained and closed" no_pool b || t_fail "b was not closed: $(pool_names)"
read -r st v _ <<<"$(ob_php "$here/php/ops_query.php" c71 "SELECT 71")"
[ "$st $v" = "ok 71" ] || t_fail "a pool added after 70 cycles serves (got $st $v)"
[ "$(pool_names)" = "main tiny c71" ] || t_fail "pgpool-cli pools after the cycles: $(pool_names)"
curl -sf "$url" >"$T/metrics-cycles.txt" || t_fail "GET $url failed"
python3 "$here/ops/metrics_check.py" format "$T/metrics-cycles.txt" || t_fail "/metrics after the cycles is not well formed (a series twice?)"
grep -qx 'pgpool_pools 3' "$T/metrics-cycles.txt" || t_fail "pgpool_pools: $(grep '^pgpool_pools ' "$T/metrics-cycles.txt")"
[ "$(grep -c '^pgpool_max_connections{' "$T/metrics-cycles.txt")" = 3 ] || t_fail "pgpool_max_connections: $(grep '^pgpool_max_connections{' "$T/metrics-cycles.txt")"
t_say "ok: after the cycles, /metrics has each pool once and pgpool_pools 3"

kill -0 "$OB_PID" || t_fail "the broker died"
ob_stop || t_fail "the broker did not stop cleanly"
t_say "ok: /metrics served from the loop; HTTP errors answered; broker stopped cleanly"
