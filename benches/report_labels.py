#!/usr/bin/env python3
"""Score distribution per simulated behaviour label: do the labels separate in the report?

Usage: python3 benches/report_labels.py REPORT.json TRUTH.json
Standard library only.
"""
import json
import statistics
import sys

report = json.load(open(sys.argv[1]))
truth = json.load(open(sys.argv[2]))
label = {w["worker"]: w["label"] for w in truth["workers"]}
by_label = {}
for w in report["workers"]:
    by_label.setdefault(label.get(w["worker"], "?"), []).append(w)
print(f"{'label':<14} {'n':>3} {'min':>6} {'p25':>6} {'median':>6} {'p75':>6} {'max':>6}  coverage  hours  compliance")
for lab, rows in sorted(by_label.items(), key=lambda kv: -statistics.median(r["score"] for r in kv[1])):
    s = sorted(r["score"] for r in rows)
    q = statistics.quantiles(s, n=4) if len(s) > 1 else [s[0]] * 3
    cov = statistics.mean(r["coverage"] for r in rows)
    hours = statistics.mean(r["patrol_h"] for r in rows)
    comp = [r["checkpoint_compliance"] for r in rows if r["checkpoint_compliance"] is not None]
    print(f"{lab:<14} {len(s):>3} {s[0]:>6.1f} {q[0]:>6.1f} {q[1]:>6.1f} {q[2]:>6.1f} {s[-1]:>6.1f}  {cov:>8.3f} {hours:>6.1f}  {statistics.mean(comp) if comp else float('nan'):>10.3f}")
diligent = [r["score"] for r in by_label.get("diligent", [])]
others = [r["score"] for lab, rows in by_label.items() if lab != "diligent" for r in rows]
if diligent and others:
    print(f"lowest diligent score {min(diligent):.1f}; highest non-diligent {max(others):.1f}; "
          f"{sum(d > max(others) for d in diligent)}/{len(diligent)} diligent above every other label")
