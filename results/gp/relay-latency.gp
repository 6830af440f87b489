# relay-latency.gp - the mean relay latency of the messages received in each second,
# per variant and MSA (log scale)
load GP."common.gp"
set logscale y
set title 'Mean relay latency of the messages received in each second (log scale)'
set xlabel 'time since the first submission (s)'
set ylabel 'relay latency (s)'
plot @POINTS, @HOVER
