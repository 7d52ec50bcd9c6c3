#!/bin/sh
# IPv6 inside the tunnel (issue 12 part 4): a client and a server on one veth that carries both
# IPv4 and IPv6, and three tunnels between them, each with its own port and tun device:
#   mt4   inner IPv4 + IPv6 (dual-stack) over outer IPv4
#   mt6   inner IPv4 + IPv6 (dual-stack) over outer IPv6
#   mt66  inner IPv6 only                over outer IPv6, with a secret (-k): both ends agree
#         on the salt of an IPv6 pair
# Checks: ping and ping6 through each; full-MTU IPv6 packets with DF set; TCP over inner IPv6
# over outer IPv4 (iperf3 2 s, and a file whose checksum must match) and TCP over inner IPv4
# over outer IPv6 (iperf3 2 s); no packet dropped as malformed; a bad -v/-t line refused; a
# host with IPv6 disabled told so in one line.
# Usage: tests/netns/dualstack.sh [BUILD_DIR]   (root; skips with a reason otherwise)
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
MPTUN=$(pwd)/$B/mptun
. tests/netns/lib.sh

need_root_and_tools ping iperf3 nc jq sha256sum
[ -x "$MPTUN" ] || { echo "FAIL build: $MPTUN missing"; exit 1; }
[ -e /proc/sys/net/ipv6 ] || skip_all "no IPv6 in this kernel"
ns_new C m46c; ns_new S m46s
ip link add c0 netns "$C" type veth peer name s0 netns "$S"
ip -n "$C" addr add 10.203.0.1/24 dev c0
ip -n "$S" addr add 10.203.0.2/24 dev s0
ip -n "$C" addr add fd00:203::1/64 dev c0 nodad
ip -n "$S" addr add fd00:203::2/64 dev s0 nodad
ip -n "$C" link set c0 up
ip -n "$S" link set s0 up
"$MPTUN" genkey "$TMP/key" || exit 1

status() { "$MPTUN" status --json "$1" 2>/dev/null; }
jqs() { status "$1" | jq -r "$2" 2>/dev/null; }
# the summary of ping's output: "N% loss, rtt avg/max A/M ms"
ping_sum() {
	echo "$1" | awk -F'[ /]' '/packet loss/ {for (i = 1; i <= NF; i++) if ($i ~ /%$/) l = $i}
		/^rtt/ {a = $(NF - 3); m = $(NF - 2)} NR == 1 {first = $0}
		END {if (l == "") print first; else printf "%s loss, rtt avg/max %s/%s ms", l, a, m}'
}
# ping until the first answer, at most 6 s (wait_for counts tries, and each ping that gets no
# answer takes its -W): a broken tunnel fails in 6 s
ping_first() {	# ping_first NS ADDR
	_end=$(( $(date +%s) + 6 ))
	while [ "$(date +%s)" -lt "$_end" ]; do
		ip netns exec "$1" ping -c 1 -W 0.2 -q "$2" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
mtu_of() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }

# tunnel NAME PORT OUTER_SERVER CLIENT_INNER SERVER_INNER [KEY...]: CLIENT_INNER and
# SERVER_INNER are lists of inner addresses ("10.99.4.1 fd00:4::1"), the client's -v and the
# server's -t; KEY the key's options (default -K KEYFILE)
tunnel() {
	_name=$1 _port=$2 _outer=$3 _v="" _t=""
	for a in $4; do _v="$_v -v $a"; _t="$_t -t $a"; done
	for a in $5; do _v="$_v -t $a"; _t="$_t -v $a"; done
	# a server without -l listens on the IPv4 wildcard: over IPv6, on the IPv6 one
	case $3 in *:*) _t="$_t -l ::" ;; esac
	shift 5
	[ $# -gt 0 ] || set -- -K "$TMP/key"
	# shellcheck disable=SC2086
	ns_bg "$S" "$TMP/$_name-s.log" "$MPTUN" -i "$_name" -p "$_port" $_t "$@" \
		--status "$TMP/$_name-s.sock"
	# shellcheck disable=SC2086
	ns_bg "$C" "$TMP/$_name-c.log" "$MPTUN" -i "$_name" -p "$_port" $_v -r "$_outer" "$@" \
		--status "$TMP/$_name-c.sock"
}
tunnel mt4 5000 10.203.0.2 "10.99.4.1 fd00:4::1" "10.99.4.2 fd00:4::2"
tunnel mt6 5001 fd00:203::2 "10.99.6.1 fd00:6::1" "10.99.6.2 fd00:6::2"
# a secret, not a key: both ends derive the same Argon2id salt from the IPv6 pair (config.h)
tunnel mt66 5002 fd00:203::2 "fd00:66::1" "fd00:66::2" -k dualstack-test-secret

