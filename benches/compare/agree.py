"""Checks that each peer's figures agree with gridbeat's within DESIGN.md §4's tolerances, and
prints the table: task | tool | wall s | CPU s | peak MiB | ratio | agreement.

Usage: agree.py SUBSET_DIR TASK...

SUBSET_DIR is the subset (subset.json says what was cut); its run/ holds, per task and side,
the output files and GNU time's `%e %U %S %M` lines (`NAME.time`, one line per repetition;
the run with the median wall time is shown). A time counts only when the figures agree;
otherwise the disagreement is printed and the exit status is 1. Tolerances:
- read: the same number of rows and of distinct workers.
- locate (§4.5): every row in the same grid (exact; the golden test holds gridbeat to
  GeoPandas exactly, points on shared edges included).
- tracks (§4.2–4.4): the same accepted fixes, drops by reason and segments per worker
  (cleaning agrees); length within 0.01 % (plus 0.05 m for gridbeat's rounding to 0.1 m);
  patrol time within 1 ms; stays equal in start and end except ⌈n/50⌉ per worker of n (a
  fix within 0.01 % of the radius may fall either way: shared/data/README.md,
  tests/it/tracks_golden.rs), and equal stays holding the same number of fixes.
- coverage (§4.6): every grid within ±0.01 absolute.
"""

import csv
import json
import math
import statistics
import sys
from datetime import datetime
from pathlib import Path

PEERS = {
    "read": "pyarrow read_table",
    "locate": "GeoPandas sjoin",
    "tracks": "trackintel + pyproj",
    "coverage": "Shapely buffer-union",
}
GRIDBEAT = {
    "read": "gridbeat reader",
    "locate": "gridbeat locate",
    "tracks": "gridbeat tracks",
    "coverage": "gridbeat coverage",
}


