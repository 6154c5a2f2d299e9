#!/usr/bin/env bash
# JT/T 808 benchmark (issue 20): location reports acknowledged per second from N simulated
# terminals over loopback (budget: >= 20,000/s from 1,000 terminals), on the embedded store.
#
#   benches/jt808.sh [TERMINALS] [SECONDS] [WINDOW]      # default: 1000 10 1
#
# A release server (`serve --jt808-listen`) on a fresh data directory with the sample city's
# registry and TERMINALS vehicles, each with its terminal's phone in devices.csv; then
# `examples/jt808_load.rs` connects every terminal, registers, authenticates, and each sends
# 0x0200 reports keeping up to WINDOW unanswered (1: each waits for the previous answer).
# A report counts once its 0x8001 answer (result 0, sent after the commit) is read. Prints
# the load generator's JSON line (per_s, latency p50/p99) and the pings the store holds after.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}; DUR=${2:-10}; WINDOW=${3:-1}
cargo build --release --locked --bin gridbeat --example jt808_load >/dev/null
BIN=target/release/gridbeat
WORK=$(mktemp -d /tmp/gridbeat-jt808.XXXXXX)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$BIN" demo --no-serve --out "$WORK/city" >/dev/null
{
  echo "vehicle,plate,kind,unit"
  for k in $(seq 0 $((N - 1))); do echo "v-$k,P$k,sweeper,430102001"; done
} > "$WORK/vehicles.csv"
{
  echo "device,worker,vehicle"
  for k in $(seq 0 $((N - 1))); do printf '0139%08d,,v-%d\n' "$k" "$k"; done
} > "$WORK/devices.csv"
"$BIN" registry load --data "$WORK/data" --grids "$WORK/city/grids.geojson" \
  --workers "$WORK/city/workers.csv" --vehicles "$WORK/vehicles.csv" --devices "$WORK/devices.csv" >/dev/null
printf '[server]\njt808_max_connections = %d\n' $((N + 100)) > "$WORK/gridbeat.toml"
ulimit -n 65536 2>/dev/null || true
"$BIN" serve --config "$WORK/gridbeat.toml" --data "$WORK/data" --listen 127.0.0.1:18090 \
  --jt808-listen 127.0.0.1:17808 >"$WORK/serve.log" 2>&1 &
for _ in $(seq 1 300); do curl -sf http://127.0.0.1:18090/healthz >/dev/null && break; sleep 0.1; done
target/release/examples/jt808_load --port 17808 --terminals "$N" --seconds "$DUR" --window "$WINDOW"
curl -s http://127.0.0.1:18090/metrics | grep -E '^gridbeat_pings_accepted_total\{source="jt808"\}' || true
