#!/bin/sh
# The metrics endpoint (--metrics) of the real daemon between namespaces: a client with two
# uplinks and a server with two addresses (4 paths), each serving /metrics on 127.0.0.1 of its
# own namespace. Checks a scrape (200, the 0.0.4 content type, promtool check metrics clean,
# one RTT series per path), a real Prometheus server scraping the server daemon every second
# (its HTTP API answers one mptun_path_rtt_seconds series per path), then 10 000 malformed,
# oversized, slow, half-open and parallel connections at the metrics port while a ping runs
# through the tunnel: no ping lost, p99 within a few ms of idle, RSS and descriptors flat, the
# endpoint still answering. Prints the figures.
# Usage: tests/netns/metrics.sh [BUILD_DIR]   (root; skips with a reason otherwise)
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
MPTUN=$(pwd)/$B/mptun
FLOOD=$(pwd)/tests/netns/httpflood.py
. tests/netns/lib.sh

need_root_and_tools ping curl jq nc python3 promtool prometheus
[ -x "$MPTUN" ] || { echo "FAIL build: $MPTUN missing"; exit 1; }
ns_setup_topology
PORT=5000
MPORT=9469
"$MPTUN" genkey "$TMP/key" || exit 1

pid_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
pid_anon_kb() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
pid_fds() { ls "/proc/$1/fd" | wc -l; }
# CPU time used so far (user + system), in clock ticks
pid_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# scrape NS FILE: curl's code, content type and time (s); the body in FILE
scrape() { ip netns exec "$1" curl -s -m 5 -o "$2" -w '%{http_code}|%{content_type}|%{time_total}' \
	"http://127.0.0.1:$MPORT/metrics"; }
# ping statistics from ping's output: "loss% p50 p99" of the per-packet times (ms)
ping_stats() {
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1")
	# the flood's ping is stopped with SIGINT: a last request whose answer was still on its way
	# then is not a loss (every earlier one still counts)
	top=$(grep -o 'icmp_seq=[0-9]*' "$1" | cut -d= -f2 | sort -n | tail -1)
	[ -n "$sent" ] && [ -n "$top" ] && [ "$top" -eq $((sent - 1)) ] && sent=$top
	grep -o 'time=[0-9.]*' "$1" | cut -d= -f2 | sort -n | awk -v sent="${sent:-0}" '
		{ t[NR] = $1 }
		END {
			if (!NR || !sent) { print "100 0 0"; exit }
			p50 = t[int((NR - 1) * 0.50) + 1]; p99 = t[int((NR - 1) * 0.99) + 1]
			printf "%.1f %.3f %.3f\n", 100 * (sent - NR) / sent, p50, p99
		}'
}

ns_bg "$S" "$TMP/server.log" "$MPTUN" -i mt0 -p $PORT -v 10.99.0.2 -t 10.99.0.1 \
	-l 10.202.0.2 -l 10.202.0.3 -K "$TMP/key" --metrics 127.0.0.1:$MPORT --user nobody
SPID=$LAST_PID
wait_for "ip netns exec $S curl -s -o /dev/null http://127.0.0.1:$MPORT/metrics" 3
ns_bg "$C" "$TMP/client.log" "$MPTUN" -i mt0 -p $PORT -v 10.99.0.1 -t 10.99.0.2 \
	-r 10.202.0.2 -r 10.202.0.3 -l 10.201.1.2 -l 10.201.2.2 -K "$TMP/key" \
	--metrics 127.0.0.1:$MPORT
CPID=$LAST_PID
wait_for "ip netns exec $C ping -c 1 -W 1 10.99.0.2" 5
check tunnel-up $? "ping through the tunnel"
# traffic on every path, so that each has an RTT
ip netns exec "$C" ping -c 100 -i 0.01 -q 10.99.0.2 >/dev/null 2>&1
ip netns exec "$S" ping -c 100 -i 0.01 -q 10.99.0.1 >/dev/null 2>&1

