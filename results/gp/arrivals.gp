# arrivals.gp - messages received per second per variant and sending MSA
load GP."common.gp"
set title 'Messages received per second, per sending MSA'
set xlabel 'time since the first submission (s)'
set ylabel 'messages received in the second'
plot @STEPS, @HOVER