def timing(res, name):
    """(wall s, CPU s, peak MiB) of the repetition with the median wall time."""
    runs = []
    for line in (res / f"{name}.time").read_text().split("\n"):
        parts = line.split()
        if len(parts) == 4 and not line.startswith("Command"):
            wall, user, sys_, rss_kb = map(float, parts)
            runs.append((wall, user + sys_, rss_kb / 1024))
    runs.sort()
    return runs[(len(runs) - 1) // 2]


def ms(text):
    """UTC milliseconds of gridbeat's RFC 3339 timestamps (`2026-10-01T01:02:03Z`)."""
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def check_read(res):
    peer = json.loads((res / "peer_read.json").read_text())
    # examples/read_table prints "N rows scanned, M pings of W workers, B bad rows in ...".
    words = (res / "gridbeat_read.stdout").read_text().split()
    rows, workers, bad = int(words[0]), int(words[6]), int(words[8])
    ok = rows == peer["rows"] and workers == peer["workers"] and bad == 0
    return ok, f"rows {rows:,} vs {peer['rows']:,}, workers {workers} vs {peer['workers']}"


def check_locate(res):
    def grids(path):
        with open(path, newline="") as f:
            return [r["grid"] for r in csv.DictReader(f)]

    g, p = grids(res / "gridbeat_locate.csv"), grids(res / "peer_locate.csv")
    if len(g) != len(p):
        return False, f"{len(g):,} rows vs {len(p):,}"
    differ = [i for i, (a, b) in enumerate(zip(g, p)) if a != b]
    inside = sum(1 for a in g if a)
    text = f"{len(differ)} of {len(g):,} rows differ ({inside:,} in a grid); tol 0"
    for i in differ[:5]:
        text += f"\n    row {i + 1}: gridbeat {g[i]!r}, GeoPandas {p[i]!r}"
    return not differ, text


def check_tracks(res):
    g = {w["worker"]: w for w in json.loads((res / "gridbeat_tracks.json").read_text())["workers"]}
    p = {w["worker"]: w for w in json.loads((res / "peer_tracks.json").read_text())["workers"]}
    problems = []
    if set(g) != set(p):
        problems.append(f"workers differ: {sorted(set(g) ^ set(p))[:5]}")
    max_rel, max_dt, stays, differing, over = 0.0, 0.0, 0, 0, []
    for name in sorted(set(g) & set(p)):
        a, b = g[name], p[name]
        for key in ("accepted", "segments"):
            if a[key] != b[key]:
                problems.append(f"{name}: {key} {a[key]} vs {b[key]}")
        for key, n in b["dropped"].items():
            if a["dropped"][key] != n:
                problems.append(f"{name}: dropped.{key} {a['dropped'][key]} vs {n}")
        diff = abs(a["length_m"] - b["length_m"])
        if diff > 1e-4 * b["length_m"] + 0.05:
            problems.append(f"{name}: length {a['length_m']} m vs {b['length_m']:.2f} m")
        if b["length_m"] > 0:
            max_rel = max(max_rel, diff / b["length_m"])
        dt = abs(a["patrol_s"] - b["patrol_s"])
        max_dt = max(max_dt, dt)
        if dt > 1e-3:
            problems.append(f"{name}: patrol {a['patrol_s']} s vs {b['patrol_s']} s")
        ga = {(ms(s["start"]), ms(s["end"])): s["pings"] for s in a["stays"]}
        pb = {(s["start_ms"], s["end_ms"]): s["pings"] for s in b["stays"]}
        n_diff = max(len(ga.keys() - pb.keys()), len(pb.keys() - ga.keys()))
        for key in ga.keys() & pb.keys():
            if ga[key] != pb[key]:
                problems.append(f"{name}: stay from {key[0]} ms holds {ga[key]} fixes vs {pb[key]}")
        stays += len(pb)
        differing += n_diff
        if n_diff > math.ceil(len(pb) / 50):
            over.append(f"{name}: {n_diff} of {len(pb)} stays differ")
    problems += over
    text = (f"accepted fixes, drops by reason, segments equal; length max rel {max_rel:.1e} (tol 1e-4), patrol max {max_dt:.3f} s (tol 0.001), "
            f"stays {differing} of {stays:,} differ (tol ⌈n/50⌉ per worker)")
    if problems:
        text += "".join(f"\n    {x}" for x in problems[:10])
    return not problems, text


def check_coverage(res):
    g = {x["code"]: x["coverage"] for x in json.loads((res / "gridbeat_coverage.json").read_text())["grids"]}
    p = {x["code"]: x["coverage"] for x in json.loads((res / "peer_coverage.json").read_text())["grids"]}
    if set(g) != set(p):
        return False, f"grids differ: {sorted(set(g) ^ set(p))[:5]}"
    diffs = sorted(((abs(g[c] - p[c]), c) for c in g), reverse=True)
    covered = sum(1 for c in g if g[c] > 0 or p[c] > 0)
    worst, code = diffs[0]
    mean = statistics.fmean(d for d, c in diffs if g[c] > 0 or p[c] > 0) if covered else 0.0
    text = (f"max |Δ| {worst:.4f} (grid {code}: {g[code]:.4f} vs {p[code]:.4f}), mean {mean:.4f} "
            f"over {covered} grids touched of {len(g)}; tol 0.01")
    bad = [(d, c) for d, c in diffs if d > 0.01]
    for d, c in bad[:5]:
        text += f"\n    grid {c}: gridbeat {g[c]:.4f}, Shapely {p[c]:.4f}"
    return not bad, text


CHECKS = {"read": check_read, "locate": check_locate, "tracks": check_tracks, "coverage": check_coverage}


def main():
    sub = Path(sys.argv[1])
    res = sub / "run"
    tasks = sys.argv[2:]
    s = json.loads((sub / "subset.json").read_text())
    print(f"subset: {len(s['workers'])} workers × {s['days']} days from {s['first_day']}: "
          f"{s['rows']:,} of the reference month's {s['reference_rows']:,} pings\n")
    rows, all_ok = [], True
    for task in tasks:
        ok, text = CHECKS[task](res)
        all_ok &= ok
        gb = timing(res, f"gridbeat_{task}")
        peer = timing(res, f"peer_{task}")
        first, *rest = text.split("\n")
        rows.append((task, GRIDBEAT[task], gb, "", ""))
        ratio = f"{peer[0] / gb[0]:.1f}×" if ok else "—"
        rows.append(("", PEERS[task], peer, ratio, ("agree: " if ok else "DISAGREE: ") + first))
        rows += [("", "", None, "", r) for r in rest]
    print("| task | tool | wall s | CPU s | peak MiB | ratio (peer/gridbeat wall) | agreement |")
    print("|---|---|---:|---:|---:|---:|---|")
    for task, tool, t, ratio, note in rows:
        if t is None:
            print(f"| | | | | | | {note.strip()} |")
        else:
            print(f"| {task} | {tool} | {t[0]:.2f} | {t[1]:.2f} | {t[2]:.0f} | {ratio} | {note} |")
    if not all_ok:
        print("\nsome figures disagree: their times do not count (see the agreement column)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
