# queues.gp - the queue length of every Postfix instance (incoming + active + deferred)
# over time, per variant
load GP."common.gp"
set title 'Queue length of every Postfix instance (incoming + active + deferred)'
set xlabel 'time since the sampler started (s)'
set ylabel 'messages queued'
plot @LINES, @HOVER
