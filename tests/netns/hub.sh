#!/bin/sh
# The daemon as a hub: one server (S) behind a 100 Mbit/s uplink, 8 client sites (C1..C8) with
# two uplinks each, all through one router (R), dual-stack inside. Every site's session with
# the hub, the hub's 16 paths (one per client uplink) and its status table, its metrics
# (promtool, and a real Prometheus finding one rtt series per path), every site reaching every
# other site through the hub (56 pings, the hub's kernel forwarding from hub0 back into hub0),
# ping6 through it, 8 simultaneous uploads sharing the hub's uplink (Jain's index of the
# goodputs, their total), a site sending with another site's inner address (dropped, counted
# as source_outside), a client whose key no peer has (no session: hub.unknown_peer, not
# hub.mac1), a SIGHUP removing a site and adding one while two others talk, the INITs of that
# moment resent from another address (nothing started), and `mptun check` of hub files.
# Usage: tests/netns/hub.sh [BUILD_DIR]   (root; skips with a reason otherwise)
#
#   C1  up1 10.30.1.2  --- 10.30.1.1  u1a
#       up2 10.30.2.2  --- 10.30.2.1  u1b
#   ...                                     R   r0 10.40.0.1 --- s0 10.40.0.2  S (hub)
#   C8  up1 10.30.15.2 --- 10.30.15.1 u8a       (tbf 100 Mbit/s both ways on r0 and s0)
#       up2 10.30.16.2 --- 10.30.16.1 u8b
#   C9  up1 10.30.17.2 --- 10.30.17.1 u9a   (the stranger: a key no hub peer has)
#
# Inner addresses: the hub 10.99.0.1, site k 10.99.0.(10+k).
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
MPTUN=$(pwd)/$B/mptun
WT=$(pwd)/$B/wiretool
. tests/netns/lib.sh

need_root_and_tools ping jq tc iperf3 ss awk curl promtool prometheus
[ -x "$MPTUN" ] && [ -x "$WT" ] || { echo "FAIL build: $MPTUN or $WT missing"; exit 1; }
NSITES=8
PORT=5000
SERVER=10.40.0.2
HUB_IN=10.99.0.1
RATE=100mbit
MPORT=9470

now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{printf "%.2f", $1 - $2}'; }
status() { "$MPTUN" status --json "$1" 2>/dev/null; }
jqs() { status "$1" | jq -r "$2" 2>/dev/null; }
hubq() { jqs "$TMP/hub.sock" "$1"; }
isnum() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
site_ns() { eval "echo \$C$1"; }	# site_ns K: the namespace of site K
inner() { echo "10.99.0.$((10 + $1))"; }	# inner K: site K's tunnel address
inner6() { echo "fd99::$((10 + $1))"; }		# and its IPv6 one (the tunnel is dual-stack)
HUB_IN6=fd99::1
# Jain's fairness index of the numbers on stdin (one a line): (sum x)^2 / (n * sum x^2);
# 0 when there is nothing or everything is 0
jain() { awk '{ s += $1; q += $1 * $1; n++ } END { if (n && q > 0) printf "%.4f\n", s * s / (n * q); else print 0 }'; }
# wait for the pids given, not for the daemons started with ns_bg
wait_pids() { for _p in "$@"; do wait "$_p" 2>/dev/null; done; }

