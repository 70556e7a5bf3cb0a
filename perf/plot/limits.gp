# Every workload against its limit probe: how many times the floor it costs.
load plotdir.'/common.gp'
set title "Workloads against their machine limits (1 = at the floor)"
set ylabel "x limit (log)"
set logscale y
set yrange [*:*]
set rmargin 10
set style histogram clustered gap 1
set xtics rotate by -35 font ",8"
set bmargin 9
plot datadir.'/limits.dat' using 2:xtic(1) notitle linecolor 3, \
     1 with lines dashtype 2 linecolor 0 title 'limit', \
     2 with lines dashtype 3 linecolor 1 title '2x limit'
