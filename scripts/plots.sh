#!/bin/sh
# Draw every plot in plots/*.gp from the time series a `sim --out DIR` run wrote into DIR.
set -eu
dir=${1:-plots/out}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$dir/meta.gp" ]; then
	echo "plots: $dir/meta.gp missing: run sim --out $dir first" >&2
	exit 2
fi
command -v gnuplot >/dev/null || { echo "plots: gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
for gp in "$here"/plots/*.gp; do
	gnuplot -e "dir='$dir'" "$gp"
done