# ---- topology
hub_topology() {
	ns_new R hubr; ns_new S hubs
	ip link add r0 netns "$R" type veth peer name s0 netns "$S"
	ip -n "$R" addr add 10.40.0.1/24 dev r0
	ip -n "$S" addr add $SERVER/24 dev s0
	ip -n "$R" link set r0 up
	ip -n "$S" link set s0 up
	ip -n "$S" route add default via 10.40.0.1
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
	# the server's uplink: 100 Mbit/s each way (no netem in this kernel: no delay)
	for _x in "$R r0" "$S s0"; do
		set -- $_x
		tc -n "$1" qdisc add dev "$2" root tbf rate $RATE burst 64kb latency 20ms || exit 1
	done
	# the hub forwards between sites (hub0 -> hub0); without redirects to say so
	ip netns exec "$S" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$S" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip netns exec "$S" sysctl -qw net.ipv4.conf.all.send_redirects=0
	ip netns exec "$S" sysctl -qw net.ipv4.conf.default.send_redirects=0
	for _k in $(seq 1 $((NSITES + 1))); do
		ns_new "C$_k" "hubc$_k"
		_ns=$(site_ns "$_k")
		_n=2; [ "$_k" -gt "$NSITES" ] && _n=1	# the stranger has one uplink
		for _u in $(seq 1 $_n); do
			_net=$((2 * _k - 2 + _u))
			_r=u$_k$(echo "$_u" | tr 12 ab)
			ip link add "up$_u" netns "$_ns" type veth peer name "$_r" netns "$R"
			ip -n "$R" addr add "10.30.$_net.1/24" dev "$_r"
			ip -n "$R" link set "$_r" up
			ip -n "$_ns" addr add "10.30.$_net.2/24" dev "up$_u"
			ip -n "$_ns" link set "up$_u" up
			# policy routing: each uplink's source address leaves by that uplink
			[ "$_u" = 1 ] && ip -n "$_ns" route add default via "10.30.$_net.1" dev "up$_u"
			ip -n "$_ns" route add default via "10.30.$_net.1" dev "up$_u" table $((100 + _u))
			ip -n "$_ns" rule add from "10.30.$_net.2" table $((100 + _u))
		done
	done
}
# the uplink addresses of site K, comma-separated
site_locals() {
	_s="10.30.$((2 * $1 - 1)).2"
	[ "$1" -le "$NSITES" ] && _s="$_s, 10.30.$((2 * $1)).2"
	echo "$_s"
}

# ---- configuration files
write_hub_conf() {	# write_hub_conf FILE NPEERS WITH_HUBKEY(1|0)
	{
		printf '[Interface]\nTun = hub0\nPort = %s\nAddress = %s, %s\nListen = %s\n' $PORT \
			$HUB_IN $HUB_IN6 $SERVER
		[ "$3" = 1 ] && printf 'HubKeyFile = %s\n' "$TMP/hub.key"
		printf 'Scheduler = ecf\nStatus = %s\nMetrics = 127.0.0.1:%s\n' "$TMP/hub.sock" $MPORT
		for _k in $(seq 1 "$2"); do
			printf '\n[Peer]\nName = site%s\nKeyFile = %s\nAllowedIPs = %s/32, %s/128\n' \
				"$_k" "$TMP/site$_k.key" "$(inner "$_k")" "$(inner6 "$_k")"
		done
	} >"$1"
}
write_site_conf() {	# write_site_conf K KEYFILE
	cat >"$TMP/site$1.conf" <<-EOC
	[Interface]
	Tun = mpt0
	Port = $PORT
	Address = $(inner "$1"), $(inner6 "$1")
	PeerAddress = $HUB_IN, $HUB_IN6
	Scheduler = ${SITE_SCHED:-ecf}
	Status = $TMP/c$1.sock

	[Peer]
	Name = hub
	KeyFile = $2
	HubPublicKey = $HUBPUB
	Remote = $SERVER
	Local = $(site_locals "$1")
	AllowedIPs = 10.99.0.0/24, fd99::/64
	EOC
}

hub_topology
"$MPTUN" genkey "$TMP/hub.key" || exit 1
for k in $(seq 1 $NSITES); do "$MPTUN" genkey "$TMP/site$k.key" || exit 1; done
"$MPTUN" genkey "$TMP/stranger.key" || exit 1
if ! HUBPUB=$("$MPTUN" pubkey "$TMP/hub.key" 2>"$TMP/pubkey.err") || [ -z "$HUBPUB" ]; then
	echo "FAIL build: mptun pubkey: $(head -n 1 "$TMP/pubkey.err")"; exit 1
fi
write_hub_conf "$TMP/hub.conf" $NSITES 1
for k in $(seq 1 $NSITES); do write_site_conf "$k" "$TMP/site$k.key"; done
write_site_conf 9 "$TMP/stranger.key"

# ---- 1. every site's session with the hub
ns_bg "$S" "$TMP/hub.log" "$MPTUN" -c "$TMP/hub.conf"
HPID=$LAST_PID
# a real Prometheus scraping the hub every second (checked once the sites are up)
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: hub
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
ns_bg "$S" "$TMP/prometheus.log" prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/tsdb" --web.listen-address=127.0.0.1:9090 --log.level=warn
wait_for "[ -S '$TMP/hub.sock' ]" 3 || info "no status socket from the hub after 3 s: $(tail -n 3 "$TMP/hub.log" | tr '\n' ' ')"
t0=$(now)
for k in $(seq 1 $NSITES); do
	ns_bg "$(site_ns "$k")" "$TMP/site$k.log" "$MPTUN" -c "$TMP/site$k.conf"
