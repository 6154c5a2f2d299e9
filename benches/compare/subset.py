"""Cuts the side-by-side subset out of the reference month, so both sides read the same files.

Usage: subset.py REF_DIR OUT_DIR WORKERS DAYS

REF_DIR is `gridbeat simulate --seed 7 --workers 200 --days 30` output. The subset is
WORKERS workers spread evenly over the sorted worker ids (every k-th, so they patrol grids
all over the city, not one district), and their pings taken in the first DAYS local days
(Asia/Shanghai, the default `timezone`) of the simulated month. Written to OUT_DIR:
- pings.parquet: the reference file's rows and schema (read by `tracks`, `coverage`, the
  read floor and their peers);
- pings.csv: the same rows as CSV (`worker,ts_ms,lat,lon,acc,speed,mock,checkin`, ts_ms as
  Unix milliseconds, coordinates as the shortest text that reads back to the same double),
  read by `locate` and GeoPandas, which take CSV;
- grids.geojson: the reference registry's grids, unchanged;
- subset.json: what was cut (workers, days, rows).
"""

import json
import shutil
import sys
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

SHANGHAI = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991


def main():
    ref, out, n_workers, n_days = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    truth = json.load(open(f"{ref}/truth.json"))
    first_day = datetime.fromisoformat(truth["start"][:10]).replace(tzinfo=SHANGHAI)
    lo = int(first_day.timestamp() * 1000)
    hi = int((first_day + timedelta(days=n_days)).timestamp() * 1000)

    table = pq.read_table(f"{ref}/pings.parquet")
    all_workers = sorted(pc.unique(table["worker"]).to_pylist())
    if not 1 <= n_workers <= len(all_workers):
        sys.exit(f"--workers must be 1..{len(all_workers)}")
    step = len(all_workers) / n_workers
    chosen = [all_workers[int(i * step)] for i in range(n_workers)]
    ts = table["ts_ms"].cast(pa.int64())
    keep = pc.and_(
        pc.is_in(table["worker"], value_set=pa.array(chosen)),
        pc.and_(pc.greater_equal(ts, lo), pc.less(ts, hi)),
    )
    sub = table.filter(keep)
    pq.write_table(sub, f"{out}/pings.parquet", compression="snappy")

    csv = pa.table(
        {
            "worker": sub["worker"].cast(pa.string()),
            "ts_ms": sub["ts_ms"].cast(pa.int64()),
            "lat": sub["lat"],
            "lon": sub["lon"],
            "acc": sub["acc"],
            "speed": sub["speed"],
            "mock": sub["mock"],
            "checkin": sub["checkin"],
        }
    )
    pacsv.write_csv(csv, f"{out}/pings.csv")
    shutil.copyfile(f"{ref}/grids.geojson", f"{out}/grids.geojson")
    json.dump(
        {
            "workers": chosen,
            "first_day": first_day.date().isoformat(),
            "days": n_days,
            "rows": sub.num_rows,
            "reference_rows": table.num_rows,
        },
        open(f"{out}/subset.json", "w"),
        indent=1,
    )
    print(f"subset: {n_workers} of {len(all_workers)} workers × {n_days} days from "
          f"{first_day.date()}: {sub.num_rows:,} of {table.num_rows:,} pings")


if __name__ == "__main__":
    main()
