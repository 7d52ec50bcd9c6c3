# Goodput over time, one line per scheduler.
# Usage: gnuplot -e "dir='plots/out'" plots/goodput.gp   (reads dir/meta.gp and dir/goodput.tsv)
load dir.'/meta.gp'
set terminal pngcairo size 1100,600 font ",10"
set output dir.'/goodput.png'
set title "Goodput over time by scheduler\n{/*0.9 ".scenario."}"
set xlabel "time (s)"
set ylabel "goodput (Mbit/s)"
set grid
set key outside right top
set yrange [0:*]
plot for [i=1:words(scheds)] dir.'/goodput.tsv' using 1:(column(i+1)) with lines lw 2 title word(scheds, i)
