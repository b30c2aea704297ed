#!/bin/sh
# run.sh [--strict] PROGRAM...: run unit test programs (see pgp_test.h). Prints each program's
# summary line ("name: N passed, M failed"; a program that dies without one counts as one failed
# case), then "unit: N passed, M failed". --strict: exit 1 when anything failed.
strict=0
if [ "$1" = "--strict" ]; then
	strict=1
	shift
fi
passed=0
failed=0
for t in "$@"; do
	name=$(basename "$t")
	line=$("$t" | tail -n 1)
	p=$(printf '%s\n' "$line" | sed -n "s/^$name: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed\$/\1/p")
	f=$(printf '%s\n' "$line" | sed -n "s/^$name: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed\$/\2/p")
	if [ -z "$p" ]; then
		echo "$name: died without a summary (output: ${line:-none})"
		failed=$((failed + 1))
		continue
	fi
	echo "$line"
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
if [ "$strict" = 1 ] && [ "$failed" -gt 0 ]; then
	exit 1
fi
exit 0
