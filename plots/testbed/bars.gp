# make bench, testbed part: TCP goodput per configuration on the real daemon over emulated
# uplinks, one bar per mix. Usage: gnuplot -e "dir='plots/out'" plots/testbed/bars.gp
# (reads dir/testbed-wide.tsv: config, aggregation Mbit/s, heterogeneous Mbit/s).
set terminal pngcairo size 1000,560 font ",10"
set output dir.'/testbed.png'
set title "TCP goodput through mptun, one uplink and MPTCP\n{/*0.9 4 x 20 Mbit/s at 20 ms; 50/30/10/10 Mbit/s at 10/20/30/40 ms (100 summed)}"
set ylabel "goodput (Mbit/s)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set key top left
plot dir.'/testbed-wide.tsv' using 2:xtic(1) title "aggregation (4 x 20 Mbit/s)", \
     '' using 3 title "heterogeneous (50/30/10/10)"
