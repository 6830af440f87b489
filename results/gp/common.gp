# common.gp - what every figure shares: figures.py's tab-separated points (a block per
# series; a third column labels the points that show their values on hover), the key,
# the grid, and the macros that draw the series. figures.py sets N and the arrays FILE,
# TITLE, COLOR, DT, LW, BLOCK, PANEL (one entry per series) and NP, PANELS.
set datafile separator "\t"
set key outside right top
set grid
SERIES = "for [i=1:N] FILE[i] index BLOCK[i] using 1:2"
STYLE = "lc rgb COLOR[i] dt DT[i] lw LW[i] title TITLE[i]"
STEPS = SERIES." with steps ".STYLE
LINES = SERIES." with lines ".STYLE
POINTS = SERIES." with linespoints pt 7 ps 0.5 ".STYLE
HOVER = "for [i=1:N] FILE[i] index BLOCK[i] using 1:(strcol(3) ne '' ? column(2) : NaN):3 with labels hypertext point pt 7 ps 0.45 lc rgb COLOR[i] notitle"
