#!/bin/sh
# make bench, hub part (issue 12's performance): one hub (S), 8 client sites (C1..C8, one
# unshaped uplink each) through one router (R), in one run:
#   1. reference: the hub with 8 peers configured, 8 simultaneous iperf3 uploads (one per
#      site) to the hub's inner address: total Mbit/s;
#   2. the same 8 sites and uploads with 1024 peers configured (1016 idle ones, inline keys):
#      total Mbit/s and the ratio to (1) (goal >= 0.90);
#   3. the hub's VmRSS at rest (8 and 1024 peers, before and after the sites connect), per
#      configured peer (goal: a 1024-peer hub under 64 MB);
#   4. a flood of INIT-shaped junk (140 bytes, type 2) at the hub's port for FLOOD_SECS from
#      a namespace (F): the hub's CPU share meanwhile, its hub.mac1 count, and the time a
#      fresh site (C9, the 9th of the 1024 peers) takes to connect during the flood, beside
#      the same without it; the same flood at the 8-peer hub for reference.
# Prints figures and ratios; fails only on a broken run (a tunnel not up, a tool failing).
# Usage: tests/netns/bench-hub.sh [BUILD_DIR]   (root; skips with a reason otherwise)
# BENCH_ROUNDS=N alternates the two throughput runs N times (default 3; their medians are
# compared); FLOOD_RATE=N sends N datagrams a second (default 0: as fast as one python3 can).
#
#   C1  up1 10.30.1.2 --- 10.30.1.1 u1
#   ...                                    R   r0 10.40.0.1 --- s0 10.40.0.2  S (hub)
#   C9  up1 10.30.9.2 --- 10.30.9.1 u9
#   F   f0  10.30.60.2 --- 10.30.60.1 uf   (the flood)
#
# Inner addresses: the hub 10.99.0.1, site k 10.99.0.(10+k), idle peers 10.100.X.Y.
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
MPTUN=$(pwd)/$B/mptun
. tests/netns/lib.sh

