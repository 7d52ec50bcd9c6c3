#!/bin/sh
# A soak of the real daemon between network namespaces (issue 10): daemon.sh's topology (a client
# with two uplinks, a server with two addresses: 4 paths) for SOAK_SECONDS (600 by default) while
# the client rekeys every 5 s, uplink 2 is cut and restored at the router every 7 s and about
# 1 000 junk datagrams a second hit the server's port. Through the tunnel meanwhile: one TCP
# transfer of fresh random data after another, and a ping every 0.2 s.
# Checks: every transfer intact (sha256 on both sides), the session established at every
# one-second sample of the client's status, ping loss <= 1 %, the rekeys done, both daemons alive
# with RSS grown by <= 1024 kB and as many descriptors at the end as 10 s in.
# Usage: [SOAK_SECONDS=N] tests/netns/soak.sh [BUILD_DIR]   (root; skips with a reason otherwise)
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
MPTUN=$(pwd)/$B/mptun
WT=$(pwd)/$B/wiretool
DURATION=${SOAK_SECONDS:-600}
. tests/netns/lib.sh

case $DURATION in
''|*[!0-9]*) echo "FAIL usage: SOAK_SECONDS='$DURATION' is not a whole number of seconds"; exit 2 ;;
esac
# 10 s of warm-up before the first resource sample, then at least two flaps
[ "$DURATION" -ge 30 ] || { echo "FAIL usage: SOAK_SECONDS=$DURATION: at least 30"; exit 2; }
need_root_and_tools ping nc jq nft ss sha256sum
[ -x "$MPTUN" ] && [ -x "$WT" ] || { echo "FAIL build: $MPTUN or $WT missing"; exit 1; }
ns_setup_topology
PORT=5000
WARM_S=10
REKEY_S=5
FLAP_S=7
XFER_BYTES=8000000
"$MPTUN" genkey "$TMP/key" || exit 1
SLOG=$TMP/server.log
CLOG=$TMP/client.log

status() { "$MPTUN" status --json "$1" 2>/dev/null; }
jqs() { status "$1" | jq -r "$2" 2>/dev/null; }
pid_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
pid_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
resources() {	# resources FILE: "client_rss client_fds server_rss server_fds sessions"
	echo "$(pid_rss_kb "$CPID") $(pid_fds "$CPID") $(pid_rss_kb "$SPID") $(pid_fds "$SPID")" \
		"$(jqs "$TMP/c.sock" '.session.sessions')" >"$1"
}
field() { awk -v n="$2" '{print $n}' "$1"; }
before_end() { [ "$(date +%s)" -lt "$END" ]; }

ns_bg "$S" "$SLOG" "$MPTUN" -i mt0 -p $PORT -v 10.99.0.2 -t 10.99.0.1 \
	-l 10.202.0.2 -l 10.202.0.3 -K "$TMP/key" --status "$TMP/s.sock" --user nobody
SPID=$LAST_PID
wait_for "[ -S '$TMP/s.sock' ]" 3
ns_bg "$C" "$CLOG" "$MPTUN" -i mt0 -p $PORT -v 10.99.0.1 -t 10.99.0.2 \
	-r 10.202.0.2 -r 10.202.0.3 -l 10.201.1.2 -l 10.201.2.2 -K "$TMP/key" \
	--status "$TMP/c.sock" --rekey $REKEY_S
CPID=$LAST_PID
wait_for "ip netns exec $C ping -c 1 -W 0.2 10.99.0.2" 6
check tunnel-up $? "client pid $CPID, server pid $SPID, first ping answered"
# real datagrams for the junk to damage (truncated, one bit flipped), as daemon.sh does
ip netns exec "$C" ping -i 0.02 -c 200 -q 10.99.0.2 >/dev/null 2>&1 & PP=$!
info "$(ip netns exec "$R" "$WT" capture r3 $PORT 300 5 "$TMP/cap")"
wait $PP

# ---- the load, each part a background loop bounded by END
T0=$(date +%s)
END=$((T0 + DURATION))
info "soak for $DURATION s from $(date -u -d "@$T0" +%H:%M:%S) UTC: rekey every $REKEY_S s," \
	"uplink 2 toggled every $FLAP_S s, junk ~1000/s, $XFER_BYTES-byte transfers, ping every 0.2 s"

# uplink 2 cut and restored at the router, every FLAP_S seconds; left restored
flap() {
	_cut=0
	while sleep $FLAP_S && before_end; do
		if [ $_cut -eq 0 ]; then uplink_cut "$R" r2; _cut=1; echo cut
		else uplink_restore "$R"; _cut=0; echo restored; fi
	done >"$TMP/flap.log"
	[ $_cut -eq 0 ] || uplink_restore "$R"
}
flap & FLAP=$!; PIDS="$PIDS $FLAP"

