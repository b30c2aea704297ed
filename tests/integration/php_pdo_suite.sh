#!/usr/bin/env bash
# test: once
# php_pdo_suite: PHP's own PDO tests (php-src ext/pdo/tests through ext/pdo_pgsql/tests'
# common.phpt, and ext/pdo_pgsql/tests) run through pdo_pgsql and through PgPool on a fresh
# PostgreSQL by scripts/php-pdo-suite, which compares them test by test: every test pdo_pgsql
# passes must pass with PgPool, except the ones docs/COMPATIBILITY.md lists with their reason.
# php-src's tests come from Debian's php8.2 source package (downloaded once, kept in the source
# checkout's .test-work/php-pdo-suite between runs; never part of the repository).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

build=$(cd "$(dirname "$PGPOOL_TEST_EXT")/.." && pwd)
work=${PGPOOL_TEST_SRC:-$PGPOOL_TEST_TMP}/.test-work/php-pdo-suite
mkdir -p "$work"
if [ ! -f "$work/php-src/run-tests.php" ] && ! getent hosts deb.debian.org >/dev/null 2>&1; then
	echo "skip: deb.debian.org cannot be resolved, php-src's tests cannot be downloaded"
	exit 77
fi
rc=0
"$here/../../scripts/php-pdo-suite" --build "$build" --work "$work" --loop "${PGPOOL_TEST_LOOP:-auto}" \
	>"$PGPOOL_TEST_TMP/suite.log" 2>&1 || rc=$?
grep -E '^(  (allowed|REGRESS) |suite|baseline|pgpool |[0-9]+ unexplained)' "$PGPOOL_TEST_TMP/suite.log" || true
if [ "$rc" != 0 ]; then
	tail -n 20 "$PGPOOL_TEST_TMP/suite.log"
	t_fail "php-src's PDO tests: regressions against pdo_pgsql (exit $rc)"
fi
base=$(awk '$1 == "baseline" { print $2 }' "$PGPOOL_TEST_TMP/suite.log")
mine=$(awk '$1 == "pgpool" { print $2 }' "$PGPOOL_TEST_TMP/suite.log")
t_say "ok: pdo_pgsql passes $base, PgPool passes $mine; every difference is listed in docs/COMPATIBILITY.md"
