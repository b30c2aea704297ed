#!/usr/bin/env bash
# test: once
# Static analysis of broker/ and common/ stays clean: scripts/lint runs cppcheck (suppressions
# in .cppcheck) and clang-tidy (checks in .clang-tidy, findings are errors) on every .c file.
# A missing tool is a skip (scripts/test installs them on Debian: cppcheck, clang-tidy).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
for tool in cppcheck clang-tidy; do
	command -v "$tool" >/dev/null || { echo "$tool is not installed"; exit 77; }
done
# clang-tidy's analyzer takes a minute or two: a tree whose sources, configurations and tools
# are exactly those of the last clean run (scripts/test builds in a directory it keeps) is not
# analysed again. A fresh checkout (CI) always is.
stamp_file=$root/.test-lint-stamp
stamp=$(cd "$root" && { cat scripts/lint .clang-tidy .cppcheck broker/*.[ch] common/*.[ch]; cppcheck --version; clang-tidy --version; } | md5sum | cut -d' ' -f1)
if [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ]; then
	echo "ok: broker/ and common/ are unchanged since the last clean lint ($stamp)"
	exit 0
fi
rm -f "$stamp_file"
rc=0
"$root/scripts/lint" >"${PGPOOL_TEST_TMP:-/tmp}/lint.out" 2>&1 || rc=$?
cat "${PGPOOL_TEST_TMP:-/tmp}/lint.out"
case $rc in
0)
	echo "$stamp" >"$stamp_file"
	echo "ok: cppcheck and clang-tidy clean on broker/ and common/"
	;;
2) echo "scripts/lint could not run a tool"; exit 1 ;;
*) echo "FAIL: scripts/lint found problems (see above)"; exit 1 ;;
esac
