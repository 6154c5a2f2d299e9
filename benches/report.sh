#!/usr/bin/env bash
# Benchmark of the batch door: `gridbeat report` on the reference workload
# (`gridbeat simulate --seed 7 --workers 200 --days 30`, Parquet), with wall time, pings/s and
# peak memory (GNU time). Budget (issue 5): ≤ 30 s wall and ≤ 3 GB peak RSS on 2 cores.
# Then prints the score distribution per behaviour label (benches/report_labels.py).
#
# Usage: bash benches/report.sh [DIR]   (DIR defaults to target/ref; reused if present)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/ref}
cargo build --release --quiet
bin=target/release/gridbeat
if [ ! -f "$dir/pings.parquet" ]; then
  "$bin" simulate --seed 7 --workers 200 --days 30 --out "$dir"
fi
out="$dir/report"
rm -rf "$out"
log=$(mktemp)
/usr/bin/time -v "$bin" report --grids "$dir/grids.geojson" --workers "$dir/workers.csv" \
  --checkpoints "$dir/checkpoints.geojson" --pings "$dir/pings.parquet" --month 2026-10 \
  --out "$out" 2> "$log"
wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
rss_kb=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
pings=$(python3 -c "import json;print(sum(w['pings'] for w in json.load(open('$out/report.json'))['workers']))")
secs=$(python3 -c "p='$wall'.split(':');print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))")
echo "wall ${wall} (${secs} s), peak RSS $((rss_kb / 1024)) MiB, ${pings} pings, $(python3 -c "print(f'{$pings/$secs/1e6:.2f}')") M pings/s"
python3 benches/report_labels.py "$out/report.json" "$dir/truth.json"
