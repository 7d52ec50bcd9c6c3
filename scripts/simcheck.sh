#!/bin/bash
# Simulator checks: the acceptance figures of the core/sched/sim issue, run through the sim
# command line itself. One line per check with its figures; ends with "N passed, N failed".
set -u
SIM=${1:-build/sim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
L20="rate=20M,delay=20ms"

check() {	# check NAME CONDITION-EXIT-STATUS FIGURES
	if [ "$2" -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $1: $3"
	else
		fail=$((fail + 1)); echo "FAIL $1: $3"
	fi
}

# col FILE SCHED COLUMN: one figure from a --tsv table
col() {
	awk -F'\t' -v s="$2" -v c="$3" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i} NR>1 && $1==s {print $k}' "$1"
}

ok() { awk "BEGIN{exit !($1)}"; }

# The simulations run first, two at a time (the machine's cores: they are independent, and one
# after another they took most of the phase's minute); the checks then read their output.
# sim NAME ARGS...: one run, its stdout into $tmp/NAME (ARGS: no spaces or quotes inside one)
: > "$tmp/jobs"
sim() { n=$1; shift; printf '"$SIM" %s > "%s/%s"\n' "$*" "$tmp" "$n" >> "$tmp/jobs"; }
# the scheduler that sections 8 and 9 check: the default
DEF=$("$SIM" --sched list | awk '/\(default\)$/ {print $1}')
[ -n "$DEF" ] || { echo "FAIL sched-default: sim --sched list marks no default"; exit 1; }
sim hub-a.tsv --scenario sim/scenarios/hub.scn --sched "$DEF,arrival" --tsv --out "$tmp/hub-a"
sim a.tsv --links 2 --traffic udp:20M --duration 5 --seed 7 --tsv --out "$tmp/a"
sim c.tsv --links 2 --traffic udp:20M --duration 5 --seed 8 --tsv
sim agg.tsv --link $L20 --link $L20 --link $L20 --link $L20 --traffic udp:76M --duration 30 --tsv
sim lossy.tsv --link $L20 --link $L20,loss=10% --link $L20 --link $L20 --traffic udp:50M --duration 30 --tsv
sim outage.tsv --link $L20 --link $L20 --link $L20,down=10s-20s --link $L20 --traffic udp:40M --duration 30 --tsv --out "$tmp/out"
sim tcp.tsv --link $L20 --link $L20 --link $L20 --link $L20 --traffic tcp --duration 30 --tsv
sim mix.tsv --traffic tcp --duration 30 --tsv
for sc in default hetero aggregation lte3; do
	sim "q-$sc.tsv" --scenario "sim/scenarios/$sc.scn" --sched "$DEF,arrival" --tsv
done
sim far.tsv --scenario sim/scenarios/far.scn --sched "$DEF" --tsv
sim near.tsv --scenario sim/scenarios/far.scn --links 1 --sched "$DEF" --tsv
for seed in 1 2 3 4 5; do
	sim "lossy-start-$seed.tsv" --link $L20 --link $L20,loss=10% --link $L20 --link $L20 --sched "$DEF" \
		--traffic tcp --duration 20 --seed $seed --tsv
done
# a link that falls from 20 to 1 Mbit/s for 3 s (section 8). The trace is Mahimahi's format,
# made here: 20 Mbit/s is one 1500-byte packet every 0.6 ms
awk 'function seg(t0, t1, mbps,   pps, n, k) { pps = mbps * 1e6 / 12000; n = int((t1 - t0) * pps)
	for (k = 0; k < n; k++) print int(t0 * 1000 + k * 1000 / pps) + 1 }
     BEGIN { seg(0, 10, 20); seg(10, 13, 1); seg(13, 30, 20) }' > "$tmp/fall"
for w in 1 1.4; do
	sim "fall-$w.tsv" --link $L20 --link $L20 --link $L20 --link "trace=$tmp/fall,delay=20ms" --sched "$DEF" \
		--traffic tcp --duration 30 --warmup $w --tsv
done
# the determinism checks' second runs last, their first runs first: two runs at once would
# agree on anything that read the clock
sim b.tsv --links 2 --traffic udp:20M --duration 5 --seed 7 --tsv --out "$tmp/b"
sim hub-b.tsv --scenario sim/scenarios/hub.scn --sched "$DEF,arrival" --tsv --out "$tmp/hub-b"
# shellcheck disable=SC2016
SIM=$SIM xargs -P 2 -d '\n' -I{} bash -c 'eval "$1" || { echo "FAIL simulation: $1" >&2; exit 1; }' _ {} < "$tmp/jobs" ||
	{ echo "FAIL simulations: a run of the simulator failed (above)"; exit 1; }

