# shellcheck shell=bash
# tests/compat/frameworks/compare.sh: sourced by tests/integration/laravel.sh and doctrine.sh
# (after tests/lib/testlib.sh).
#   fw_compare NAME PACKAGE...
# Installs the Debian PACKAGEs if missing (tests/lib/deps.sh; skips the test with exit 77 when
# that is not possible), runs tests/compat/frameworks/NAME.php through pdo_pgsql and through
# PgPool, prints PgPool's output, and fails unless both end with "ok", PgPool held no lease
# afterwards and the two outputs are the same but for the lines that name the PDO class and
# PgPool's lease count.
fw_compare() {
	local name=$1 dir out
	shift
	dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	out=$PGPOOL_TEST_TMP/$name
	# shellcheck source=../../lib/deps.sh
	source "$dir/../../lib/deps.sh"
	if ! deps_install "$@" >"$out.deps.log" 2>&1; then
		cat "$out.deps.log"
		echo "skip: cannot install $*"
		exit 77
	fi
	local php=("${T_PHP[@]}" -d extension=mbstring -d extension=ctype -d extension=tokenizer)
	"${php[@]}" "$dir/$name.php" pgsql >"$out.pgsql" 2>&1 || true
	"${php[@]}" "$dir/$name.php" pgpool >"$out.pgpool" 2>&1 || true
	cat "$out.pgpool"
	[ "$(tail -n1 "$out.pgsql")" = ok ] || { tail -n 20 "$out.pgsql"; t_fail "$name through pdo_pgsql did not pass its own checks"; }
	[ "$(tail -n1 "$out.pgpool")" = ok ] || t_fail "$name through PgPool: checks failed"
	grep -qx 'leases held after the work: 0' "$out.pgpool" || t_fail "$name left a lease held"
	if ! diff <(grep -v '^pdo class:' "$out.pgsql") <(grep -v -e '^pdo class:' -e '^leases held' "$out.pgpool"); then
		t_fail "$name: PgPool and pdo_pgsql differ"
	fi
	t_say "ok: $name through PgPool: $(grep -c '^ok ' "$out.pgpool") checks passed, same results as pdo_pgsql"
}
