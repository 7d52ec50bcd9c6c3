#!/bin/sh
# make netem-test: the real mptun daemon over four emulated uplinks, against one uplink alone,
# MPTCP over the same uplinks, and the simulator on the same parameters.
#
#   client c1..c4 --- [emu: e1a..e4a <link model> e1b..e4b] --- r1..r4 router rs --- s0 server
#   10.30.X.2                                                   10.30.X.1       10.40.0.1  10.40.0.2
#                                                                       router rs2 --- s1 (second
#                                                                       10.41.0.1  10.41.0.2 address)
#
# Link emulation: netem (tc) where the kernel has sch_netem, otherwise linkemu, the simulator's
# own link model (sim/link.c) driven by the wall clock over AF_PACKET; the output says which.
# Usage: tests/netem/suite.sh [BUILD_DIR]   DUR=seconds per iperf3 run (default 8; the lossy
#        part's UDP runs 5, its Reno runs LOSSY_DUR, default 20);
#        BENCH_TSV=FILE also writes the aggregation and heterogeneous figures for make bench;
#        ONLY="aggregation two-addresses heterogeneous lossy failover trace" runs those parts alone;
#        SCHEDS="..." the schedulers compared (default: all five);
#        SIM_SEEDS=N the simulator's figures are the mean of seeds 1..N (default 5);
#        KEEP=DIR keeps every iperf3 JSON there (N-what.json), to look at a run second by second.
#        Issue 11's parts run by default; ONLY="$QPARTS" runs them alone;
#        QSCHED=the scheduler they test (default ecf), QDUR=seconds
#        per iperf3 run in them (default 6), QOMIT=seconds of slow start run before those and
#        not counted (iperf3 -O, default 1), QFILE_MB=size of the download part's file (100),
#        QDLREP=GETs on its heterogeneous mix, through MPTCP and a new tunnel each, whose
#        medians it checks (3).
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
DUR=${DUR:-8}
SIM_SEEDS=${SIM_SEEDS:-5}
MPTUN=$(pwd)/$B/mptun
EMU=$(pwd)/$B/linkemu
SIM=$(pwd)/$B/sim
LTE=sim/traces/TMobile-LTE-short
QPARTS="latency download equal far-path call lte-share"
PARTS="aggregation two-addresses heterogeneous lossy failover trace latency download equal far-path call lte-share"
SCHEDS=${SCHEDS:-"weighted lossaware roundrobin arrival ecf"}
QSCHED=${QSCHED:-ecf}
QDUR=${QDUR:-6}
QOMIT=${QOMIT:-1}
QFILE_MB=${QFILE_MB:-100}
QDLREP=${QDLREP:-3}
ONLY=${ONLY:-$PARTS}
# the suite's own settings: one line and exit 2 when one is wrong, before anything is set up
case $DUR in ''|*[!0-9]*) DUR=0;; esac
[ "$DUR" -ge 1 ] 2>/dev/null || { echo "suite: DUR: a whole number of seconds, at least 1"; exit 2; }
case $QDUR in ''|*[!0-9]*) QDUR=0;; esac
[ "$QDUR" -ge 4 ] 2>/dev/null || { echo "suite: QDUR: a whole number of seconds, at least 4"; exit 2; }
case $QDLREP in ''|*[!0-9]*) QDLREP=0;; esac
[ "$QDLREP" -ge 1 ] 2>/dev/null || { echo "suite: QDLREP: a whole number of GETs, at least 1"; exit 2; }
case $QOMIT in ''|*[!0-9]*) echo "suite: QOMIT: a whole number of seconds, 0 or more"; exit 2;; esac
case $QFILE_MB in ''|*[!0-9]*|0) echo "suite: QFILE_MB: a whole number of megabytes, at least 1"; exit 2;; esac
case $SIM_SEEDS in ''|*[!0-9]*|0) echo "suite: SIM_SEEDS: a whole number of seeds, at least 1"; exit 2;; esac
for p in $ONLY; do
	case " $PARTS $QPARTS " in *" $p "*) ;; *) echo "suite: ONLY: unknown part '$p' (parts: $PARTS $QPARTS)"; exit 2;; esac
