# W3 fan-in: throughput (with the runs' min-max) and peak RSS per variant.
load plotdir.'/common.gp'
set multiplot layout 1,2 title "W3 fan-in, 2 senders -> 1 receiver"
set style histogram errorbars gap 1 lw 1
set ylabel "million msgs/s"
set yrange [0:*]
set title "throughput (median, min-max)"
plot datadir.'/w3.dat' using 2:3:4:xtic(1) notitle linecolor 1
set style histogram clustered gap 1
set ylabel "MiB"
set logscale y
set yrange [1:*]
set title "peak RSS (64 MiB target dashed)"
plot datadir.'/w3.dat' using 5:xtic(1) notitle linecolor 2, \
     64 with lines dashtype 2 linecolor 0 notitle
unset multiplot
