#!/usr/bin/env bash
# Side by side with the Python geo stack (issue 19, item 5): on one subset of the reference
# month (`gridbeat simulate --seed 7 --workers 200 --days 30`), in one run, each gridbeat
# command against the Python tool a user would reach for, each side a whole process under GNU
# time (wall, user + sys CPU, peak RSS), then one table with the ratio peer / gridbeat wall.
# A time counts only when the two sides' figures agree within DESIGN.md §4's tolerances
# (agree.py); otherwise the disagreement is printed and the script exits 1.
#
#   task      gridbeat side                      Python peer (this folder)
#   read      examples/read_table (the reader)   peer_read.py: pyarrow read_table, 8 columns
#   locate    gridbeat locate (CSV in and out)   peer_locate.py: GeoPandas sjoin (intersects, smallest code)
#   tracks    gridbeat tracks                    peer_tracks.py: pyproj geodesic lengths, trackintel stays
#   coverage  gridbeat coverage                  peer_coverage.py: Shapely buffers, union_all, ∩ each grid
#
# Both sides read the same files: subset.py cuts WORKERS workers (spread over the ids) × the
# first DAYS local days out of the reference month into pings.parquet and pings.csv.
# No Python peer has gridbeat's cleaning (accuracy gate, speed gate with relocations,
# segments at gaps), so clean.py writes DESIGN §4.2–4.3 out once and the tracks and coverage
# peers both run it on the raw pings, inside their measured time; agree.py compares the
# accepted fixes, drops and segments per worker first, so the later figures compare like
# with like.
# trackintel gets the fixes in a local conformal plane rather than lon/lat, because its
# haversine sphere is up to 0.34 % off the ellipsoid at 50 m (see peer_tracks.py).
#
# At the defaults (1.85 M pings, an eighth of the month; median of 3) the whole run takes
# about 5 minutes on 2 cores, plus about a minute to create the venv the first time.
#
# Usage: bash benches/compare/run.sh [--workers N] [--days D] [--repeat R] [--ref DIR]
#                                     [--tasks "read locate tracks coverage"] [--rebuild]
#   --workers N   workers in the subset (default 50 of 200)
#   --days D      first local days of the month (default 14 of 30)
#   --repeat R    runs per side; the median wall time is shown (default 3)
#   --ref DIR     the reference month (default $CARGO_TARGET_DIR/ref, shared with
#                 benches/report_vs_pyarrow.sh; simulated once if absent)
#   --tasks LIST  a subset of the tasks, in this order
#   --rebuild     `cargo build --release` even when the binaries exist (default: build only
#                 what is missing), so that the current source is measured
# The Python peers live in a virtual environment at $CARGO_TARGET_DIR/compare-venv, created
# on first use from PyPI. Results: $CARGO_TARGET_DIR/compare/wN-dD/run/.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/compare
target=${CARGO_TARGET_DIR:-target}

workers=50
days=14
repeat=3
ref=$target/ref
tasks="read locate tracks coverage"
rebuild=0
while [ $# -gt 0 ]; do
  case $1 in
    --workers) workers=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --ref) ref=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --rebuild) rebuild=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for t in $tasks; do
  case $t in read | locate | tracks | coverage) ;; *) echo "unknown task $t" >&2; exit 2 ;; esac
done

bin=$target/release/gridbeat
reader=$target/release/examples/read_table
# Build only what is missing: a release build of polars takes ~14 min on 2 cores, and
# the binary under test is usually already there from another benchmark.
if [ "$rebuild" = 1 ] || [ ! -x "$bin" ]; then
  cargo build --release --quiet
fi
# The reader is engine code: built without the default features (polars, the server) it
# compiles in a fraction of the time, and reads exactly as the full binary does.
if [[ " $tasks " == *" read "* ]] && { [ "$rebuild" = 1 ] || [ ! -x "$reader" ]; }; then
  cargo build --release --quiet --no-default-features --example read_table
fi

# GNU time gives peak RSS (bash's `time` does not); Debian's package is `time`.
if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (the Debian package 'time')" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq time >/dev/null || {
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq time >/dev/null
  }
fi