done
for f in "$MPTUN" "$EMU" "$SIM"; do [ -x "$f" ] || { echo "FAIL build: $f missing (make all)"; exit 1; }; done
for s in $SCHEDS $QSCHED; do
	"$MPTUN" --sched list 2>/dev/null | grep -q "^ *$s " ||
		{ echo "suite: SCHEDS/QSCHED: unknown scheduler '$s' (mptun --sched list)"; exit 2; }
done
. tests/netns/lib.sh
DEF=$("$MPTUN" --sched list 2>/dev/null | awk '/\(default\)$/ {print $1}')	# the daemon's default
[ -n "$DEF" ] || { echo "FAIL build: mptun --sched list marks no default"; exit 1; }

QTOOLS=""
case " $ONLY " in *" download "*) QTOOLS="curl python3";; esac
# shellcheck disable=SC2086
need_root_and_tools iperf3 jq nft ethtool tc mptcpize ping $QTOOLS

# the emulator refuses bad arguments with one line and exit 2 (a runtime error: exit 1)
emu_bad() {	# emu_bad NAME EXIT ARGS...
	_n=$1; _want=$2; shift 2
	"$EMU" "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
	_rc=$?
	_l=$(wc -l <"$TMP/bad.err")
	[ "$_rc" -eq "$_want" ] && [ "$_l" -eq 1 ] && [ ! -s "$TMP/bad.out" ]
	check "linkemu-$_n" $? "exit $_rc, $_l line: $(cat "$TMP/bad.err")"
}
emu_bad unknown-option 2 --frobnicate
emu_bad bad-rate 2 --pair x0,x1,rate=fast
emu_bad missing-trace 2 --pair x0,x1,trace=/nonexistent/lte
emu_bad bad-pair 2 --pair x0,rate=20M
emu_bad no-pair 2 --seed 1
emu_bad no-interface 1 --pair nosuch0,nosuch1,rate=20M

ns_new C nc; ns_new E ne; ns_new R nr; ns_new S ns
EMU_PID=""
cleanup_emu() { [ -n "$EMU_PID" ] && { kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; }; EMU_PID=""; }

for x in 1 2 3 4; do
	ip link add "c$x" netns "$C" type veth peer name "e${x}a" netns "$E"
	ip link add "e${x}b" netns "$E" type veth peer name "r$x" netns "$R"
	ip -n "$C" addr add "10.30.$x.2/24" dev "c$x"
	ip -n "$R" addr add "10.30.$x.1/24" dev "r$x"
	# frames cross the emulator as they are: no segmentation, no checksum left to offload
	for dev in "$C:c$x" "$E:e${x}a" "$E:e${x}b" "$R:r$x"; do
		ip netns exec "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off tx off >/dev/null 2>&1
		ip -n "${dev%%:*}" link set "${dev#*:}" up
	done
	ip -n "$C" route add default via "10.30.$x.1" dev "c$x" table $((100 + x))
	ip -n "$C" rule add from "10.30.$x.2" table $((100 + x))
done
ip -n "$C" route add default via 10.30.1.1 dev c1
ip link add rs netns "$R" type veth peer name s0 netns "$S"
ip -n "$R" addr add 10.40.0.1/24 dev rs
ip -n "$S" addr add 10.40.0.2/24 dev s0
ip -n "$R" link set rs up
ip -n "$S" link set s0 up
ip -n "$S" route add default via 10.40.0.1
# the server's second address, on a link of its own (the variant with 2 addresses)
ip link add rs2 netns "$R" type veth peer name s1 netns "$S"
ip -n "$R" addr add 10.41.0.1/24 dev rs2
ip -n "$S" addr add 10.41.0.2/24 dev s1
ip -n "$R" link set rs2 up
ip -n "$S" link set s1 up
ip -n "$S" route add default via 10.41.0.1 dev s1 table 102
ip -n "$S" rule add from 10.41.0.2 table 102
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1

# netem or the emulator
if ip netns exec "$E" tc qdisc add dev e1a root netem delay 1ms 2>/dev/null; then
	ip netns exec "$E" tc qdisc del dev e1a root
	EMULATION=netem
else
	EMULATION=linkemu
fi
if [ "$EMULATION" = netem ]; then
	info "link emulation: netem (tc qdisc netem on each uplink, both directions); the LTE trace check uses linkemu, netem replays no traces"
else
	info "link emulation: linkemu (this kernel has no sch_netem): the simulator's link model (sim/link.c) on the wall clock, frames forwarded with AF_PACKET"