# ---- one scrape of each end: HTTP, the format, the series
for end in client server; do
	ns=$C; [ $end = server ] && ns=$S
	r=$(scrape "$ns" "$TMP/$end.prom")
	code=${r%%|*}; rest=${r#*|}; ctype=${rest%|*}; t=${rest##*|}
	[ "$code" = 200 ] && [ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ]
	check "$end-scrape" $? "HTTP $code, Content-Type: $ctype, $(wc -c <"$TMP/$end.prom") bytes in $t s"
	out=$(promtool check metrics <"$TMP/$end.prom" 2>&1)
	rc=$?
	# promtool says nothing of a family without # TYPE: count them here
	nh=$(grep -c '^# HELP ' "$TMP/$end.prom"); nt=$(grep -c '^# TYPE ' "$TMP/$end.prom")
	[ $rc -eq 0 ] && [ -z "$out" ] && [ "$nh" = "$nt" ] &&
		! grep -q '^# TYPE [a-z_]*_total gauge' "$TMP/$end.prom"
	check "$end-promtool" $? "promtool check metrics: exit $rc, ${out:-no problem}; $nh HELP and $nt TYPE lines, $(grep -vc '^#' "$TMP/$end.prom") samples"
	n=$(grep -c '^mptun_path_rtt_seconds{' "$TMP/$end.prom")
	up=$(grep -c '^mptun_path_up{.*} 1$' "$TMP/$end.prom")
	[ "$n" = 4 ] && [ "$up" = 4 ]
	check "$end-paths" $? "$n mptun_path_rtt_seconds series, $up paths up (want 4 each)"
done
grep '^mptun_path_rtt_seconds' "$TMP/client.prom" | sed 's/^/  /'
hs=$(sed -n 's/^mptun_peer_last_handshake_seconds{peer="peer"} //p' "$TMP/client.prom")
grep -q '^mptun_peer_session_established{peer="peer"} 1$' "$TMP/client.prom" &&
	grep -q '^mptun_peer_tun_in_packets_total{peer="peer"} [1-9]' "$TMP/client.prom" &&
	awk -v h="${hs:-0}" -v now="$(date +%s)" 'BEGIN {exit !(h > now - 30 && h <= now + 1)}'
check session-and-tun $? "last handshake $(awk -v h="${hs:-0}" -v now="$(date +%s)" 'BEGIN {printf "%.1f", now - h}') s ago (want < 30); $(grep -E '^mptun_peer_(session_established|last_handshake_seconds|tun_in_packets_total)' "$TMP/client.prom" | tr '\n' ' ')"
# HEAD, another path, another method, junk: the answers, none of them a body of metrics
codes=""
for req in "HEAD /metrics HTTP/1.0" "GET / HTTP/1.0" "POST /metrics HTTP/1.0" "junk"; do
	c=$(printf '%s\r\n\r\n' "$req" | ip netns exec "$S" nc -w 2 127.0.0.1 $MPORT | head -n 1 | cut -d' ' -f2)
	codes="$codes ${c:-none}"
done
[ "$codes" = " 200 404 405 400" ]
check answers $? "HEAD, GET /, POST, junk answered:$codes (want 200 404 405 400)"

# ---- a real Prometheus scraping the server every second, inside the server's namespace
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mptun
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
ns_bg "$S" "$TMP/prometheus.log" prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/tsdb" --web.listen-address=127.0.0.1:9090 --log.level=warn
PROM=$LAST_PID
query() { ip netns exec "$S" curl -s -m 2 -G --data-urlencode "query=$1" \
	http://127.0.0.1:9090/api/v1/query; }
series() { query "$1" | jq -r '.data.result | length' 2>/dev/null; }
t0=$(date +%s.%N)
wait_for "[ \"\$(series mptun_path_rtt_seconds)\" = 4 ]" 20
rc=$?
e=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}')
n=$(series mptun_path_rtt_seconds)
check prometheus-series $rc "Prometheus $(prometheus --version 2>&1 | head -n 1 | cut -d' ' -f3): $n series of mptun_path_rtt_seconds (want 4, one per path) after $e s"
query mptun_path_rtt_seconds | jq -r '.data.result[] | "  \(.metric.local) -> \(.metric.remote): \(.value[1]) s"'
h=$(query 'up{job="mptun"}' | jq -r '.data.result[0].value[1]' 2>/dev/null)
d=$(query 'scrape_duration_seconds{job="mptun"}' | jq -r '.data.result[0].value[1]' 2>/dev/null)
[ "$h" = 1 ]
check prometheus-up $? "up{job=\"mptun\"} = $h, last scrape took $d s"

# ---- the flood, with a ping through the tunnel and the daemon's memory watched
# first the engine's own rings (the copies of sent packets kept for reinjection, 1024 of
# them) are filled once, so that what RSS shows after the flood is the listener's, not the
# tunnel's first 1024 packets
ip netns exec "$C" ping -f -c 3000 -q 10.99.0.2 >/dev/null 2>&1
ip netns exec "$S" ping -f -c 3000 -q 10.99.0.1 >/dev/null 2>&1
ip netns exec "$C" ping -c 300 -i 0.01 -W 1 10.99.0.2 >"$TMP/ping-idle" 2>&1
set -- $(ping_stats "$TMP/ping-idle"); idle_loss=$1; idle_p50=$2; idle_p99=$3
sleep 1
rss0=$(pid_rss_kb "$SPID"); anon0=$(pid_anon_kb "$SPID"); fds0=$(pid_fds "$SPID")
cpu0=$(pid_ticks "$SPID")
ip netns exec "$C" ping -i 0.01 -W 1 10.99.0.2 >"$TMP/ping-flood" 2>&1 &
PING=$!
PIDS="$PIDS $PING"
# the clients at nice 19: on a small test machine their own CPU time would otherwise show as
# the tunnel's latency (a real flood comes from other hosts' CPUs)
fl=$(ip netns exec "$S" nice -n 19 python3 "$FLOOD" 127.0.0.1 $MPORT 10000 2>&1)
kill -INT $PING; wait $PING
sleep 2.5	# the last held connections reach their deadline
rss1=$(pid_rss_kb "$SPID"); anon1=$(pid_anon_kb "$SPID"); fds1=$(pid_fds "$SPID")
cpu1=$(pid_ticks "$SPID")
set -- $(ping_stats "$TMP/ping-flood"); loss=$1; p50=$2; p99=$3
info "flood: $fl; the server daemon used $(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}') s of CPU meanwhile"
kill -0 "$SPID" 2>/dev/null
check flood-alive $? "server still running after the flood"
awk "BEGIN {exit !($loss == 0 && $p99 <= $idle_p99 + 5)}"
check flood-ping $? "ping through the tunnel: idle $(grep -c time= "$TMP/ping-idle") pings loss $idle_loss % p50 $idle_p50 p99 $idle_p99 ms; under the flood $(grep -c time= "$TMP/ping-flood") pings loss $loss % p50 $p50 p99 $p99 ms (want loss 0, p99 <= idle + 5 ms)"
[ $((rss1 - rss0)) -lt 1024 ] && [ $((rss0 - rss1)) -lt 1024 ]
check flood-rss $? "server RSS $rss0 -> $rss1 kB (differ by < 1024; anonymous $anon0 -> $anon1 kB)"
[ "$fds1" = "$fds0" ]
check flood-fds $? "server descriptors $fds0 -> $fds1"
r=$(scrape "$S" "$TMP/after.prom")
out=$(promtool check metrics <"$TMP/after.prom" 2>&1)
[ "${r%%|*}" = 200 ] && [ -z "$out" ]
check after-flood $? "scrape after the flood: HTTP ${r%%|*} in ${r##*|} s, promtool ${out:-clean}"
info "listener: $(grep -E '^mptun_metrics_' "$TMP/after.prom" | sed 's/^mptun_metrics_//' | tr '\n' ' ')"
finish
