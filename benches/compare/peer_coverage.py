"""The coverage peer: each grid's coverage by Shapely buffer-union.

Usage: peer_coverage.py PINGS.parquet GRIDS.geojson OUT.json

What it computes, and how it follows DESIGN.md §4.6:
    coverage(T, G) = area({x ∈ G : distance(x, T) ≤ coverage_radius_m}) / area(G)
- T is the cleaned track of every worker in the file (`clean.py`, §4.2–4.3): each segment a
  straight polyline between consecutive accepted fixes, a one-fix segment a point, gaps never
  bridged. `gridbeat coverage` without `--workers` counts every track for every grid, and so
  does this: one union over all workers and days.
- The local metric projection of §4.6 is a transverse Mercator centred on the grids (scale 1
  to within 3e-7 over a city, so a 30 m buffer is 30 m to within 0.01 mm).
- {x : distance(x, T) ≤ r} is the union (GEOS `union_all`) of `shapely.buffer(piece, r)`
  (round caps and joins, 8 segments per quarter circle: the polygon lies inside the true
  disc, short of it by at most r·(1 − cos(π/32)) = 0.14 m). A polyline's buffer is the union
  of its pieces' buffers, so each segment is cut into pieces of 10 steps: GEOS buffers one
  long patrol line that crosses itself hundreds of times very slowly (20 workers × 7 days:
  283 segments took 229 s whole, 4 s in pieces). Coverage is the area of each grid ∩ that
  union over the grid's area, both in the plane.
gridbeat approximates the same set with 2.5 m samples; DESIGN §4.6 allows ±0.01 absolute.
Output: {"grids": [{"code", "coverage"}]}.
"""

import json
import sys

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer

from clean import clean

COVERAGE_RADIUS_M = 30.0
PIECE_STEPS = 10


def track_pieces(xy, segment):
    """The track as geometries whose buffers' union is the track's buffer: each segment cut
    into LineStrings of at most PIECE_STEPS steps (consecutive pieces share their end fix, so
    no step is lost), and a Point for a one-fix segment."""
    n = len(segment)
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    pos = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))  # index within segment
    piece = np.cumsum(np.r_[True, (segment[1:] != segment[:-1]) | (pos[1:] % PIECE_STEPS == 0)]) - 1
    # A fix that starts a piece inside a segment also ends the piece before it.
    shared = np.flatnonzero((pos % PIECE_STEPS == 0) & (pos > 0))
    member = np.concatenate((piece, piece[shared] - 1))
    fix = np.concatenate((np.arange(n), shared))
    order = np.lexsort((fix, member))
    member, fix = member[order], fix[order]
    size = np.bincount(member)
    line = np.repeat(size >= 2, size)
    lines = shapely.linestrings(xy[fix[line]], indices=np.repeat(np.arange((size >= 2).sum()), size[size >= 2]))
    return np.concatenate((lines, shapely.points(xy[fix[~line]])))


def main():
    pings_path, grids_path, dst = sys.argv[1:4]
    t = pq.read_table(pings_path, columns=["worker", "ts_ms", "lat", "lon", "acc"])
    fixes, _ = clean(
        t.column("worker").to_numpy(zero_copy_only=False),
        t.column("ts_ms").cast("int64").to_numpy(),
        t.column("lon").to_numpy(),
        t.column("lat").to_numpy(),
        t.column("acc").to_numpy(),
    )
    del t

    grids = gpd.read_file(grids_path)
    grids = grids[(grids["level"] == "grid") & grids.geometry.notna()].reset_index(drop=True)
    lon0, lat0 = grids.geometry.union_all().centroid.coords[0]
    plane = f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +ellps=WGS84 +units=m"
    grid_geoms = grids.to_crs(plane).geometry.to_numpy()

    to_plane = Transformer.from_crs("EPSG:4326", plane, always_xy=True)
    x, y = to_plane.transform(fixes["lon"], fixes["lat"])
    pieces = track_pieces(np.column_stack((x, y)), fixes["segment"])
    covered = shapely.union_all(shapely.buffer(pieces, COVERAGE_RADIUS_M))
    shares = shapely.area(shapely.intersection(grid_geoms, covered)) / shapely.area(grid_geoms)
    out = [{"code": str(c), "coverage": float(v)} for c, v in zip(grids["code"], shares)]
    with open(dst, "w") as f:
        json.dump({"radius_m": COVERAGE_RADIUS_M, "grids": out}, f)


if __name__ == "__main__":
    main()