# The peers' environment. Lower bounds are the versions this suite was checked with
# (trackintel 1.4.2 runs on pandas 3 and Shapely 2.2); newer ones are taken when present.
venv=$target/compare-venv
py=$venv/bin/python
if ! "$py" -c 'import geopandas, shapely, pyproj, trackintel, pyarrow, pandas' 2>/dev/null; then
  echo "creating $venv with the Python peers (once, a few minutes)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "geopandas>=1.2" "shapely>=2.2" "pyproj>=3.7" \
    "trackintel>=1.4.2" "pyarrow>=26" "pandas>=3.1" "numpy>=2.4"
fi
# Keep __pycache__ out of the source tree (clean.py is the only module of ours imported;
# the venv's packages keep the bytecode pip compiled, which a PYTHONPYCACHEPREFIX would hide).
export PYTHONDONTWRITEBYTECODE=1

if [ ! -f "$ref/pings.parquet" ] || [ ! -f "$ref/truth.json" ]; then
  echo "simulating the reference month into $ref (once)" >&2
  "$bin" simulate --seed 7 --workers 200 --days 30 --out "$ref"
fi

sub=$target/compare/w$workers-d$days
mkdir -p "$sub"
if [ ! -f "$sub/subset.json" ] || [ "$ref/pings.parquet" -nt "$sub/subset.json" ]; then
  "$py" "$here/subset.py" "$ref" "$sub" "$workers" "$days"
fi
res=$sub/run
rm -rf "$res"
mkdir -p "$res"

# timed NAME CMD...: runs CMD $repeat times under GNU time, appending "wall user sys maxrss_kb"
# to $res/NAME.time; its stdout goes to $res/NAME.stdout, its stderr to $res/NAME.stderr.
timed() {
  local name=$1
  shift
  echo "  $name" >&2
  for _ in $(seq "$repeat"); do
    if ! /usr/bin/time -f '%e %U %S %M' -a -o "$res/$name.time" "$@" \
      >"$res/$name.stdout" 2>"$res/$name.stderr"; then
      echo "$name failed:" >&2
      tail -20 "$res/$name.stderr" >&2
      exit 1
    fi
  done
}

# The load before the runs: the machine may be shared, and the times are only as quiet as it.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "running (each side $repeat time(s)):" >&2
for t in $tasks; do
  case $t in
    read)
      timed gridbeat_read "$reader" "$sub/pings.parquet"
      timed peer_read "$py" "$here/peer_read.py" "$sub/pings.parquet" "$res/peer_read.json"
      ;;
    locate)
      timed gridbeat_locate "$bin" locate --grids "$sub/grids.geojson" --pings "$sub/pings.csv" \
        --out "$res/gridbeat_locate.csv"
      timed peer_locate "$py" "$here/peer_locate.py" "$sub/pings.csv" "$sub/grids.geojson" \
        "$res/peer_locate.csv"
      ;;
    tracks)
      timed gridbeat_tracks "$bin" tracks --pings "$sub/pings.parquet" --out "$res/gridbeat_tracks.json"
      timed peer_tracks "$py" "$here/peer_tracks.py" "$sub/pings.parquet" "$res/peer_tracks.json"
      ;;
    coverage)
      timed gridbeat_coverage "$bin" coverage --grids "$sub/grids.geojson" \
        --pings "$sub/pings.parquet" --out "$res/gridbeat_coverage.json"
      timed peer_coverage "$py" "$here/peer_coverage.py" "$sub/pings.parquet" \
        "$sub/grids.geojson" "$res/peer_coverage.json"
      ;;
  esac
done

echo
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u '+%Y-%m-%d %H:%M UTC'), load average before the runs $load_before"
# Which source the binary was built from, as far as the checkout can tell.
dirty=""
[ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ] && dirty=", src/ with uncommitted changes"
features="default features"
"$bin" report --help >/dev/null 2>&1 || features="no default features (the engine: all these tasks need)"
echo "gridbeat: $("$bin" --version), $features, built $(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC'), checkout at $(git rev-parse --short HEAD 2>/dev/null || echo '?')$dirty"
# shellcheck disable=SC2086 # $tasks is a list of words on purpose.
"$py" "$here/agree.py" "$sub" $tasks
