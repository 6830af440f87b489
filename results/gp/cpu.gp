# cpu.gp - the aggregation server's CPU use (all its processes), per variant
load GP."common.gp"
set yrange [0:*]
set title 'Aggregation server: CPU use (all its processes)'
set xlabel 'time since the sampler started (s)'
set ylabel '% of one core'
plot @LINES, @HOVER
