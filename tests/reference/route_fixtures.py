"""Generates the route-coverage fixtures: six routes on real Helsinki streets and one vehicle's
track over each, with deliberate faults.

Rerun (seeded: the same files every time):
    python3 -m venv target/route-venv && target/route-venv/bin/pip install shapely pyproj
    target/route-venv/bin/python tests/reference/route_fixtures.py
    target/route-venv/bin/python tests/reference/route_coverage.py   # then expected.json

Reads ../shared/data/osm/helsinki_walk_ways.geojson (© OpenStreetMap contributors, ODbL 1.0);
writes tests/fixtures/route/routes.geojson and tracks.csv.

- routes.geojson: MultiLineString Features (WGS84, 7 decimals) with `code`, `name`, `kind`,
  `vehicles`, `passes`, `max_work_speed_kmh`, `min_pressure` (null: none) and `windows`:
  [{"days": bitmask Mon = bit 0 … Sun = bit 6, "start_min", "end_min"}] (the fields of
  `registry::Window`). A street's ways are merged (`linemerge`) into one line per street.
- tracks.csv: `vehicle,t_ms,lon,lat,speed_kmh,work,pressure,acc` (empty: not reported).
  The vehicle drives its legs at the leg's speed (transits between lines in a straight line
  at 25 km/h with the work off, but on in R1), reports every 10–30 s with ±5 m of uniform noise on each
  axis, and each track has a repeated timestamp and an outlier 5 km away (for cleaning).

The day is Tuesday 2026-10-13 in Asia/Shanghai.
"""

import csv
import json
import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pyproj import Transformer
from shapely import LineString, MultiLineString
from shapely.ops import linemerge, substring

ROOT = Path(__file__).resolve().parents[2]
WAYS = ROOT.parent / "shared/data/osm/helsinki_walk_ways.geojson"
OUT = ROOT / "tests/fixtures/route"
TZ = ZoneInfo("Asia/Shanghai")
DAY = (2026, 10, 13)
EVERY_DAY = 0x7F

rng = random.Random(808)


def local_ms(day_offset, h, m, s=0):
    y, mo, d = DAY
    t = datetime(y, mo, d + day_offset, h, m, s, tzinfo=TZ)
    return int(t.timestamp() * 1000)


def streets():
    ways = json.loads(WAYS.read_text())["features"]
    by = {}
    for f in ways:
        p = f["properties"]
        if p["name"] and p["highway"] in ("residential", "tertiary", "secondary", "unclassified"):
            by.setdefault(p["name"], []).append(LineString(f["geometry"]["coordinates"]))
    merged = {}
    for name, ls in by.items():
        m = linemerge(MultiLineString(ls))
        parts = list(m.geoms) if m.geom_type == "MultiLineString" else [m]
        merged[name] = max(parts, key=lambda g: g.length)
    return merged


def rounded(line):
    return [(round(x, 7), round(y, 7)) for x, y in line.coords]


# Each route: streets, schedule, and the vehicle's plan as legs over its lines:
# (line index, from fraction, to fraction, km/h, work, pressure); "stay" legs park (seconds).
ROUTES = [
    dict(code="R1-skipped-street", streets=["Yrjönkatu", "Annankatu", "Bulevardi"],
         kind="sweeping", passes=1, max_kmh=12.0, min_pressure=None, windows=[(360, 600)],
         start=(0, 6, 30), duplicate_vertex=1, transit_work=True,
         legs=[(0, 0.0, 1.0, 8, True, None), (1, 1.0, 0.0, 8, True, None)]),
    dict(code="R2-u-turn", streets=["Korkeavuorenkatu"],
         kind="sweeping", passes=2, max_kmh=12.0, min_pressure=None, windows=[(360, 600)],
         start=(0, 7, 0),
         legs=[(0, 0.0, 1.0, 7, True, None), ("stay", 20, True),
               (0, 1.0, 0.0, 7, True, None)]),
    dict(code="R3-night-wash", streets=["Kasarmikatu", "Snellmaninkatu"],
         kind="washing", passes=1, max_kmh=15.0, min_pressure=0.25, windows=[(1320, 240)],
         start=(0, 23, 40),
         legs=[(0, 0.0, 1.0, 10, True, 0.4), ("stay", 1500, False),
               (1, 0.0, 0.5, 10, True, 0.4), (1, 0.5, 1.0, 10, True, 0.15)]),
    dict(code="R4-work-off-and-gap",
         streets=["Kaisaniemenkatu", "Kaisaniemenranta", "Pitkänsillanranta"],
         kind="sweeping", passes=1, max_kmh=12.0, min_pressure=None, windows=[(480, 720)],
         start=(0, 8, 30), gap=(0.3, 240),
         legs=[(0, 0.0, 1.0, 8, True, None), (1, 0.0, 0.6, 8, True, None),
               (1, 0.6, 1.0, 8, False, None), (2, 0.0, 1.0, 8, False, None)]),
    dict(code="R5-too-fast", streets=["Fabianinkatu"],
         kind="sweeping", passes=1, max_kmh=12.0, min_pressure=None, windows=[(360, 600)],
         start=(0, 9, 40), work_unreported=True,
         legs=[(0, 0.0, 1 / 3, 8, True, None), (0, 1 / 3, 2 / 3, 20, True, None),
               (0, 2 / 3, 1.0, 8, True, None)]),
    dict(code="R6-outside-window", streets=["Eteläranta", "Kalevankatu"],
         kind="sweeping", passes=1, max_kmh=12.0, min_pressure=None, windows=[(300, 420)],
         start=(0, 8, 0),
         legs=[("stay", 300, True), (0, 0.0, 1.0, 8, True, None),
               (1, 1.0, 0.0, 8, True, None)]),
]


