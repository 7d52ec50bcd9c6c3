#!/bin/sh
# make bench, testbed part: the netem-test suite's aggregation and heterogeneous runs (single
# uplink, MPTCP, mptun with each scheduler) as one table with ratios and a bar chart in
# plots/out/testbed.png. Root; the suite skips with a reason otherwise.
set -u
B=${1:-build}
out=plots/out
mkdir -p "$out"
ONLY="aggregation heterogeneous" BENCH_TSV=$out/testbed.tsv tests/netem/suite.sh "$B" | grep -E '^(INFO|SKIP)'
[ -s "$out/testbed.tsv" ] || exit 0
awk -F'\t' 'NR > 1 {v[$2, $1] = $3; if (!seen[$2]++) order[++n] = $2}
	END {for (i = 1; i <= n; i++) {c = order[i]; printf "%s\t%s\t%s\n", c, v[c, "aggregation"], v[c, "heterogeneous"]}}' \
	"$out/testbed.tsv" >"$out/testbed-wide.tsv"
printf '\n%-12s %14s %10s %10s %16s %10s %10s\n' config aggregation x_single x_mptcp heterogeneous x_single x_mptcp
awk -F'\t' 'function r(x, y) {return y + 0 > 0 ? sprintf("%.2f", x / y) : "n/a"}
	{c[NR] = $1; g[NR] = $2; h[NR] = $3; if ($1 == "single") {sg = $2; sh = $3} if ($1 == "mptcp") {mg = $2; mh = $3}}
	END {for (i = 1; i <= NR; i++) printf "%-12s %14s %10s %10s %16s %10s %10s\n", c[i], g[i], r(g[i], sg), r(g[i], mg), h[i], r(h[i], sh), r(h[i], mh)}' \
	"$out/testbed-wide.tsv"
gnuplot -e "dir='$out'" plots/testbed/bars.gp && echo "plot: $out/testbed.png"
