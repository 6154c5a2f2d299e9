#!/usr/bin/env bash
# The one ping reader against pyarrow, on the reference workload
# (`gridbeat simulate --seed 7 --workers 200 --days 30`, ~17 M pings, Parquet):
#   1. pyarrow: `pq.read_table(FILE, columns=[the 8 columns gridbeat reads])`, the floor for
#      decoding the same bytes (multi-threaded C++);
#   2. `gridbeat report` for the simulated month (read + every worker-day + the assessment);
#   3. `gridbeat tracks --out /dev/null` (read + clean + tracks + anomalies for every worker);
#   4. `examples/read_table.rs`: gridbeat's reader alone (`ingest::read_table`, all rows), the
#      like-for-like comparison with pyarrow.
# Each is run REPEAT times (default 3); the run with the median wall time is printed with its
# CPU time (and the system's part of it), peak RSS (GNU time) and the fastest and slowest wall
# time of the runs, then the ratio report / pyarrow. The spread is shown because pyarrow's own
# time moves by a factor of up to four on these virtual machines: a third to a half of its time
# is the kernel zeroing fresh pages (`clear_page_erms` in `perf`), whose cost depends on whether
# the host still backs the memory the last process freed (see the README, "Where report ≤ 3×
# pyarrow stands").
#
# Usage: bash benches/report_vs_pyarrow.sh [DIR]
#   DIR     the workload directory (default $TARGET/ref; generated once, then reused)
#   env     CARGO_TARGET_DIR (default target), REPEAT (default 3),
#           FEATURES (extra cargo flags, e.g. --no-default-features: report is then skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
dir=${1:-$target/ref}
repeat=${REPEAT:-3}
# shellcheck disable=SC2086 # FEATURES holds cargo flags, split on purpose.
cargo build --release --quiet ${FEATURES:-}
# shellcheck disable=SC2086
cargo build --release --quiet ${FEATURES:-} --example read_table
bin=$target/release/gridbeat

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (the Debian package 'time') for peak RSS" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq time >/dev/null || {
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq time >/dev/null
  }
fi

if [ ! -f "$dir/pings.parquet" ] || [ ! -f "$dir/truth.json" ]; then
  echo "generating the reference workload in $dir (once)" >&2
  "$bin" simulate --seed 7 --workers 200 --days 30 --out "$dir"
fi
pings=$dir/pings.parquet
# The simulated month: the first day in truth.json, as YYYY-MM.
month=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['start'][:7])" "$dir/truth.json")

venv=$target/pyarrow-venv
if ! "$venv/bin/python" -c 'import pyarrow' 2>/dev/null; then
  echo "creating $venv with pyarrow (once)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet pyarrow
fi
py=$venv/bin/python

# run_timed NAME CMD...: runs CMD $repeat times under GNU time; prints
# "NAME wall_s cpu_s rss_mib" of the median-wall run (the output of CMD goes to /dev/null).
run_timed() {
  local name=$1
  shift
  local runs=()
  for _ in $(seq "$repeat"); do
    local log
    log=$(mktemp)
    /usr/bin/time -v "$@" >/dev/null 2>"$log" || {
      echo "$name failed:" >&2
      tail -20 "$log" >&2
      exit 1
    }
    runs+=("$(python3 - "$log" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def field(label):
    return re.search(re.escape(label) + r".*?:\s*(\S+)\s*$", text, re.M).group(1)
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))))
sys_s = float(field("System time (seconds)"))
cpu = float(field("User time (seconds)")) + sys_s
rss = int(field("Maximum resident set size (kbytes)")) / 1024
print(f"{wall:.3f} {cpu:.3f} {rss:.0f} {sys_s:.3f}")
EOF
)")
    rm -f "$log"
  done
  # The median run, then the fastest and the slowest wall time of the $repeat runs.
  local sorted
  sorted=$(printf '%s\n' "${runs[@]}" | sort -n)
  echo "$name $(sed -n "$(((repeat + 1) / 2))p" <<<"$sorted") $(head -1 <<<"$sorted" | cut -d' ' -f1) $(tail -1 <<<"$sorted" | cut -d' ' -f1)"
}

rows=$("$py" -c "import pyarrow.parquet as pq, sys; print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)" "$pings")
echo "workload: $pings ($rows rows, $(du -m "$pings" | cut -f1) MiB), month $month, median of $repeat"

results=$(mktemp)
run_timed pyarrow "$py" -c "import pyarrow.parquet as pq, sys; pq.read_table(sys.argv[1], columns=['worker','ts_ms','lat','lon','acc','speed','mock','checkin'])" "$pings" >>"$results"

if "$bin" report --help >/dev/null 2>&1; then
  out=$(mktemp -d)
  run_timed report "$bin" report --grids "$dir/grids.geojson" --workers "$dir/workers.csv" \
    --checkpoints "$dir/checkpoints.geojson" --pings "$pings" --month "$month" \
    --out "$out" --format json >>"$results"
  rm -rf "$out"
else
  echo "(this build has no 'report' subcommand: built without the assess feature; skipped)"
fi

run_timed tracks "$bin" tracks --pings "$pings" --out /dev/null >>"$results"
run_timed read "$target/release/examples/read_table" "$pings" >>"$results"

python3 - "$results" "$rows" <<'EOF'
import sys
rows = int(sys.argv[2])
res = {}
for line in open(sys.argv[1]):
    name, wall, cpu, rss, sys_s, lo, hi = line.split()
    res[name] = (float(wall), float(cpu), float(rss), float(sys_s), float(lo), float(hi))
print(f"{'':8} {'wall s':>8} {'(min-max)':>11} {'cpu s':>8} {'of it sys':>9} {'peak RSS MiB':>13} {'M rows/s':>9}")
for name, (wall, cpu, rss, sys_s, lo, hi) in res.items():
    spread = f"{lo:.2f}-{hi:.2f}"
    print(f"{name:8} {wall:8.2f} {spread:>11} {cpu:8.2f} {sys_s:9.2f} {rss:13.0f} {rows / wall / 1e6:9.2f}")
if "report" in res:
    print(f"report / pyarrow wall: {res['report'][0] / res['pyarrow'][0]:.1f}x")
print(f"tracks / pyarrow wall: {res['tracks'][0] / res['pyarrow'][0]:.1f}x")
print(f"read (gridbeat's reader alone) / pyarrow wall: {res['read'][0] / res['pyarrow'][0]:.1f}x")
EOF
rm -f "$results"
