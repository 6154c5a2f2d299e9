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
wait_up

cat > "$WORK/ndjson.lua" <<'LUA'
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args) base = 1759276800000 + tid * 1000000000000 % 7 end
request = function()
  counter = counter + 1
  local parts = {}
  local w = string.format("b-%02d-%d", tid, counter % 50)
  local t0 = 1759276800000 + (tid * 100000000 + counter) * 1000 * 1000
  for i = 1, 1000 do
    parts[i] = string.format('{"worker":"%s","ts":%d,"lat":28.19%04d,"lon":112.97%04d,"acc":8}', w, t0 + i * 1000, i, i)
  end
  return wrk.format("POST", "/api/v1/pings", {["Content-Type"] = "application/x-ndjson"}, table.concat(parts, "\n"))
end
bad = 0
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"accepted":1000', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("acknowledged pings/s: %.0f  (batches %d, not fully accepted %d, p50 %.1f ms, p99 %.1f ms)\n",
    summary.requests / (summary.duration / 1e6) * 1000, summary.requests, bad,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
echo "== 1. batched NDJSON ingest (1,000 pings per request, 8 connections, ${DUR} s)"
wrk -t2 -c8 -d"${DUR}s" -s "$WORK/ndjson.lua" "http://127.0.0.1:$PORT" | tail -n 1

cat > "$WORK/osmand.lua" <<'LUA'
local counter = 0
function setup(thread) thread:set("tid", math.random(1, 1000000)) end
request = function()
  counter = counter + 1
  local ts = 1000000000 + tid * 10000 + counter
  return wrk.format("GET", string.format("/osmand?id=123456&lat=28.19&lon=112.97&timestamp=%d&speed=1.2&accuracy=8", ts))
end
bad = 0
response = function(status) if status ~= 200 then bad = bad + 1 end end
done = function(summary, latency, requests)
  io.write(string.format("OsmAnd requests/s: %.0f  p50 %.2f ms  p99 %.2f ms  (non-200: %d)\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
LUA
echo "== 2. single OsmAnd requests (32 connections, ${DUR} s)"
wrk -t2 -c32 -d"${DUR}s" -s "$WORK/osmand.lua" "http://127.0.0.1:$PORT" | tail -n 1
kill %1; wait %1 2>/dev/null || true

# ---- 3: the reference month ----------------------------------------------------------------
echo "== 3. reference month (simulate --seed 7 --workers 200 --days 30)"
"$BIN" simulate --seed 7 --workers 200 --days 30 --out "$WORK/ref" >/dev/null
"$BIN" registry load --data "$WORK/d3" --grids "$WORK/ref/grids.geojson" --workers "$WORK/ref/workers.csv" \
  $( [ -f "$WORK/ref/checkpoints.geojson" ] && echo --checkpoints "$WORK/ref/checkpoints.geojson" ) >/dev/null
PINGS=$(ls "$WORK"/ref/pings.parquet 2>/dev/null || ls "$WORK"/ref/pings*.csv)
/usr/bin/time -f "import: %e s wall, %M KiB max RSS" "$BIN" import --data "$WORK/d3" $PINGS
T0=$(date +%s.%N)
"$BIN" serve --data "$WORK/d3" --listen 127.0.0.1:$PORT 2>"$WORK/serve3.log" &
wait_up
while true; do
  P=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^gridbeat_recompute_pending /{print $2}')
  [ "${P:-1}" = "0" ] && break
  sleep 0.5
done
T1=$(date +%s.%N)
echo "all summaries current after start: $(echo "$T1 - $T0" | bc) s"
MONTH=$(curl -sf "http://127.0.0.1:$PORT/api/v1/workers" >/dev/null; ls "$WORK/ref" >/dev/null; echo 2026-10)
curl -s -o /dev/null -w "city report, first request (cold): %{time_total} s\n" "http://127.0.0.1:$PORT/api/v1/reports/$MONTH"
cat > "$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("city report served: %d requests, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
wrk -t1 -c1 -d"${DUR}s" -s "$WORK/report.lua" "http://127.0.0.1:$PORT/api/v1/reports/$MONTH" | tail -n 1
kill %2; wait %2 2>/dev/null || true
