# mx1-arrivals.gp - arrivals at mx1 per sending MSA over time (experiment 3's receive-time
# distribution)
load GP."common.gp"
set title 'Receive times at mx1, per sending MSA (cumulative)'
set xlabel 'arrival at mx1, time since the first submission (s)'
set ylabel 'messages received at mx1'
plot @STEPS, @HOVER
