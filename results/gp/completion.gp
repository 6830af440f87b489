# completion.gp - the last arrival of each MSA's mail and of all of it, a bar per variant,
# labelled delivered/submitted (a variant that delivered less may look faster)
load GP."common.gp"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set offsets 0,0,graph 0.08,0
set title "Completion: last arrival of each MSA's mail (labels: delivered/submitted)"
set xlabel 'sending MSA'
set ylabel 'time since the first submission (s)'
plot for [i=1:N] FILE[i] index BLOCK[i] using 2:xtic(1) lc rgb COLOR[i] title TITLE[i], \
     for [i=1:N] FILE[i] index BLOCK[i] using ($0 + (i - 1 - (N - 1) / 2.0) / (N + 1)):2:3 with labels font ',9' offset 0,0.7 notitle