fi

# emulate SPEC1 SPEC2 SPEC3 SPEC4: (re)start the uplinks' emulation
emulate() {
	cleanup_emu
	EMU_T0=$(date +%s.%N)
	ip -n "$E" link del br0 2>/dev/null
	if [ "$EMULATION" = netem ] && ! echo "$*" | grep -q trace=; then
		ip -n "$E" link add br0 type bridge
		ip -n "$E" link set br0 up
		x=1
		for spec in "$@"; do
			args=$(echo "$spec" | tr ',' '\n' | awk -F= '
				$1 == "rate" {printf " rate %sbit", tolower($2)}
				$1 == "delay" {d = $2} $1 == "jitter" {j = $2}
				$1 == "loss" {printf " loss %s", $2}
				END {if (d) printf " delay %s %s", d, j}')
			for dev in "e${x}a" "e${x}b"; do
				ip -n "$E" link set "$dev" master br0
				ip netns exec "$E" tc qdisc replace dev "$dev" root netem $args limit 1000
			done
			x=$((x + 1))
		done
		return
	fi
	pairs=""
	x=1
	for spec in "$@"; do
		pairs="$pairs --pair e${x}a,e${x}b,$spec"
		x=$((x + 1))
	done
	# shellcheck disable=SC2086
	ip netns exec "$E" "$EMU" --seed 1 $pairs >"$TMP/emu.log" 2>&1 &
	EMU_PID=$!
	PIDS="$PIDS $EMU_PID"
	sleep 0.3
	if ! kill -0 "$EMU_PID" 2>/dev/null; then
		grep -q "Address family not supported" "$TMP/emu.log" &&
			skip_all "no netem and no AF_PACKET in this kernel: nothing to emulate links with"
		echo "FAIL linkemu did not start: $(cat "$TMP/emu.log")"
		exit 1
	fi
}

CC=$(ip netns exec "$C" sysctl -n net.ipv4.tcp_congestion_control)
info "TCP congestion control of the hosts: $CC (the simulator models Reno: see the sim-* checks)"
"$MPTUN" genkey "$TMP/key" >/dev/null
# a test cut short (a daemon stopped under it) must not keep the server busy for iperf3's
# default 120 s: give up on a silent test after 3 s
ns_bg "$S" "$TMP/iperf.log" iperf3 -s --rcv-timeout 3000
# a second plain server: the call part's UDP beside a TCP upload on the first
case " $ONLY " in *" call "*) ns_bg "$S" "$TMP/iperf-5203.log" iperf3 -s -p 5203 --rcv-timeout 3000;; esac
# MPTCP: one subflow per uplink (the first from the connection's own address); a kernel
# without it gets "none" in the tables, said once here, and the mptun checks still run
if ip netns exec "$C" sysctl -qw net.mptcp.enabled=1 2>/dev/null &&
   ip netns exec "$S" sysctl -qw net.mptcp.enabled=1 2>/dev/null; then
	MPTCP=yes
	ns_bg "$S" "$TMP/iperf-mptcp.log" mptcpize run iperf3 -s -p 5202 --rcv-timeout 3000
	ip -n "$C" mptcp limits set subflow 8 add_addr_accepted 8
	ip -n "$S" mptcp limits set subflow 8 add_addr_accepted 8
	for x in 2 3 4; do ip -n "$C" mptcp endpoint add "10.30.$x.2" dev "c$x" subflow; done
else
	MPTCP=no
	info "this kernel has no MPTCP (net.mptcp.enabled): the MPTCP comparison is skipped"
fi