def build(route, lines_ll):
    lon0 = sum(x for l in lines_ll for x, _ in l) / sum(len(l) for l in lines_ll)
    lat0 = sum(y for l in lines_ll for _, y in l) / sum(len(l) for l in lines_ll)
    aeqd = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
    fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    inv = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    lines = [LineString([fwd.transform(x, y) for x, y in l]) for l in lines_ll]

    # The legs as (geometry or None, seconds, km/h, work, pressure); transits in between.
    legs = []
    here = None
    for leg in route["legs"]:
        if leg[0] == "stay":
            legs.append((None, leg[1], 0, leg[2], None))
            continue
        i, a, b, kmh, work, pressure = leg
        line = lines[i]
        part = substring(line, min(a, b) * line.length, max(a, b) * line.length)
        if a > b:
            part = LineString(list(part.coords)[::-1])
        start = part.coords[0]
        if here is not None and LineString([here, start]).length > 1:
            transit = LineString([here, start])
            legs.append((transit, transit.length / (25 / 3.6), 25,
                         route.get("transit_work", False), None))
        legs.append((part, part.length / (kmh / 3.6), kmh, work, pressure))
        here = part.coords[-1]

    t0 = local_ms(*route["start"])
    total_s = sum(l[1] for l in legs)
    gap = None
    if "gap" in route:
        frac, secs = route["gap"]
        gap = (t0 + frac * total_s * 1000, t0 + (frac * total_s + secs) * 1000)
    rows = []
    t = t0
    last_pos = lines[0].coords[0] if legs[0][0] is None else legs[0][0].coords[0]
    while t <= t0 + total_s * 1000:
        if gap and gap[0] <= t < gap[1]:
            t += rng.randint(10_000, 30_000)
            continue
        s = (t - t0) / 1000
        for geom, secs, kmh, work, pressure in legs:
            if s <= secs:
                break
            s -= secs
        if geom is None:
            pos = last_pos
        else:
            pt = geom.interpolate(s / secs * geom.length if secs > 0 else 0)
            pos = (pt.x, pt.y)
            last_pos = pos
        x = pos[0] + rng.uniform(-5, 5)
        y = pos[1] + rng.uniform(-5, 5)
        lon, lat = inv.transform(x, y)
        rows.append(dict(t_ms=t, lon=round(lon, 7), lat=round(lat, 7),
                         speed_kmh=round(kmh + rng.uniform(-1, 1), 1) if kmh else 0.0,
                         work="" if route.get("work_unreported") else str(work).lower(),
                         pressure="" if pressure is None else pressure, acc="true"))
        t += rng.randint(10_000, 30_000)
    # For cleaning: a repeated timestamp (a second report, 30 m off) and a 5 km outlier.
    k = len(rows) // 3
    dup = dict(rows[k])
    dup["lat"] = round(dup["lat"] + 0.0003, 7)
    rows.insert(k + 1, dup)
    out = dict(rows[2 * k])
    out["t_ms"] += 1000
    out["lat"] = round(out["lat"] + 0.045, 7)
    rows.insert(2 * k + 1, out)
    return rows


def main():
    named = streets()
    features, tracks = [], []
    for n, route in enumerate(ROUTES):
        lines_ll = [rounded(named[s]) for s in route["streets"]]
        if "duplicate_vertex" in route:
            l = lines_ll[route["duplicate_vertex"]]
            l.insert(len(l) // 2, l[len(l) // 2])
        vehicle = f"v{n + 1}"
        features.append({
            "type": "Feature",
            "geometry": {"type": "MultiLineString", "coordinates": lines_ll},
            "properties": {
                "code": route["code"], "name": " + ".join(route["streets"]),
                "kind": route["kind"], "vehicles": [vehicle], "passes": route["passes"],
                "max_work_speed_kmh": route["max_kmh"], "min_pressure": route["min_pressure"],
                "windows": [{"days": EVERY_DAY, "start_min": a, "end_min": b}
                            for a, b in route["windows"]],
            },
        })
        for row in build(route, lines_ll):
            tracks.append(dict(vehicle=vehicle, **row))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "routes.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n")
    with open(OUT / "tracks.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["vehicle", "t_ms", "lon", "lat", "speed_kmh", "work",
                                          "pressure", "acc"], lineterminator="\n")
        w.writeheader()
        w.writerows(tracks)
    print(f"{len(features)} routes, {len(tracks)} fixes")


if __name__ == "__main__":
    main()
