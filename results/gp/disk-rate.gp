# disk-rate.gp - the aggregation server's bytes written per second by its processes
# (/proc/PID/io), per variant
load GP."common.gp"
set yrange [0:*]
set title 'Aggregation server: bytes written per second by its processes (/proc/PID/io)'
set xlabel 'time since the sampler started (s)'
set ylabel 'KiB written per second'
plot @LINES, @HOVER
