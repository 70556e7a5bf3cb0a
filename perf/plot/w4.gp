# W4 ring: ns per hop per placement, rings of 1,000 and 10,000 actors.
load plotdir.'/common.gp'
set title "W4 ring, ns per hop per placement (median of runs)"
set ylabel "ns per hop"
set yrange [0:*]
set style histogram clustered gap 1
plot datadir.'/w4.dat' using 2:xtic(1) title 'M = 1,000', \
     '' using 3 title 'M = 10,000'
