# fairness-demand.gp - fairness by demand in each 10 s window with two or more MSAs pending
# (the report's index); a run without such a window gets a note instead of points
load GP."common.gp"
set yrange [0:1.05]
set xrange [0:*]
set title "Fairness by demand: Jain's index of deliveries over max-min fair shares, 10 s windows with 2+ MSAs pending"
set xlabel 'window start, time since the first submission (s)'
set ylabel 'fairness index'
if (N == 0) {
    plot NaN title 'no window had more than one MSA with mail pending'
} else {
    plot @POINTS, @HOVER
}
