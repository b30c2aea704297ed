#!/usr/bin/env bash
# test: once
# compat: the side-by-side harness (tests/compat/). Every case in tests/compat/cases/ runs twice
# against the same database, once through pdo_pgsql (new PDO('pgsql:...')) and once through
# PgPool (new PgPool('pgsql:...')), each in a fresh php process; the two outputs (values with
# their types, errors with SQLSTATE, errorInfo and message, warnings) must be identical, except
# for what tests/compat/run.php's normalize() rewrites by design (prepared statement names).
# On a difference the diff is printed.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
compat=$here/../compat
out=$PGPOOL_TEST_TMP/compat
mkdir -p "$out"

failed=()
total=0
for case in "$compat"/cases/*.php; do
	name=$(basename "$case" .php)
	total=$((total + 1))
	t0=$(t_now)
	t_php "$compat/run.php" pgsql "$case" >"$out/$name.pgsql" 2>&1 || true
	t1=$(t_now)
	t_php "$compat/run.php" pgpool "$case" >"$out/$name.pgpool" 2>&1 || true
	t2=$(t_now)
	timing=$(echo "$t0 $t1 $t2" | awk '{printf "pdo_pgsql %.1f s, PgPool %.1f s", $2 - $1, $3 - $2}')
	if ! tail -n1 "$out/$name.pgsql" | grep -qx -- '-- end'; then
		failed+=("$name")
		t_say "FAIL $name: the pdo_pgsql run did not finish:"
		tail -n 5 "$out/$name.pgsql"
	elif ! diff -u --label "pdo_pgsql" --label "PgPool" "$out/$name.pgsql" "$out/$name.pgpool" >"$out/$name.diff"; then
		failed+=("$name")
		t_say "FAIL $name: outputs differ ($timing):"
		head -n 60 "$out/$name.diff" | cut -c1-400
	else
		t_say "same $name: $(wc -l <"$out/$name.pgsql") lines ($timing)"
	fi
done
[ "${#failed[@]}" -eq 0 ] || t_fail "${#failed[@]} of $total cases differ: ${failed[*]}"
t_say "ok: $total cases, pdo_pgsql and PgPool identical"
