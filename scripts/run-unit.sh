#!/bin/sh
# Run every cmocka unit test binary in DIR; non-zero if any fails (with FIRST_FAIL=1: stop at
# the first binary that fails, as make mutants wants).
# cmocka prints its own summary lines ([  PASSED  ] / [  FAILED  ]) per binary.
set -u
dir=${1:?usage: run-unit.sh DIR}
fail=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	"$t" || { fail=1; [ "${FIRST_FAIL:-0}" = 1 ] && break; }
done
exit $fail
