# disk-writes.gp - the aggregation server's cumulative bytes written by its processes
# (/proc/PID/io), per variant
load GP."common.gp"
set title 'Aggregation server: cumulative bytes written by its processes (/proc/PID/io)'
set xlabel 'time since the sampler started (s)'
set ylabel 'MiB written'
plot @LINES, @HOVER
