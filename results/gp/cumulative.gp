# cumulative.gp - messages received at each MX and at all of them over time (the study's
# "linear vs slowed" picture): a step line per variant and MX, a thick one for all MXs
load GP."common.gp"
set title 'Messages received at each MX and at all of them, over time'
set xlabel 'time since the first submission (s)'
set ylabel 'messages received (cumulative)'
plot @STEPS, @HOVER
