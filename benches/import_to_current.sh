#!/usr/bin/env bash
# The service's time from an import to every summary current (issue 19), on the reference
# month (`gridbeat simulate --seed 7 --workers 200 --days 30`) and the embedded SQLite store,
# as part 3 of benches/service.sh measures it but without wrk or PostgreSQL:
#   1. the registry is loaded and the month imported (`gridbeat import`) once per binary, into
#      a template data directory;
#   2. each run copies the template, flushes it to disk (`sync`), starts `gridbeat serve` on
#      the copy and polls /metrics until `gridbeat_recompute_pending` is 0; the time from the
#      start and the server's CPU time are printed.
# With several binaries (e.g. a build of an older commit and the current one) the runs
# alternate between them, so a drift of the machine's speed weighs on each alike; the median
# of each is printed last.
#
# Usage: bash benches/import_to_current.sh [BIN...]
#   BIN     gridbeat binaries to compare (default: target/release/gridbeat, built if needed)
#   env     REPEAT (runs per binary, default 3), REF (the workload directory, default
#           target/ref), PORT (default 18090), SERVE_ARGS (extra `serve` flags, e.g.
#           "--set server.recompute_threads=4")
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${REPEAT:-3}
ref=${REF:-target/ref}
port=${PORT:-18090}
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  cargo build --release --quiet --bin gridbeat
  bins=(target/release/gridbeat)
fi
for b in "${bins[@]}"; do [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 2; }; done
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }

if [ ! -f "$ref/pings.parquet" ]; then
  echo "generating the reference workload in $ref (once)" >&2
  "${bins[0]}" simulate --seed 7 --workers 200 --days 30 --out "$ref" >/dev/null
fi

work=$(mktemp -d /tmp/gridbeat-import-to-current.XXXXXX)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The template of each binary: its registry and the imported month.
for i in "${!bins[@]}"; do
  t="$work/template-$i"
  "${bins[$i]}" registry load --data "$t" --grids "$ref/grids.geojson" \
    --workers "$ref/workers.csv" --checkpoints "$ref/checkpoints.geojson" >/dev/null
  start=$(date +%s.%N)
  "${bins[$i]}" import --data "$t" "$ref/pings.parquet" >/dev/null
  echo "${bins[$i]}: import $(echo "$(date +%s.%N) - $start" | bc) s" >&2
done

pending() { curl -sf "http://127.0.0.1:$port/metrics" | awk '/^gridbeat_recompute_pending /{print $2}'; }

results="$work/results"
for r in $(seq "$repeat"); do
  for i in "${!bins[@]}"; do
    data="$work/run"
    rm -rf "$data"
    cp -r "$work/template-$i" "$data"
    rm -f "$data/gridbeat.lock"
    sync
    start=$(date +%s.%N)
    # shellcheck disable=SC2086 # SERVE_ARGS holds flags, split on purpose.
    "${bins[$i]}" serve --data "$data" --listen "127.0.0.1:$port" ${SERVE_ARGS:-} 2>"$work/serve.log" &
    server=$!
    until [ "$(pending || true)" = "0" ]; do
      kill -0 "$server" 2>/dev/null || { echo "serve stopped:" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
      sleep 0.2
    done
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    cpu=$(ps -o cputime= -p "$server" | awk -F: '{print $1 * 3600 + $2 * 60 + $3}')
    kill -INT "$server"
    wait "$server" 2>/dev/null || true
    server=""
    echo "run $r ${bins[$i]}: every summary current after $secs s, server CPU $cpu s"
    echo "$i $secs $cpu" >>"$results"
  done
done

for i in "${!bins[@]}"; do
  awk -v i="$i" '$1 == i {print $2, $3}' "$results" | sort -n |
    awk -v b="${bins[$i]}" '{w[NR] = $1; c[NR] = $2} END {m = int((NR + 1) / 2); printf "%s: median %.2f s (server CPU %s s)\n", b, w[m], c[m]}'
done
