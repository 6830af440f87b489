# windows.gp - messages delivered per MSA in each 10 s window, per variant (the report's
# table of windows)
load GP."common.gp"
set yrange [0:*]
set offsets 0,0,graph 0.06,0
set title 'Messages delivered per MSA in each 10 s window'
set xlabel 'window start, time since the first submission (s)'
set ylabel 'messages delivered in the window'
plot @STEPS, @HOVER
