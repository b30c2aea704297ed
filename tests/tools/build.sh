#!/usr/bin/env bash
# tests/tools/build.sh OUTDIR: build the test tools (pgp-worker, no-io-uring) and pgpool-broker into OUTDIR
# from this tree, without phpize (the integration tests use both binaries). --tools-only skips the
# broker (when the tests are given one, e.g. the phpize build's).
#   CFLAGS_EXTRA="-fsanitize=address,undefined" tests/tools/build.sh /tmp/out   for sanitizers
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools_only=0
if [ "${1:-}" = --tools-only ]; then
	tools_only=1
	shift
fi
out=${1:?usage: build.sh [--tools-only] OUTDIR}
mkdir -p "$out"
cflags="-std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter ${CFLAGS_EXTRA:-}"
# shellcheck disable=SC2086
gcc $cflags -I"$root/common" -o "$out/pgp-worker" "$root/tests/tools/pgp-worker.c" \
	"$root"/common/*.c -lpthread
# shellcheck disable=SC2086
gcc $cflags -o "$out/no-io-uring" "$root/tests/tools/no-io-uring.c"
[ "$tools_only" = 1 ] && exit 0
# shellcheck disable=SC2086
gcc $cflags -I"$root/common" -I"$root/broker" -o "$out/pgpool-broker" "$root"/broker/*.c \
	"$root"/common/*.c $(pkg-config --cflags --libs libpq liburing) -lpthread
