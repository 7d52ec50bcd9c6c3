#!/bin/sh
# The daemon started from configuration files (mptun -c): a server and a client with two
# uplinks each written as a file, a ping through the tunnel, the file's values in effect (tun
# name, MTU, scheduler, four paths, the privilege drop), an inline Key in a mode-0600 file,
# and files the daemon must refuse before it creates anything (exit 2, FILE:LINE).
# Usage: tests/netns/conffile.sh [BUILD_DIR]   (root; skips with a reason otherwise)
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
MPTUN=$(pwd)/$B/mptun
. tests/netns/lib.sh

need_root_and_tools ping jq
[ -x "$MPTUN" ] || { echo "FAIL build: $MPTUN missing"; exit 1; }
ns_setup_topology
"$MPTUN" genkey "$TMP/key" || exit 1
status() { "$MPTUN" status --json "$1" 2>/dev/null; }
jqs() { status "$1" | jq -r "$2" 2>/dev/null; }

cat >"$TMP/server.conf" <<EOC
# the server: two addresses to listen on
[Interface]
Tun = mts
Port = 5000
Address = 10.99.0.2
PeerAddress = 10.99.0.1
Listen = 10.202.0.2, 10.202.0.3
Status = $TMP/s.sock
User = nobody

[Peer]
Name = office
KeyFile = $TMP/key
AllowedIPs = 10.99.0.1/32, 192.168.1.0/24
EOC
# the client: the key inline, so the file is private
(umask 077; cat >"$TMP/client.conf" <<EOC
[interface]
tun = mtc
port = 5000
address = 10.99.0.1
peeraddress = 10.99.0.2
mtu = 1400
scheduler = roundrobin
status = $TMP/c.sock

[peer]
name = hq
key = $(cat "$TMP/key")
allowedips = 10.99.0.2/32
remote = 10.202.0.2, 10.202.0.3
local = 10.201.1.2, 10.201.2.2
EOC
)
out=$("$MPTUN" check -c "$TMP/server.conf" 2>&1 && "$MPTUN" check -c "$TMP/client.conf" 2>&1)
check check-ok $? "$(echo "$out" | sed "s|$TMP/||g" | tr '\n' ' ')"

ns_bg "$S" "$TMP/server.log" "$MPTUN" -c "$TMP/server.conf"
SPID=$LAST_PID
wait_for "[ -S '$TMP/s.sock' ]" 3
ns_bg "$C" "$TMP/client.log" "$MPTUN" -c "$TMP/client.conf"
wait_for "ip netns exec $C ping -c 1 -W 1 10.99.0.2" 6
check tunnel-up $? "ping from the client's mtc to 10.99.0.2 through a tunnel started with -c"
out=$(ip netns exec "$C" ping -c 20 -i 0.05 -q 10.99.0.2 2>&1 | grep -E 'loss')
echo "$out" | grep -q ' 0% packet loss'
check ping $? "$out"
mtu=$(ip -n "$C" -o link show mtc | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
sched=$(jqs "$TMP/c.sock" .sched)
n=$(jqs "$TMP/c.sock" '[.paths[] | select(.up)] | length')
[ "$mtu" = 1400 ] && [ "$sched" = roundrobin ] && [ "$n" = 4 ]
check file-values $? "client tun mtc MTU $mtu (1400), scheduler $sched (roundrobin), $n of 4 paths up"
# the table `mptun status` prints without --json: the peer by its file name, its 4 paths up
table=$("$MPTUN" status "$TMP/c.sock" 2>&1)
echo "$table" | grep -q '^peer hq: session up' &&
	[ "$(echo "$table" | grep -c ' -> 10.202.0.[23]:5000 *up ')" = 4 ]
check status-table $? "$(echo "$table" | sed -n '2p;5p' | tr -s ' ' | tr '\n' '|')"
uid=$(awk '/^Uid:/ {print $2}' "/proc/$SPID/status" 2>/dev/null)
[ "$uid" = 65534 ] && ip -n "$S" link show mts >/dev/null 2>&1
check server-user $? "server on tun mts runs as uid $uid (User = nobody: 65534)"
grep -q "warning: a secret" "$TMP/client.log"
check key-not-secret "$((! $?))" "an inline Key is a key: no warning about a weak secret"

# AllowedIPs in force: the server takes from the client only sources in 10.99.0.1/32 and
# 192.168.1.0/24; the client sends into the tunnel only towards 10.99.0.2/32
ip -n "$C" addr add 10.77.0.1/32 dev mtc
out=$(ip netns exec "$C" ping -c 5 -i 0.05 -W 1 -I 10.77.0.1 10.99.0.2 2>&1 | grep -E 'loss')
drops=$(jqs "$TMP/s.sock" .drops.source_outside)
echo "$out" | grep -q ' 100% packet loss' && [ "${drops:-0}" -ge 5 ]
check allowed-source $? "5 pings from 10.77.0.1 (outside the server's AllowedIPs for the client): $out; the server counts $drops drops.source_outside"
ip -n "$C" route add 10.88.0.0/24 dev mtc
out=$(ip netns exec "$C" ping -c 5 -i 0.05 -W 1 10.88.0.5 2>&1 | grep -E 'loss')
drops=$(jqs "$TMP/c.sock" .drops.no_route)
rx=$(jqs "$TMP/s.sock" .tun_out)
echo "$out" | grep -q ' 100% packet loss' && [ "${drops:-0}" -ge 5 ]
check allowed-destination $? "5 pings to 10.88.0.5, routed into mtc but outside the client's AllowedIPs: $out; the client counts $drops drops.no_route (the server's tun_out stays $rx)"
out=$(ip netns exec "$C" ping -c 5 -i 0.05 -q 10.99.0.2 2>&1 | grep -E 'loss')
echo "$out" | grep -q ' 0% packet loss'
check allowed-inside $? "and the allowed ping still goes: $out"

# files refused before anything is created: exit 2, one line naming FILE:LINE, no tun left
refuse() {	# refuse NAME LINE SAYS FILE
	ip netns exec "$C" "$MPTUN" -c "$4" >"$TMP/r.out" 2>"$TMP/r.err"
	_rc=$?
	[ $_rc -eq 2 ] && [ "$(wc -l <"$TMP/r.err")" -eq 1 ] &&
		grep -qF "mptun: $4:$2: $3" "$TMP/r.err" && ! ip -n "$C" link show mtbad >/dev/null 2>&1
	check "refuse-$1" $? "exit $_rc: $(sed "s|$TMP/||g" "$TMP/r.err")"
}
sed 's/^tun = mtc/tun = mtbad/' "$TMP/client.conf" >"$TMP/two.conf"
printf '[peer]\nname = second\nkey = %s\n' "$(cat "$TMP/key")" >>"$TMP/two.conf"
chmod 600 "$TMP/two.conf"
refuse second-peer 16 "more than one [Peer]: a hub names its static key in [Interface] HubKeyFile" "$TMP/two.conf"
sed 's/^tun = mtc/tun = mtbad/' "$TMP/client.conf" >"$TMP/open.conf"
chmod 644 "$TMP/open.conf"
refuse key-in-open-file 12 "Key in a file that group or others may read (mode 0644)" "$TMP/open.conf"
finish
