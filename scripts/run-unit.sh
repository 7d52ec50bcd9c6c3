#!/bin/sh
# Run every cmocka unit test binary in DIR, two at a time; non-zero if any fails. With
# FIRST_FAIL=1 (make mutants): one at a time, stop at the first binary that fails, and run the
# slowest binaries last, since they rarely kill a mutant of the engine: test_aead's nonce loops,
# test_tcp's long flows and test_config's many command lines took 2.7, 2.2 and 1 s of each
# mutant's 6 s. Without it they run first, so that two lanes end together (under the
# sanitizers the binaries take 45 s one after another here).
# cmocka prints its own summary lines ([  PASSED  ] / [  FAILED  ]) per binary.
set -u
dir=${1:?usage: run-unit.sh DIR}
last="test_aead test_tcp test_config"
# the binaries of DIR in the usual order, but the slow ones; then the slow ones alone
others() { for t in "$dir"/test_*; do case " $last " in *" ${t##*/} "*) ;; *) [ -x "$t" ] && echo "$t" ;; esac; done; }
slow() { for n in $last; do [ -x "$dir/$n" ] && echo "$dir/$n"; done; }
if [ "${FIRST_FAIL:-0}" = 1 ]; then
	{ others; slow; } | while read -r t; do "$t" </dev/null || exit 1; done
	exit
fi
# each binary's output is kept and printed whole, in the usual order
out=$(mktemp -d /tmp/mptun-unit.XXXXXX) || exit 1
{ slow; others; } |
	xargs -P 2 -I{} sh -c '"$1" </dev/null >"$2/${1##*/}.out" 2>&1 || : >"$2/${1##*/}.failed"' _ {} "$out"
fail=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	cat "$out/${t##*/}.out"
	[ -e "$out/${t##*/}.failed" ] && fail=1
done
rm -rf "$out"
exit $fail
