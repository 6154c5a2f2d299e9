#!/bin/sh
# The map page against the fixture server: desktop with interactions, phone, token, basemap.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${TMPDIR:-/tmp}/gridbeat-map-check}
mkdir -p "$out"
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done' EXIT INT TERM

serve() { # serve NAME ARGS... -> sets $url
    python3 "$here/fixture_server.py" --port 0 "$@" >"$out/server-$name.txt" 2>&1 &
    pids="$pids $!"
    for _ in $(seq 50); do
        url=$(head -n 1 "$out/server-$name.txt" 2>/dev/null || true)
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    echo "fixture server $name did not start" >&2
    exit 1
}

name=plain; serve
python3 "$here/map_check.py" "$url" --expect-grids 6 --expect-tracks --interact --screenshot "$out/desktop.png"
python3 "$here/map_check.py" "$url" --expect-grids 6 --expect-tracks --width 390 --height 844 --screenshot "$out/phone.png"
name=token; serve --token fixture-token
python3 "$here/map_check.py" "$url" --token fixture-token --expect-grids 6 --expect-tracks --lang en --screenshot "$out/token-en.png"
if python3 "$here/map_check.py" "$url" --timeout 5 >/dev/null 2>&1; then
    echo "the page loaded without the token it needs" >&2
    exit 1
fi
name=basemap; serve --basemap
python3 "$here/map_check.py" "$url" --expect-grids 6 --expect-tracks --screenshot "$out/basemap.png"
echo "all map checks passed; screenshots in $out"
