"""The point-in-grid peer: GeoPandas `sjoin`, as `gridbeat locate` does it.

Usage: peer_locate.py PINGS.csv GRIDS.geojson OUT.csv

What it computes, and how it follows DESIGN.md §4.5: the grid whose polygon contains each
ping, on a shared edge the one with the smaller code, empty outside all grids. GeoPandas'
`sjoin` (an STRtree of the grids, then GEOS predicates) with `predicate="intersects"`, which is
containment in the closed polygon, so a point on an edge matches every grid sharing the edge;
of several matches the smallest code is kept (this is how the golden file of
tests/it/locate_golden.rs was made). The output is what `gridbeat locate` writes: the input CSV
with every column kept as text, plus a last column `grid`.
"""

import sys

import geopandas as gpd
import pandas as pd


def main():
    pings_path, grids_path, dst = sys.argv[1:4]
    # Every column as text, so the output repeats the input as it is (as gridbeat's does).
    pings = pd.read_csv(pings_path, dtype=str, keep_default_na=False)
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(pings["lon"].astype(float), pings["lat"].astype(float)),
        crs="EPSG:4326",
    )
    grids = gpd.read_file(grids_path)
    grids = grids.loc[(grids["level"] == "grid") & grids.geometry.notna(), ["code", "geometry"]]
    hits = gpd.sjoin(points, grids, how="inner", predicate="intersects")
    code = hits.groupby(level=0)["code"].min()  # on a shared edge, the smaller code
    pings["grid"] = code.reindex(pings.index).fillna("")
    pings.to_csv(dst, index=False)


if __name__ == "__main__":
    main()
