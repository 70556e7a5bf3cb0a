# Shared look of the perf plots; loaded by each plot script. The caller sets
# the terminal and output, `datadir` (perf/results/data) and `plotdir`.
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics nomirror rotate by -20
set ytics nomirror
set border 3
