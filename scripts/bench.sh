#!/bin/sh
# make bench: the simulator's cost for 60 simulated seconds of bulk TCP, with the real AEAD
# and with --cipher none, each scheduler in turn, on two mixes: the default four-link mix (the
# issue's reference) and four 20 Mbit/s uplinks (where TCP actually moves ~70 Mbit/s, so the
# per-packet cost is visible). Figures come from sim --perf: wall clock measured inside the
# process, events and datagrams counted by the simulator, peak RSS from getrusage.
set -eu
SIM=${1:-build/sim}
L=rate=20M,delay=20ms
printf '%-12s %-6s %-11s %8s %12s %12s %15s %16s %10s\n' mix cipher sched goodput_mbps wall_s events_per_s datagrams_per_s sim_s_per_wall_s max_rss_mb
for mix in default 4x20M; do
	case $mix in
	default) links= ;;
	*) links="--link $L --link $L --link $L --link $L" ;;
	esac
	for cipher in aead none; do
		for sched in weighted lossaware roundrobin; do
			# shellcheck disable=SC2086
			"$SIM" $links --sched "$sched" --traffic tcp --duration 60 --cipher "$cipher" --tsv --perf \
				> /tmp/bench.$$.tsv 2> /tmp/bench.$$.err
			line=$(grep '^perf:' /tmp/bench.$$.err)
			get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
			goodput=$(awk -F'\t' 'NR==2{print $2}' /tmp/bench.$$.tsv)
			printf '%-12s %-6s %-11s %8s %12s %12s %15s %16s %10s\n' "$mix" "$cipher" "$sched" "$goodput" \
				"$(get wall_s)" "$(get events_per_s)" "$(get datagrams_per_s)" \
				"$(get sim_s_per_wall_s)" "$(get max_rss_mb)"
		done
	done
done
rm -f /tmp/bench.$$.tsv /tmp/bench.$$.err
echo "targets: >= 25 simulated s per wall s with aead, >= 80 with none, peak RSS <= 50 MB"
