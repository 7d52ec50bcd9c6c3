# Each site's goodput over time behind a hub, one plot per scheduler; nothing for a run
# without sites.
# Usage: gnuplot -e "dir='plots/out'" plots/sites.gp   (reads dir/meta.gp and dir/sites_SCHED.tsv)
load dir.'/meta.gp'
if (!exists("nsites")) exit
set terminal pngcairo size 1100,600 font ",10"
set xlabel "time (s)"
set ylabel "goodput (Mbit/s)"
set grid
set key outside right top title "site"
set yrange [0:*]
do for [k=1:words(scheds)] {
	s = word(scheds, k)
	set output dir.'/sites_'.s.'.png'
	set title "Goodput per site with ".s."\n{/*0.9 ".scenario."}"
	plot for [i=1:nsites] dir.'/sites_'.s.'.tsv' using 1:(column(i+1)) with lines lw 1.5 title word(sites, i)
}
