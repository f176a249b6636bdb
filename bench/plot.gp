# gnuplot -e "dat='plot.dat'; out='sweep.png'; subtitle='...'; ceil='ceiling.dat'; reference=1" bench/plot.gp
# Columns of plot.dat (written by chat_bench_report --dat), "-" where unknown:
#  1 offered deliveries/s  2-4 chatd p50/p90/p99 ms  5-7 floor p50/p90/p99 ms
#  8 chatd CPU us/delivery  9 floor CPU us/delivery  10 chatd/floor ratio
#  11-13 Socket.IO+Redis p50/p90/p99 ms  14 Socket.IO+Redis CPU us/delivery
#  15 Socket.IO+Redis/floor ratio
# ceil (optional; chat_bench_report --ceiling-dat): 1 family, deliveries/s
# sustained by 2 chatd  3 Socket.IO+Redis  4 floor. Without it: two panels.
# reference=0 leaves the Socket.IO lines (and its name in the title) out, for
# sweeps run before it was measured.
if (!exists("dat")) dat = 'plot.dat'
if (!exists("out")) out = 'sweep.png'
if (!exists("subtitle")) subtitle = ''
if (!exists("ceil")) ceil = ''
if (!exists("reference")) reference = 1
panels = ceil eq '' ? 2 : 3
# The reference adds four legend entries: they go under the plots, not over the lines.
set terminal pngcairo size 700*panels,(reference ? 640 : 560) font ",11"
set output out
set datafile missing "-"
versus = reference ? "chatd (3 nodes) vs Socket.IO 4 + Redis adapter vs floor" : "chatd (3 nodes) vs floor"
what = "sweep of one room of 600 clients, 6 senders".(panels == 3 ? "; ceiling per scenario" : "")
set multiplot layout 1,panels title versus.", ".what."\n".subtitle
if (reference) { set key below spacing 1.1 height 1 } else { set key top left }
set grid
set xlabel "offered load (deliveries/s)"
set format x "%.0s%c"
set logscale y
set ylabel "end-to-end latency (ms)"
set title "latency percentiles"
# Plot elements for the reference, spliced in as macros only when it was measured.
sio_latency = reference ? \
  "dat u 1:13 w lp lw 2 dt 4 pt 13 lc rgb '#8e44ad' t 'Socket.IO+Redis p99', \
   dat u 1:11 w lp lw 2 dt 4 pt 12 lc rgb '#bb8fce' t 'Socket.IO+Redis p50'," : ""
sio_cpu = reference ? "dat u 1:14 w lp lw 2 dt 4 pt 13 lc rgb '#8e44ad' t 'Socket.IO+Redis'," : ""
plot dat u 1:4 w lp lw 2 pt 7 lc rgb "#c0392b" t "chatd p99", \
     dat u 1:3 w lp lw 2 pt 5 lc rgb "#e67e22" t "chatd p90", \
     dat u 1:2 w lp lw 2 pt 9 lc rgb "#f1c40f" t "chatd p50", \
     @sio_latency \
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
     @sio_cpu \
     dat u 1:9 w lp lw 2 dt 2 pt 6 lc rgb "#2c3e50" t "floor", \
     dat u 1:10 axes x1y2 w lp lw 1 pt 2 lc rgb "#7f8c8d" t "chatd / floor (right axis)"
if (panels == 3) {
  unset y2tics
  unset y2label
  set ytics mirror
  set xlabel ""
  set format x "%g"
  set format y "%.0s%c"
  set ylabel "deliveries/s sustained"
  set key below horizontal
  set auto fix
  set offsets 0, 0, graph 0.1, 0
  set style data histograms
  set style histogram clustered gap 1
  set style fill solid 0.85 border -1
  set title "ceiling (p99 ≤ 50 ms, ≥ 95 % of offered delivered, none lost)"
  # Clustered bars of 3 sit at -1/4, 0, +1/4 around each family's x.
  plot ceil u 2:xtic(1) lc rgb "#c0392b" t "chatd", \
       ceil u 3 lc rgb "#8e44ad" t "Socket.IO 4 + Redis", \
       ceil u 4 lc rgb "#2c3e50" t "floor", \
       ceil u ($0-0.25):2:(gprintf("%.0s%c", $2)) w labels offset 0,0.6 font ",9" notitle, \
       ceil u 0:3:(gprintf("%.0s%c", $3)) w labels offset 0,0.6 font ",9" notitle, \
       ceil u ($0+0.25):4:(gprintf("%.0s%c", $4)) w labels offset 0,0.6 font ",9" notitle
}
unset multiplot