done
# a client adds no route for its AllowedIPs: the test routes the other sites through mpt0 as
# soon as the tun device is there (up); meanwhile the hub's status is polled for 8 sessions
noroute=$(seq 1 $NSITES | tr '\n' ' ')
est=""; up_after=""
while :; do
	_left=""
	for k in $noroute; do
		{ ip -n "$(site_ns "$k")" route replace 10.99.0.0/24 dev mpt0 2>/dev/null &&
		  ip -n "$(site_ns "$k")" -6 route replace fd99::/64 dev mpt0 2>/dev/null; } ||
			_left="$_left $k"
	done
	noroute=$_left
	if [ -z "$up_after" ]; then
		est=$(hubq '[.peers[] | select(.session.established == true)] | length')
		[ "$est" = $NSITES ] && up_after=$(elapsed "$t0")
	fi
	[ -n "$up_after" ] && [ -z "$noroute" ] && break
	awk "BEGIN {exit !($(elapsed "$t0") < 5)}" || break
	sleep 0.1
done
[ -z "$noroute" ] || info "no route to 10.99.0.0/24 through mpt0 (no tun device up after 5 s) in site(s)$noroute"
[ -n "$up_after" ]
check hub-up $? "${est:-no status: 0} of $NSITES sites' sessions established $([ -n "$up_after" ] && echo "after $up_after s" || echo "in 5 s") (want all within 5 s)"
[ -n "$up_after" ] || info "hub log: $(tail -n 3 "$TMP/hub.log" | tr '\n' ' '); site1 log: $(tail -n 3 "$TMP/site1.log" | tr '\n' ' ')"
hubq '.peers[] | "  \(.name): established=\(.session.established), \(.paths | length) path(s)"'

# ---- 2. the hub's paths: one per client uplink, all up
want=$(for k in $(seq 1 $NSITES); do echo "10.30.$((2 * k - 1)).2"; echo "10.30.$((2 * k)).2"; done | sort | tr '\n' ' ')
# a ping on every uplink first (each site's ping leaves by the scheduler's paths)
pp=""
for k in $(seq 1 $NSITES); do
	ip netns exec "$(site_ns "$k")" ping -c 10 -i 0.05 -W 1 -q $HUB_IN >/dev/null 2>&1 &
	pp="$pp $!"
done
wait_pids $pp
n=""; remotes=""
wait_for "[ \"\$(hubq '[.peers[].paths[] | select(.up == true)] | length')\" = $((2 * NSITES)) ]" 3
n=$(hubq '[.peers[].paths[] | select(.up == true)] | length')
remotes=$(hubq '[.peers[].paths[] | select(.up == true) | .remote | sub(":[0-9]+$"; "")] | unique | .[]' | sort | tr '\n' ' ')
nr=$(echo "$remotes" | wc -w)
[ "$n" = $((2 * NSITES)) ] && [ "$nr" = $((2 * NSITES)) ] && [ "$remotes" = "$want" ]
check hub-paths $? "${n:-no status: 0} paths up at the hub, $nr distinct client uplinks (want $((2 * NSITES)) and $((2 * NSITES)): the 16 uplink addresses)"
[ "$remotes" = "$want" ] || info "up at the hub: ${remotes:-none}; want: $want"
# and its table: a block per peer
tp=$("$MPTUN" status "$TMP/hub.sock" 2>&1 | grep -c '^peer site[0-9]*: session up')
[ "$tp" = $NSITES ]
check hub-table $? "mptun status (the table) on the hub: $tp peers with their session up (want $NSITES)"

