# W6 ask latency: p50, p99 and p99.9 per placement (log scale).
load plotdir.'/common.gp'
set title "W6 ask latency per placement (median of runs)"
set ylabel "ns per ask"
set logscale y
set style histogram clustered gap 1
plot datadir.'/w6.dat' using 2:xtic(1) title 'p50', \
     '' using 3 title 'p99', \
     '' using 4 title 'p99.9'
