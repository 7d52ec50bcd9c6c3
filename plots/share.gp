# Each uplink's share of the bytes towards the client, one stacked bar per scheduler.
# Usage: gnuplot -e "dir='plots/out'" plots/share.gp   (reads dir/meta.gp and dir/share.tsv)
load dir.'/meta.gp'
set terminal pngcairo size 900,600 font ",10"
set output dir.'/share.png'
set title "Share of bytes per uplink\n{/*0.9 ".scenario."}"
set ylabel "share of bytes towards the client (%)"
set xlabel "scheduler"
set yrange [0:100]
set grid ytics
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.6
set key outside right top title "uplink"
plot for [i=2:nlinks+1] dir.'/share.tsv' using i:xtic(1) title columnheader(i)
