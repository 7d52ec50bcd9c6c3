#!/bin/sh
# make bench: the simulator's cost on the default mix with bulk TCP for 60 simulated seconds,
# once with the real AEAD and once with --cipher none, each scheduler in turn. Figures come
# from sim --perf (wall clock measured inside the process); peak RSS from the kernel.
set -eu
SIM=${1:-build/sim}
echo "bench: default four-link mix, tcp, 60 simulated seconds per run"
printf '%-8s %-11s %8s %12s %14s %16s %11s\n' cipher sched wall_s events_per_s datagrams_per_s sim_s_per_wall_s max_rss_mb
for cipher in aead none; do
	for sched in weighted lossaware roundrobin; do
		line=$("$SIM" --sched "$sched" --traffic "${BENCH_TRAFFIC:-tcp}" --duration 60 --cipher "$cipher" --tsv --perf 2>&1 >/dev/null | grep '^perf:')
		get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
		printf '%-8s %-11s %8s %12s %14s %16s %11s\n' "$cipher" "$sched" "$(get wall_s)" \
			"$(get events_per_s)" "$(get datagrams_per_s)" "$(get sim_s_per_wall_s)" "$(get max_rss_mb)"
	done
done
echo "targets: >= 25 simulated s per wall s with aead, >= 80 with none, peak RSS <= 50 MB"
