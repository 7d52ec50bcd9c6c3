# Distribution (CDF) of the ping RTT through the tunnel, one curve per scheduler.
# Usage: gnuplot -e "dir='plots/out'" plots/rtt_cdf.gp   (reads dir/meta.gp and dir/rtt_SCHED.tsv)
load dir.'/meta.gp'
set terminal pngcairo size 1000,600 font ",10"
set output dir.'/rtt_cdf.png'
set title "Ping RTT through the tunnel (CDF)\n{/*0.9 ".scenario."}"
set xlabel "round-trip time (ms)"
set ylabel "fraction of pings at or below"
set yrange [0:1]
set grid
set key outside right bottom
plot for [i=1:words(scheds)] dir.'/rtt_'.word(scheds, i).'.tsv' using 1:2 with steps lw 2 title word(scheds, i)
