# relay-latency-cdf.gp - the relay latency CDF per variant and MSA over delivered mail
# (from the aggregation server's hop to the MX)
load GP."common.gp"
set logscale x
set yrange [0:1]
set title 'Relay latency CDF per MSA (delivered mail)'
set xlabel 'relay latency (s, log scale)'
set ylabel 'share of delivered messages'
plot @STEPS, @HOVER
