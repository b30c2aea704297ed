#!/usr/bin/env bash
# Issue 3, waiting: 64 workers (pgp-worker, the same pgp_pool_acquire as the extension) on the
# stack's pool main of 4 connections, each 20 times: lease (FIFO ring + futex handoff when none is
# idle), SELECT 1, hold 20 ms, release. Every wait for a lease is logged; the test reports the
# mean, p50, p99 and the longest wait over all leases and the spread of the per-worker means, and
# asserts no starvation: every worker finishes, the longest wait is within 4x the mean, and no
# worker's mean wait exceeds 2x the overall mean.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

workers=64
loops=20
hold_ms=20
W=("$PGPOOL_TEST_TOOLS/pgp-worker" -S "$PGPOOL_TEST_SOCKET" --pool main -U app -P secret)
[ -x "${W[0]}" ] || t_fail "pgp-worker not built ($PGPOOL_TEST_TOOLS)"

# Attach first, then start together: the test measures the ring, not process start-up.
pids=()
t0=$(date +%s%N)
for i in $(seq 1 "$workers"); do
	"${W[@]}" -n "$loops" -c "select 1" -q --hold "$hold_ms" \
		--acquire-log "$PGPOOL_TEST_TMP/acq-$i" >/dev/null 2>"$PGPOOL_TEST_TMP/err-$i" &
	pids+=($!)
done
t_bg_pids+=("${pids[@]}")
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
[ "$failed" = 0 ] || t_fail "$failed of $workers workers failed: $(cat "$PGPOOL_TEST_TMP"/err-* | sort | uniq -c | head -n 5)"

# Per worker: its mean; over all: mean, p50, p99, max (microseconds).
for i in $(seq 1 "$workers"); do
	n=$(wc -l <"$PGPOOL_TEST_TMP/acq-$i")
	[ "$n" = "$loops" ] || t_fail "worker $i logged $n leases, expected $loops"
done
cat "$PGPOOL_TEST_TMP"/acq-* | sort -n >"$PGPOOL_TEST_TMP/all"
read -r n mean p50 p99 max <<<"$(awk '{ v[NR] = $1; s += $1 } END {
	printf "%d %.0f %d %d %d\n", NR, s / NR, v[int(NR * 0.5) + 1], v[int(NR * 0.99)], v[NR] }' "$PGPOOL_TEST_TMP/all")"
read -r wmin wmax <<<"$(for i in $(seq 1 "$workers"); do
	awk '{ s += $1 } END { printf "%.0f\n", s / NR }' "$PGPOOL_TEST_TMP/acq-$i"
done | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo, hi }')"
t_say "$workers workers x $loops leases of ${hold_ms} ms on a pool of 4 in $secs s ($n leases)"
t_say "wait for a lease (ms): mean $(awk -v v="$mean" 'BEGIN{printf "%.1f", v/1000}'), p50 $(awk -v v="$p50" 'BEGIN{printf "%.1f", v/1000}'), p99 $(awk -v v="$p99" 'BEGIN{printf "%.1f", v/1000}'), max $(awk -v v="$max" 'BEGIN{printf "%.1f", v/1000}'); per-worker means $(awk -v v="$wmin" 'BEGIN{printf "%.1f", v/1000}')..$(awk -v v="$wmax" 'BEGIN{printf "%.1f", v/1000}') ms"
t_say "max/mean = $(awk -v a="$max" -v b="$mean" 'BEGIN{printf "%.2f", a/b}'), p99/mean = $(awk -v a="$p99" -v b="$mean" 'BEGIN{printf "%.2f", a/b}'), worst worker mean/mean = $(awk -v a="$wmax" -v b="$mean" 'BEGIN{printf "%.2f", a/b}')"
# With 4 connections and 64 workers, a FIFO wait is about 60/4 holds; without waiting the test
# measured nothing.
[ "$mean" -ge $((hold_ms * 1000)) ] || t_fail "mean wait $mean us: the workers hardly waited, the test measured nothing"
awk -v a="$max" -v b="$mean" 'BEGIN { exit !(a <= 4 * b) }' || t_fail "the longest wait ($max us) is more than 4x the mean ($mean us): starvation"
awk -v a="$wmax" -v b="$mean" 'BEGIN { exit !(a <= 2 * b) }' || t_fail "a worker waited on average $wmax us, more than 2x the overall mean ($mean us)"
t_say "ok: FIFO waiting is fair, no worker starved"
