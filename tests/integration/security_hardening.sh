#!/usr/bin/env bash
# test: once
# The built binaries carry the hardening config.m4 asks for (readelf, no execution needed):
#   pgpool-broker and pgpool-cli: position-independent (PIE), full RELRO (GNU_RELRO + BIND_NOW),
#     a non-executable stack, stack protector (__stack_chk_fail) and _FORTIFY_SOURCE (*_chk
#     calls);
#   modules/pgpool.so: full RELRO, non-executable stack, stack protector, _FORTIFY_SOURCE.
# Under scripts/test --asan the sanitizer build replaces these flags: skipped there.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

if [ "${PGPOOL_TEST_SANITIZER:-}" = asan ]; then
	echo "the sanitizer build does not use the hardening flags"
	exit 77
fi
command -v readelf >/dev/null || t_fail "readelf (binutils) is not installed"
build=$(dirname "$PGPOOL_TEST_BROKER")

# check FILE KIND: KIND is exe or so. (readelf's output is read whole: grep -q on a pipe
# would stop it early, and pipefail would count that as a failure.)
check() {
	local f=$1 kind=$2 name hdr dyn seg syms chk
	name=$(basename "$f")
	[ -f "$f" ] || t_fail "$f was not built"
	hdr=$(readelf -hW "$f")
	dyn=$(readelf -dW "$f")
	seg=$(readelf -lW "$f")
	syms=$(readelf -sW --dyn-syms "$f")
	if [ "$kind" = exe ]; then
		grep -q 'Type:.*DYN' <<<"$hdr" || t_fail "$name is not position-independent (PIE)"
		grep -q 'FLAGS_1.*PIE' <<<"$dyn" || t_fail "$name lacks the PIE flag"
	fi
	grep -q GNU_RELRO <<<"$seg" || t_fail "$name has no RELRO segment"
	grep -qE 'BIND_NOW|FLAGS_1.*NOW' <<<"$dyn" || t_fail "$name is not linked with -z now (partial RELRO only)"
	grep GNU_STACK <<<"$seg" | grep -q 'RW ' || t_fail "$name has an executable stack"
	grep -q '__stack_chk_fail' <<<"$syms" || t_fail "$name was built without the stack protector"
	chk=$(grep -oE '__[a-z_]+_chk\b' <<<"$syms" | grep -v __stack_chk | sort -u | tr '\n' ' ')
	[ -n "$chk" ] || t_fail "$name calls no fortified (*_chk) functions: built without _FORTIFY_SOURCE?"
	t_say "ok: $name: $([ "$kind" = exe ] && echo "PIE, ")full RELRO, NX stack, stack protector, fortified: $chk"
}

check "$PGPOOL_TEST_BROKER" exe
if [ -x "$build/pgpool-cli" ]; then
	check "$build/pgpool-cli" exe
fi
check "$PGPOOL_TEST_EXT" so