# 1. determinism: same arguments and seed, byte-identical table and files
cmp -s "$tmp/a.tsv" "$tmp/b.tsv" && diff -r "$tmp/a" "$tmp/b" > /dev/null
check determinism $? "two runs, seed 7: table and $(ls "$tmp/a" | wc -l) files identical"
! cmp -s "$tmp/a.tsv" "$tmp/c.tsv"
check seed-matters $? "seed 8 differs from seed 7"

# 2. aggregation, UDP at 76 Mbit/s over 4 x 20 Mbit/s
for s in lossaware roundrobin; do
	l=$(col "$tmp/agg.tsv" $s app_loss_pct)
	ok "$l <= 5"; check "udp-aggregation-$s" $? "app loss $l % (<= 5), goodput $(col "$tmp/agg.tsv" $s goodput_mbps) Mbit/s"
done
echo "INFO udp-aggregation-weighted: app loss $(col "$tmp/agg.tsv" weighted app_loss_pct) %, goodput $(col "$tmp/agg.tsv" weighted goodput_mbps) Mbit/s (the 2015 original, reported as it is)"

# 3. one lossy uplink: the scheduler must matter
l=$(col "$tmp/lossy.tsv" lossaware app_loss_pct)
ok "$l <= 0.5"; check lossy-lossaware $? "app loss $l % (<= 0.5)"
l=$(col "$tmp/lossy.tsv" roundrobin app_loss_pct)
ok "$l >= 1.5 && $l <= 3.5"; check lossy-roundrobin $? "app loss $l % (about 2.5 expected)"
echo "INFO lossy-weighted: app loss $(col "$tmp/lossy.tsv" weighted app_loss_pct) %"

# 4. outage 10 s - 20 s on uplink 3: nobody but weighted sends data into it after detection,
#    and it carries data again after it comes back
for s in lossaware roundrobin weighted; do
	f="$tmp/out/links_$s.tsv"
	# bins are 0.5 s: 11 s - 20 s is after detection (<= 1 s), 21 s - 30 s is after recovery
	during=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++) if($i=="link3_data_pkts") k=i} NR>1 && $1>11 && $1<20 {n+=$k} END{print n+0}' "$f")
	after=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++) if($i=="link3_data_pkts") k=i} NR>1 && $1>21 {n+=$k} END{print n+0}' "$f")
	if [ $s = weighted ]; then
		echo "INFO outage-weighted: $during data packets sent into the dead uplink during 11-20 s, $after after it came back"
		continue
	fi
	[ "$during" -eq 0 ] && [ "$after" -gt 1000 ]
	check "outage-$s" $? "data packets into uplink 3: $during during 11-20 s (0), $after after 21 s (> 1000)"
done

# 5. TCP over 4 x 20 Mbit/s: the best scheduler reaches 70 Mbit/s
best=$(awk -F'\t' 'NR>1 && $2>b {b=$2; s=$1} END{print b" "s}' "$tmp/tcp.tsv")
ok "${best% *} >= 70"; check tcp-aggregation $? "best ${best#* } ${best% *} Mbit/s (>= 70); $(awk -F'\t' 'NR>1{printf "%s %s ", $1, $2}' "$tmp/tcp.tsv")"

# 6. the default heterogeneous mix, reported as it is
echo "INFO default-mix-tcp: $(awk -F'\t' 'NR>1{printf "%s %s Mbit/s (%s %% of %s)  ", $1, $2, $4, $3}' "$tmp/mix.tsv")"

