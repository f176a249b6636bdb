#!/usr/bin/env bash
# Draws latency percentiles and CPU per delivery against offered load from a
# sweep's results (bench/run.sh sweep) into bench/plots/sweep.png, chatd beside
# Socket.IO 4 + Redis (when the sweep measured it) and the floor, with the data
# beside it (sweep.dat, sweep-summary.json). A third panel shows the ceilings
# (bench/run.sh ceiling) when there is a ceiling.dat: the one in CEILING_DIR,
# else the last one copied to bench/plots. Installs gnuplot (gnuplot-nox,
# Debian) when it is missing.
#   bench/plot.sh [RESULTS_DIR [CEILING_DIR]]
#     defaults: bench/results/sweep-latest, bench/results/ceiling-latest
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-bench/results/sweep-latest}
ceiling_dir=${2:-bench/results/ceiling-latest}
[[ -f $dir/plot.dat ]] || { echo "no $dir/plot.dat: run bench/run.sh sweep first" >&2; exit 1; }
if ! command -v gnuplot >/dev/null; then
  echo "installing gnuplot-nox" >&2
  apt-get install -y gnuplot-nox >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y gnuplot-nox >/dev/null; }
fi
mkdir -p bench/plots
# One line per rate, in rate order (the report writes them in file order).
{ head -1 "$dir/plot.dat"; tail -n +2 "$dir/plot.dat" | sort -n -k1,1; } >bench/plots/sweep.dat
cp "$dir/summary.json" bench/plots/sweep-summary.json
cp "$dir/machine.txt" bench/plots/sweep-machine.txt
[[ -f $ceiling_dir/ceiling.dat ]] && cp "$ceiling_dir/ceiling.dat" bench/plots/ceiling.dat
ceil=""
[[ -f bench/plots/ceiling.dat ]] && ceil=bench/plots/ceiling.dat
# Sweeps from before the reference was measured have no column 14 (or only
# "-"): leave it out of the legend and the title rather than promise it.
reference=0
awk 'NR > 1 && NF >= 14 && $14 != "-" { found = 1 } END { exit !found }' bench/plots/sweep.dat && reference=1
sub="$(sed -n 's/^date: //p' "$dir/machine.txt"), $(sed -n 's/^cpu: //p' "$dir/machine.txt"), load average at start $(sed -n 's/^loadavg at start: //p' "$dir/machine.txt")"
gnuplot -e "dat='bench/plots/sweep.dat'; out='bench/plots/sweep.png'; subtitle='$sub'; ceil='$ceil'; reference=$reference" \
  bench/plot.gp
echo "bench/plots/sweep.png"
