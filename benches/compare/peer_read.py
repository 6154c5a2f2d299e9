"""The read floor: pyarrow decodes the Parquet columns gridbeat reads, and nothing else.

Usage: peer_read.py PINGS.parquet OUT.json

`pyarrow.parquet.read_table(columns=[...])` of the eight columns gridbeat's reader takes
(worker, ts_ms, lat, lon, acc, speed, mock, checkin), multi-threaded C++: the least any
program must spend to have the pings in memory. Against it runs gridbeat's reader alone
(`examples/read_table.rs`, `ingest::read_table`), which also applies the row rules
(DESIGN.md §5.1: positions in range, timestamps plausible) to every row. The figures
compared are the rows read and the distinct workers.
Output: {"rows", "workers"}.
"""

import json
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq

COLUMNS = ["worker", "ts_ms", "lat", "lon", "acc", "speed", "mock", "checkin"]


def main():
    table = pq.read_table(sys.argv[1], columns=COLUMNS)
    with open(sys.argv[2], "w") as f:
        json.dump({"rows": table.num_rows, "workers": pc.count_distinct(table["worker"]).as_py()}, f)


if __name__ == "__main__":
    main()
