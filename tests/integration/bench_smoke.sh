#!/usr/bin/env bash
# test: once
# bench/run --quick works: with the built extension and broker it starts its own PostgreSQL,
# PgBouncer, Pgpool-II, pgpool-broker and php-fpm, runs every variant for a short while and the
# micro-benchmarks, stops everything, and prints a table and a JSON document that hold a result
# for every variant with no failed request. A benchmark, not a speed test: nothing here is
# compared with a time or a rate other than being positive.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../lib/deps.sh
source "$here/../lib/deps.sh"
root=$(cd "$here/../.." && pwd)

if [ -n "${PGPOOL_TEST_SANITIZER:-}" ]; then
	# Ten times slower and instrumented: nothing a benchmark could say; the plain run covers it.
	echo "skip: benchmarks are not meaningful under $PGPOOL_TEST_SANITIZER"
	exit 77
fi

if ! deps_install pgbouncer pgpool2 >"$PGPOOL_TEST_TMP/deps.log" 2>&1; then
	cat "$PGPOOL_TEST_TMP/deps.log"
	echo "skip: PgBouncer and Pgpool-II are not installed and could not be installed"
	exit 77
fi

# A port of this run's range (scripts/test holds BASE..BASE+9 and uses BASE and BASE+2).
port=$((PGPOOL_TEST_PGPORT + 6))
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && t_fail "port $port is taken"

out=$PGPOOL_TEST_TMP/out
json=$PGPOOL_TEST_TMP/bench.json
t0=$(date +%s)
rc=0
# (The work directory stays in /tmp: under the test's directory its Unix socket paths would
# exceed the 108 bytes sockaddr_un allows.)
"$root/bench/run" --quick --port "$port" --ext "$PGPOOL_TEST_EXT" --broker "$PGPOOL_TEST_BROKER" \
	--out "$out" --json "$json" >"$PGPOOL_TEST_TMP/table.txt" 2>"$PGPOOL_TEST_TMP/run.log" || rc=$?
t_say "bench/run --quick: exit $rc after $(($(date +%s) - t0)) s"
cat "$PGPOOL_TEST_TMP/table.txt"
if [ "$rc" != 0 ]; then
	tail -n 40 "$PGPOOL_TEST_TMP/run.log"
	t_fail "bench/run --quick exited with $rc"
fi

grep -q '^ *workers  *variant  *req/s' "$PGPOOL_TEST_TMP/table.txt" || t_fail "no table header in the output"
grep -q 'PgPool/PgBouncer' "$PGPOOL_TEST_TMP/table.txt" || t_fail "no ratios in the output"

# The JSON document: every variant once (16 workers in --quick), the fields the issue names, sane
# values; the micro-benchmarks and memory numbers are there.
check=$(php -n -r '
	$j = json_decode(file_get_contents($argv[1]), true);
	if (!is_array($j) || !isset($j["machine"], $j["results"])) { echo "not a results document"; exit; }
	$want = ["pdo-direct", "pdo-persistent", "pdo-persistent-emulated", "pgbouncer", "pgpool-ii", "pgpool"];
	$seen = [];
	foreach ($j["results"] as $r) {
		$keys = array_keys($r);
		sort($keys);
		$expect = ["backends", "p50_ms", "p99_ms", "pooler_cpu_s", "rps", "variant", "workers"];
		if ($keys !== $expect) { echo "result keys ", implode(",", $keys); exit; }
		$v = $r["variant"];
		$seen[] = $v;
		if ($r["workers"] !== 16) { echo "$v: workers ", $r["workers"]; exit; }
		if (!($r["rps"] > 0) || !($r["p50_ms"] > 0) || $r["p99_ms"] < $r["p50_ms"]) { echo "$v: rps/p50/p99 ", json_encode($r); exit; }
		if ($r["backends"] < 1) { echo "$v: no backend seen"; exit; }
		$pooled = in_array($v, ["pgbouncer", "pgpool-ii", "pgpool"], true);
		if ($pooled !== ($r["pooler_cpu_s"] !== null)) { echo "$v: pooler_cpu_s ", json_encode($r["pooler_cpu_s"]); exit; }
		if (in_array($v, ["pgbouncer", "pgpool"], true) && $r["backends"] > 8) { echo "$v: ", $r["backends"], " backends with a pool of 8"; exit; }
	}
	sort($seen);
	sort($want);
	if ($seen !== $want) { echo "variants: ", implode(",", $seen); exit; }
	foreach ($j["detail"] as $d) {
		if ($d["errors"] !== 0) { echo $d["variant"], ": ", $d["errors"], " failed requests"; exit; }
	}
	$m = $j["micro"] ?? [];
	foreach (["lease_release", "lease_fd", "contention"] as $k) {
		if (!(($m[$k]["p50_ns"] ?? 0) > 0)) { echo "micro $k missing"; exit; }
	}
	if (!(($m["new_pgpool_cold_us"]["p50_us"] ?? 0) > 0) || !(($m["new_pgpool_warm"]["pgpool_new_query"]["p50_us"] ?? 0) > 0)) { echo "new PgPool micro-benchmark missing"; exit; }
	if (count($m["memory"]["broker"] ?? []) !== 2 || !(($m["memory"]["broker"][1]["vm_rss_kb"] ?? 0) > 0)) { echo "broker memory missing"; exit; }
	echo "ok";
' "$json")
[ "$check" = ok ] || t_fail "results JSON: $check"

# Everything it started is gone: no PostgreSQL, PgBouncer, Pgpool-II or php-fpm of the run.
work=$(sed -n 's/^work directory: //p' "$PGPOOL_TEST_TMP/run.log")
[ -n "$work" ] || t_fail "bench/run did not say its work directory"
left=$(pgrep -af "$work" || true)
[ -z "$left" ] || t_fail "processes of the run left behind: $left"
t_say "ok: a table and a JSON document with all 6 variants, micro-benchmarks and memory numbers"
