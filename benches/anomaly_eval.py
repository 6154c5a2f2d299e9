#!/usr/bin/env python3
"""Precision and recall of gridbeat's anomaly flags against the simulator's truth.

Simulates the reference workload (seed 7, 200 workers, 30 days) unless it is already in
DIR, runs `gridbeat tracks` on its pings, and compares the flags per worker-day with what
`truth.json` says each worker really did:

  static_device  truth: a desk period of at least static_min_s (3600 s) that day
  replay         truth: the day replays an earlier day (`replay_of`); the flag must name it
  mock_location  truth: the client flagged pings as mock that day
  jumps          truth: the fake-location app switched position that day (`jumps` > 0)

Usage: python3 benches/anomaly_eval.py [--gridbeat target/release/gridbeat] [--dir target/ref]
Only the Python standard library is needed. Build first: cargo build --release
"""

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime


def run(cmd):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def seconds(a, b):
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (parse(b) - parse(a)).total_seconds()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gridbeat", default="target/release/gridbeat")
    ap.add_argument("--dir", default="target/ref")
    ap.add_argument("--static-min-s", type=float, default=3600)
    args = ap.parse_args()

    truth_path = os.path.join(args.dir, "truth.json")
    if not os.path.exists(truth_path):
        run([args.gridbeat, "simulate", "--seed", "7", "--workers", "200", "--days", "30", "--out", args.dir])
    tracks_path = os.path.join(args.dir, "tracks.json")
    if not os.path.exists(tracks_path):
        run([args.gridbeat, "tracks", "--pings", os.path.join(args.dir, "pings.parquet"), "--out", tracks_path])

    truth = json.load(open(truth_path))
    tracks = json.load(open(tracks_path))
    flags = {}  # (worker, day) -> {kind: evidence}
    for w in tracks["workers"]:
        for a in w["anomalies"]:
            flags.setdefault((w["worker"], a["day"]), {})[a["kind"]] = a["evidence"]

    kinds = ["static_device", "replay", "mock_location", "jumps"]
    counts = {k: {"tp": 0, "fp": 0, "fn": 0} for k in kinds}
    misses = {k: [] for k in kinds}
    for w in truth["workers"]:
        for d in w["days"]:
            if not d["worked"]:
                continue
            key = (w["worker"], d["day"])
            got = flags.get(key, {})
            expected = {
                "static_device": any(seconds(p["start"], p["end"]) >= args.static_min_s for p in d.get("static_periods", [])),
                "replay": d.get("replay_of") is not None,
                "mock_location": d.get("mock_pings", 0) > 0,
                "jumps": d.get("jumps", 0) > 0,
            }
            for k in kinds:
                hit = k in got
                if k == "replay" and hit and expected[k]:
                    hit = got[k]["of_day"] == d["replay_of"]
                if expected[k] and hit:
                    counts[k]["tp"] += 1
                elif expected[k]:
                    counts[k]["fn"] += 1
                    misses[k].append((key, w["label"], "missed"))
                elif k in got:
                    counts[k]["fp"] += 1
                    misses[k].append((key, w["label"], "false alarm"))

    print(f"{'flag':<15} {'true+':>6} {'false+':>6} {'false-':>6} {'precision':>9} {'recall':>7}")
    for k in kinds:
        c = counts[k]
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
        print(f"{k:<15} {c['tp']:>6} {c['fp']:>6} {c['fn']:>6} {p:>9.3f} {r:>7.3f}")
    for k in kinds:
        for m in misses[k][:5]:
            print(f"  {k}: {m}", file=sys.stderr)


if __name__ == "__main__":
    main()
