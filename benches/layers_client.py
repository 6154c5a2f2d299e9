#!/usr/bin/env python3
"""Latency of the map door on a running gridbeat (issue 10), one keep-alive connection.

    python3 benches/layers_client.py http://127.0.0.1:18080 [--month 2026-10] [--n 200]

Measures, each as p50/p99 over N requests (time to the last byte of the body):
1. the `tracks` layer of one worker-day: a different (worker, day) each request, so nothing
   is cached but the engine (the door reads that worker's stored summary and builds);
2. the `grids` layer of the whole city for a month: the first request (cold: every summary
   of the month decoded and the month assessed for the scores), then rebuilt from the decoded
   month (a `bbox` covering the city, different each request, defeats the layer cache), then
   served from the layer cache; the `units` layer (outlines dissolved from the grids) rebuilt
   the same way;
3. vector tiles of `grids`, `coverage`, `tracks` and `heat` at z14, z15 and z16: every tile
   over the city once, cut from the month's layer (built and projected by a first request
   for a tile far away, timed separately; tracks are simplified per zoom).
Prints one line per measurement and a JSON summary last.
"""
import argparse
import http.client
import json
import math
import statistics
import time
import urllib.parse


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class Client:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def get(self, path):
        t0 = time.perf_counter()
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000.0
        if r.status not in (200, 204):
            raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
        return dt, r.status, body


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    r = math.radians(lat)
    y = int((1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * n)
    return x, y


def line(name, xs):
    print(f"{name}: n={len(xs)} p50 {pct(xs, 50):.2f} ms  p99 {pct(xs, 99):.2f} ms  max {max(xs):.2f} ms", flush=True)
    return {"n": len(xs), "p50_ms": round(pct(xs, 50), 3), "p99_ms": round(pct(xs, 99), 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    c = Client(a.base)
    out = {}

    # 2 first: the cold grids layer of the month.
    dt, _, body = c.get(f"/api/v1/layers/grids?month={a.month}")
    grids = json.loads(body)
    print(f"grids layer, whole city month, first request (cold): {dt:.1f} ms, {len(grids['features'])} grids, {len(body)} bytes", flush=True)
    out["grids_cold_ms"] = round(dt, 1)
    w, s, e, n = grids["bbox"]
    rebuilt = []
    for i in range(a.n):
        pad = 0.001 * (i + 1)
        dt, _, _ = c.get(f"/api/v1/layers/grids?month={a.month}&bbox={w - pad},{s - pad},{e + pad},{n + pad}")
        rebuilt.append(dt)
    out["grids_month_built"] = line("grids layer, whole city month, built from the decoded month", rebuilt)
    units = []
    for i in range(max(5, a.n // 10)):
        pad = 0.001 * (i + 1)
        units.append(c.get(f"/api/v1/layers/units?month={a.month}&bbox={w - pad},{s - pad},{e + pad},{n + pad}")[0])
    out["units_month_built"] = line("units layer (dissolved outlines), whole city month, built from the decoded month", units)
    cached = [c.get(f"/api/v1/layers/grids?month={a.month}")[0] for _ in range(a.n)]
    out["grids_month_cached"] = line("grids layer, whole city month, layer cache", cached)

    # 1: tracks of one worker-day, each a different one.
    workers = json.loads(c.get("/api/v1/workers")[2])
    ids = [x["id"] for x in workers]
    y, m = map(int, a.month.split("-"))
    days = [f"{y:04d}-{m:02d}-{d:02d}" for d in range(1, 29)]
    tracks = []
    features = 0
    for i in range(a.n):
        wid = ids[i % len(ids)]
        day = days[(i // len(ids)) % len(days)]
        dt, _, body = c.get(f"/api/v1/layers/tracks?worker={urllib.parse.quote(wid)}&day={day}")
        features += len(json.loads(body)["features"])
        tracks.append(dt)
    out["tracks_worker_day"] = line(f"tracks layer, one worker-day ({features / a.n:.1f} features each)", tracks)

    # 3: tiles over the city at z14-16, each a different tile.
    for z in (14, 15, 16):
        x0, y0 = tile_of(w, n, z)
        x1, y1 = tile_of(e, s, z)
        tiles = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        for layer in ("grids", "coverage", "tracks", "heat"):
            # The month's layer built and projected once (a tile far away: 204), then every
            # tile over the city cut once (tiles are cached after their first cut).
            first, _, _ = c.get(f"/tiles/{layer}/{z}/0/0.mvt?month={a.month}")
            ts, full = [], 0
            for x, y in tiles[: a.n]:
                dt, status, _ = c.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt?month={a.month}")
                ts.append(dt)
                full += status == 200
            out[f"tile_z{z}_{layer}"] = line(
                f"z{z} {layer} tile ({full} of {len(ts)} non-empty; layer built and projected first: {first:.0f} ms)", ts)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
