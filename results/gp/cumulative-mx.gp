# cumulative-mx.gp - messages received at each MX, one panel per MX on its own scale and a
# shared time axis: a few messages to mx1 and mx2 stay visible next to thousands to mx3
load GP."common.gp"
set key inside left top
XMAX = 1
do for [i=1:N] {
    stats FILE[i] index BLOCK[i] using 1 nooutput
    XMAX = STATS_max > XMAX ? STATS_max : XMAX
}
set xrange [0:XMAX]
set xlabel 'time since the first submission (s)'
set ylabel 'messages received (cumulative)'
set multiplot layout 1,NP title 'Messages received at each MX, each on its own scale'
do for [j=1:NP] {
    set title PANELS[j]
    plot for [i=1:N] FILE[i] index BLOCK[i] using 1:(PANEL[i] == j ? column(2) : NaN) with steps lc rgb COLOR[i] dt DT[i] lw LW[i] title (PANEL[i] == j ? TITLE[i] : ''), \
         for [i=1:N] FILE[i] index BLOCK[i] using 1:(PANEL[i] == j && strcol(3) ne '' ? column(2) : NaN):3 with labels hypertext point pt 7 ps 0.45 lc rgb COLOR[i] notitle
}
unset multiplot
