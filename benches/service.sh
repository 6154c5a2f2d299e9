#!/usr/bin/env bash
# Service benchmarks (issue 9), loopback only, each bounded in time. Needs `wrk` (Debian:
# apt-get install wrk) and a release build (`cargo build --release`).
#
#   benches/service.sh [DURATION_S]        # default 10 s per load test
#
# 1. Batched NDJSON ingest: wrk posts NDJSON batches of 1,000 distinct pings (a Lua script
#    numbers them) with 8 connections; acknowledged pings/s = requests/s × 1,000
#    (every batch answered 200 with accepted = 1000 is checked by the script's `response`).
# 2. Single OsmAnd requests: wrk GETs /osmand?id=…&timestamp=… with a fresh timestamp per
#    request, 32 connections: requests/s and latency percentiles (p99).
# 3. The reference month (`simulate --seed 7 --workers 200 --days 30`): imported with
#    `gridbeat import`, then `serve` brings every summary current (the time is measured
#    from start-up until /metrics shows no pending worker-day), then the city report is
#    served: the first (cold) request, and wrk's latency percentiles over 10 s (p50).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
BIN=target/release/gridbeat
[ -x "$BIN" ] || cargo build --release
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
WORK=$(mktemp -d /tmp/gridbeat-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=18080

wait_up() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done; echo "server did not start"; exit 1; }

# ---- 1 and 2: a fresh store with the sample city ---------------------------------------
"$BIN" demo --no-serve --out "$WORK/city" >/dev/null
"$BIN" registry load --data "$WORK/d1" --grids "$WORK/city/grids.geojson" --workers "$WORK/city/workers.csv" >/dev/null
printf 'device,worker\n123456,w-0001\n' > "$WORK/devices.csv"
"$BIN" registry load --data "$WORK/d1" --devices "$WORK/devices.csv" >/dev/null
"$BIN" serve --data "$WORK/d1" --listen 127.0.0.1:$PORT 2>"$WORK/serve1.log" &
S1=$!
wait_up

cat > "$WORK/ndjson.lua" <<'LUA'
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
request = function()
  counter = counter + 1
  local parts = {}
  local w = string.format("b-%02d-%d", tid, counter % 50)
  -- Each thread posts for its own 50 workers; each request 1,000 s of fixes, in the past.
  local t0 = 1700000000000 + counter * 1000 * 1000
  for i = 1, 1000 do
    parts[i] = string.format('{"worker":"%s","ts":%d,"lat":28.19%04d,"lon":112.97%04d,"acc":8}', w, t0 + i * 1000, i, i)
  end
  return wrk.format("POST", "/api/v1/pings", {["Content-Type"] = "application/x-ndjson"}, table.concat(parts, "\n"))
end
done = function(summary, latency, requests)
  io.write(string.format("batches %d (%.0f/s), non-2xx %d, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, summary.requests / (summary.duration / 1e6), summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
accepted() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v s="$1" '$1 == "gridbeat_pings_accepted_total{source=\""s"\"}" {print $2}'; }
rejected() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v s="$1" 'index($1, "gridbeat_pings_rejected_total{source=\""s"\"") == 1 {n += $2} END {print n + 0}'; }
echo "== 1. batched NDJSON ingest (1,000 pings per request, 8 connections, ${DUR} s)"
A0=$(accepted json); A0=${A0:-0}
wrk -t2 -c8 -d"${DUR}s" -s "$WORK/ndjson.lua" "http://127.0.0.1:$PORT" | tail -n 1
A1=$(accepted json)
echo "acknowledged pings/s (server's own count of stored pings / ${DUR} s): $(( (A1 - A0) / DUR ))  rejected: $(rejected json)"

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
  io.write(string.format("OsmAnd requests/s: %.0f  p50 %.2f ms  p99 %.2f ms  (non-2xx: %d)\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status))
end
LUA
echo "== 2. single OsmAnd requests (32 connections, ${DUR} s)"
B0=$(accepted osmand); B0=${B0:-0}
wrk -t2 -c32 -d"${DUR}s" -s "$WORK/osmand.lua" "http://127.0.0.1:$PORT" | tail -n 1
B1=$(accepted osmand)
echo "OsmAnd pings stored: $(( B1 - B0 ))  rejected: $(rejected osmand)"
kill $S1; wait $S1 2>/dev/null || true

# ---- 3: the reference month ----------------------------------------------------------------
echo "== 3. reference month (simulate --seed 7 --workers 200 --days 30)"
"$BIN" simulate --seed 7 --workers 200 --days 30 --out "$WORK/ref" >/dev/null
"$BIN" registry load --data "$WORK/d3" --grids "$WORK/ref/grids.geojson" --workers "$WORK/ref/workers.csv" \
  $( [ -f "$WORK/ref/checkpoints.geojson" ] && echo --checkpoints "$WORK/ref/checkpoints.geojson" ) >/dev/null
PINGS=$(ls "$WORK"/ref/pings.parquet 2>/dev/null || ls "$WORK"/ref/pings*.csv)
/usr/bin/time -f "import: %e s wall, %M KiB max RSS" "$BIN" import --data "$WORK/d3" $PINGS
T0=$(date +%s.%N)
"$BIN" serve --data "$WORK/d3" --listen 127.0.0.1:$PORT 2>"$WORK/serve3.log" &
S3=$!
wait_up
while true; do
  P=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^gridbeat_recompute_pending /{print $2}')
  [ "${P:-1}" = "0" ] && break
  sleep 0.5
done
T1=$(date +%s.%N)
echo "all summaries current after start: $(echo "$T1 - $T0" | bc) s"
MONTH=2026-10  # simulate's default --start is 2026-10-01
curl -s -o /dev/null -w "city report, first request (cold): %{time_total} s\n" "http://127.0.0.1:$PORT/api/v1/reports/$MONTH"
cat > "$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("city report served: %d requests, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
wrk -t1 -c1 -d"${DUR}s" -s "$WORK/report.lua" "http://127.0.0.1:$PORT/api/v1/reports/$MONTH" | tail -n 1
kill $S3; wait $S3 2>/dev/null || true
