#!/usr/bin/env bash
# Map-door benchmarks (issue 10) on the reference workload imported into the service,
# loopback only. Needs a release build (`cargo build --release`).
#
#   benches/layers.sh [N]        # N requests per measurement (default 200)
#
# The reference month (`simulate --seed 7 --workers 200 --days 30`) is imported with
# `gridbeat import`, `serve` brings every summary current, then benches/layers_client.py
# measures the tracks layer of one worker-day, the grids layer of the whole city for the
# month, and z14 tiles (p50/p99; its docstring says exactly what each request does).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
BIN=${BIN:-target/release/gridbeat}
[ -x "$BIN" ] || cargo build --release
WORK=${WORK:-$(mktemp -d /tmp/gridbeat-layers.XXXXXX)}
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
PORT=18081
wait_up() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done; echo "server did not start"; exit 1; }

if [ ! -f "$WORK/d/gridbeat.db" ]; then
  "$BIN" simulate --seed 7 --workers 200 --days 30 --out "$WORK/ref" >/dev/null
  "$BIN" registry load --data "$WORK/d" --grids "$WORK/ref/grids.geojson" --workers "$WORK/ref/workers.csv" \
    $( [ -f "$WORK/ref/checkpoints.geojson" ] && echo --checkpoints "$WORK/ref/checkpoints.geojson" ) >/dev/null
  PINGS=$(ls "$WORK"/ref/pings.parquet 2>/dev/null || ls "$WORK"/ref/pings*.csv)
  "$BIN" import --data "$WORK/d" $PINGS
fi
"$BIN" serve --data "$WORK/d" --listen 127.0.0.1:$PORT 2>"$WORK/serve.log" &
wait_up
while true; do
  P=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^gridbeat_recompute_pending /{print $2}')
  [ "${P:-1}" = "0" ] && break
  sleep 0.5
done
echo "summaries current; data in $WORK (reuse with WORK=$WORK)"
python3 benches/layers_client.py "http://127.0.0.1:$PORT" --n "$N"
