#!/usr/bin/env bash
# Fuzzing of every decoder that takes outside bytes (issue 15): each target of fuzz/ runs for
# MINUTES minutes (default 10), JOBS at a time (default 2, for 2 cores), from its corpus in
# fuzz/corpus/<target>/. Prints the executions of each target (libFuzzer's
# stat::number_of_executed_units), then merges the new inputs into the corpus, minimised
# (libFuzzer -merge=1, what `cargo fuzz cmin` does). Exits non-zero when any target crashed,
# timed out (a single input over TIMEOUT s) or ran out of memory: the input is in
# fuzz/artifacts/<target>/ (see fuzz/README.md for what to do with it).
#
#   benches/fuzz.sh                     # every target, 10 minutes each (≈ 1 h on 2 cores)
#   MINUTES=1 benches/fuzz.sh           # a quick try
#   benches/fuzz.sh osmand gunzip       # some targets only
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain works with
# RUSTC_BOOTSTRAP=1 (set here), or set TOOLCHAIN=+nightly. Builds into fuzz/target.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
MINUTES=${MINUTES:-10}
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-10}
RSS_MB=${RSS_MB:-2048}
TOOLCHAIN=${TOOLCHAIN:-}
[ -z "$TOOLCHAIN" ] && export RUSTC_BOOTSTRAP=1
# The bundled SQLite defines two static `aiOff` arrays, which ASan's one-definition check
# takes for a violation at start-up (a false positive: they are file-local).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}
LOGS=${LOGS:-$(mktemp -d /tmp/gridbeat-fuzz.XXXXXX)}
TRIPLE=$(rustc -vV | awk '/^host:/{print $2}')
BIN=target/$TRIPLE/release

if [ $# -gt 0 ]; then TARGETS="$*"; else TARGETS=$(cargo $TOOLCHAIN fuzz list); fi
echo "== building the fuzz targets (address sanitizer, debug assertions)"
cargo $TOOLCHAIN fuzz build 2>&1 | tail -n 2

run_one() {
  local t=$1 secs=$((MINUTES * 60))
  mkdir -p "artifacts/$t" "corpus/$t"
  local before
  before=$(find "corpus/$t" -type f | wc -l)
  # New inputs go to a scratch directory first, merged into the corpus afterwards.
  local new="$LOGS/new-$t"
  mkdir -p "$new"
  set +e
  "$BIN/$t" "$new" "corpus/$t" -max_total_time="$secs" -timeout="$TIMEOUT" \
    -rss_limit_mb="$RSS_MB" -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
    >"$LOGS/$t.log" 2>&1
  echo $? >"$LOGS/$t.rc"
  set -e
  # Merge: keep the current corpus plus the new inputs that add coverage.
  local merged="$LOGS/merged-$t"
  rm -rf "$merged"
  mkdir -p "$merged"
  "$BIN/$t" -merge=1 -use_counters=0 -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" "$merged" "corpus/$t" "$new" \
    >"$LOGS/$t.merge.log" 2>&1 || true
  if [ "$(find "$merged" -type f | wc -l)" -gt 0 ]; then
    rm -f "corpus/$t"/*
    cp "$merged"/* "corpus/$t"/
  fi
  local after
  after=$(find "corpus/$t" -type f | wc -l)
  echo "$before $after" >"$LOGS/$t.corpus"
  echo "   done: $t (exit $(cat "$LOGS/$t.rc"))"
}
export -f run_one
export MINUTES TIMEOUT RSS_MB LOGS BIN

echo "== fuzzing: $MINUTES min per target, $JOBS at a time; logs in $LOGS"
printf '%s\n' $TARGETS | xargs -P "$JOBS" -I{} bash -c 'run_one {}'

echo
printf '%-22s %14s %10s %8s %12s  %s\n' target executions exec/s seconds corpus result
failed=0
for t in $TARGETS; do
  log="$LOGS/$t.log"
  execs=$(awk -F: '/stat::number_of_executed_units/{gsub(/ /,"",$2); print $2}' "$log" | tail -n 1)
  secs=$(awk '/^Done [0-9]+ runs in/{print $5}' "$log" | tail -n 1)
  [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  [ -z "$secs" ] && secs=$((MINUTES * 60))
  rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
  read -r before after <"$LOGS/$t.corpus"
  rc=$(cat "$LOGS/$t.rc")
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc): $(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | cut -d' ' -f5)"
    failed=1
  fi
  printf '%-22s %14s %10s %8s %12s  %s\n' "$t" "${execs:-?}" "$rate" "$secs" "$before→$after" "$result"
done
exit $failed
