"""The tracks peer: per worker length, patrol time and stays with pyproj and trackintel.

Usage: peer_tracks.py PINGS.parquet OUT.json [--haversine]

What it computes, and how it follows DESIGN.md §4:
- Cleaning and segments (§4.2–4.3): `clean.py` (trackintel has no speed gate with
  relocations; see there).
- Length (§4.3): the sum over consecutive accepted fixes within each segment of the WGS84
  geodesic (pyproj.Geod.inv, Karney); gaps are never bridged. Patrol time: the sum of segment
  durations (last − first fix).
- Stays (§4.4): trackintel's `generate_staypoints(method="sliding", include_last=True)`, the
  rule §4.4 names, with dist_threshold = stay_radius_m (50), time_threshold = stay_min_s (300 s
  = 5 min). §4.4 applies the rule to each segment on its own, so each segment is handed to
  trackintel as its own "user" (trackintel groups by user), with its gap_threshold out of
  the way (segments have no gap over max_gap_s by construction; trackintel would otherwise
  drop the run before a gap instead of closing it as §4.4's trailing run).
  trackintel measures the anchor distance with the haversine formula on a 6,371 km sphere,
  which at 28° N is 0.34 % long north–south and 0.19 % short east–west against the
  ellipsoid that gridbeat and the golden files (PROJ geodesics) measure on: enough to move
  a fix across the 50 m radius every few stays (on 20 workers × 7 days, 53 of 827 stays came
  out different). So the fixes are handed to trackintel in a local conformal plane (a
  transverse Mercator centred on the data, scale 1 within 3e-7 over a city) written as
  degrees at the equator (x / R, y / R): there trackintel's haversine is the plane's
  Euclidean distance to 1e-6, and so the ellipsoidal distance to 1e-6 (0 of 829 differ).
  `--haversine` hands it plain lon/lat instead, to see the difference.
Output: {"workers": [{"worker", "accepted", "segments", "length_m", "patrol_s",
"stays": [{"start_ms", "end_ms", "pings"}]}]}.
"""

import json
import sys
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import trackintel as ti
from pyproj import Transformer

from clean import Params, clean, geodesic_m

STAY_RADIUS_M = 50.0
STAY_MIN_S = 300.0
R_TRACKINTEL = 6371000.0  # the sphere of trackintel's point_haversine_dist


def main():
    src, dst = sys.argv[1], sys.argv[2]
    haversine = "--haversine" in sys.argv[3:]
    t = pq.read_table(src, columns=["worker", "ts_ms", "lat", "lon", "acc", "speed", "mock", "checkin"])
    fixes, counts = clean(
        t.column("worker").to_numpy(zero_copy_only=False),
        t.column("ts_ms").cast("int64").to_numpy(),
        t.column("lon").to_numpy(),
        t.column("lat").to_numpy(),
        t.column("acc").to_numpy(),
        # What else tells a repeat (counted nowhere) from a conflict (dropped) in the counts.
        [t.column(c).to_numpy(zero_copy_only=False) for c in ("speed", "mock", "checkin")],
    )
    del t
    seg, lon, lat, fts = fixes["segment"], fixes["lon"], fixes["lat"], fixes["ts_ms"]

    # Length and patrol time: geodesic steps and durations within segments.
    within = np.zeros(len(seg), dtype=bool)
    within[1:] = seg[1:] == seg[:-1]
    steps = np.zeros(len(seg))
    k = np.flatnonzero(within)
    steps[k] = geodesic_m(lon[k - 1], lat[k - 1], lon[k], lat[k])
    durations = np.zeros(len(seg))
    durations[k] = (fts[k] - fts[k - 1]) / 1000.0
    per_fix = pd.DataFrame({"worker": fixes["worker"], "segment": seg, "step": steps, "dt": durations})
    by_worker = per_fix.groupby("worker", sort=True).agg(
        length_m=("step", "sum"), patrol_s=("dt", "sum"), segments=("segment", "nunique")
    )

    # Stays: trackintel's sliding rule, one "user" per segment.
    if haversine:
        x, y = lon, lat
    else:
        tm = Transformer.from_crs(
            "EPSG:4326",
            f"+proj=tmerc +lat_0={np.mean(lat)} +lon_0={np.mean(lon)} +k=1 +ellps=WGS84 +units=m",
            always_xy=True,
        )
        east, north = tm.transform(lon, lat)
        x, y = np.degrees(east / R_TRACKINTEL), np.degrees(north / R_TRACKINTEL)
    pfs = gpd.GeoDataFrame(
        {
            "user_id": seg,
            "tracked_at": pd.to_datetime(fts, unit="ms", utc=True),
        },
        geometry=gpd.points_from_xy(x, y),
        crs="EPSG:4326",
    )
    pfs = ti.Positionfixes(pfs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no staypoints" for a segment is not news
        pfs, sp = pfs.generate_staypoints(
            method="sliding",
            distance_metric="haversine",
            dist_threshold=STAY_RADIUS_M,
            time_threshold=STAY_MIN_S / 60.0,
            gap_threshold=1e9,  # segments already end at every gap
            include_last=True,
            print_progress=False,
            exclude_duplicate_pfs=False,  # cleaning left no duplicate
            n_jobs=1,
        )
    pings = pfs["staypoint_id"].value_counts()
    seg_worker = pd.Series(fixes["worker"], index=seg).groupby(level=0).first()
    stays = {}
    for sp_id, row in sp.sort_values(["started_at"]).iterrows():
        w = seg_worker[row["user_id"]]
        stays.setdefault(w, []).append(
            {
                "start_ms": int(row["started_at"].value // 1_000_000),
                "end_ms": int(row["finished_at"].value // 1_000_000),
                "pings": int(pings.get(sp_id, 0)),
            }
        )

    out = []
    for w, c in counts.items():
        r = by_worker.loc[w] if w in by_worker.index else None
        out.append(
            {
                "worker": str(w),
                "accepted": c["accepted"],
                "repeats": c["repeats"],
                "dropped": {k: c[k] for k in ("conflict", "accuracy", "speed")},
                "segments": int(r["segments"]) if r is not None else 0,
                "length_m": float(r["length_m"]) if r is not None else 0.0,
                "patrol_s": float(r["patrol_s"]) if r is not None else 0.0,
                "stays": sorted(stays.get(w, []), key=lambda s: s["start_ms"]),
            }
        )
    with open(dst, "w") as f:
        json.dump({"params": {**Params().__dict__, "stay_radius_m": STAY_RADIUS_M,
                              "stay_min_s": STAY_MIN_S}, "workers": out}, f)


if __name__ == "__main__":
    main()
