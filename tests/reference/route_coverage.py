"""The independent reference for route coverage (README "Route coverage (vehicles)"):
Shapely 2 + pyproj compute every figure of a route-day from the definitions, for the fixtures
in tests/fixtures/route/, and write tests/fixtures/route/expected.json, which
tests/it/route_coverage.rs compares gridbeat's `route` module against (CI runs no Python: the
expected file is committed).

Rerun after changing a definition or the fixtures:
    python3 -m venv target/route-venv && target/route-venv/bin/pip install shapely pyproj
    target/route-venv/bin/python tests/reference/route_fixtures.py   # only to regenerate data
    target/route-venv/bin/python tests/reference/route_coverage.py

How it follows the definitions, independently of the Rust code:
- Projection: pyproj azimuthal equidistant (`+proj=aeqd`, WGS84) centred on the centre of the
  route's bounding box (gridbeat uses an equirectangular local frame at the same centre; over a
  route of a kilometre the two differ by ~1e-4 relative, centimetres).
- Cleaning: stable sort by time, the first fix of a timestamp kept, a fix dropped when its
  geodesic distance (pyproj.Geod, Karney) from the last kept fix over the time between them
  exceeds max_vehicle_speed_kmh.
- Pieces: `shapely.ops.substring` of each line at multiples of piece_m (a remainder under 1 m
  joins the piece before); a piece is the segment from the substring's first to last point.
- Steps, visits and passes: `LineString.distance` (GEOS) between each pair of consecutive fixes
  and each piece; the angle between directions modulo 180° from `math.atan2`.
- The day's span and windows with `zoneinfo` (Asia/Shanghai, no daylight saving).
"""

import csv
import json
import math
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely import LineString, MultiLineString
from shapely.ops import substring

ROOT = Path(__file__).resolve().parents[2]
DIR = ROOT / "tests/fixtures/route"
TZ_NAME = "Asia/Shanghai"
DAY = date(2026, 10, 13)
PARAMS = dict(piece_m=10.0, tolerance_m=15.0, heading_tolerance_deg=30.0, gap_s=120.0,
              max_vehicle_speed_kmh=120.0)
GEOD = Geod(ellps="WGS84")


def opt_bool(s):
    return None if s == "" else s == "true"


def opt_float(s):
    return None if s == "" else float(s)


def read_tracks():
    by = {}
    with open(DIR / "tracks.csv", newline="") as f:
        for r in csv.DictReader(f):
            by.setdefault(r["vehicle"], []).append(dict(
                t=int(r["t_ms"]), lon=float(r["lon"]), lat=float(r["lat"]),
                work=opt_bool(r["work"]), pressure=opt_float(r["pressure"]),
                acc=opt_bool(r["acc"])))
    return by


def clean(fixes):
    fixes = sorted(fixes, key=lambda f: f["t"])  # stable
    one = []
    for f in fixes:
        if not one or one[-1]["t"] != f["t"]:
            one.append(f)
    kept = []
    for f in one:
        if kept:
            last = kept[-1]
            _, _, d = GEOD.inv(last["lon"], last["lat"], f["lon"], f["lat"])
            if d / ((f["t"] - last["t"]) / 1000) * 3.6 > PARAMS["max_vehicle_speed_kmh"]:
                continue
        kept.append(f)
    return kept


def midnight_ms(d, tz):
    return int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)


def windows_of(windows, d, tz):
    """The day's windows as [from, to) UTC ms: those whose weekday bit is set."""
    out = []
    for w in windows:
        if w["days"] >> d.weekday() & 1:
            start = midnight_ms(d, tz) + w["start_min"] * 60_000
            minutes = (w["end_min"] - w["start_min"]) if w["end_min"] > w["start_min"] \
                else 1440 - w["start_min"] + w["end_min"]
            out.append((start, start + minutes * 60_000))
    return out


def span_of(windows, d, tz):
    prev = [b for _, b in windows_of(windows, d - timedelta(days=1), tz)]
    own = [b for _, b in windows_of(windows, d, tz)]
    start = max([midnight_ms(d, tz)] + prev)
    end = max([midnight_ms(d + timedelta(days=1), tz)] + own)
    return start, end


def cut(line, piece_m):
    L = line.length
    cuts = [0.0]
    k = 1
    while k * piece_m < L:
        cuts.append(k * piece_m)
        k += 1
    if len(cuts) > 1 and L - cuts[-1] < 1.0:
        cuts.pop()
    cuts.append(L)
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        sub = substring(line, a, b)
        coords = list(sub.coords)
        pieces.append((LineString([coords[0], coords[-1]]) if len(coords) > 1
                       else LineString([coords[0], coords[0]]), b - a))
    return pieces, L


def axial_deg(u, v):
    cross = u[0] * v[1] - u[1] * v[0]
    dot = u[0] * v[0] + u[1] * v[1]
    return math.degrees(math.atan2(abs(cross), abs(dot)))