# junk at both addresses: a burst as fast as it goes, then 0.1 s. A burst is 100 datagrams plus
# what starting the processes cost since the last one (about 30 a burst under this load), so
# that the rate stays at 1 000 a second
ip netns exec "$R" sh -c 'k=0; queued=0; t0=$(date +%s%N)
	while [ "$(date +%s)" -lt "$1" ]; do
		[ $((k % 2)) -eq 0 ] && a=10.202.0.2 || a=10.202.0.3
		n=$((($(date +%s%N) - t0) / 1000000 + 100 - queued))
		[ $n -le 1000 ] || n=1000
		[ $n -lt 1 ] || "$2" junk $a "$3" $n "$4"
		queued=$((queued + n))
		k=$((k + 1))
		sleep 0.1
	done' junk "$END" "$WT" $PORT "$TMP/cap" >"$TMP/junk.log" 2>&1 & JUNK=$!
PIDS="$PIDS $JUNK"

# transfers: the server receives one file per connection and hashes it; the client waits for
# the listener, sends fresh random data and records its hash and nc's exit status
xfer_server() {
	while [ ! -e "$TMP/xfer.stop" ]; do
		ip netns exec "$S" nc -l 10.99.0.2 7000 </dev/null >"$TMP/recv" 2>>"$TMP/nc-server.err"
		[ -e "$TMP/xfer.stop" ] && break
		echo "$(sha256sum <"$TMP/recv" | cut -c1-64) $(stat -c %s "$TMP/recv")"
	done >"$TMP/xfer.server"
}
listening() { ip netns exec "$S" ss -Hltn 'sport = :7000' | grep -q .; }
xfer_client() {
	while before_end; do
		wait_for listening 10 || { echo "no-listener - -"; break; }
		head -c $XFER_BYTES /dev/urandom >"$TMP/send"
		_h=$(sha256sum <"$TMP/send" | cut -c1-64)
		ip netns exec "$C" nc -N -w 30 10.99.0.2 7000 <"$TMP/send" 2>>"$TMP/nc-client.err"
		echo "$_h $XFER_BYTES $?"
	done >"$TMP/xfer.client"
}
xfer_server & XS=$!; PIDS="$PIDS $XS"
xfer_client & XC=$!; PIDS="$PIDS $XC"

ip netns exec "$C" ping -D -i 0.2 -W 2 -c $((DURATION * 5)) 10.99.0.2 >"$TMP/ping" 2>&1 & PING=$!
PIDS="$PIDS $PING"

# the client's session, once every wall-clock second; the first resource sample WARM_S in, from
# this loop so that no status connection of ours is open while the descriptors are counted
sample() {
	while before_end; do
		[ -e "$TMP/res.start" ] || [ "$(date +%s)" -lt $((T0 + WARM_S)) ] ||
			resources "$TMP/res.start"
		_e=$(jqs "$TMP/c.sock" '.session.established')
		_t=$(date +%s)
		echo "$_t ${_e:-no-answer}"
		while [ "$(date +%s)" = "$_t" ]; do sleep 0.05; done
	done >"$TMP/established"
}
sample & SAMPLE=$!; PIDS="$PIDS $SAMPLE"

wait_for "[ -s '$TMP/res.start' ]" $((WARM_S + 5))
info "at ${WARM_S} s: client RSS $(field "$TMP/res.start" 1) kB, $(field "$TMP/res.start" 2) fds;" \
	"server RSS $(field "$TMP/res.start" 3) kB, $(field "$TMP/res.start" 4) fds;" \
	"sessions $(field "$TMP/res.start" 5)"

wait $SAMPLE $FLAP $JUNK $XC $PING
touch "$TMP/xfer.stop"
# free the listener the server loop may be waiting in (it records nothing after the stop)
wait_for "! kill -0 $XS 2>/dev/null || listening" 5
kill -0 $XS 2>/dev/null && ip netns exec "$C" nc -N -w 2 10.99.0.2 7000 </dev/null 2>/dev/null
wait $XS
T1=$(date +%s)
sleep 2	# the last restore settles; nothing of ours talks to the status sockets now
alive=0
for p in $CPID $SPID; do kill -0 "$p" 2>/dev/null || alive=1; done
resources "$TMP/res.end"

# ---- checks
running() { kill -0 "$1" 2>/dev/null && echo running || echo GONE; }
check daemons-alive $alive "after $((T1 - T0)) s: client $(running $CPID), server $(running $SPID)"

nx=$(grep -c . "$TMP/xfer.client")
ns=$(grep -c . "$TMP/xfer.server")
# client line N and server line N describe the same transfer
bad=$(paste -d ' ' "$TMP/xfer.client" "$TMP/xfer.server" |
	awk '$3 != 0 || $1 != $4 || $2 != $5 {n++} END {print n + 0}')
