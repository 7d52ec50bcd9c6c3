#!/bin/sh
# Run every cmocka unit test binary in DIR, two at a time; non-zero if any fails (with FIRST_FAIL=1: one at a time, stop at
# the first binary that fails, as make mutants wants, and run the slowest binaries last, since
# they rarely kill a mutant of the engine: test_aead's nonce loops, test_tcp's long flows and
# test_config's many command lines took 2.7, 2.2 and 1 s of each mutant's 6 s).
# cmocka prints its own summary lines ([  PASSED  ] / [  FAILED  ]) per binary.
set -u
dir=${1:?usage: run-unit.sh DIR}
last="test_aead test_tcp test_config"
fail=0
run() {
	[ -x "$1" ] || return 0
	"$1" || { fail=1; [ "${FIRST_FAIL:-0}" = 1 ] && return 1; }
	return 0
}
if [ "${FIRST_FAIL:-0}" = 1 ]; then
	for t in "$dir"/test_*; do
		case " $last " in *" ${t##*/} "*) continue ;; esac
		run "$t" || exit 1
	done
	for n in $last; do
		run "$dir/$n" || exit 1
	done
else
	# two binaries at a time, the slowest first (under the sanitizers they take 45 s one after
	# another here); each one's output is kept and printed whole, in the usual order
	out=$(mktemp -d /tmp/mptun-unit.XXXXXX) || exit 1
	{ for n in $last; do echo "$dir/$n"; done
	  for t in "$dir"/test_*; do case " $last " in *" ${t##*/} "*) ;; *) echo "$t" ;; esac; done; } |
		while read -r t; do [ -x "$t" ] && echo "$t"; done |
		xargs -P 2 -I{} sh -c '"$1" >"$2/${1##*/}.out" 2>&1 || : >"$2/${1##*/}.failed"' _ {} "$out"
	for t in "$dir"/test_*; do
		[ -x "$t" ] || continue
		cat "$out/${t##*/}.out"
		[ -e "$out/${t##*/}.failed" ] && fail=1
	done
	rm -rf "$out"
fi
exit $fail