for t in "mt4 10.99.4.2 fd00:4::2 IPv4" "mt6 10.99.6.2 fd00:6::2 IPv6" "mt66 - fd00:66::2 IPv6"; do
	# shellcheck disable=SC2086
	set -- $t
	ping_first "$C" "$3"; rc=$?
	addrs=$(ip -n "$C" -o addr show dev "$1" | awk '$3 != "inet6" || $4 !~ /^fe80/ {print $4, $5, $6}' | tr '\n' ' ')
	route=$(ip -n "$C" -6 route show "$3" | awk '{print $1, $2, $3}')
	check "$1-up" $rc "tunnel over outer $4: ping6 $3 $([ $rc -eq 0 ] && echo answered || echo lost); $1 has: $addrs(MTU $(mtu_of "$C" "$1")), route ${route:-none}"
	if [ "$2" != - ]; then
		out=$(ip netns exec "$C" ping -c 20 -i 0.05 -W 1 "$2" 2>&1)
		echo "$out" | grep -q ' 0% packet loss'
		check "$1-ping" $? "inner IPv4 $2 over outer $4: $(ping_sum "$out")"
	fi
	out=$(ip netns exec "$C" ping -6 -c 20 -i 0.05 -W 1 "$3" 2>&1)
	echo "$out" | grep -q ' 0% packet loss'
	check "$1-ping6" $? "inner IPv6 $3 over outer $4: $(ping_sum "$out")"
	# the largest inner IPv6 packet the tun takes, DF: 40 bytes IPv6 + 8 ICMPv6 + payload
	mtu=$(mtu_of "$C" "$1")
	out=$(ip netns exec "$C" ping -6 -c 5 -i 0.05 -W 1 -M "do" -s $((mtu - 48)) "$3" 2>&1)
	echo "$out" | grep -q ' 0% packet loss'
	check "$1-ping6-mtu" $? "inner IPv6 packets of $mtu bytes (the tun MTU), DF: $(ping_sum "$out")"
done

# iperf3 NAME SERVER_ADDR FLAG: 2 s of TCP from the client to SERVER_ADDR; prints Mbit/s
iperf() {
	ns_bg "$S" "$TMP/iperf-$1.log" iperf3 -s -1 -B "$2" -p 5201
	wait_for "ip netns exec $S ss -Hltn 'sport = 5201' | grep -q LISTEN" 3
	ip netns exec "$C" timeout 10 iperf3 "$3" -c "$2" -p 5201 -t 2 --connect-timeout 2000 -J \
		>"$TMP/iperf-$1.json" 2>&1
	# after a test it exits by itself; without one (no route, say) it would wait for ever
	kill "$LAST_PID" 2>/dev/null
	wait "$LAST_PID" 2>/dev/null
	# iperf3 -J may exit 0 on a failed connection: the figure says
	jq -r '(.end.sum_received.bits_per_second // 0) / 1e6 | . * 10 | round / 10' \
		"$TMP/iperf-$1.json" 2>/dev/null || echo 0
}
mbps=$(iperf mt4 fd00:4::2 -6)
awk "BEGIN {exit !(${mbps:-0} > 1)}"
check tcp6-over-outer4 $? "iperf3 -6 for 2 s over mt4: ${mbps:-0} Mbit/s (> 1)"
mbps=$(iperf mt6 10.99.6.2 -4)
awk "BEGIN {exit !(${mbps:-0} > 1)}"
check tcp4-over-outer6 $? "iperf3 -4 for 2 s over mt6: ${mbps:-0} Mbit/s (> 1)"

# the bytes arrive unchanged: 5 MB over inner IPv6, outer IPv4
head -c 5000000 /dev/urandom >"$TMP/file"
ip netns exec "$S" sh -c "nc -6 -l fd00:4::2 7000 >'$TMP/recv'" & NCPID=$!
PIDS="$PIDS $NCPID"
wait_for "ip netns exec $S ss -Hltn 'sport = 7000' | grep -q LISTEN" 3
ip netns exec "$C" nc -6 -N -w 10 fd00:4::2 7000 <"$TMP/file" || kill $NCPID 2>/dev/null
wait $NCPID
a=$(sha256sum <"$TMP/file" | cut -c1-16); b=$(sha256sum <"$TMP/recv" | cut -c1-16)
[ "$a" = "$b" ]
check file-over-inner6 $? "5 MB over inner IPv6, outer IPv4: sha256 sent $a received $b"

drops=""; zero=0
for n in mt4 mt6 mt66; do
	for e in c s; do
		d=$(jqs "$TMP/$n-$e.sock" '.drops.malformed')
		drops="$drops $n-$e ${d:-?}"
		[ "$d" = 0 ] && zero=$((zero + 1))
	done
done
check no-malformed "$([ $zero -eq 6 ]; echo $?)" "packets dropped as malformed, per end:$drops"

# a family in -v without its -t: one line, exit 2, no device left
ip netns exec "$C" "$MPTUN" -i mtbad -p 5009 -v 10.99.9.1 -v fd00:9::1 -t 10.99.9.2 \
	-K "$TMP/key" -r 10.203.0.2 >/dev/null 2>"$TMP/bad.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ] && grep -q 'and -t none' "$TMP/bad.err" &&
	! ip -n "$C" link show mtbad >/dev/null 2>&1
check bad-family $? "exit $rc: $(head -c 150 "$TMP/bad.err")"

# a host with IPv6 disabled: one line that says so, exit 1, no device left
ns_new N m46n
ip netns exec "$N" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$N" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$N" "$MPTUN" -i mtbad -p 5009 -v 10.99.9.2 -v fd00:9::2 -t 10.99.9.1 -t fd00:9::1 \
	-K "$TMP/key" >/dev/null 2>"$TMP/bad.err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ] && grep -q 'disable_ipv6' "$TMP/bad.err" &&
	! ip -n "$N" link show mtbad >/dev/null 2>&1
check ipv6-disabled $? "exit $rc: $(head -c 150 "$TMP/bad.err")"
finish
