#!/bin/sh
# Build the libFuzzer harnesses in tests/fuzz/ with clang (ASan + UBSan) and either run each
# over its corpus once (regression, the default) or fuzz each for SECONDS (make fuzz).
set -eu
mode=${1:-regress}
seconds=${2:-60}
out=build/fuzz
mkdir -p "$out"
core=$(ls core/*.c sched/*.c)
pass=0
fail=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=tests/fuzz/corpus/${name#fuzz_}
	# shellcheck disable=SC2086
	clang -std=c11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all "$src" $core $(pkg-config --cflags --libs libsodium) -lm -o "$out/$name"
	if [ "$mode" = fuzz ]; then
		work="$out/corpus-${name#fuzz_}"
		mkdir -p "$work"
		"$out/$name" -max_total_time="$seconds" -max_len=2100 "$work" "$corpus" && r=0 || r=$?
	else
		"$out/$name" -runs=0 "$corpus" >"$out/$name.log" 2>&1 && r=0 || r=$?
	fi
	if [ "$r" -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name ($mode over $corpus)"
	else
		fail=$((fail + 1)); echo "FAIL $name ($mode): see $out/$name.log"
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
