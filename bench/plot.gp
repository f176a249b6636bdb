# gnuplot -e "dat='plot.dat'; out='sweep.png'; subtitle='...'" bench/plot.gp
# Columns of plot.dat (written by chat_bench_report --dat):
#  1 offered deliveries/s  2-4 chatd p50/p90/p99 ms  5-7 floor p50/p90/p99 ms
#  8 chatd CPU us/delivery  9 floor CPU us/delivery  10 ratio
if (!exists("dat")) dat = 'plot.dat'
if (!exists("out")) out = 'sweep.png'
if (!exists("subtitle")) subtitle = ''
set terminal pngcairo size 1400,560 font ",11"
set output out
set multiplot layout 1,2 title "chatd (3 nodes) vs floor, one room of 600 clients, 6 senders\n".subtitle
set key top left
set grid
set xlabel "offered load (deliveries/s)"
set format x "%.0s%c"
set logscale y
set ylabel "end-to-end latency (ms)"
set title "latency percentiles"
plot dat u 1:4 w lp lw 2 pt 7 lc rgb "#c0392b" t "chatd p99", \
     dat u 1:3 w lp lw 2 pt 5 lc rgb "#e67e22" t "chatd p90", \
     dat u 1:2 w lp lw 2 pt 9 lc rgb "#f1c40f" t "chatd p50", \
     dat u 1:7 w lp lw 2 dt 2 pt 6 lc rgb "#2c3e50" t "floor p99", \
     dat u 1:6 w lp lw 2 dt 2 pt 4 lc rgb "#2980b9" t "floor p90", \
     dat u 1:5 w lp lw 2 dt 2 pt 8 lc rgb "#16a085" t "floor p50", \
     10 w l lw 1 dt 3 lc rgb "#7f8c8d" t "10 ms target"
unset logscale y
set ylabel "server CPU per delivery (µs, user+sys)"
set y2label "chatd / floor"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set title "CPU per delivery"
plot dat u 1:8 w lp lw 2 pt 7 lc rgb "#c0392b" t "chatd", \
     dat u 1:9 w lp lw 2 dt 2 pt 6 lc rgb "#2c3e50" t "floor", \
     dat u 1:10 axes x1y2 w lp lw 1 pt 2 lc rgb "#8e44ad" t "ratio (right axis)"
unset multiplot
