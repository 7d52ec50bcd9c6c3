# The share of the CPU the hypervisor took ("steal" in /proc/stat), for the real-time tests:
# figures measured while the host ran other guests on our CPUs are the host's as much as the
# code's. Sourced (from the top of the tree) by tests/netns/lib.sh and tests/netem/run.sh.

# cpu_ticks: "TOTAL STEAL" from /proc/stat's first line (all CPUs, in clock ticks)
cpu_ticks() {
	awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9; exit}' /proc/stat
}
# steal_pct "T0 S0" "T1 S1": the share (%, one decimal) the host stole between two readings
steal_pct() {
	echo "$1 $2" | awk '{d = $3 - $1; printf "%.1f", (d > 0 ? ($4 - $2) * 100 / d : 0)}'
}
