#!/usr/bin/env bash
# test: once
# Packaging: package.xml (PECL) lists exactly the shipped files of the git tree with the right
# roles, and package.xml and composer.json (PIE) describe the same package and version.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

src=${PGPOOL_TEST_SRC:?the source checkout (with .git)}
if ! git -C "$src" -c safe.directory="$src" rev-parse --git-dir >/dev/null 2>&1; then
	echo "not a git checkout: $src"
	exit 77
fi
t_say "comparing package.xml with git ls-files in $src"
out=$(php "$src/scripts/check-package" 2>&1) || {
	echo "$out"
	t_fail "package.xml or composer.json is out of date"
}
t_say "$out"
