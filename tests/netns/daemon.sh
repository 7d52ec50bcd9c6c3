#!/bin/sh
# The real mptun daemon between network namespaces (issue: the daemon on real hosts).
# A client with two uplinks, a server with two addresses: 4 paths. Checks the tunnel (ping,
# a 20 MB file, status), failover and recovery of an uplink, a server restart, replayed
# captures (also after both ends restart), a junk flood, a wrong key, and bad start-ups.
# Usage: tests/netns/daemon.sh [BUILD_DIR]   (root; skips with a reason otherwise)
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
MPTUN=$(pwd)/$B/mptun
WT=$(pwd)/$B/wiretool
. tests/netns/lib.sh

need_root_and_tools ping nc jq nft setpriv sha256sum
[ -x "$MPTUN" ] && [ -x "$WT" ] || { echo "FAIL build: $MPTUN or $WT missing"; exit 1; }
ns_setup_topology
PORT=5000
"$MPTUN" genkey "$TMP/key" || exit 1
"$MPTUN" genkey "$TMP/wrong" || exit 1
SLOG=$TMP/server.log
CLOG=$TMP/client.log

now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{printf "%.2f", $1 - $2}'; }
status() { "$MPTUN" status --json "$1" 2>/dev/null; }
jqs() { status "$1" | jq -r "$2" 2>/dev/null; }
pid_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ping_ok() { ip netns exec "$C" ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1; }
# Ping every 50 ms until the first answer (at most 6 s): the time a tunnel takes to come back.
# (While the tun device is not there yet, ping fails at once: try again.)
ping_first() {
	_end=$(( $(date +%s) + 6 ))
	while [ "$(date +%s)" -lt "$_end" ]; do
		ip netns exec "$C" ping -c 1 -W 0.05 -q 10.99.0.2 >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}