MS=""; MC=""
tunnel_up() {	# tunnel_up SCHED [SERVER_ADDRESSES [CLIENT_ADDRESSES]]: the server on 10.40.0.2
		# or on those; the client on its four uplinks or on those
	tunnel_down
	CUR_SCHED=$1
	_sl=""; _cr=""; _cl=""
	for a in ${2:-10.40.0.2}; do _sl="$_sl -l $a"; _cr="$_cr -r $a"; done
	for a in ${3:-10.30.1.2 10.30.2.2 10.30.3.2 10.30.4.2}; do _cl="$_cl -l $a"; done
	# the server's status socket only for QTRACE's sampler (tests/netem/queue.sh)
	_st=""; [ -n "${QTRACE:-}" ] && _st="--status $TMP/ms.sock"
	# shellcheck disable=SC2086
	ns_bg "$S" "$TMP/ms.log" "$MPTUN" -i mt0 -p 5000 -v 10.99.0.2 -t 10.99.0.1 $_sl \
		-K "$TMP/key" --sched "$1" -q $_st
	MS=$LAST_PID
	sleep 0.2
	# shellcheck disable=SC2086
	ns_bg "$C" "$TMP/mc.log" "$MPTUN" -i mt0 -p 5000 -v 10.99.0.1 -t 10.99.0.2 $_cr \
		$_cl -K "$TMP/key" --sched "$1" -q \
		--status "$TMP/mc.sock"
	MC=$LAST_PID
	wait_for "ip netns exec $C ping -c 1 -W 1 10.99.0.2" 10 || { echo "FAIL tunnel with $1 did not come up"; return 1; }
	sleep 1	# every path up and measured
}
tunnel_down() {
	for p in $MC $MS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	MC=""; MS=""; CUR_SCHED=""
}
# tcp DEST [iperf3 args...]: Mbit/s received
tcp() {
	_d=$1; shift
	ip netns exec "$C" iperf3 -c "$_d" -t "$DUR" -J "$@" >"$TMP/last.json" 2>&1
	# the iperf3 server may still be closing the previous test (it ends when the client's
	# last control message arrives, and the client does not wait for that): it refuses the
	# next one ("busy", or a reset control connection). Once more, a second later.
	if jq -e '.error | test("busy|reset by peer")' "$TMP/last.json" >/dev/null 2>&1; then
		info "iperf3 server still busy with the previous test: run again in 1 s" >&2
		sleep 1
		ip netns exec "$C" iperf3 -c "$_d" -t "$DUR" -J "$@" >"$TMP/last.json" 2>&1
	fi
	keep "tcp-$_d$(echo "$*" | tr -d ' ')"
	mbps "$TMP/last.json"
}
mbps() {	# mbps JSON: an iperf3 run's received Mbit/s to 0.1, 0 when it failed
	jq '.end.sum_received.bits_per_second / 1e6 | . * 10 | floor / 10' "$1" 2>/dev/null || echo 0
}
mptcp_run() {
	[ "$MPTCP" = yes ] || { echo none; return; }
	ip netns exec "$C" mptcpize run iperf3 -c 10.40.0.2 -p 5202 -B 10.30.1.2 -t "$DUR" -J \
		>"$TMP/last.json" 2>&1
	keep mptcp
	mbps "$TMP/last.json"
}
KEPT=0
keep() {	# keep WHAT: a copy of the last iperf3 JSON under $KEEP
	[ -n "${KEEP:-}" ] || return 0
	KEPT=$((KEPT + 1))
	mkdir -p "$KEEP" && cp "$TMP/last.json" "$KEEP/$KEPT-$1${CUR_SCHED:+-$CUR_SCHED}.json"
}
# sim_tcp SCHED LINKSPEC...: the simulator's goodput on the same links, the mean over seeds
# 1..SIM_SEEDS: one seed's loss pattern moves a single lossy TCP flow by +-15 %, and the
# testbed is compared with what the simulator expects, not with one draw. Its tunnel runs 1 s
# before the traffic, as tunnel_up waits 1 s after the first ping
sim_tcp() {
	_s=$1; shift
	_args=""
	for l in "$@"; do _args="$_args --link $l"; done
	# two seeds at a time (the machine's cores; nothing is measured meanwhile), each into its
	# own file; waited for by their PIDs, since the suite's daemons run in the background too
	_pids=""
	for _seed in $(seq "$SIM_SEEDS"); do
		# shellcheck disable=SC2086
		"$SIM" $_args --sched "$_s" --traffic tcp --duration "$DUR" --warmup 1 --seed "$_seed" \
			--tsv >"$TMP/sim-seed.$_seed" &
		_pids="$_pids $!"
		# shellcheck disable=SC2086
		[ "$(echo $_pids | wc -w)" -ge 2 ] && { wait $_pids; _pids=""; }
	done
	# shellcheck disable=SC2086
	[ -z "$_pids" ] || wait $_pids
	# n/a (and the check on it fails) unless every seed gave its figure
	for _seed in $(seq "$SIM_SEEDS"); do
		awk -F'\t' 'NR == 2 {print $2}' "$TMP/sim-seed.$_seed"
	done | awk -v want="$SIM_SEEDS" '{t += $1; n++} END {if (n == want) printf "%.2f", t / n; else print "n/a"}'
}
# sim_agree NAME PREFIX LINKSPEC...: the simulator on the same links. It is asked what it is
# for: which scheduler to deploy on this mix, and what it will give. The simulator models Reno,
# so the testbed then runs that scheduler with Reno too (iperf3 -C reno); the ratios against
# the hosts' own congestion control are printed beside it.
sim_agree() {
	_name=$1; _pre=$2; shift 2
	_line=""; _bs=""; _bsim=0
	for _s in $SCHEDS; do
		_tb=$(eval "echo \${${_pre}_$_s:-}")
		[ -n "$_tb" ] || continue
		_sm=$(sim_tcp "$_s" "$@")
		_line="$_line $_s $_tb/$_sm=$(ratio "$_tb" "$_sm")"
		if ge "$_sm" "$_bsim"; then _bsim=$_sm; _bs=$_s; fi
	done
	# the Reno runs, and the simulator's figures they are compared with, last RENO_DUR
	_d0=$DUR; DUR=${RENO_DUR:-$DUR}
	[ "$DUR" = "$_d0" ] || _bsim=$(sim_tcp "$_bs" "$@")
	_reno=0
	if [ -n "$_bs" ] && tunnel_up "$_bs"; then
		_reno=$(tcp 10.99.0.2 -C reno)
		tunnel_down
	fi
	within "$_reno" "$_bsim" 0.25
	check "sim-$_name" $? "the simulator's pick, $_bs, with Reno on both: testbed $_reno / sim (mean of $SIM_SEEDS seeds) $_bsim Mbit/s = $(ratio "$_reno" "$_bsim") (within 25 %); with $CC on the testbed, testbed/sim per scheduler:$_line"
	# issue 11: the default scheduler within 15 % (Reno on both), whichever the pick
	case " $SCHEDS " in *" $DEF "*) ;; *) DUR=$_d0; return 0;; esac
	if [ "$_bs" = "$DEF" ]; then
		_dreno=$_reno; _dsim=$_bsim
	else
		_dsim=$(sim_tcp "$DEF" "$@")
		_dreno=0
		if tunnel_up "$DEF"; then
			_dreno=$(tcp 10.99.0.2 -C reno)
			tunnel_down
		fi
	fi
	_l="the default, $DEF, with Reno on both: testbed $_dreno / sim $_dsim Mbit/s = $(ratio "$_dreno" "$_dsim")"
	within "$_dreno" "$_dsim" 0.15
	check "sim-default-$_name" $? "$_l (within 15 %)"
	DUR=$_d0
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.2f", a / b; else print "n/a"}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; }
within() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN {r = (b > 0 ? a / b : 0); exit !(r >= 1 - p && r <= 1 + p)}'; }
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }
[ -n "${BENCH_TSV:-}" ] && printf 'mix\tconfig\tmbps\n' >"$BENCH_TSV"
bench() { [ -n "${BENCH_TSV:-}" ] && printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_TSV"; }

L20=rate=20M,delay=20ms

# run_mix MIX PREFIX: on the links emulated now, TCP through uplink 1 alone, MPTCP, and mptun
# with each scheduler (figures in ${PREFIX}_SCHED); sets single, mptcp, best, bests, line
run_mix() {
	single=$(tcp 10.40.0.2 -B 10.30.1.2)
	mptcp=$(mptcp_run)
	best=0; bests=""; line=""
	for s in $SCHEDS; do
		tunnel_up "$s" || continue
		g=$(tcp 10.99.0.2)
		eval "${2}_$s=$g"
		line="$line $s $g"
		bench "$1" "$s" "$g"
		if ge "$g" "$best"; then best=$g; bests=$s; fi
	done
	tunnel_down
	bench "$1" single "$single"
	bench "$1" mptcp "$mptcp"
}

# ---- aggregation: 4 x 20 Mbit/s, 20 ms one-way
if want aggregation; then
	emulate $L20 $L20 $L20 $L20
	run_mix aggregation agg
	ge "$best" "$(awk -v s="$single" 'BEGIN {print 3.5 * s}')"
	check aggregation $? "4 x 20 Mbit/s: single uplink $single, MPTCP $mptcp, mptun:$line Mbit/s; best $bests = $(ratio "$best" "$single")x single (>= 3.5), $(ratio "$best" "$mptcp")x MPTCP"
	# issue 11's >= 3.75x is checked in steady state by the part "equal" (equal-aggregate):
	# over these whole runs, slow start included, the tunnel gave 3.75-3.78x (10 s runs)
	eval "g=\${agg_$DEF:-none}"
	info "aggregation-default: 4 x 20 Mbit/s, the default $DEF: $g Mbit/s = $(ratio "$g" "$single")x the single uplink over the whole run (see equal-aggregate)"
	sim_agree aggregation agg $L20 $L20 $L20 $L20
fi

# ---- the server with two addresses: 4 x 2 paths over the same four uplinks
if want two-addresses; then
	emulate $L20 $L20 $L20 $L20
	[ -n "${single:-}" ] || single=$(tcp 10.40.0.2 -B 10.30.1.2)
	s2=$DEF
	if tunnel_up $s2 "10.40.0.2 10.41.0.2"; then
		g=$(tcp 10.99.0.2)
		st=$("$MPTUN" status --json "$TMP/mc.sock")
		paths=$(echo "$st" | jq -r '[.paths[] | select(.up)] | length')
		busy=$(echo "$st" | jq -r '[.paths[] | select(.tx_packets > 500)] | length')
		tunnel_down
	else
		g=0; paths=0; busy=0
	fi
	[ "$paths" -eq 8 ] && ge "$g" "$(awk -v s="$single" 'BEGIN {print 3.5 * s}')"
	check two-addresses $? "server on 10.40.0.2 and 10.41.0.2, $s2: $paths of 8 paths up, $busy carried over 500 packets; TCP $g Mbit/s = $(ratio "$g" "$single")x the single uplink's $single (>= 3.5)"
fi

# ---- heterogeneous: 50/30/10/10 Mbit/s at 10/20/30/40 ms
H1=rate=50M,delay=10ms; H2=rate=30M,delay=20ms; H3=rate=10M,delay=30ms; H4=rate=10M,delay=40ms
if want heterogeneous; then
	emulate $H1 $H2 $H3 $H4
	run_mix heterogeneous het
	awk -v b="$best" -v s="$single" 'BEGIN {exit !(b > s)}'
	check heterogeneous $? "in Mbit/s of 100 summed (so also %): fastest uplink alone $single, MPTCP $mptcp, mptun:$line; best $bests beats the fastest uplink: $(ratio "$best" "$single")x"
	sim_agree heterogeneous het $H1 $H2 $H3 $H4
fi

# ---- lossy: uplink 2 at 10 % loss
if want lossy; then
	LL=rate=20M,delay=20ms,loss=10%
	emulate $L20 $LL $L20 $L20
	line=""
	for s in $SCHEDS; do
		tunnel_up "$s" || continue
		# 5 s at 50 Mbit/s: 24 000 datagrams, enough for a loss rate against 1 %
		ip netns exec "$C" iperf3 -c 10.99.0.2 -u -b 50M -l 1300 -t 5 -J >"$TMP/last.json" 2>&1
		keep udp
		# a failed run says why (iperf3's own error) instead of passing for 100 % loss
		loss=$(jq -r 'if .error then "error (\(.error))" else .end.sum.lost_percent | . * 100 | floor / 100 end' \
			"$TMP/last.json" 2>/dev/null || echo "error (no JSON from iperf3)")
		g=$(tcp 10.99.0.2)
		eval "udp_$s=\$loss; lossy_$s=\$g"
		line="$line $s: UDP loss $loss %, TCP $g Mbit/s;"
	done
	tunnel_down
	# lossaware, made for this mix, and the default
	eval "dl=\${udp_$DEF:-none}; dt=\${lossy_$DEF:-0}"
	awk -v l="${udp_lossaware:-none}" -v d="$dl" 'BEGIN {exit !(l ~ /^[0-9.]+$/ && l <= 1 && d ~ /^[0-9.]+$/ && d <= 1)}'
	check lossy-udp $? "UDP 50 Mbit/s: lossaware loss ${udp_lossaware:-?} %, the default $DEF $dl % (both <= 1); weighted ${udp_weighted:-?} %, roundrobin ${udp_roundrobin:-?} %, arrival ${udp_arrival:-?} %, ecf ${udp_ecf:-?} %"
	ge "${lossy_lossaware:-0}" 48 && echo "$dt" | grep -Eq '^[0-9.]+$' && ge "$dt" 48
	check lossy-tcp $? "TCP: lossaware ${lossy_lossaware:-0} Mbit/s, the default $DEF $dt (both >= 48, 80 % of the three clean uplinks); weighted ${lossy_weighted:-?}, roundrobin ${lossy_roundrobin:-?}, arrival ${lossy_arrival:-?}, ecf ${lossy_ecf:-?}"
	# Reno's figure here is the loss draws' (one 10 s run moved 31-53 Mbit/s on the testbed):
	# its runs last 20 s, on the testbed and in the simulator it is compared with; the
	# schedulers' own runs (UDP loss, TCP with the hosts' congestion control) $DUR
	RENO_DUR=${LOSSY_DUR:-20}
	sim_agree lossy lossy $L20 $LL $L20 $L20
	RENO_DUR=""
fi

# ---- failover: uplink 3 down from 5 s to 12 s of a 20 s run (nftables on the router)
uplink3_tx() { "$MPTUN" status --json "$TMP/mc.sock" | jq '[.paths[] | select(.local | startswith("10.30.3.2")) | .tx_packets] | add'; }
if want failover; then
	emulate $L20 $L20 $L20 $L20
	tunnel_up lossaware
	ip netns exec "$C" iperf3 -c 10.99.0.2 -t 20 -i 1 -J >"$TMP/fo.json" 2>&1 & IP=$!
	sleep 5
	uplink_cut "$R" r3
	sleep 7
	uplink_restore "$R"
	p3a=$(uplink3_tx)
	wait $IP
	p3b=$(uplink3_tx)
	tunnel_down
	ivals=$(jq -r '[.intervals[].sum.bits_per_second / 1e6 | . * 10 | floor / 10] | map(tostring) | join(" ")' "$TMP/fo.json" 2>/dev/null)
	minv=$(jq '[.intervals[].sum.bits_per_second] | min' "$TMP/fo.json" 2>/dev/null || echo 0)
	total=$(mbps "$TMP/fo.json")
	[ -n "$ivals" ] && ge "$minv" 1 && [ "${p3b:-0}" -gt "$((${p3a:-0} + 100))" ]
	check failover $? "uplink 3 down 5-12 s: run completed at $total Mbit/s, per second: $ivals; packets into uplink 3 after it came back: $((${p3b:-0} - ${p3a:-0}))"
fi

# ---- trace: uplink 4 replays the LTE trace shipped in sim/traces
if want trace; then
	LT=trace=$LTE,delay=20ms
	emulate $L20 $L20 $L20 $LT
	tunnel_up "${TRACE_SCHED:-lossaware}"
	off=$(echo "$(date +%s.%N) $EMU_T0" | awk '{printf "%d", ($1 - $2) * 1000}')
	g=$(tcp 10.99.0.2)
	shares=$("$MPTUN" status --json "$TMP/mc.sock" | jq -r '[.paths[] | .tx_bytes] as $b | ($b | add) as $t | $b | map(. / $t * 100 | floor) | map(tostring) | join(" ")')
	lte_share=$(echo "$shares" | awk '{print $4}')
	tunnel_down
	# the trace's capacity over the run's own window (its rate varies by the second)
	lte_mbps=$(awk -v a="$off" -v b="$((off + DUR * 1000))" '$1 >= a && $1 < b {n++} END {printf "%.1f", n * 1500 * 8 / ((b - a) / 1000) / 1e6}' "$LTE.up")
	cap_share=$(awk -v l="$lte_mbps" 'BEGIN {printf "%.0f", l / (60 + l) * 100}')
	ge "$g" 20 && awk -v s="$lte_share" -v c="$cap_share" 'BEGIN {exit !(s >= c / 2 && s <= c * 2 + 2)}'
	check trace $? "3 x 20 Mbit/s + LTE trace ($lte_mbps Mbit/s up during the run): TCP $g Mbit/s; byte shares per uplink $shares %; LTE $lte_share % for $cap_share % of the capacity (within 0.5-2x)"
fi

. tests/netem/queue.sh

cleanup_emu
[ "$EMULATION" = linkemu ] && info "emulator counters of the last run: see linkemu's output (dropped frames count as the link's own loss)"
finish
