#!/usr/bin/env bash
# History-lake benchmarks (issue 18), on the reference month (`simulate --seed 7 --workers 200
# --days 30`), all in one run on this machine:
# 1. the lake's size: the simulation's Parquet file against the lake's pings (per million pings);
# 2. `gridbeat summarize --lake` over every bucket: wall and CPU time, worker-days per CPU-second;
# 3. the Spark job (`spark/gridbeat_spark.py`, local[2]) against `gridbeat report` on the same
#    pings, wall time each (the overhead budget is 1.5x), and their reports compared.
# Needs a release build and PySpark in target/spark-venv (see .ci/run).
#
#   bash benches/lake.sh [BUCKETS]      # default 8
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-8}
BIN=$PWD/target/release/gridbeat
[ -x "$BIN" ] || cargo build --release
PY=${GRIDBEAT_TEST_PYSPARK:-$PWD/target/spark-venv/bin/python}
WORK=$(mktemp -d /tmp/gridbeat-lake.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$BIN" simulate --seed 7 --workers 200 --days 30 --out "$WORK/ref" >/dev/null
REF="$WORK/ref"
REG=(--grids "$REF/grids.geojson" --workers "$REF/workers.csv" --checkpoints "$REF/checkpoints.geojson")
t() { /usr/bin/time -f "%e %U %S" "$@" 2>&1 >/dev/null | tail -n 1; }

echo "== 1. lake size"
"$BIN" lake add --lake "$WORK/lake" --buckets "$B" "${REG[@]}" "$REF/pings.parquet"
PINGS=15853804
RAW=$(stat -c %s "$REF/pings.parquet")
LAKE=$(du -sb "$WORK/lake/pings" | cut -f1)
echo "raw Parquet: $RAW bytes ($(echo "scale=2; $RAW / 1048576 / ($PINGS / 1000000)" | bc) MiB per million pings)"
echo "lake pings:  $LAKE bytes ($(echo "scale=2; $LAKE / 1048576 / ($PINGS / 1000000)" | bc) MiB per million pings; all 14 columns)"

echo "== 2. summarize every bucket"
read -r W U S < <(t "$BIN" summarize --lake "$WORK/lake" --month 2026-10)
DAYS=$("$BIN" report --lake "$WORK/lake" --month 2026-10 --format json --out "$WORK/r0" | sed -E 's/.* from ([0-9]+) worker-days.*/\1/')
echo "summarize: $W s wall, $(echo "$U + $S" | bc) s CPU, $DAYS worker-days: $(echo "scale=0; $DAYS / ($U + $S)" | bc) worker-days per CPU-second"

echo "== 3. Spark (local[2]) against gridbeat report"
read -r W1 _ _ < <(t "$BIN" report "${REG[@]}" --pings "$REF/pings.parquet" --month 2026-10 --format json --out "$WORK/batch")
rm -rf "$WORK/lake/worker_days"
T0=$(date +%s.%N)
GRIDBEAT_BIN="$BIN" "$PY" spark/gridbeat_spark.py --lake "$WORK/lake" --month 2026-10 --out "$WORK/spark" --master 'local[2]' --format json >"$WORK/spark.out" 2>"$WORK/spark.log"
T1=$(date +%s.%N)
cat "$WORK/spark.out"
W2=$(echo "$T1 - $T0" | bc)
echo "gridbeat report: $W1 s; Spark job: $W2 s; ratio $(echo "scale=2; $W2 / $W1" | bc)"
python3 - "$WORK/batch/report.json" "$WORK/spark/report.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a.pop("generated_at"); b.pop("generated_at")
# The lake holds only October: the Spark report says its first and last days lack context.
print("days without context (Spark):", b.pop("days_without_context", []))
print("reports equal:", a == b)
PY
