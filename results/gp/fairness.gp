# fairness.gp - Jain's fairness index of per-MSA arrivals in 10 s windows, per variant
load GP."common.gp"
set yrange [0:1.05]
set title "Jain's fairness index of per-MSA arrivals, 10 s windows (1 = equal shares)"
set xlabel 'time since the first submission (s)'
set ylabel 'fairness index'
plot @POINTS, @HOVER
