# Shared by the netns tests: namespaces with a random suffix, cleanup on exit, one line per
# check, a final "N passed, N failed". Source it; call ns_setup_topology (or build your own
# with ns_new), then check/skip/info.
#
# Topology of ns_setup_topology: a client with two uplinks, a router, a server with two
# addresses on one link; policy routing on the client so each source address leaves by its
# own uplink (as on a host with two ISPs).
#
#   client  c1 10.201.1.2 --- r1 10.201.1.1  router  r3 10.202.0.1 --- s1 10.202.0.2  server
#           c2 10.201.2.2 --- r2 10.201.2.1                                10.202.0.3
set -u

SFX=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
NS_LIST=""
PIDS=""
PASS=0
FAIL=0
TMP=$(mktemp -d /tmp/mptun-netns.XXXXXX)

ns_cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	for n in $NS_LIST; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$TMP"
	left=$(ip netns list 2>/dev/null | grep -c -- "-$SFX" || true)
	if [ "$left" -ne 0 ]; then
		echo "FAIL cleanup: $left namespaces with suffix $SFX left behind"
		exit 1
	fi
}
trap ns_cleanup EXIT
trap 'exit 130' INT TERM

# With CHECK_STEAL=1 (tests/netem/run.sh), each check's line ends with the share of the CPU the
# hypervisor took since the check before (tests/netns/steal.sh).
. tests/netns/steal.sh
CHECK_TICKS=""
# check_steal: CHECK_STEAL_TXT becomes " [host steal X %]" since the last call ("" the first time)
check_steal() {
	_now=$(cpu_ticks)
	CHECK_STEAL_TXT=""
	[ -n "$CHECK_TICKS" ] && CHECK_STEAL_TXT=" [host steal $(steal_pct "$CHECK_TICKS" "$_now") %]"
	CHECK_TICKS=$_now
}
CHECK_STEAL_TXT=""
[ "${CHECK_STEAL:-}" = 1 ] && check_steal
check() {	# check NAME CONDITION_STATUS DETAIL
	[ "${CHECK_STEAL:-}" = 1 ] && check_steal
	if [ "$2" -eq 0 ]; then
		PASS=$((PASS + 1)); echo "PASS $1: $3$CHECK_STEAL_TXT"
	else
		FAIL=$((FAIL + 1)); echo "FAIL $1: $3$CHECK_STEAL_TXT"
	fi
}
info() { echo "INFO $*"; }
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; }
skip_all() { echo "SKIP $*"; echo "0 passed, 0 failed (skipped)"; exit 0; }

need_root_and_tools() {
	[ "$(id -u)" -eq 0 ] || skip_all "netns tests need root (namespaces, tun devices)"
	for t in ip "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip_all "missing tool: $t"
	done
	[ -c /dev/net/tun ] || skip_all "no /dev/net/tun in this kernel"
	ip netns add "mptun-probe-$SFX" 2>/dev/null || skip_all "cannot create network namespaces"
	# entering one remounts / and /sys: not possible in a chroot whose root is not a mount point
	if ! _why=$(ip netns exec "mptun-probe-$SFX" true 2>&1); then
		ip netns del "mptun-probe-$SFX"
		skip_all "cannot enter a network namespace here (ip netns exec: $(echo "$_why" | head -n 1))"
	fi
	ip netns del "mptun-probe-$SFX"
}

ns_new() {	# ns_new VAR NAME: creates NAME-$SFX and sets VAR to it (not in a subshell, so
		# that the cleanup list survives)
	_n="$2-$SFX"
	ip netns add "$_n" || exit 1
	NS_LIST="$NS_LIST $_n"
	ip -n "$_n" link set lo up
	eval "$1=\$_n"
}

ns_setup_topology() {
	ns_new C mc; ns_new R mr; ns_new S ms
	ip link add c1 netns "$C" type veth peer name r1 netns "$R"
	ip link add c2 netns "$C" type veth peer name r2 netns "$R"
	ip link add r3 netns "$R" type veth peer name s1 netns "$S"
	ip -n "$C" addr add 10.201.1.2/24 dev c1
	ip -n "$C" addr add 10.201.2.2/24 dev c2
	ip -n "$R" addr add 10.201.1.1/24 dev r1
	ip -n "$R" addr add 10.201.2.1/24 dev r2
	ip -n "$R" addr add 10.202.0.1/24 dev r3
	ip -n "$S" addr add 10.202.0.2/24 dev s1
	ip -n "$S" addr add 10.202.0.3/24 dev s1
	for l in c1 c2; do ip -n "$C" link set "$l" up; done
	for l in r1 r2 r3; do ip -n "$R" link set "$l" up; done
	ip -n "$S" link set s1 up
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$S" route add default via 10.202.0.1
	# policy routing: each uplink's source address leaves by that uplink
	ip -n "$C" route add default via 10.201.1.1 dev c1
	ip -n "$C" route add default via 10.201.1.1 dev c1 table 101
	ip -n "$C" route add default via 10.201.2.1 dev c2 table 102
	ip -n "$C" rule add from 10.201.1.2 table 101
	ip -n "$C" rule add from 10.201.2.2 table 102
}

# Start a command in a namespace in the background, its output in a file; sets LAST_PID.
ns_bg() {	# ns_bg NS LOGFILE CMD...
	_ns=$1; _log=$2; shift 2
	ip netns exec "$_ns" "$@" >"$_log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}

# Cut an uplink where it enters a router: every frame in or out of IF is dropped (nftables),
# until uplink_restore. The link itself stays up, as when an ISP fails upstream.
uplink_cut() {	# uplink_cut NS IF
	ip netns exec "$1" nft -f - <<-EOF
	table inet cut {
		chain f {
			type filter hook forward priority 0;
			iifname "$2" drop
			oifname "$2" drop
		}
	}
	EOF
}
uplink_restore() { ip netns exec "$1" nft delete table inet cut; }

# Wait up to $2 seconds (in 0.1 s steps) for a command to succeed.
wait_for() {	# wait_for "CMD" SECONDS
	_n=$(($2 * 10))
	while [ "$_n" -gt 0 ]; do
		eval "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}
