#!/usr/bin/env bash
# Service benchmarks (issues 9 and 17), loopback only, each bounded in time. Needs `wrk`
# (Debian: apt-get install wrk), `bc`, a release build (`cargo build --release`) and, for
# PostgreSQL, a server whose user may create databases (default
# postgres://postgres@127.0.0.1:5432/postgres; set GRIDBEAT_BENCH_PG) and `psql`.
#
#   benches/service.sh [--store sqlite|pg|both] [DURATION_S]     # default: both, 10 s
#
# Every figure is measured for each store in the same run, PostgreSQL with 1 and 2 replicas
# (two `serve` processes on one database, as behind a load balancer):
# 1. Batched NDJSON ingest: wrk posts NDJSON batches of 1,000 distinct pings (a Lua script
#    numbers them) with 8 connections in all (split over the replicas); acknowledged pings/s =
#    pings the store counts as stored during the run / DURATION (every batch is checked to be
#    answered 200).
# 2. Single OsmAnd requests: wrk GETs /osmand?id=…&timestamp=… with a fresh timestamp per
#    request, 32 connections: requests/s and latency percentiles (p99).
# 3. The reference month (`simulate --seed 7 --workers 200 --days 30`): imported with
#    `gridbeat import`, then the replicas bring every summary current (measured from their
#    start until no worker-day is pending), then the city report is served by each replica:
#    the first (cold) request, and wrk's latency percentiles over DURATION (p50).
set -euo pipefail
cd "$(dirname "$0")/.."
STORES="sqlite pg"
if [ "${1:-}" = "--store" ]; then
  case "${2:-}" in
    sqlite) STORES="sqlite" ;;
    pg) STORES="pg" ;;
    both) STORES="sqlite pg" ;;
    *) echo "--store sqlite|pg|both" >&2; exit 2 ;;
  esac
  shift 2
fi
DUR=${1:-10}
BIN=target/release/gridbeat
[ -x "$BIN" ] || cargo build --release
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
command -v bc >/dev/null || { echo "needs bc (apt-get install bc)"; exit 1; }
ADMIN=${GRIDBEAT_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d /tmp/gridbeat-bench.XXXXXX)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  for db in $(cat "$WORK/dbs" 2>/dev/null); do psql -X -q "$ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
PORTS=(18080 18081)

wait_up() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.1; done; echo "server on $1 did not start"; exit 1; }