# 7. bad input: one line naming the problem, exit 2, no output directory
printf 'link rate=20M\nbogus line\n' > "$tmp/bad.scn"
printf '10\n5\n' > "$tmp/bad.trace"
printf '10\nabc\n' > "$tmp/bad2.trace"
# a hub's site blocks (issue 12): 17 sites (line 33 opens the 17th), a link above the sites,
# a site name given twice
{ for k in $(seq 1 17); do printf 'site s%d\nlink rate=1M\n' "$k"; done; } > "$tmp/sites17.scn"
printf 'link rate=1M\nsite a\nlink rate=1M\n' > "$tmp/outside.scn"
printf 'site a\nlink rate=1M\nsite a\nlink rate=1M\n' > "$tmp/dupsite.scn"
printf 'link rate=1M\nwarmup soon\n' > "$tmp/warm.scn"
printf 'link rate=1M\nduration 7200\n' > "$tmp/long.scn"
while IFS='|' read -r name args want; do
	rm -rf "$tmp/o"
	# shellcheck disable=SC2086
	"$SIM" $args --out "$tmp/o" > "$tmp/stdout" 2> "$tmp/stderr"
	rc=$?
	lines=$(wc -l < "$tmp/stderr")
	[ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q -- "$want" "$tmp/stderr" && [ ! -e "$tmp/o" ] && [ ! -s "$tmp/stdout" ]
	check "bad-input-$name" $? "exit $rc, $lines line: $(head -c 120 "$tmp/stderr")"
done <<EOF2
unknown-sched|--sched nosuch|nosuch
malformed-link|--link rate=20M,delay=xyz|xyz
zero-rate|--link rate=0|rate
negative-rate|--link rate=-5M|rate
unknown-key|--link rate=1M,colour=red|colour
scenario-line|--scenario $tmp/bad.scn|bad.scn:2
missing-scenario|--scenario $tmp/none.scn|none.scn
missing-trace|--link trace=$tmp/nosuch.trace|nosuch
decreasing-trace|--link trace=$tmp/bad.trace|bad.trace:2
malformed-trace|--link trace=$tmp/bad2.trace|bad2.trace:2
bad-traffic|--traffic udp:fast|fast
bad-warmup|--warmup 61|--warmup: '61'
bad-warmup-line|--scenario $tmp/warm.scn|warm.scn:2: bad warmup
bad-duration|--duration 0.5|--duration: '0.5'
bad-duration-line|--scenario $tmp/long.scn|long.scn:2: bad duration '7200' (seconds, 1 to 3600)
unknown-option|--frobnicate|frobnicate
too-many-sites|--scenario $tmp/sites17.scn|sites17.scn:33: more than 16 sites
link-outside-site|--scenario $tmp/outside.scn|outside.scn:1: link outside any site
duplicate-site|--scenario $tmp/dupsite.scn|dupsite.scn:3: duplicate site name
hub-with-link|--scenario sim/scenarios/hub.scn --link rate=1M|--link: .*client sites
EOF2

# 8. issue 11, the tunnel owns the queue: with the default scheduler (ecf, paced), a ping beside
#    one TCP download stays within 10 ms (p50) and 40 ms (p99) of the best uplink's idle RTT
#    (twice its one-way delay), and the goodput is printed beside arrival's (the former
#    default); a far slow path never makes the tunnel worse than its near path alone (3 % for
#    noise)
for sc in default hetero aggregation lte3; do
	idle=$(awk '$1 == "link" {for (i = 2; i <= NF; i++) if ($i ~ /delay=/) {split($i, a, /delay=|ms/); print a[2] * 2}}' "sim/scenarios/$sc.scn" |
	       tr ',' ' ' | awk '{print $1}' | sort -n | head -1)
	p50=$(col "$tmp/q-$sc.tsv" "$DEF" rtt_p50_ms); p99=$(col "$tmp/q-$sc.tsv" "$DEF" rtt_p99_ms)
	ok "$p50 <= $idle + 10 && $p99 <= $idle + 40"
	check "ping-under-load-$sc" $? "$DEF: ping p50 $p50 ms, p99 $p99 ms under one TCP download (idle $idle ms: <= +10, +40); goodput $(col "$tmp/q-$sc.tsv" "$DEF" goodput_mbps) Mbit/s of $(col "$tmp/q-$sc.tsv" "$DEF" capacity_mbps); arrival: $(col "$tmp/q-$sc.tsv" arrival goodput_mbps) Mbit/s, ping $(col "$tmp/q-$sc.tsv" arrival rtt_p50_ms)/$(col "$tmp/q-$sc.tsv" arrival rtt_p99_ms) ms"
done
g=$(col "$tmp/far.tsv" "$DEF" goodput_mbps); g1=$(col "$tmp/near.tsv" "$DEF" goodput_mbps)
ok "$g >= 0.97 * $g1"
check far-slow-path $? "$DEF: near 20M/10ms + far 2M/150ms $g Mbit/s, the near one alone $g1 (>= 97 %); far share $(col "$tmp/far.tsv" "$DEF" far_share_pct) %, ping p99 $(col "$tmp/far.tsv" "$DEF" rtt_p99_ms) ms"
# a lossy uplink does not end a flow's slow start: after the 1 s warm-up the tunnel knows its
# loss (a young path is probed every 20 ms) and keeps a TCP download's first packets off it.
# Without that, one of them lost there ends Reno's slow start at a few packets: 43.9 Mbit/s
# over seeds 1-5 (45.9 39.2 46.7 43.2 44.4); with it 52.1
for seed in 1 2 3 4 5; do
	awk -F'\t' 'NR == 2 {print $2}' "$tmp/lossy-start-$seed.tsv"
done > "$tmp/lossy-start.txt"
m=$(awk '{t += $1; n++} END {if (n) printf "%.2f", t / n}' "$tmp/lossy-start.txt")
ok "${m:-0} >= 50"
check lossy-tcp-start $? "$DEF, one TCP download on 4 x 20 Mbit/s with uplink 2 at 10 % loss, 20 s after the warm-up: $m Mbit/s, the mean of seeds 1-5 ($(tr '\n' ' ' < "$tmp/lossy-start.txt")) (>= 50 of 55 on the three clean uplinks)"
# a link that falls from 20 to 1 Mbit/s for 3 s (a cellular fade) beside 3 x 20 Mbit/s: what it
# was sent before feedback showed the fall would queue there for a second, with every other
# path's packets of the flow waiting for it at the receiver; its oldest are sent again on the
# others (core/path.h, path_backlogged). One Reno download, 30 s, two warm-ups (the run's
# phase against the fall): 63.1-63.3 Mbit/s without the rescue, 68.4-68.7 with it
for w in 1 1.4; do
	awk -F'\t' 'NR == 2 {print $2}' "$tmp/fall-$w.tsv"
done > "$tmp/fall.txt"
m=$(sort -n "$tmp/fall.txt" | head -1)
ok "${m:-0} >= 66"
check capacity-fall $? "$DEF, one TCP download on 3 x 20 Mbit/s and a link that falls from 20 to 1 Mbit/s for 3 s: $(tr '\n' ' ' < "$tmp/fall.txt")Mbit/s at warm-ups 1 and 1.4 s (the least >= 66; 63.2 without the rescue)"

# 9. issue 12, a hub: 8 sites of 20 + 10 Mbit/s behind one 100 Mbit/s server uplink, one TCP
#    download each (sim/scenarios/hub.scn). Deterministic like any run; with the paced
#    scheduler the sites share the hub's uplink fairly (Jain >= 0.9; 0.98 as shipped,
#    0.93-0.98 when the delays move by a few ms: README, "A hub") and fill it: 100 Mbit/s of outer datagrams carry at most
#    100 x 1376 / 1500 = 91.7 Mbit/s of TCP payload (1500 - 28 UDP/IP - 44 mptun - 52 TCP),
#    and 87 is 95 % of that (90.9 as shipped); more than 91.7 would mean that the sites do not
#    share the hub's uplink
cmp -s "$tmp/hub-a.tsv" "$tmp/hub-b.tsv" && diff -r "$tmp/hub-a" "$tmp/hub-b" > /dev/null
check hub-determinism $? "hub.scn twice: table and $(ls "$tmp/hub-a" | wc -l) files identical"
sites() {	# sites FILE SCHED: each site's goodput, "s1 12.9 s2 14.6 ..."
	awk -F'\t' -v s="$2" 'NR==1{for(i=1;i<=NF;i++) if($i ~ /_mbps$/ && $i != "goodput_mbps" && $i != "capacity_mbps") {k[i]=1; n[i]=substr($i, 1, length($i)-5)}}
		NR>1 && $1==s {for(i=1;i<=NF;i++) if(k[i]) printf "%s %s ", n[i], $i}' "$1"
}
j=$(col "$tmp/hub-a.tsv" "$DEF" jain); g=$(col "$tmp/hub-a.tsv" "$DEF" goodput_mbps)
ok "$j >= 0.9 && $g >= 87 && $g <= 91.75"
check "hub-fairness" $? "$DEF: Jain $j (>= 0.9), total $g Mbit/s (87 <= total <= 91.7, the uplink's ceiling); per site $(sites "$tmp/hub-a.tsv" "$DEF")"
echo "INFO hub-arrival: Jain $(col "$tmp/hub-a.tsv" arrival jain), total $(col "$tmp/hub-a.tsv" arrival goodput_mbps) Mbit/s; per site $(sites "$tmp/hub-a.tsv" arrival)"

# 10. the registry is listed with summaries
n=$("$SIM" --sched list | wc -l)
[ "$n" -ge 3 ] && "$SIM" --sched list | grep -q '^weighted ' && "$SIM" --sched list | grep -q '^lossaware ' && "$SIM" --sched list | grep -q '^roundrobin '
check sched-list $? "$n schedulers listed"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
