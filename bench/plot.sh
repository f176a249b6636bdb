#!/usr/bin/env bash
# Draws latency percentiles and CPU per delivery against offered load from a
# sweep's results (bench/run.sh sweep) into bench/plots/sweep.png, with the
# data beside it (sweep.dat, sweep-summary.json). Installs gnuplot
# (gnuplot-nox, Debian) when it is missing.
#   bench/plot.sh [RESULTS_DIR]      default: bench/results/sweep-latest
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-bench/results/sweep-latest}
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
sub="$(sed -n 's/^date: //p' "$dir/machine.txt"), $(sed -n 's/^cpu: //p' "$dir/machine.txt"), load average at start $(sed -n 's/^loadavg at start: //p' "$dir/machine.txt")"
gnuplot -e "dat='bench/plots/sweep.dat'; out='bench/plots/sweep.png'; subtitle='$sub'" bench/plot.gp
echo "bench/plots/sweep.png"
