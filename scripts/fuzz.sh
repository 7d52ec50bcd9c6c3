#!/bin/sh
# Build the libFuzzer harnesses in tests/fuzz/ with clang (ASan + UBSan) and either run each
# over its corpus once (regression, the default) or fuzz each for SECONDS (make fuzz), one at a
# time. Usage: fuzz.sh [regress|fuzz] [SECONDS] [NAME...]; NAMEs (engine, wire, ...) pick harnesses.
# Every harness links core/, sched/ and daemon/ (all but daemon/main.c), so that the daemon's
# own parsers have harnesses too; the library is compiled once, not once per harness.
# Fuzzing grows a scratch corpus under build/fuzz/; with FUZZ_MERGE=1 the inputs in it that add
# coverage are merged (libFuzzer -merge=1) into the committed tests/fuzz/corpus/NAME.
# Any crash, leak, timeout or out-of-memory input is kept in build/fuzz/artifacts/ and its path
# printed.
set -eu
mode=${1:-regress}
seconds=${2:-60}
shift $(($# < 2 ? $# : 2))
only=" $* "
merge=${FUZZ_MERGE:-0}
out=build/fuzz
cflags="-std=c11 -Wall -Wextra -Werror -g -O1 -D_GNU_SOURCE -I. -fno-sanitize-recover=all"
san=address,undefined
sodium_cflags=$(pkg-config --cflags libsodium)
sodium_libs=$(pkg-config --libs libsodium)
mkdir -p "$out/obj" "$out/artifacts"

# obj SRC: the harnesses' object of a library source
obj() { echo "$out/obj/$(echo "$1" | tr / _ | sed 's/\.c$/.o/')"; }
objs=
todo=
for src in core/*.c sched/*.c daemon/*.c; do
	[ "$src" = daemon/main.c ] && continue
	o=$(obj "$src")
	# rebuilt when any library source or header is newer
	if [ ! -e "$o" ] || [ -n "$(find core sched daemon -name '*.[ch]' -newer "$o" | head -n 1)" ]; then
		todo="$todo $src"
	fi
	objs="$objs $o"
done
# compiled two at a time (the machine's cores); a failure stops the script, as set -e would
if [ -n "$todo" ]; then
	# shellcheck disable=SC2016
	for src in $todo; do echo "$src $(obj "$src")"; done |
		CFL="$cflags $sodium_cflags -fsanitize=fuzzer-no-link,$san" xargs -P 2 -L 1 sh -c \
			'clang $CFL -c "$1" -o "$2"' _ ||
		{ echo "FAIL the fuzz harnesses' objects do not build (above)"; exit 1; }
fi

pass=0
fail=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	[ "$only" = "  " ] || case "$only" in *" ${name#fuzz_} "*) ;; *) continue ;; esac
	corpus=tests/fuzz/corpus/${name#fuzz_}
	log="$out/$name.log"
	prefix="$out/artifacts/$name-"
	touch "$out/$name.stamp"
	# shellcheck disable=SC2086
	if ! clang $cflags $sodium_cflags -fsanitize=fuzzer,$san "$src" $objs $sodium_libs -ljansson -lm \
			-o "$out/$name" 2>"$log"; then
		fail=$((fail + 1)); echo "FAIL $name (build): see $log"
		continue
	fi
	if [ "$mode" = fuzz ]; then
		work="$out/corpus-${name#fuzz_}"
		mkdir -p "$work" "$corpus"
		"$out/$name" -max_total_time="$seconds" -max_len=2100 -print_final_stats=1 \
			-artifact_prefix="$prefix" "$work" "$corpus" >"$log" 2>&1 && r=0 || r=$?
		# the last status line: executions, coverage, features, corpus size
		grep -E '^#[0-9]+' "$log" | tail -n 1 | sed "s/^/  $name: /" || true
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" |
			sed "s/^/  $name: /" || true
		if [ "$r" -eq 0 ] && [ "$merge" = 1 ]; then
			before=$(find "$corpus" -type f | wc -l)
			"$out/$name" -merge=1 -max_len=2100 -artifact_prefix="$prefix" \
				"$corpus" "$work" >"$out/$name.merge.log" 2>&1 && r=0 || r=$?
			echo "  $name: merged into $corpus: $before -> $(find "$corpus" -type f | wc -l) files"
		fi
	else
		if [ -d "$corpus" ]; then
			"$out/$name" -runs=0 -artifact_prefix="$prefix" "$corpus" >"$log" 2>&1 && r=0 || r=$?
		else
			# no corpus yet: at least the empty input runs
			"$out/$name" -runs=1 -artifact_prefix="$prefix" >"$log" 2>&1 && r=0 || r=$?
		fi
	fi
	find "$out/artifacts" -name "$name-*" -newer "$out/$name.stamp" |
		sed "s/^/  $name: failing input kept at /"
	if [ "$r" -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name ($mode over $corpus)"
	else
		fail=$((fail + 1)); echo "FAIL $name ($mode): see $log"
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
