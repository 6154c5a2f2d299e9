#!/usr/bin/env python3
"""Precision and recall of `gridbeat visits` against the simulator's truth (standard library only).

Usage:
    gridbeat simulate --seed 7 --workers 200 --days 30 --out /tmp/ref-visits
    gridbeat visits --grids /tmp/ref-visits/grids.geojson --workers /tmp/ref-visits/workers.csv \
        --checkpoints /tmp/ref-visits/checkpoints.geojson --pings /tmp/ref-visits/pings.csv \
        --out /tmp/ref-visits/visits.json
    python3 benches/visits_eval.py /tmp/ref-visits/visits.json /tmp/ref-visits/truth.json

Matching rule (the same as tests/it/visits_truth.rs): a detected visit matches a truth visit of the
same worker and checkpoint whose [start, end] overlaps it (closed intervals, whole seconds).
    precision = detected visits matching some truth visit / detected visits
    recall    = truth visits matched by some detected visit / truth visits

The simulator's truth lists only deliberate visits (stays of 3-10 min at a checkpoint).
DESIGN.md §4.7 defines a visit physically: ≥ visit_min_s within visit_radius_m. So the script
also breaks unmatched detections down by what the truth says the worker was doing at the time:
a truth visit to another checkpoint within the radius (neighbouring_checkpoint), a replayed
day (the fixes are an old day's, re-sent), a static-device period, an out-of-grid or
fake-location period, or otherwise (breaks, lunch, slow walking near a checkpoint), and reports
precision on the rest ("other": excluding those cases).
"""

import bisect
import json
import sys
from collections import Counter, defaultdict
from datetime import datetime


def ts(text):
    """RFC 3339 → Unix seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def overlaps(a0, a1, b0, b1):
    return a0 <= b1 and b0 <= a1


def main(visits_path, truth_path):
    with open(visits_path, encoding="utf-8") as f:
        report = json.load(f)
    with open(truth_path, encoding="utf-8") as f:
        truth = json.load(f)

    detected = []  # (worker, checkpoint, start, end, via)
    for cp in report["checkpoints"]:
        for v in cp["visits"]:
            detected.append((v["worker"], cp["code"], ts(v["start"]), ts(v["end"]), v["via"]))

    truth_by_key = defaultdict(list)  # (worker, checkpoint) → sorted [(start, end, checkin)]
    labels, context = {}, defaultdict(list)  # worker → [(start, end, kind)]
    n_truth = 0
    for w in truth["workers"]:
        labels[w["worker"]] = w["label"]
        for v in w["visits"]:
            truth_by_key[(w["worker"], v["checkpoint"])].append((ts(v["start"]), ts(v["end"]), v["checkin"]))
            n_truth += 1
        for d in w["days"]:
            if d.get("replay_of") and d["shift_start"]:
                context[w["worker"]].append((ts(d["shift_start"]), ts(d["shift_end"]), "replayed_day"))
            for p in d["static_periods"]:
                context[w["worker"]].append((ts(p["start"]), ts(p["end"]), "static_period"))
            for p in d["out_of_grid_periods"]:
                kind = "fake_location_period" if w["label"] == "mock" else "out_of_grid_period"
                context[w["worker"]].append((ts(p["start"]), ts(p["end"]), kind))
    for lst in truth_by_key.values():
        lst.sort()

    def matching(worker, code, s, e):
        lst = truth_by_key.get((worker, code), [])
        # Truth visits are ≤ 10 min, so only those starting within [s - 1 h, e] can overlap.
        i = bisect.bisect_left(lst, (s - 3600,))
        return [k for k in range(i, len(lst)) if lst[k][0] <= e and overlaps(s, e, lst[k][0], lst[k][1])]

    matched_truth = set()
    good = 0
    unmatched = Counter()
    honest_det = honest_good = 0
    for worker, code, s, e, via in detected:
        hits = matching(worker, code, s, e)
        kinds = [k for (a, b, k) in context[worker] if overlaps(s, e, a, b)]
        if not hits and any(
            overlaps(s, e, a, b) for (w2, c2), lst in truth_by_key.items() if w2 == worker and c2 != code for (a, b, _) in lst
        ):
            # Another checkpoint within the radius of the one really visited.
            kinds.insert(0, "neighbouring_checkpoint")
        kind = kinds[0] if kinds else "other"
        if hits:
            good += 1
            matched_truth.update((worker, code, k) for k in hits)
        else:
            unmatched[(kind, via, labels.get(worker, "?"))] += 1
        if kind == "other":
            honest_det += 1
            honest_good += bool(hits)

    n_det = len(detected)
    precision = good / n_det if n_det else float("nan")
    recall = len(matched_truth) / n_truth if n_truth else float("nan")
    print(f"detected visits {n_det}, truth visits {n_truth}")
    print(f"precision {precision:.3f}  recall {recall:.3f}")
    if honest_det:
        print(f"precision excluding neighbouring checkpoints, replayed days, static and out-of-grid periods: "
              f"{honest_good / honest_det:.3f} ({honest_good}/{honest_det})")
    missed_checkin = sum(
        1
        for (w, c), lst in truth_by_key.items()
        for k, (_, _, ci) in enumerate(lst)
        if (w, c, k) not in matched_truth and ci
    )
    print(f"missed truth visits: {n_truth - len(matched_truth)} ({missed_checkin} with a check-in)")
    print("unmatched detections by (truth context, via, worker label):")
    for (kind, via, label), n in unmatched.most_common():
        print(f"  {n:6d}  {kind:22s} {via:8s} {label}")
    print(f"rejected check-ins: {len(report.get('rejected_checkins', []))}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