def route_day(feature, fixes, d, tz):
    props = feature["properties"]
    lines_ll = feature["geometry"]["coordinates"]
    xs = [x for l in lines_ll for x, _ in l]
    ys = [y for l in lines_ll for _, y in l]
    lon0, lat0 = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    aeqd = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
    fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    lines = [LineString([fwd.transform(x, y) for x, y in l]) for l in lines_ll]
    route = MultiLineString(lines)

    pieces, length = [], 0.0
    for line in lines:
        p, L = cut(line, PARAMS["piece_m"])
        pieces += p
        length += L
    piece_geoms = np.array([g for g, _ in pieces])
    piece_len = np.array([l for _, l in pieces])
    piece_dir = [(g.coords[1][0] - g.coords[0][0], g.coords[1][1] - g.coords[0][1])
                 for g in piece_geoms]

    windows = windows_of(props["windows"], d, tz)
    span = span_of(props["windows"], d, tz)
    tol = PARAMS["tolerance_m"]
    xy = [fwd.transform(f["lon"], f["lat"]) for f in fixes]

    figures = dict(work_time_on_route_s=0.0, work_time_off_route_s=0.0,
                   work_distance_on_route_m=0.0, work_distance_off_route_m=0.0,
                   over_speed_s=0.0, under_pressure_s=0.0, gap_s_in_window=0.0)
    gaps = []
    # Per pair of consecutive fixes: which pieces it is near, and which it passes as a
    # qualifying step (any time / in the window).
    near_sets, pass_any, pass_win = [], [], []
    for k in range(len(fixes) - 1):
        a, b = fixes[k], fixes[k + 1]
        seg = LineString([xy[k], xy[k + 1]])
        dt = (b["t"] - a["t"]) / 1000
        near = np.nonzero(shapely.distance(seg, piece_geoms) <= tol)[0]
        near_sets.append(set(near.tolist()))
        qual_any = qual_win = False
        if dt > PARAMS["gap_s"]:
            overlap = sum(max(0, min(b["t"], w1) - max(a["t"], w0)) for w0, w1 in windows)
            if overlap > 0:
                gaps.append([a["t"], b["t"]])
                figures["gap_s_in_window"] += overlap / 1000
        elif span[0] <= a["t"] < span[1]:
            working = a["work"] if a["work"] is not None else a["acc"] is not False
            if working:
                length_m = seg.length
                speed = length_m / dt * 3.6
                on_route = seg.distance(route) <= tol
                if on_route:
                    figures["work_time_on_route_s"] += dt
                    figures["work_distance_on_route_m"] += length_m
                    if speed > props["max_work_speed_kmh"]:
                        figures["over_speed_s"] += dt
                else:
                    figures["work_time_off_route_s"] += dt
                    figures["work_distance_off_route_m"] += length_m
                pressure_ok = True
                if props["min_pressure"] is not None and a["pressure"] is not None:
                    pressure_ok = a["pressure"] >= props["min_pressure"]
                    if not pressure_ok:
                        figures["under_pressure_s"] += dt
                qual_any = speed <= props["max_work_speed_kmh"] and pressure_ok
                qual_win = qual_any and any(w0 <= a["t"] < w1 for w0, w1 in windows)
        passing = set()
        if qual_any and seg.length >= 1.0:
            u = (xy[k + 1][0] - xy[k][0], xy[k + 1][1] - xy[k][1])
            for q in near:
                v = piece_dir[q]
                if math.hypot(*v) < 1.0 or axial_deg(u, v) <= PARAMS["heading_tolerance_deg"]:
                    passing.add(q)
        pass_any.append(passing)
        pass_win.append(passing if qual_win else set())

    def count(passes_of):
        """Per piece: visits (maximal runs of consecutive near pairs) with a passing step."""
        n = np.zeros(len(pieces), dtype=int)
        for q in range(len(pieces)):
            in_visit = visit_passed = False
            for k in range(len(near_sets)):
                if q in near_sets[k]:
                    if not in_visit:
                        in_visit, visit_passed = True, False
                    if q in passes_of[k] and not visit_passed:
                        n[q] += 1
                        visit_passed = True
                else:
                    in_visit = False
        return n

    win, anytime = count(pass_win), count(pass_any)
    worked = float(piece_len[win >= 1].sum())
    worked_any = float(piece_len[anytime >= 1].sum())
    return dict(
        code=props["code"], vehicle=props["vehicles"][0], span=list(span),
        length_m=length, worked_share=worked / length,
        passes_met_share=float(piece_len[win >= props["passes"]].sum()) / length,
        on_schedule_share=worked / worked_any if worked_any > 0 else None,
        **figures, gaps=gaps, pieces=win.tolist(),
        piece_lengths_m=[round(float(x), 3) for x in piece_len],
    )


def main():
    tz = ZoneInfo(TZ_NAME)
    routes = json.loads((DIR / "routes.geojson").read_text())["features"]
    tracks = read_tracks()
    out = []
    for feature in routes:
        fixes = clean(tracks[feature["properties"]["vehicles"][0]])
        out.append(route_day(feature, fixes, DAY, tz))
    result = dict(
        generated_by="tests/reference/route_coverage.py (shapely %s, pyproj)"
                     % shapely.__version__,
        day=DAY.isoformat(), tz=TZ_NAME, params=PARAMS, routes=out)
    (DIR / "expected.json").write_text(json.dumps(result, indent=1) + "\n")
    for r in out:
        print(r["code"], round(r["length_m"], 1), "worked", round(r["worked_share"], 3),
              "met", round(r["passes_met_share"], 3), "sched", r["on_schedule_share"] and
              round(r["on_schedule_share"], 3), "on", round(r["work_time_on_route_s"]),
              "off", round(r["work_time_off_route_s"]), "fast", round(r["over_speed_s"]),
              "lowp", round(r["under_pressure_s"]), "gaps", len(r["gaps"]),
              round(r["gap_s_in_window"]))


if __name__ == "__main__":
    main()
