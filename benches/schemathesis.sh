#!/usr/bin/env bash
# The OpenAPI document tells the truth (issue 16, item 10): schemathesis, every check, 50
# examples per operation, with an admin token, against a service holding the demo city.
#
#   benches/schemathesis.sh [EXTRA SCHEMATHESIS ARGS]
#
# Installs schemathesis from PyPI when it is missing, builds the sample city (`gridbeat demo
# --no-serve --out`), loads it into a fresh data directory, serves it on loopback with one
# admin token, runs
#
#   st --config-file benches/schemathesis.toml run http://127.0.0.1:$PORT/api/v1/openapi.json \
#       --checks all --max-examples 50 --header "Authorization: Bearer $TOKEN"
#
# (with benches/schemathesis.toml: where a 400 on schema-valid data is the documented answer,
# and why), stops the server and exits with schemathesis's status. A debug build is enough
# (BIN=target/release/gridbeat to use another).
set -euo pipefail
cd "$(dirname "$0")/.."
# The service needs the default features: the debug binary is (re)built with them, since
# `cargo test --no-default-features` leaves one without the service behind.
if [ -z "${BIN:-}" ]; then
  cargo build --locked
  BIN=target/debug/gridbeat
fi
command -v st >/dev/null || python3 -m pip install --quiet schemathesis
PORT=${PORT:-18091}
WORK=$(mktemp -d /tmp/gridbeat-schemathesis.XXXXXX)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" demo --no-serve --out "$WORK/city" >/dev/null
TOKEN=$("$BIN" token new --role admin --name schemathesis | awk '/^ *gb_/{print $1}')
HASH=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
# The rate limit is raised so that schemathesis's burst is never answered 429.
cat >"$WORK/gridbeat.toml" <<EOF
[server]
rate_per_s = 100000
rate_burst = 100000

[[tokens]]
name = "schemathesis"
sha256 = "$HASH"
role = "admin"
EOF
"$BIN" registry load --data "$WORK/d" --grids "$WORK/city/grids.geojson" \
  --workers "$WORK/city/workers.csv" --checkpoints "$WORK/city/checkpoints.geojson" >/dev/null
"$BIN" import --data "$WORK/d" "$WORK/city/pings.csv" >/dev/null
"$BIN" serve --config "$WORK/gridbeat.toml" --data "$WORK/d" --listen "127.0.0.1:$PORT" \
  2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done

set +e
st --config-file benches/schemathesis.toml run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --checks all --max-examples 50 --header "Authorization: Bearer $TOKEN" "$@"
status=$?
set -e
exit $status