start_server() {	# start_server [EXTRA...]
	ns_bg "$S" "$SLOG" "$MPTUN" -i mt0 -p $PORT -v 10.99.0.2 -t 10.99.0.1 \
		-l 10.202.0.2 -l 10.202.0.3 -K "$TMP/key" --status "$TMP/s.sock" --user nobody "$@"
	SPID=$LAST_PID
}
start_client() {	# start_client KEYFILE LOG [EXTRA...]
	_k=$1; _log=$2; shift 2
	ns_bg "$C" "$_log" "$MPTUN" -i mt0 -p $PORT -v 10.99.0.1 -t 10.99.0.2 \
		-r 10.202.0.2 -r 10.202.0.3 -K "$_k" --status "$TMP/c.sock" "$@"
	CPID=$LAST_PID
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# the pid of the daemon itself (ns_bg's pid is `ip netns exec`, which execs it: the same)

# ---- up: ping, a file, status
start_server
wait_for "[ -S '$TMP/s.sock' ]" 3	# the client's first handshake finds it listening
start_client "$TMP/key" "$CLOG" -l 10.201.1.2 -l 10.201.2.2
t0=$(now)
ping_first; rc=$?
check tunnel-up $rc "first ping answered $(elapsed "$t0") s after start"
out=$(ip netns exec "$C" ping -c 20 -i 0.05 -q 10.99.0.2 2>&1 | grep -E 'loss|rtt')
echo "$out" | grep -q ' 0% packet loss'
check ping $? "$(echo "$out" | tr '\n' ' ')"

head -c 20000000 /dev/urandom >"$TMP/file"
ip netns exec "$S" sh -c "nc -l 10.99.0.2 7000 >'$TMP/recv'" & NCPID=$!
PIDS="$PIDS $NCPID"
sleep 0.3
t0=$(now)
ip netns exec "$C" nc -N -w 10 10.99.0.2 7000 <"$TMP/file"
wait $NCPID
a=$(sha256sum <"$TMP/file" | cut -c1-16); b=$(sha256sum <"$TMP/recv" | cut -c1-16)
[ "$a" = "$b" ]
check file-20MB $? "sha256 sent $a received $b in $(elapsed "$t0") s"

# every path carries the file's data; the way back carries what the server's scheduler puts
# there (TCP ACKs: it may favour some paths) and the feedback that keeps each path up
n=$(jqs "$TMP/c.sock" '[.paths[] | select(.up and .tx_packets > 100 and .rx_packets > 10)] | length')
check status-4-paths "$([ "$n" = 4 ]; echo $?)" "client status: $n of 4 paths up, each with data out and feedback back"
jqs "$TMP/c.sock" '.paths[] | "  \(.local) -> \(.remote) up=\(.up) srtt=\(.srtt_ms)ms tx=\(.tx_packets) rx=\(.rx_packets) weight=\(.weight)"'
n=$(jqs "$TMP/s.sock" '[.paths[] | select(.up)] | length')
check status-server "$([ "$n" = 4 ]; echo $?)" "server status: $n of 4 paths up"
uid=$(awk '/^Uid/ {print $2}' "/proc/$SPID/status")
check user-drop "$([ "$uid" = 65534 ]; echo $?)" "server runs as uid $uid after --user nobody"
info "server RSS at rest: $(pid_rss_kb "$SPID") kB, client $(pid_rss_kb "$CPID") kB"

# ---- failover: uplink 2 drops everything (nftables on the router), then comes back
max_gap() { awk -F'[][]' '/bytes from/ {t = $2; if (p && t - p > g) g = t - p; p = t} END {printf "%.2f", g}' "$1"; }
ip netns exec "$C" ping -D -i 0.05 -c 100 -W 1 10.99.0.2 >"$TMP/ping1" 2>&1 & PP=$!
sleep 1
uplink_cut "$R" r2
sleep 3.5
wait $PP
g=$(max_gap "$TMP/ping1")
recv=$(grep -c 'bytes from' "$TMP/ping1")
check failover-gap "$(awk "BEGIN {exit !($g <= 1.0)}"; echo $?)" "uplink 2 cut at 1 s: longest ping gap $g s (<= 1), $recv of 100 answered"
n=$(jqs "$TMP/c.sock" '[.paths[] | select(.local | startswith("10.201.2.2")) | select(.up)] | length')
check failover-down "$([ "$n" = 0 ]; echo $?)" "paths over uplink 2 marked down: $((2 - n)) of 2"
before=$(jqs "$TMP/c.sock" '[.paths[] | select(.local | startswith("10.201.2.2")) | .tx_packets] | add')
uplink_restore "$R"
t0=$(now)
ip netns exec "$C" ping -i 0.05 -c 60 -q 10.99.0.2 >/dev/null 2>&1 & PP=$!
back=""
for _ in $(seq 30); do
	n=$(jqs "$TMP/c.sock" '[.paths[] | select(.local | startswith("10.201.2.2")) | select(.up)] | length')
	if [ "$n" = 2 ]; then back=$(elapsed "$t0"); break; fi
	sleep 0.1
done
wait $PP
after=$(jqs "$TMP/c.sock" '[.paths[] | select(.local | startswith("10.201.2.2")) | .tx_packets] | add')
[ -n "$back" ] && awk "BEGIN {exit !($back <= 2.0)}" && [ "$after" -gt "$before" ]
check failover-back $? "uplink 2 restored: both its paths up after ${back:-never} s (<= 2), packets sent on it $before -> $after"

# ---- server restart: back within 2 s without touching the client
# capture first, for the replay checks below: 300 datagrams to the server while ping runs
ip netns exec "$C" ping -i 0.02 -c 200 -q 10.99.0.2 >/dev/null 2>&1 & PP=$!
ip netns exec "$R" "$WT" capture r3 $PORT 300 5 "$TMP/cap" >/dev/null
wait $PP
sleep 0.5
s_out0=$(jqs "$TMP/s.sock" '.tun_out'); s_drop0=$(jqs "$TMP/s.sock" '.drops.replay')
rep=$(ip netns exec "$R" "$WT" replay r3 "$TMP/cap")
sleep 0.5
s_out1=$(jqs "$TMP/s.sock" '.tun_out'); s_drop1=$(jqs "$TMP/s.sock" '.drops.replay')
nrep=$(echo "$rep" | awk '{print $2}')
[ "$nrep" -ge 250 ] && [ "$s_out1" = "$s_out0" ] && [ $((s_drop1 - s_drop0)) -eq "$nrep" ]
check replay-live $? "$rep: server tun_out $s_out0 -> $s_out1 (unchanged), replay drops +$((s_drop1 - s_drop0))"

stop "$SPID"
t0=$(now)
start_server
ping_first; rc=$?
e=$(elapsed "$t0")
[ $rc -eq 0 ] && awk "BEGIN {exit !($e <= 2.0)}"
check server-restart $? "tunnel back $e s after the server restarted (<= 2), client untouched"

# ---- the same capture after both ends restart
stop "$CPID"
t0=$(now)
start_client "$TMP/key" "$CLOG.2" -l 10.201.1.2 -l 10.201.2.2
ping_first; rc=$?
e=$(elapsed "$t0")
[ $rc -eq 0 ] && awk "BEGIN {exit !($e <= 2.0)}"
check client-restart $? "tunnel back $e s after the client restarted (<= 2), server untouched"
sleep 0.5
# the engine's drops, and the hub's before it (a datagram of an index no session holds)
drops() { jqs "$TMP/s.sock" '(.drops | .replay + .old_session + .bad_auth + .malformed) + (.hub | .unknown_index + .mac1 + .malformed)'; }
s_out0=$(jqs "$TMP/s.sock" '.tun_out'); d0=$(drops)
rep=$(ip netns exec "$R" "$WT" replay r3 "$TMP/cap")
sleep 0.5
s_out1=$(jqs "$TMP/s.sock" '.tun_out'); d1=$(drops)
nrep=$(echo "$rep" | awk '{print $2}')
[ "$s_out1" = "$s_out0" ] && [ $((d1 - d0)) -ge "$nrep" ]
check replay-after-restart $? "$rep: server tun_out $s_out0 -> $s_out1 (unchanged), drops +$((d1 - d0)) ($(jqs "$TMP/s.sock" '"old_session \(.drops.old_session), bad_auth \(.drops.bad_auth), replay \(.drops.replay), hub unknown_index \(.hub.unknown_index)"'))"

# ---- junk: 100 000 random and damaged datagrams at the server, traffic meanwhile
sleep 0.5
rss0=$(pid_rss_kb "$SPID")
ip netns exec "$C" ping -i 0.05 -c 60 -W 1 10.99.0.2 >"$TMP/ping2" 2>&1 & PP=$!
jr=$(ip netns exec "$R" "$WT" junk 10.202.0.2 $PORT 100000 "$TMP/cap")
wait $PP
rss1=$(pid_rss_kb "$SPID")
during=$(grep -c 'bytes from' "$TMP/ping2")
kill -0 "$SPID" 2>/dev/null
check junk-alive $? "$jr: server still running"
check junk-rss "$([ $((rss1 - rss0)) -le 1024 ]; echo $?)" "server RSS $rss0 -> $rss1 kB (growth <= 1024)"
check junk-traffic "$([ "$during" -ge 54 ] && ping_ok; echo $?)" "ping during the flood: $during of 60 answered; after it: $(ping_ok && echo ok || echo lost)"
info "server drops after the flood: $(jqs "$TMP/s.sock" '.drops | tostring')"

# ---- wrong key: no session, said once
stop "$CPID"
skip=$(wc -l <"$SLOG")
start_client "$TMP/wrong" "$TMP/wrong.log" -l 10.201.1.2
sleep 4
est=$(jqs "$TMP/c.sock" '.session.established')
stop "$CPID"
nsrv=$(tail -n +"$((skip + 1))" "$SLOG" | grep -c 'fail authentication')
ncli=$(grep -c 'no answer from the server' "$TMP/wrong.log")
[ "$est" = false ] && [ "$nsrv" -eq 1 ] && [ "$ncli" -eq 1 ]
check wrong-key $? "established=$est; server said it $nsrv time(s), client $ncli time(s) in 4 s"
{ tail -n +"$((skip + 1))" "$SLOG"; cat "$TMP/wrong.log"; } | grep 'fail authentication\|no answer' | sed 's/^/  /'

# ---- one uplink loses what the server sends it (issue 10, finding 1): first only the handshake
# answers (type byte 3) towards uplink 1, from the start and across rekeys every 3 s; then every
# datagram towards it. The tunnel comes up on the other uplink and stays up.
one_way() {	# one_way NAME NFT-MATCH
	ip netns exec "$R" nft -f - <<-EOF
	table inet oneway {
		chain f {
			type filter hook forward priority 0;
			ip daddr 10.201.1.2 udp sport $PORT $2 counter drop
		}
	}
	EOF
}
one_way resp '@th,64,8 3'
skip=$(wc -l <"$SLOG")
start_client "$TMP/key" "$TMP/oneway.log" -l 10.201.1.2 -l 10.201.2.2 --rekey 3 --verbose
t0=$(now)
ping_first; rc=$?
e=$(elapsed "$t0")
ip netns exec "$C" ping -i 0.05 -c 200 -W 1 10.99.0.2 >"$TMP/ping3" 2>&1
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$TMP/ping3")
rekeys=$(grep -c 'rekeyed' "$TMP/oneway.log")
dropped=$(ip netns exec "$R" nft list table inet oneway | sed -n 's/.*packets \([0-9]*\).*/\1/p')
[ $rc -eq 0 ] && awk "BEGIN {exit !($e <= 1.0 && $loss <= 1)}" && [ "$rekeys" -ge 2 ] && [ "$dropped" -ge 1 ]
check oneway-answers-lost $? "answers to uplink 1 dropped ($dropped): first ping $e s after start (<= 1), then 200 pings over 10 s with $rekeys rekeys (>= 2): loss ${loss:-?} % (<= 1)"
ip netns exec "$R" nft delete table inet oneway
ip netns exec "$C" ping -D -i 0.05 -c 160 -W 1 10.99.0.2 >"$TMP/ping4" 2>&1 & PP=$!
sleep 1
one_way all ''
wait $PP
g=$(max_gap "$TMP/ping4")
recv=$(grep -c 'bytes from' "$TMP/ping4")
rekeys2=$(grep -c 'rekeyed' "$TMP/oneway.log")
awk "BEGIN {exit !($g <= 1.0)}" && [ $((rekeys2 - rekeys)) -ge 2 ]
check oneway-dead-uplink $? "everything to uplink 1 dropped: longest ping gap $g s (<= 1), $recv of 160 answered, $((rekeys2 - rekeys)) rekeys meanwhile (>= 2)"
ip netns exec "$R" nft delete table inet oneway
stop "$CPID"

# ---- bad start-ups: one line, the right exit code, nothing left behind
bad() {	# bad NAME WANT_CODE WANT_TEXT NS ARGS...
	_name=$1; _code=$2; _text=$3; _ns=$4; shift 4
	ip netns exec "$_ns" "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
	_rc=$?
	_lines=$(wc -l <"$TMP/bad.err")
	grep -q "$_text" "$TMP/bad.err" && [ "$_rc" -eq "$_code" ] && [ "$_lines" -eq 1 ] &&
		! ip -n "$_ns" link show mtbad >/dev/null 2>&1
	check "bad-$_name" $? "exit $_rc, $_lines line: $(head -c 150 "$TMP/bad.err")"
}
A="-p $PORT -v 10.99.1.1 -t 10.99.1.2"
bad unknown-option 2 "unknown option" "$C" "$MPTUN" --frobnicate
bad both-keys 2 "both given" "$C" "$MPTUN" -i mtbad $A -k x -K "$TMP/key"
head -c 31 /dev/urandom >"$TMP/short"
chmod 600 "$TMP/short"	# its length is the problem here, not its mode (see secrets.sh)
bad short-key 1 "not a 32-byte key" "$C" "$MPTUN" -i mtbad $A -K "$TMP/short" -r 10.202.0.2
bad missing-key 1 "No such file" "$C" "$MPTUN" -i mtbad $A -K "$TMP/none" -r 10.202.0.2
bad not-root 1 "CAP_NET_ADMIN" "$C" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all "$MPTUN" -i mtbad $A -k secret -r 10.202.0.2
start_server
sleep 0.3
bad tun-busy 1 "in use by process" "$S" "$MPTUN" -i mt0 $A -K "$TMP/key" -l 10.202.0.3
bad port-in-use 1 "port is in use" "$S" "$MPTUN" -i mtbad $A -K "$TMP/key" -l 10.202.0.2
bad not-local 1 "not on this host" "$C" "$MPTUN" -i mtbad $A -K "$TMP/key" -r 10.202.0.2 -l 10.9.9.9
# the router has no default route: nothing reaches 10.203.0.9 from it
bad no-route 1 "no route from" "$R" "$MPTUN" -i mtbad $A -K "$TMP/key" -r 10.203.0.9 -l 10.201.1.1

# ---- IPv6 outer addresses: a server on the IPv6 wildcard (answers by IPV6_PKTINFO), a client
# with one IPv6 -r and no -l
ns_new X6 m6c; ns_new Y6 m6s
ip link add x6 netns "$X6" type veth peer name y6 netns "$Y6"
ip -n "$X6" addr add fd00:6::1/64 dev x6 nodad
ip -n "$Y6" addr add fd00:6::2/64 dev y6 nodad
ip -n "$X6" link set x6 up
ip -n "$Y6" link set y6 up
ns_bg "$Y6" "$TMP/v6s.log" "$MPTUN" -i mt6 -p $PORT -v 10.99.6.2 -t 10.99.6.1 -l :: -K "$TMP/key"
ns_bg "$X6" "$TMP/v6c.log" "$MPTUN" -i mt6 -p $PORT -v 10.99.6.1 -t 10.99.6.2 -r fd00:6::2 -K "$TMP/key" \
	--status "$TMP/v6.sock"
wait_for "ip netns exec $X6 ping -c 1 -W 1 10.99.6.2" 5; rc=$?
mtu=$(ip -n "$X6" -o link show mt6 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
[ $rc -eq 0 ] && [ "$mtu" = 1408 ]
check ipv6-outer $? "ping through a tunnel over IPv6: $([ $rc -eq 0 ] && echo answered || echo lost); tun MTU $mtu (1408 over IPv6); path $(jqs "$TMP/v6.sock" '.paths[0] | "\(.local) -> \(.remote) up=\(.up)"')"
finish
