# latency-cdf.gp - the end-to-end latency CDF per variant and MSA over every submitted
# message: mail never delivered keeps a curve below 1
load GP."common.gp"
set logscale x
set yrange [0:1]
set title 'End-to-end latency CDF over every submitted message (undelivered mail keeps the curve below 1)'
set xlabel 'latency from submission to the MX (s, log scale)'
set ylabel 'share of submitted messages'
plot @STEPS, @HOVER
