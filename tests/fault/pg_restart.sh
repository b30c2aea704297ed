#!/usr/bin/env bash
# test: once
# Issue 3, failure 3: PostgreSQL restarted (pg_ctl restart -m fast) under load. 12 long-running
# PHP workers (one PgPool each, never restarted) run INSERT transactions on the stack's pool main
# (4 connections) while PostgreSQL restarts. Checks:
#  - requests in flight fail with SQLSTATE class 08 or 57P01, none hangs (every transaction or
#    failure ends within 10 s);
#  - the broker drops the dead connections (discards) and its reconnects back off exponentially
#    with jitter (the delays it logs are 100 ms doubling, +-25%, up to connect_retry_max 1 s);
#  - the pool serves again within 2 s after PostgreSQL is back (first commit measured from the
#    moment pg_ctl returned; every worker commits again within 3 s), the workers' stale cached fds
#    are replaced (new fd transfers), and no request fails after the recovery;
#  - exactly the committed rows exist (direct connection).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../tools/fault-lib.sh
source "$here/../tools/fault-lib.sh"

pool_stat() {
	"$PGPOOL_TEST_TOOLS/pgp-worker" -S "$PGPOOL_TEST_SOCKET" --stats 2>/dev/null | awk -v f="$1" '
		$1 == "pool=main" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}
data=$PGPOOL_TEST_PGDIR/data
log=$PGPOOL_TEST_STACK/broker.log

fl_rows_init
fl_load_start 12 pr "$PGPOOL_TEST_SOCKET" 0 5
fl_wait 10 'test "$(fl_load_lines pr | grep -c "^ok ")" -ge 50' || t_fail "the load did not get going: $(head -c 600 "$PGPOOL_TEST_TMP/load-pr.err")"
discards=$(pool_stat discards)
transfers=$(pool_stat fd_transfers)
logn=$(wc -l <"$log")
sleep 0.5

t_down=$(fl_now_ms)
pg_as "$(stat -c %U "$data")" "$PGBIN/pg_ctl" -D "$data" -l "$PGPOOL_TEST_PGDIR/server.log" -m fast -w restart >/dev/null ||
	t_fail "pg_ctl restart failed"
t_up=$(fl_now_ms)
t_say "injected: pg_ctl restart -m fast under load of 12 PHP workers; PostgreSQL was down for $((t_up - t_down)) ms"
read -r first all <<<"$(fl_wait 5 'test "$(fl_first_ok pr "$t_up" | cut -d" " -f2)" != -1'; fl_first_ok pr "$t_up")"
sleep 1
t_calm=$(fl_now_ms)
sleep 1
fl_load_stop pr || t_fail "the load workers did not stop (hung?)"
summary=$(fl_load_summary pr)
t_say "observed: $summary"
t_say "observed: first commit $first ms after PostgreSQL was back, every worker committed again after $all ms"
t_say "observed: discards +$(($(pool_stat discards) - discards)), fd transfers +$(($(pool_stat fd_transfers) - transfers))"
backoff=$(tail -n +"$((logn + 1))" "$log" | sed -n 's/.*\[pool=main\] next connection attempt in \([0-9.]*\) s (\([0-9]*\) consecutive.*/\2:\1/p' | tr '\n' ' ')
t_say "observed: reconnect delays (failure:seconds): ${backoff:-none}"

# In-flight failures: class 08 or 57P01 only.
bad=$(fl_load_states pr | { grep -Ev '^(08...|57P01)$' || true; } | tr '\n' ' ')
[ -z "$bad" ] || t_fail "failures with unexpected SQLSTATEs: $bad ($(fl_load_lines pr | grep -E "^err ($(echo $bad | tr ' ' '|'))" | head -n 3))"
[[ $summary =~ max_ms=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -lt 10000 ] || t_fail "a request took ${BASH_REMATCH[1]:-?} ms (hang?)"
[ "$first" != -1 ] && [ "$first" -le 2000 ] || t_fail "the pool served again only $first ms after PostgreSQL was back (limit 2 s)"
[ "$all" != -1 ] && [ "$all" -le 3000 ] || t_fail "not every worker committed within 3 s after PostgreSQL was back ($all)"
[ "$(pool_stat discards)" -gt "$discards" ] || t_fail "the broker discarded no connection: the dead ones were not noticed"
[ "$(pool_stat fd_transfers)" -gt "$transfers" ] || t_fail "no new fd was passed: the workers kept stale fds"
late=$(fl_failures_after pr "$t_calm")
[ "$late" = 0 ] || t_fail "$late request(s) failed more than 1 s after the recovery: $(fl_load_lines pr | awk -v t="$t_calm" '$1 == "err" && $4 > t' | head -n 3)"
# Each logged delay k (k = 1, 2, ...) lies in [0.75, 1.25] x min(100 ms x 2^(k-1), 1 s).
for d in $backoff; do
	k=${d%%:*} s=${d#*:}
	awk -v k="$k" -v s="$s" 'BEGIN { b = 0.1 * 2 ^ (k - 1); if (b > 1) b = 1;
		exit !(s >= 0.75 * b - 0.005 && s <= 1.25 * b + 0.005) }' ||
		t_fail "reconnect delay after $k failure(s) was $s s, expected about $(awk -v k="$k" 'BEGIN { b = 0.1 * 2 ^ (k - 1); if (b > 1) b = 1; print b }') s +-25%"
done
fl_rows_check pr
t_say "ok: in-flight requests failed with class 08/57P01, nothing hung, the pool served again $first ms after PostgreSQL was back"