# A fresh store of a kind: prints the flag that names it (`--data DIR` or `--store URL`).
# (It runs in a command substitution, so its count lives in a file.)
fresh_store() {
  local n; n=$(( $(cat "$WORK/n" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$WORK/n"
  if [ "$1" = sqlite ]; then
    echo "--data $WORK/data-$n"
  else
    local db="gb_bench_$$_$n"
    psql -X -q "$ADMIN" -c "CREATE DATABASE $db" >/dev/null
    echo "$db" >> "$WORK/dbs"
    echo "--store ${ADMIN%/*}/$db"
  fi
}
# Stored pings and pending worker-days, as the store counts them (through replica 1's /metrics).
stored() { curl -sf "http://127.0.0.1:${PORTS[0]}/metrics" | awk '/^gridbeat_store_pings /{print $2}'; }
pending() { curl -sf "http://127.0.0.1:${PORTS[0]}/metrics" | awk '/^gridbeat_recompute_pending /{print $2}'; }
PIDS=()
start_replicas() { # STOREFLAG REPLICAS LOGNAME
  PIDS=()
  for i in $(seq 0 $(($2 - 1))); do
    # shellcheck disable=SC2086
    "$BIN" serve $1 --listen "127.0.0.1:${PORTS[$i]}" 2>"$WORK/$3-$i.log" &
    PIDS+=($!)
  done
  for i in $(seq 0 $(($2 - 1))); do wait_up "${PORTS[$i]}"; done
}
stop_replicas() { for p in "${PIDS[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done; PIDS=(); }
# Waits for the stores' counts to be published (each replica publishes every tick).
settle_metrics() { sleep 1.5; }

"$BIN" demo --no-serve --out "$WORK/city" >/dev/null
printf 'device,worker\n123456,w-0001\n' > "$WORK/devices.csv"
cat > "$WORK/ndjson.lua" <<'LUA'
local counter = 0
local threads = {}
local prefix = os.getenv("WRK_PREFIX") or "b"
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
request = function()
  counter = counter + 1
  local parts = {}
  local w = string.format("%s-%02d-%d", prefix, tid, counter % 50)
  -- Each thread posts for its own 50 workers; each request 1,000 s of fixes, in the past.
  local t0 = 1700000000000 + counter * 1000 * 1000
  for i = 1, 1000 do
    parts[i] = string.format('{"worker":"%s","ts":%d,"lat":28.19%04d,"lon":112.97%04d,"acc":8}', w, t0 + i * 1000, i, i)
  end
  return wrk.format("POST", "/api/v1/pings", {["Content-Type"] = "application/x-ndjson"}, table.concat(parts, "\n"))
end
done = function(summary, latency, requests)
  io.write(string.format("  batches %d (%.0f/s), non-2xx %d, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, summary.requests / (summary.duration / 1e6), summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
cat > "$WORK/osmand.lua" <<'LUA'
local counter = 0
local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
request = function()
  counter = counter + 1
  -- Distinct Unix seconds per request (threads 10^7 s apart), all in the past.
  local ts = 1000000000 + tid * 10000000 + counter
  return wrk.format("GET", string.format("/osmand?id=123456&lat=28.19&lon=112.97&timestamp=%d&speed=1.2&accuracy=8", ts))
end
done = function(summary, latency, requests)
  io.write(string.format("  OsmAnd requests/s: %.0f  p50 %.2f ms  p99 %.2f ms  (non-2xx: %d)\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status))
end
LUA
cat > "$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("  city report served: %d requests, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

CONFIGS=()
for s in $STORES; do
  if [ "$s" = sqlite ]; then CONFIGS+=("sqlite:1"); else CONFIGS+=("pg:1" "pg:2"); fi
done

# ---- 1 and 2: ingest into a fresh store with the sample city ---------------------------------
for cfg in "${CONFIGS[@]}"; do
  kind=${cfg%:*}; reps=${cfg#*:}
  FLAG=$(fresh_store "$kind")
  # shellcheck disable=SC2086
  "$BIN" registry load $FLAG --grids "$WORK/city/grids.geojson" --workers "$WORK/city/workers.csv" >/dev/null
  # shellcheck disable=SC2086
  "$BIN" registry load $FLAG --devices "$WORK/devices.csv" >/dev/null
  start_replicas "$FLAG" "$reps" "ingest-$kind-$reps"
  echo "== 1. [$kind, $reps replica(s)] batched NDJSON ingest (1,000 pings per request, 8 connections in all, ${DUR} s)"
  settle_metrics
  A0=$(stored); A0=${A0:-0}
  WRKS=()
  for i in $(seq 0 $((reps - 1))); do
    WRK_PREFIX="r$i" wrk -t2 -c$((8 / reps)) -d"${DUR}s" -s "$WORK/ndjson.lua" "http://127.0.0.1:${PORTS[$i]}" > "$WORK/wrk-$i.out" &
    WRKS+=($!)
  done
  for w in "${WRKS[@]}"; do wait "$w"; done
  for i in $(seq 0 $((reps - 1))); do tail -n 1 "$WORK/wrk-$i.out"; done
  settle_metrics
  A1=$(stored)
  echo "  [$kind x$reps] acknowledged pings/s (stored during the run / ${DUR} s): $(( (A1 - A0) / DUR ))"
  if [ "$reps" = 1 ]; then
    echo "== 2. [$kind] single OsmAnd requests (32 connections, ${DUR} s)"
    B0=$(stored)
    wrk -t2 -c32 -d"${DUR}s" -s "$WORK/osmand.lua" "http://127.0.0.1:${PORTS[0]}" | tail -n 1
    settle_metrics
    B1=$(stored)
    echo "  [$kind] OsmAnd pings stored: $(( B1 - B0 ))"
  fi
  stop_replicas
done

# ---- 3: the reference month ----------------------------------------------------------------
echo "== 3. reference month (simulate --seed 7 --workers 200 --days 30)"
"$BIN" simulate --seed 7 --workers 200 --days 30 --out "$WORK/ref" >/dev/null
PINGS=$(ls "$WORK"/ref/pings.parquet 2>/dev/null || ls "$WORK"/ref/pings*.csv)
MONTH=2026-10  # simulate's default --start is 2026-10-01
for cfg in "${CONFIGS[@]}"; do
  kind=${cfg%:*}; reps=${cfg#*:}
  FLAG=$(fresh_store "$kind")
  # shellcheck disable=SC2086
  "$BIN" registry load $FLAG --grids "$WORK/ref/grids.geojson" --workers "$WORK/ref/workers.csv" \
    $( [ -f "$WORK/ref/checkpoints.geojson" ] && echo --checkpoints "$WORK/ref/checkpoints.geojson" ) >/dev/null
  # shellcheck disable=SC2086
  /usr/bin/time -f "  [$kind x$reps] import: %e s wall, %M KiB max RSS" "$BIN" import $FLAG $PINGS >/dev/null
  T0=$(date +%s.%N)
  start_replicas "$FLAG" "$reps" "month-$kind-$reps"
  while true; do
    P=$(pending)
    [ "${P:-1}" = "0" ] && break
    sleep 0.5
  done
  # Pending is published each tick; confirm it stays zero.
  sleep 1.2
  while [ "$(pending)" != "0" ]; do sleep 0.5; done
  T1=$(date +%s.%N)
  echo "  [$kind x$reps] all summaries current after start: $(echo "$T1 - $T0" | bc) s"
  for i in $(seq 0 $((reps - 1))); do
    curl -s -o /dev/null -w "  [$kind x$reps] replica $((i + 1)): city report, first request (cold): %{time_total} s\n" "http://127.0.0.1:${PORTS[$i]}/api/v1/reports/$MONTH"
  done
  for i in $(seq 0 $((reps - 1))); do
    echo "  [$kind x$reps] replica $((i + 1)):"
    wrk -t1 -c1 -d"${DUR}s" -s "$WORK/report.lua" "http://127.0.0.1:${PORTS[$i]}/api/v1/reports/$MONTH" | tail -n 1
  done
  stop_replicas
done