# ---- 2b. the hub's metrics: a clean exposition, and one rtt series per path in Prometheus
ip netns exec "$S" curl -s -m 2 "http://127.0.0.1:$MPORT/metrics" >"$TMP/hub.prom"
out=$(promtool check metrics <"$TMP/hub.prom" 2>&1)
prc=$?
query() { ip netns exec "$S" curl -s -m 2 -G --data-urlencode "query=$1" \
	http://127.0.0.1:9090/api/v1/query | jq -r "$2" 2>/dev/null; }
wait_for "[ \"\$(query mptun_path_rtt_seconds '.data.result | length')\" = $((2 * NSITES)) ]" 10
n=$(query mptun_path_rtt_seconds '.data.result | length')
np=$(query mptun_path_rtt_seconds '[.data.result[].metric.peer] | unique | length')
[ $prc -eq 0 ] && [ "$n" = $((2 * NSITES)) ] && [ "$np" = $NSITES ]
check hub-metrics $? "promtool check metrics on a scrape of the hub: exit $prc ${out:+($out)}; Prometheus: ${n:-no answer: 0} series of mptun_path_rtt_seconds for ${np:-0} peers (want $((2 * NSITES)) for $NSITES)"

# ---- 3. every site reaches every other site through the hub
mkdir "$TMP/mesh"
pp=""
for i in $(seq 1 $NSITES); do
	for j in $(seq 1 $NSITES); do
		[ "$i" = "$j" ] && continue
		( ip netns exec "$(site_ns "$i")" ping -c 1 -W 2 -q "$(inner "$j")" >/dev/null 2>&1
		  echo $? >"$TMP/mesh/$i-$j" ) &
		pp="$pp $!"
	done
done
wait_pids $pp
ok=$(cat "$TMP/mesh"/* | grep -c '^0$')
total=$(ls "$TMP/mesh" | wc -l)
failed=$(grep -lv '^0$' "$TMP/mesh"/* 2>/dev/null | sed 's|.*/||' | tr '\n' ' ')
[ "$total" = $((NSITES * (NSITES - 1))) ] && [ "$ok" = "$total" ]
check hub-mesh $? "$ok of $((NSITES * (NSITES - 1))) site-to-site pings answered through the hub${failed:+ (lost: $failed)}"
info "hub forwarded: $(hubq '[.peers[] | "\(.name) in \(.tun_in) out \(.tun_out)"] | join(", ")')"

# ---- 3b. IPv6 inside: the hub's peers' IPv6 prefixes are routed too
ip netns exec "$(site_ns 1)" ping -6 -c 2 -i 0.2 -W 2 -q $HUB_IN6 >/dev/null 2>&1
r1=$?
ip netns exec "$(site_ns 1)" ping -6 -c 2 -i 0.2 -W 2 -q "$(inner6 2)" >/dev/null 2>&1
r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ]
check hub-ipv6 $? "inner IPv6: site1 -> hub $HUB_IN6 $([ $r1 -eq 0 ] && echo answered || echo lost), site1 -> site2 $(inner6 2) through the hub $([ $r2 -eq 0 ] && echo answered || echo lost)"

# ---- 4. 8 uploads at once share the hub's 100 Mbit/s
pp=""
for k in $(seq 1 $NSITES); do
	ns_bg "$S" "$TMP/iperf-s$k.log" iperf3 -s -1 -B $HUB_IN -p $((5200 + k))
done
wait_for "[ \"\$(ip netns exec $S ss -Hltn | grep -c '$HUB_IN:52[0-9][0-9] ')\" = $NSITES ]" 3 ||
	info "not every iperf3 server listening after 3 s"
for k in $(seq 1 $NSITES); do
	ip netns exec "$(site_ns "$k")" timeout 20 iperf3 -c $HUB_IN -p $((5200 + k)) -t 8 -J --connect-timeout 3000 >"$TMP/iperf$k.json" 2>&1 &
	pp="$pp $!"
done
wait_pids $pp
: >"$TMP/goodput"
figs=""
for k in $(seq 1 $NSITES); do
	bps=$(jq -r '.end.sum_received.bits_per_second // 0' "$TMP/iperf$k.json" 2>/dev/null)
	isnum "${bps%%.*}" || bps=0
	echo "$bps" >>"$TMP/goodput"
	figs="$figs site$k $(awk -v b="$bps" 'BEGIN {printf "%.1f", b / 1e6}')"
	[ "$bps" = 0 ] && info "site$k iperf3: $(jq -r '.error // empty' "$TMP/iperf$k.json" 2>/dev/null || head -c 200 "$TMP/iperf$k.json")"
done
tot=$(awk '{ s += $1 } END { printf "%.1f", s / 1e6 }' "$TMP/goodput")
j=$(jain <"$TMP/goodput")
awk -v j="$j" -v t="$tot" 'BEGIN {exit !(j >= 0.9 && t >= 85)}'
check hub-share $? "sites on ${SITE_SCHED:-ecf}; goodput Mbit/s:$figs; total $tot (want >= 85 of $RATE), Jain $j (want >= 0.9)"

# ---- 5. a site sending with another site's address gets nothing through
C1NS=$(site_ns 1)
so0=$(hubq '.peers[] | select(.name == "site1") | .drops.source_outside')
to0=$(hubq '.peers[] | select(.name == "site1") | .tun_out')
ip -n "$C1NS" addr add "$(inner 2)/32" dev mpt0
out=$(ip netns exec "$C1NS" ping -I "$(inner 2)" -c 3 -i 0.2 -W 1 $HUB_IN 2>&1 | grep 'packet loss')
sleep 0.3
so1=$(hubq '.peers[] | select(.name == "site1") | .drops.source_outside')
to1=$(hubq '.peers[] | select(.name == "site1") | .tun_out')
ip -n "$C1NS" addr del "$(inner 2)/32" dev mpt0
echo "$out" | grep -q ' 100% packet loss' && isnum "$so0" && isnum "$so1" &&
	[ $((so1 - so0)) -ge 3 ]
check hub-source $? "site1 pings $HUB_IN from $(inner 2) (site2's): ${out:-no ping output}; the hub's site1 drops.source_outside $so0 -> $so1 (want +3; its engine's tun_out $to0 -> $to1 counts them before the check)"

# ---- 6. a client whose key no hub peer has
mac0=$(hubq .hub.mac1); unk0=$(hubq .hub.unknown_peer)
ns_bg "$(site_ns 9)" "$TMP/site9.log" "$MPTUN" -c "$TMP/site9.conf"
sleep 3
est9=$(jqs "$TMP/c9.sock" .session.established)
mac1=$(hubq .hub.mac1); unk1=$(hubq .hub.unknown_peer)
nest=$(hubq '[.peers[] | select(.session.established == true)] | length')
[ "$est9" = false ] && isnum "$mac0" && isnum "$unk0" && [ "$mac1" = "$mac0" ] &&
	isnum "$unk1" && [ "$unk1" -gt "$unk0" ]
check hub-wrong-key $? "stranger's session established=${est9:-no status}; hub.mac1 $mac0 -> $mac1 (want unchanged), hub.unknown_peer $unk0 -> $unk1 (want more); $nest of $NSITES sites still established"

# ---- 7. SIGHUP: site8 removed and the stranger added as site9, while site2 pings site3
# every 10 ms and site8 pings the hub every 50 ms (-D: each reply's wall-clock time)
write_hub_conf "$TMP/hub.conf" $((NSITES - 1)) 1
printf '\n[Peer]\nName = site9\nKeyFile = %s\nAllowedIPs = %s/32, %s/128\n' "$TMP/stranger.key" \
	"$(inner 9)" "$(inner6 9)" >>"$TMP/hub.conf"
ip netns exec "$(site_ns 2)" ping -n -D -i 0.01 -w 4 "$(inner 3)" >"$TMP/hup23.ping" 2>&1 &
p23=$!
ip netns exec "$(site_ns $NSITES)" ping -n -D -i 0.05 -w 4 $HUB_IN >"$TMP/hup8.ping" 2>&1 &
p8=$!
# what reaches the hub is recorded meanwhile: the new site's INIT, for a replay below
ip netns exec "$R" "$WT" capture r0 $PORT 20000 3 "$TMP/hup.cap" >"$TMP/cap.out" 2>&1 &
pcap=$!
sleep 1
thup=$(now)
kill -HUP "$HPID"
up9=""
while awk "BEGIN {exit !($(elapsed "$thup") < 3)}"; do
	[ "$(jqs "$TMP/c9.sock" .session.established)" = true ] && { up9=$(elapsed "$thup"); break; }
	sleep 0.05
done
ip netns exec "$(site_ns 9)" ping -c 2 -i 0.2 -W 1 -q $HUB_IN >/dev/null 2>&1
ping9=$?
wait_pids $p23 $p8
# the longest gap between replies site2 -> site3; site8's last reply after the HUP
gap=$(sed -n 's/^\[\([0-9.]*\)\].*time=.*/\1/p' "$TMP/hup23.ping" |
	awk 'NR > 1 && ($1 - p) * 1000 > g {g = ($1 - p) * 1000} {p = $1; n++} END {printf "%.0f %d", g, n}')
n23=${gap#* }; gap=${gap% *}
last8=$(sed -n 's/^\[\([0-9.]*\)\].*time=.*/\1/p' "$TMP/hup8.ping" | tail -n 1)
end8=$(echo "${last8:-0} $thup" | awk '{printf "%.2f", $1 - $2}')
peers=$(hubq '[.peers[].name] | join(" ")')
isnum "$n23" && [ "$n23" -ge 100 ] && [ "$gap" -le 100 ] &&
	awk "BEGIN {exit !($end8 <= 1.0)}" && [ -n "$up9" ] && [ $ping9 -eq 0 ] &&
	[ "$(hubq '.peers | length')" = $NSITES ]
check hub-reload $? "SIGHUP with site$NSITES removed and site9 added: site$NSITES's last reply $end8 s after it (want <= 1.0), site9 up after ${up9:-no session in 3} s (want <= 2) and pinging ($([ $ping9 -eq 0 ] && echo yes || echo no)); site2 -> site3 every 10 ms meanwhile: $n23 replies, longest gap ${gap} ms (want <= 100); peers now: $peers"
awk "BEGIN {exit !(${up9:-9} <= 2)}" || info "site9 log: $(tail -n 3 "$TMP/site9.log" | tr '\n' ' '); hub log: $(tail -n 4 "$TMP/hub.log" | tr '\n' ' ')"

# ---- 7b. the INITs recorded meanwhile (the new site's, and removed site8's retries),
# replayed from site1's address: no new session, no address learnt, each one counted
wait_pids $pcap
q9() { hubq ".peers[] | select(.name == \"site9\") | $1"; }
s0=$(q9 .session.sessions); r0=$(q9 .drops.replay); h0=$(q9 .session.handshakes_resent)
u0=$(hubq .hub.unknown_peer)
out=$(ip netns exec "$(site_ns 1)" "$WT" resend $SERVER $PORT "$TMP/hup.cap" 2 2>&1)
rrc=$?
nres=$(echo "$out" | awk '{print $2}')
sleep 0.5
s1=$(q9 .session.sessions); r1=$(q9 .drops.replay); h1=$(q9 .session.handshakes_resent)
u1=$(hubq .hub.unknown_peer)
addrs=$(q9 '[.paths[].remote | sub(":[0-9]+$"; "")] | unique | join(" ")')
isnum "$s0" && isnum "$r1" && isnum "$h1" && isnum "$u1" && isnum "$nres" && [ $rrc -eq 0 ] &&
	[ "$s1" = "$s0" ] && [ $((r1 - r0 + h1 - h0 + u1 - u0)) -ge "$nres" ] &&
	[ "$addrs" = "10.30.17.2" ] && [ "$(jqs "$TMP/c9.sock" .session.established)" = true ]
check hub-replay $? "site9's captured INITs resent from site1: ${out:-nothing resent}; site9's sessions $s0 -> $s1 (want unchanged); each one an old counter (replays $r0 -> $r1) or, within a second of the INIT it copies, answered with the same RESP (copies $h0 -> $h1), or removed site8's, now unknown (hub.unknown_peer $u0 -> $u1), want +$nres in all; its remote addresses: ${addrs:-none} (want only 10.30.17.2); still established"

# ---- 8. mptun check of hub files
out=$("$MPTUN" check -c "$TMP/hub.conf" 2>&1)
check hub-check $? "mptun check -c hub.conf: $(echo "${out:-no output}" | sed "s|$TMP/||g" | tr '\n' ' ')"
write_hub_conf "$TMP/nohubkey.conf" 2 0
"$MPTUN" check -c "$TMP/nohubkey.conf" >"$TMP/nk.out" 2>"$TMP/nk.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/nk.err")" -eq 1 ] &&
	grep -qE "^mptun: $TMP/nohubkey.conf:[0-9]+: " "$TMP/nk.err"
check hub-check-no-hubkey $? "two [Peer]s and no HubKeyFile: exit $rc (want 2), $(wc -l <"$TMP/nk.err") line (want 1 with FILE:LINE): $(sed "s|$TMP/||g" "$TMP/nk.err" | tr '\n' ' ')"

kill -0 "$HPID" 2>/dev/null
check hub-alive $? "the hub still running at the end"
finish
