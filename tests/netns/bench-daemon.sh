#!/bin/sh
# make bench, daemon part: one path over a plain veth pair (no shaping), in one run:
#   raw veth, mptun, wireguard-go (Debian's wireguard-go + wireguard-tools) on the same
#   namespaces: iperf3 TCP throughput, CPU seconds per GB moved (both ends, from
#   /proc/PID/stat), idle ping RTT through each tunnel minus raw, and mptun's RSS at rest.
#   And the floor of any userspace tunnel that sleeps between packets: nulltun (tests/netns/),
#   a tun <-> UDP relay with no header, crypto or scheduler. What it adds to the RTT is the
#   machine's wakeups and copies; what mptun adds beyond it is mptun's own work.
# Prints ratios to wireguard-go and to raw veth. Root; skips with a reason otherwise.
# Usage: tests/netns/bench-daemon.sh [BUILD_DIR] [SECONDS] [ROUNDS]; BENCH_SCHED=NAME runs both
# ends with that scheduler (default: the daemon's default).
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
SECS=${2:-10}
ROUNDS=${3:-3}
MPTUN=$(pwd)/$B/mptun
. tests/netns/lib.sh

need_root_and_tools iperf3 ping wireguard-go wg
ns_new A ba; ns_new Z bz
ip link add va netns "$A" type veth peer name vz netns "$Z"
ip -n "$A" addr add 10.210.0.1/24 dev va
ip -n "$Z" addr add 10.210.0.2/24 dev vz
ip -n "$A" link set va up
ip -n "$Z" link set vz up
ns_bg "$Z" "$TMP/iperf.log" iperf3 -s
sleep 0.3

med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run_case NAME DEST PID1 PID2: iperf3 for SECS, prints "mbps cpu_s_per_gb"
run_case() {
	c0=$(( $(cpu_ticks "$3") + $(cpu_ticks "$4") ))
	ip netns exec "$A" iperf3 -c "$2" -t "$SECS" -J >"$TMP/$1.json" 2>&1
	c1=$(( $(cpu_ticks "$3") + $(cpu_ticks "$4") ))
	bytes=$(jq '.end.sum_received.bytes' "$TMP/$1.json")
	bps=$(jq '.end.sum_received.bits_per_second' "$TMP/$1.json")
	awk -v b="$bytes" -v bps="$bps" -v t=$((c1 - c0)) -v hz="$hz" \
		'BEGIN {printf "%.0f %.2f", bps / 1e6, (b > 0 ? t / hz / (b / 1e9) : 0)}'
}
# idle RTT: the median of 100 pings 20 ms apart
rtt() { ip netns exec "$A" ping -c 100 -i 0.02 "$1" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | med; }

# raw veth (no daemon: CPU column not applicable)
raw_bps=$(ip netns exec "$A" iperf3 -c 10.210.0.2 -t "$SECS" -J | jq '.end.sum_received.bits_per_second')
raw_mbps=$(awk -v b="$raw_bps" 'BEGIN {printf "%.0f", b / 1e6}')
raw_rtt=$(for k in 1 2 3; do rtt 10.210.0.2; done | med)

# the null tunnel: the floor
ns_bg "$Z" "$TMP/nz.log" "$(pwd)/$B/nulltun" nt0 10.97.0.2 10.97.0.1 10.210.0.2 10.210.0.1 5300
NZ=$LAST_PID
ns_bg "$A" "$TMP/na.log" "$(pwd)/$B/nulltun" nt0 10.97.0.1 10.97.0.2 10.210.0.1 10.210.0.2 5300
NA=$LAST_PID
wait_for "ip netns exec $A ping -c 1 -W 1 10.97.0.2" 5 || { echo "FAIL null tunnel did not come up"; exit 1; }

# mptun: one path
"$MPTUN" genkey "$TMP/key" >/dev/null
ns_bg "$Z" "$TMP/mz.log" "$MPTUN" -i mt0 -p 5100 -v 10.99.0.2 -t 10.99.0.1 -K "$TMP/key" -q ${BENCH_SCHED:+--sched "$BENCH_SCHED"}
MZ=$LAST_PID
ns_bg "$A" "$TMP/ma.log" "$MPTUN" -i mt0 -p 5100 -v 10.99.0.1 -t 10.99.0.2 -r 10.210.0.2 \
	-K "$TMP/key" -q --status "$TMP/ma.sock" ${BENCH_SCHED:+--sched "$BENCH_SCHED"}
MA=$LAST_PID
wait_for "ip netns exec $A ping -c 1 -W 1 10.99.0.2" 5 || { echo "FAIL mptun tunnel did not come up"; exit 1; }
sleep 1
mptun_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$MA/status")