need_root_and_tools jq iperf3 python3 awk ss
[ -x "$MPTUN" ] || { echo "FAIL build: $MPTUN missing"; exit 1; }
NSITES=8
NBIG=1024
PORT=5000
SERVER=10.40.0.2
HUB_IN=10.99.0.1
SECS=${BENCH_SECS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
FLOOD_SECS=${FLOOD_SECS:-5}
FLOOD_RATE=${FLOOD_RATE:-0}
hz=$(getconf CLK_TCK)

now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{printf "%.2f", $1 - $2}'; }
status() { "$MPTUN" status --json "$1" 2>/dev/null; }
jqs() { status "$1" | jq -r "$2" 2>/dev/null; }
hubq() { jqs "$TMP/hub.sock" "$1"; }
# hubstat KEY: a counter of the status document's "hub" object, read from the document's head
# (it comes before the peers: a 1024-peer document may reach the reader cut short)
hubstat() {
	status "$TMP/hub.sock" | head -c 4096 | sed -n 's/.*"hub":{\([^}]*\)}.*/\1/p' | tr ',' '\n' |
		sed -n "s/^\"$1\"://p"
}
# sites_up [K...]: how many of these sites (default 1..8) say established in their own status
sites_up() {
	[ $# -gt 0 ] || set -- $(seq 1 $NSITES)
	for _k in "$@"; do jqs "$TMP/c$_k.sock" .session.established; done | grep -c '^true$'
}
isnum() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
site_ns() { eval "echo \$C$1"; }
inner() { echo "10.99.0.$((10 + $1))"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
die() { echo "FAIL $*"; exit 1; }
result() { echo "RESULT $*"; }

# ---- topology: no shaping anywhere
ns_new R hbr; ns_new S hbs; ns_new F hbf
ip link add r0 netns "$R" type veth peer name s0 netns "$S"
ip -n "$R" addr add 10.40.0.1/24 dev r0
ip -n "$S" addr add $SERVER/24 dev s0
ip -n "$R" link set r0 up
ip -n "$S" link set s0 up
ip -n "$S" route add default via 10.40.0.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
uplink() {	# uplink NS IF ROUTER_IF NET
	ip link add "$2" netns "$1" type veth peer name "$3" netns "$R"
	ip -n "$R" addr add "10.30.$4.1/24" dev "$3"
	ip -n "$R" link set "$3" up
	ip -n "$1" addr add "10.30.$4.2/24" dev "$2"
	ip -n "$1" link set "$2" up
	ip -n "$1" route add default via "10.30.$4.1" dev "$2"
}
for k in $(seq 1 $((NSITES + 1))); do
	ns_new "C$k" "hbc$k"
	uplink "$(site_ns "$k")" up1 "u$k" "$k"
done
uplink "$F" f0 uf 60

# ---- keys and files
umask 077
"$MPTUN" genkey "$TMP/hub.key" || die "tool: mptun genkey"
for k in $(seq 1 $((NSITES + 1))); do "$MPTUN" genkey "$TMP/site$k.key" || die "tool: mptun genkey"; done
HUBPUB=$("$MPTUN" pubkey "$TMP/hub.key") || die "tool: mptun pubkey"
[ -n "$HUBPUB" ] || die "tool: mptun pubkey printed nothing"
# the idle peers' [Peer] sections: inline keys, one /32 each in 10.100.0.0/16
python3 - "$((NBIG - NSITES - 1))" >"$TMP/idle.conf" <<-'EOP' || die "tool: python3 (keys)"
	import base64, os, sys
	for i in range(int(sys.argv[1])):
	    print("\n[Peer]\nName = idle%d\nKey = %s\nAllowedIPs = 10.100.%d.%d/32"
	          % (i + 1, base64.b64encode(os.urandom(32)).decode(), i // 250, i % 250 + 1))
EOP
write_hub_conf() {	# write_hub_conf FILE NPEERS: sites 1..min(NPEERS, 9), then idle ones
	{
		printf '[Interface]\nTun = hub0\nPort = %s\nAddress = %s\nListen = %s\n' $PORT $HUB_IN $SERVER
		printf 'HubKeyFile = %s\nScheduler = ecf\nStatus = %s\n' "$TMP/hub.key" "$TMP/hub.sock"
		_n=$2; [ "$_n" -gt $((NSITES + 1)) ] && _n=$((NSITES + 1))
		for _k in $(seq 1 "$_n"); do
			printf '\n[Peer]\nName = site%s\nKeyFile = %s\nAllowedIPs = %s/32\n' \
				"$_k" "$TMP/site$_k.key" "$(inner "$_k")"
		done
		[ "$2" -gt $((NSITES + 1)) ] && cat "$TMP/idle.conf"
	} >"$1"
	chmod 600 "$1"
}
for k in $(seq 1 $((NSITES + 1))); do
	cat >"$TMP/site$k.conf" <<-EOC
	[Interface]
	Tun = mpt0
	Port = $PORT
	Address = $(inner "$k")
	PeerAddress = $HUB_IN
	Scheduler = ecf
	Status = $TMP/c$k.sock

	[Peer]
	Name = hub
	KeyFile = $TMP/site$k.key
	HubPublicKey = $HUBPUB
	Remote = $SERVER
	Local = 10.30.$k.2
	AllowedIPs = 10.99.0.0/24
	EOC
done
write_hub_conf "$TMP/hub8.conf" $NSITES
write_hub_conf "$TMP/hub$NBIG.conf" $NBIG
out=$("$MPTUN" check -c "$TMP/hub$NBIG.conf" 2>&1) || die "mptun check of the $NBIG-peer file: $(echo "$out" | sed "s|$TMP/||g" | head -n 3 | tr '\n' ' ')"

# iperf3 servers in the hub's namespace, one per site, on every address (the hub's tun
# device comes and goes between the runs)
for k in $(seq 1 $NSITES); do ns_bg "$S" "$TMP/iperf-s$k.log" iperf3 -s -p $((5200 + k)); done
wait_for "[ \"\$(ip netns exec $S ss -Hltn | grep -c ':52[0-9][0-9] ')\" = $NSITES ]" 3 ||
	die "tool: not every iperf3 server listening after 3 s"

start_hub() {	# start_hub CONF: sets HPID; waits for its status socket
	rm -f "$TMP/hub.sock"
	ns_bg "$S" "$TMP/hub.log" "$MPTUN" -c "$1"
	HPID=$LAST_PID
	wait_for "[ -S '$TMP/hub.sock' ] && hubstat mac1 | grep -q '^[0-9]'" 10 ||
		die "the hub did not start (no status after 10 s): $(tail -n 3 "$TMP/hub.log" | tr '\n' ' '); socket: $(ls -l "$TMP/hub.sock" 2>&1); status: $("$MPTUN" status --json "$TMP/hub.sock" 2>&1 | head -c 300)"
}
stop() { for _p in "$@"; do kill "$_p" 2>/dev/null; done; for _p in "$@"; do wait "$_p" 2>/dev/null; done; }
start_site() {	# start_site K: sets SPID_K
	rm -f "$TMP/c$1.sock"
	ns_bg "$(site_ns "$1")" "$TMP/site$1.log" "$MPTUN" -c "$TMP/site$1.conf"
	eval "SPID_$1=\$LAST_PID"
}
site_pids() { for _k in $(seq 1 $NSITES); do eval "echo \$SPID_$_k"; done; }
# wait_sites: all 8 sites' sessions established (each site's own status) within 10 s; prints
# the time
wait_sites() {
	_t0=$(now)
	while :; do
		_est=$(sites_up)
		[ "$_est" = $NSITES ] && { elapsed "$_t0"; return 0; }
		awk "BEGIN {exit !($(elapsed "$_t0") < 10)}" || break
		sleep 0.05
	done
	echo "FAIL ${_est:-no status: 0} of $NSITES sites' sessions established after 10 s; hub log: $(tail -n 2 "$TMP/hub.log" | tr '\n' ' ') site1 log: $(tail -n 2 "$TMP/site1.log" | tr '\n' ' ')" >&2
	return 1
}
# uploads NAME: 8 simultaneous iperf3 uploads for SECS; prints "total_mbps jain min max hub_cpu%"
uploads() {
	_pp=""
	_c0=$(cpu_ticks "$HPID"); _t0=$(now)
	for _k in $(seq 1 $NSITES); do
		ip netns exec "$(site_ns "$_k")" timeout $((SECS + 15)) iperf3 -c $HUB_IN -p $((5200 + _k)) \
			-t "$SECS" -J --connect-timeout 3000 >"$TMP/$1-$_k.json" 2>&1 &
		_pp="$_pp $!"
	done
	for _p in $_pp; do wait "$_p"; done
	_c1=$(cpu_ticks "$HPID"); _w=$(elapsed "$_t0")
	: >"$TMP/$1.goodput"
	for _k in $(seq 1 $NSITES); do
		_bps=$(jq -r '.end.sum_received.bits_per_second // 0' "$TMP/$1-$_k.json" 2>/dev/null)
		isnum "${_bps%%.*}" || _bps=0
		if [ "${_bps%%.*}" = 0 ]; then
			echo "FAIL $1: site$_k's iperf3 moved nothing: $(jq -r '.error // empty' "$TMP/$1-$_k.json" 2>/dev/null || head -c 200 "$TMP/$1-$_k.json")" >&2
			return 1
		fi
		echo "$_bps" >>"$TMP/$1.goodput"
	done
	awk -v c=$((_c1 - _c0)) -v hz="$hz" -v w="$_w" '{ s += $1; q += $1 * $1; n++
		if (n == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
		END { printf "%.1f %.3f %.1f %.1f %.1f\n", s / 1e6, s * s / (n * q), lo / 1e6, hi / 1e6, 100 * c / hz / w }' \
		"$TMP/$1.goodput"
}

# run_phase N: hub with N peers; RSS at rest, 8 sites up, RSS, 8 uploads, RSS.
# Sets REST_N CONN_N LOAD_N UP_N MBPS_N JAIN_N MIN_N MAX_N HCPU_N; leaves hub and sites running.
run_phase() {
	_t0=$(now)
	start_hub "$TMP/hub$1.conf"
	eval "START_$1=$(elapsed "$_t0")"
	sleep 1
	eval "REST_$1=$(rss_kb "$HPID")"
	for k in $(seq 1 $NSITES); do start_site "$k"; done
	_up=$(wait_sites) || exit 1
	eval "UP_$1=$_up"
	sleep 1
	eval "CONN_$1=$(rss_kb "$HPID")"
	_r=$(uploads "up$1") || exit 1
	# shellcheck disable=SC2086
	set -- "$1" $_r
	eval "MBPS_$1=$2 JAIN_$1=$3 MIN_$1=$4 MAX_$1=$5 HCPU_$1=$6 LOAD_$1=$(rss_kb "$HPID")"
}

cat >"$TMP/flood.py" <<-'EOP'
	import os, socket, sys, time
	dst, port, secs, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
	# 64 different INIT-shaped datagrams: type 2, bytes 2-3 zero, 140 bytes
	pkts = [bytes([2, 0, 0, 0]) + os.urandom(136) for _ in range(64)]
	n = 0; t0 = time.monotonic(); end = t0 + secs
	while True:
	    for p in pkts:
	        try:
	            s.sendto(p, (dst, port))
	            n += 1
	        except (BlockingIOError, OSError):
	            pass
	    t = time.monotonic()
	    if t >= end:
	        break
	    if rate and n > rate * (t - t0):
	        time.sleep(min(n / rate - (t - t0), end - t))
	print(n, round(time.monotonic() - t0, 3))
EOP
# flood_start: the flood from F for FLOOD_SECS in the background; flood_end: waits for it and
# sets FL_SENT FL_RATE FL_MAC (hub.mac1's rise) FL_CPU (% of a core) FL_US (CPU per INIT) FL_W
flood_start() {
	FL_MAC0=$(hubstat mac1)
	isnum "$FL_MAC0" || die "no hub.mac1 in the hub's status"
	FL_C0=$(cpu_ticks "$HPID"); FL_T0=$(now)
	ip netns exec "$F" python3 "$TMP/flood.py" $SERVER $PORT "$FLOOD_SECS" "$FLOOD_RATE" >"$TMP/flood.out" 2>&1 &
	FPID=$!
}
flood_end() {
	wait "$FPID" || die "tool: the flood (python3): $(head -n 3 "$TMP/flood.out" | tr '\n' ' ')"
	_c1=$(cpu_ticks "$HPID"); FL_W=$(elapsed "$FL_T0")
	sleep 0.3
	FL_MAC=$(($(hubstat mac1) - FL_MAC0))
	read -r FL_SENT _fs <"$TMP/flood.out"
	FL_SENT=${FL_SENT:-0}
	FL_RATE=$(awk -v n="$FL_SENT" -v s="${_fs:-1}" 'BEGIN {printf "%.0f", n / s}')
	FL_CPU=$(awk -v c=$((_c1 - FL_C0)) -v hz="$hz" -v w="$FL_W" 'BEGIN {printf "%.1f", 100 * c / hz / w}')
	FL_US=$(awk -v c=$((_c1 - FL_C0)) -v hz="$hz" -v m="$FL_MAC" 'BEGIN {printf "%.2f", (m > 0 ? c / hz / m * 1e6 : 0)}')
}

# ---- 1. reference (8 peers configured) and 2. 1024 peers configured, the same 8 busy:
# alternated ROUNDS times, so that a noisy neighbour on the host hits both alike; the medians
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ALL_8=""; ALL_1024=""; CPU_8=""; CPU_1024=""
for round in $(seq "$ROUNDS"); do
	for n in $NSITES $NBIG; do
		run_phase "$n"
		eval "info \"round $round, \$n peers: hub status up in \${START_$n} s, 8 sessions in \${UP_$n} s; uploads \${MBPS_$n} Mbit/s (\${MIN_$n}..\${MAX_$n} per site, Jain \${JAIN_$n}), hub CPU \${HCPU_$n} % of a core\""
		eval "ALL_$n=\"\$ALL_$n \$MBPS_$n\"; CPU_$n=\"\$CPU_$n \$HCPU_$n\""
		if [ "$round" = 1 ] && [ "$n" = $NSITES ]; then
			# the flood's reference: the same junk at the 8-peer hub
			flood_start; flood_end
			REF_CPU=$FL_CPU; REF_US=$FL_US; REF_RATE=$FL_RATE; REF_MAC=$FL_MAC; REF_SENT=$FL_SENT
		fi
		# the last 1024-peer hub and its sites stay for the flood
		if [ "$round" != "$ROUNDS" ] || [ "$n" != $NBIG ]; then
			# shellcheck disable=SC2046
			stop $(site_pids) "$HPID"
		fi
	done
done
MBPS_8=$(echo "$ALL_8" | med); MBPS_1024=$(echo "$ALL_1024" | med)
HCPU_8=$(echo "$CPU_8" | med); HCPU_1024=$(echo "$CPU_1024" | med)
status "$TMP/hub.sock" >"$TMP/hub1024.json"
n=$(jq -r '.peers | length' "$TMP/hub1024.json" 2>/dev/null)
[ -n "$n" ] || info "the $NBIG-peer hub's status document is not whole: $(wc -c <"$TMP/hub1024.json") bytes, ends with '$(tail -c 40 "$TMP/hub1024.json")' (cut short: the hub sends it once without waiting for the reader, and a reader takes at most 256 kB, STATUS_QUERY_MAX); the hub's own counters come first and are read from its head"
[ -z "$n" ] || [ "$n" = $NBIG ] || die "the hub lists $n peers, not $NBIG"
result "throughput, 8 uploads (median of $ROUNDS): $NBIG peers configured $MBPS_1024 Mbit/s, $NSITES peers (reference) $MBPS_8 Mbit/s: ratio $(awk -v a="$MBPS_1024" -v b="$MBPS_8" 'BEGIN {printf "%.3f", a / b}') (goal >= 0.90)"
result "hub CPU during the uploads: $NBIG peers ${HCPU_1024} % of a core, $NSITES peers ${HCPU_8} %; per Gbit/s moved $(awk -v c="$HCPU_1024" -v m="$MBPS_1024" 'BEGIN {printf "%.1f", c / m * 1000}') vs $(awk -v c="$HCPU_8" -v m="$MBPS_8" 'BEGIN {printf "%.1f", c / m * 1000}') %"

# ---- 3. RSS
result "hub RSS at rest: $NBIG peers $(mb "$REST_1024") MB, $NSITES peers $(mb "$REST_8") MB: $(awk -v a="$REST_1024" -v b="$REST_8" -v n=$((NBIG - NSITES)) 'BEGIN {printf "%.1f", (a - b) / n}') kB per configured peer"
result "hub RSS with 8 sites connected: $NBIG peers $(mb "$CONN_1024") MB, $NSITES peers $(mb "$CONN_8") MB; after the uploads $(mb "$LOAD_1024") MB vs $(mb "$LOAD_8") MB; per busy site $(awk -v a="$LOAD_1024" -v b="$REST_1024" -v n=$NSITES 'BEGIN {printf "%.0f", (a - b) / n}') kB"
result "$NBIG-peer hub RSS: $(mb "$LOAD_1024") MB, goal < 64 MB: $(awk -v a="$LOAD_1024" 'BEGIN {print (a < 64 * 1024 ? "met" : "NOT met")}')"

# ---- 4. the handshake flood, 1024 peers configured, 8 sites connected and idle
# wait_site9 T0: seconds from T0 until site 9's own status says established (at most 10 s)
wait_site9() {
	_t0=$1
	while :; do
		[ "$(jqs "$TMP/c9.sock" .session.established)" = true ] && { elapsed "$_t0"; return 0; }
		awk "BEGIN {exit !($(elapsed "$_t0") < 10)}" || break
		sleep 0.02
	done
	echo "FAIL site9 not established after 10 s: $(tail -n 2 "$TMP/site9.log" | tr '\n' ' ')" >&2
	return 1
}
t9=$(now); start_site 9
quiet9=$(wait_site9 "$t9") || exit 1
stop "$SPID_9"
# the hub at idle for reference (8 sessions, keepalives only)
c0=$(cpu_ticks "$HPID"); t0=$(now); sleep 2
idle_cpu=$(awk -v c=$(($(cpu_ticks "$HPID") - c0)) -v hz="$hz" -v w="$(elapsed "$t0")" 'BEGIN {printf "%.1f", 100 * c / hz / w}')

flood_start
sleep 1
t9=$(now); start_site 9
flood9=$(wait_site9 "$t9") || { wait "$FPID"; exit 1; }
flood_end
est=$(sites_up $(seq 1 $((NSITES + 1))))
info "flood at the $NSITES-peer hub: $REF_SENT junk INITs ($REF_RATE/s), hub.mac1 +$REF_MAC; at the $NBIG-peer hub: $FL_SENT ($FL_RATE/s), hub.mac1 +$FL_MAC (want all: dropped at mac1; any short were lost before the hub's socket); $est of $((NSITES + 1)) sites established after it"
result "handshake flood, $NBIG peers: hub CPU $FL_CPU % of a core over $FL_W s (idle $idle_cpu %), $FL_US us CPU per junk INIT dropped; $NSITES peers (reference): $REF_CPU %, $REF_US us"
result "a fresh site connects in $flood9 s during the flood, $quiet9 s without it"
echo "$NBIG peers / $NSITES peers throughput: $(awk -v a="$MBPS_1024" -v b="$MBPS_8" 'BEGIN {printf "%.2fx", a / b}') (goal >= 0.90)"
kill -0 "$HPID" 2>/dev/null || die "the hub died"