mb=$(awk "BEGIN {printf \"%.0f\", $ns * $XFER_BYTES / 1e6}")
rate=$(awk "BEGIN {printf \"%.1f\", $mb * 8 / ($T1 - $T0)}")
[ "$nx" -ge 1 ] && [ "$nx" = "$ns" ] && [ "$bad" = 0 ]
check transfers $? "$nx sent, $ns received, $bad broken (sha256, size or nc status): $mb MB in $((T1 - T0)) s ($rate Mbit/s on average)"
[ "$bad" = 0 ] || paste -d ' ' "$TMP/xfer.client" "$TMP/xfer.server" |
	awk '$3 != 0 || $1 != $4 || $2 != $5 {printf "  transfer %d: sent %.16s %s bytes nc %s, received %.16s %s bytes\n", NR, $1, $2, $3, $4, $5}' | head -5

n=$(grep -c . "$TMP/established")
nt=$(grep -c ' true$' "$TMP/established")
nf=$((n - nt))
nfalse=$(grep -c ' false$' "$TMP/established"); nnone=$(grep -c ' no-answer$' "$TMP/established")
[ "$nf" = 0 ] && [ "$n" -ge $((DURATION * 9 / 10)) ]
check session-established $? "$n samples (>= $((DURATION * 9 / 10))): $nt established, $nf not ($nfalse false, $nnone no answer)"
[ "$nf" = 0 ] || grep -v ' true$' "$TMP/established" | head -5 | sed 's/^/  at /'

loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$TMP/ping")
gap=$(awk -F'[][]' '/bytes from/ {t = $2; if (p && t - p > g) g = t - p; p = t} END {printf "%.2f", g}' "$TMP/ping")
rtt=$(sed -n 's/.*= \([0-9.\/]*\) ms/\1/p' "$TMP/ping")
[ -n "$loss" ] && awk "BEGIN {exit !($loss <= 1)}"
check ping-loss $? "$(grep 'packet loss' "$TMP/ping" | cut -d, -f1-2): loss ${loss:-?} % (<= 1); longest gap between answers $gap s; rtt min/avg/max/mdev $rtt ms"

s0=$(field "$TMP/res.start" 5); s1=$(field "$TMP/res.end" 5)
want=$(((T1 - T0 - WARM_S) / REKEY_S * 8 / 10))
[ "${s1:-0}" -ge $((${s0:-0} + want)) ]
check rekeys $? "sessions $s0 -> $s1 from ${WARM_S} s to the end: $((${s1:-0} - ${s0:-0})) rekeys (>= $want)"

for who in client:1 server:3; do
	name=${who%:*}; col=${who#*:}
	r0=$(field "$TMP/res.start" "$col"); r1=$(field "$TMP/res.end" "$col")
	f0=$(field "$TMP/res.start" $((col + 1))); f1=$(field "$TMP/res.end" $((col + 1)))
	[ -n "$r0" ] && [ -n "$r1" ] && [ $((r1 - r0)) -le 1024 ]
	check "rss-$name" $? "VmRSS $r0 -> ${r1:-?} kB from ${WARM_S} s to the end: growth $((${r1:-0} - ${r0:-0})) kB (<= 1024)"
	[ -n "$f0" ] && [ "$f0" = "$f1" ]
	check "fds-$name" $? "open descriptors $f0 -> ${f1:-?} (equal)"
done

cuts=$(grep -c '^cut' "$TMP/flap.log")
junk=$(awk '/^sent/ {n += $2; k++} END {printf "%d datagrams in %d runs", n, k}' "$TMP/junk.log")
info "uplink 2 cut $cuts times; client paths' downs:" \
	"$(jqs "$TMP/c.sock" '[.paths[] | "\(.local)->\(.remote) \(.downs)"] | join(", ")')"
info "junk: $junk ($(awk -v d="$DURATION" '/^sent/ {n += $2} END {printf "%.0f", n / d}' "$TMP/junk.log")/s);" \
	"server drops $(jqs "$TMP/s.sock" '.drops | tostring')"
info "client log: $(grep -c 'rekeyed' "$CLOG") rekeyed, $(grep -c ' down$' "$CLOG") path down," \
	"$(grep -c ' up$' "$CLOG") path up, $(grep -vc 'rekeyed\|path \|session up\|client on ' "$CLOG") other;" \
	"server log: $(grep -c . "$SLOG") lines"
grep -v 'rekeyed\|path \|session up\|client on ' "$CLOG" | head -3 | sed 's/^/  client: /'
[ "$FAIL" -eq 0 ] || { echo "  client log, last lines:"; tail -5 "$CLOG" | sed 's/^/    /'
	echo "  server log, last lines:"; tail -5 "$SLOG" | sed 's/^/    /'; }
finish