# wireguard-go: one peer, the same veth
umask 077; wg genkey >"$TMP/wa"; wg pubkey <"$TMP/wa" >"$TMP/wa.pub"
wg genkey >"$TMP/wz"; wg pubkey <"$TMP/wz" >"$TMP/wz.pub"
# distinct names: wireguard-go's control socket (/var/run/wireguard/NAME.sock) is not per namespace
ns_bg "$A" "$TMP/wga.log" env WG_PROCESS_FOREGROUND=1 wireguard-go wga
ns_bg "$Z" "$TMP/wgz.log" env WG_PROCESS_FOREGROUND=1 wireguard-go wgz
wait_for "ip -n $A link show wga && ip -n $Z link show wgz" 5
WA=$(ip netns pids "$A" | while read -r p; do grep -q wireguard-go "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -1)
WZ=$(ip netns pids "$Z" | while read -r p; do grep -q wireguard-go "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -1)
ip netns exec "$A" wg set wga private-key "$TMP/wa" listen-port 5200 peer "$(cat "$TMP/wz.pub")" \
	endpoint 10.210.0.2:5200 allowed-ips 10.98.0.2/32
ip netns exec "$Z" wg set wgz private-key "$TMP/wz" listen-port 5200 peer "$(cat "$TMP/wa.pub")" \
	endpoint 10.210.0.1:5200 allowed-ips 10.98.0.1/32
ip -n "$A" addr add 10.98.0.1/24 dev wga; ip -n "$A" link set wga mtu 1420 up
ip -n "$Z" addr add 10.98.0.2/24 dev wgz; ip -n "$Z" link set wgz mtu 1420 up
if [ -z "$WA" ] || [ -z "$WZ" ] || ! wait_for "ip netns exec $A ping -c 1 -W 1 10.98.0.2" 5; then
	echo "FAIL wireguard-go tunnel did not come up (see its log)"; exit 1
fi
# both tunnels are up over the same veth: alternate them, ROUNDS times each, and take the
# median of each, so that a noisy neighbour on the host hits both alike
mm=""; mc=""; wm=""; wc=""; mr=""; wr=""; nm=""; nc=""; nr=""
for round in $(seq "$ROUNDS"); do
	set -- $(run_case "null$round" 10.97.0.2 "$NA" "$NZ"); nm="$nm $1"; nc="$nc $2"
	set -- $(run_case "mptun$round" 10.99.0.2 "$MA" "$MZ"); mm="$mm $1"; mc="$mc $2"
	set -- $(run_case "wg$round" 10.98.0.2 "$WA" "$WZ"); wm="$wm $1"; wc="$wc $2"
	mr="$mr $(rtt 10.99.0.2)"; wr="$wr $(rtt 10.98.0.2)"; nr="$nr $(rtt 10.97.0.2)"
done
null_mbps=$(echo "$nm" | med); null_cpu=$(echo "$nc" | med); null_rtt=$(echo "$nr" | med)
mptun_mbps=$(echo "$mm" | med); mptun_cpu=$(echo "$mc" | med); mptun_rtt=$(echo "$mr" | med)
wg_mbps=$(echo "$wm" | med); wg_cpu=$(echo "$wc" | med); wg_rtt=$(echo "$wr" | med)
info "rounds: mptun $mm Mbit/s, wireguard-go $wm Mbit/s"

printf '\n%-14s %12s %16s %14s\n' path tcp_mbps cpu_s_per_gb idle_rtt_ms
printf '%-14s %12s %16s %14s\n' raw-veth "$raw_mbps" - "$raw_rtt"
printf '%-14s %12s %16s %14s\n' null-tunnel "$null_mbps" "$null_cpu" "$null_rtt"
printf '%-14s %12s %16s %14s\n' mptun "$mptun_mbps" "$mptun_cpu" "$mptun_rtt"
printf '%-14s %12s %16s %14s\n' wireguard-go "$wg_mbps" "$wg_cpu" "$wg_rtt"
awk -v m="$mptun_mbps" -v w="$wg_mbps" -v r="$raw_mbps" -v mr="$mptun_rtt" -v rr="$raw_rtt" \
	-v mc="$mptun_cpu" -v wc="$wg_cpu" -v rss="$mptun_rss" -v nr="$null_rtt" 'BEGIN {
	printf "mptun / wireguard-go throughput: %.2fx (target >= 1.5)\n", m / w
	printf "mptun / raw veth throughput:     %.2fx\n", m / r
	printf "mptun / wireguard-go CPU per GB: %.2fx\n", (wc > 0 ? mc / wc : 0)
	printf "idle RTT through mptun - raw:    %.3f ms (target <= 0.1)\n", mr - rr
	printf "  the floor, null tunnel - raw:  %.3f ms (wakeups and copies alone)\n", nr - rr
	printf "  beyond it, mptun - null tunnel: %.3f ms\n", mr - nr
	printf "mptun client RSS at rest:        %.1f MB (target <= 8)\n", rss / 1024
}'
