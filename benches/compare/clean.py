"""DESIGN.md §4.2–4.3 in Python: cleaning and segments, shared by the tracks and coverage peers.

None of the Python peers cleans tracks the way DESIGN §4.2 asks (trackintel has no speed gate
with relocations; Shapely and pyproj know nothing of pings), so this module writes the rules
out once, from the text of the design, and both peers call it; the time it takes is part of
their wall time, as cleaning is part of gridbeat's. The agreement check compares the accepted
and dropped counts per worker with gridbeat's, so a difference in cleaning shows up as such
and not as a puzzling length or coverage.

Rules (defaults from src/config.rs, DESIGN §4.2, README "Cleaning order"):
1. Per worker, stable sort by timestamp (equal timestamps keep file order).
2. A ping with the timestamp of the ping before it leaves the track: a *repeat* when its
   values (position, accuracy, speed, mock flag, check-in) equal those of an earlier ping at
   that timestamp (counted nowhere), else a *conflict* (counted as dropped).
3. Accuracy gate: `acc > max_accuracy_m` (100) is dropped; a missing or zero accuracy is kept.
4. Speed gate: the implied speed from the last accepted fix above `max_speed_mps` (15) drops
   the ping as a jump, unless the next `relocation_pings` (3) candidates each step from it at
   most `max_speed_mps`: then it is a relocation and starts a new segment.
5. Segments (§4.3): a new one starts where consecutive accepted fixes are more than
   `max_gap_s` (300) apart, and at each relocation.
Distances are WGS84 geodesics (pyproj's Karney), which gridbeat's ellipsoidal estimate
matches within 1e-6 under 10 km, so the gates can only differ for a speed within 1e-6 of
the limit.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyproj import Geod

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Params:
    """The cleaning and segment parameters, DESIGN §4.2–4.3 defaults."""

    max_accuracy_m: float = 100.0
    max_speed_mps: float = 15.0
    relocation_pings: int = 3
    max_gap_s: float = 300.0


def geodesic_m(lon1, lat1, lon2, lat2):
    """WGS84 geodesic distances in metres (vectorised, pyproj/PROJ's Karney algorithm)."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def _speed_gate(ts, lon, lat, p):
    """One worker's candidates (time order) through the speed gate: (accepted, relocations),
    positions into the candidates and the set of accepted positions that start a segment."""
    n = len(ts)
    if n == 0:
        return [], set()
    # Steps between consecutive candidates: what the gate needs while nothing is dropped, and
    # what the relocation check needs (a jump's followers are the candidates after it).
    step = np.zeros(n)
    step[1:] = geodesic_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
    dt = np.ones(n)
    dt[1:] = np.diff(ts) / 1000.0
    fast = (step / dt > p.max_speed_mps).tolist()
    step, ts_l = step.tolist(), ts.tolist()
    vmax, need = p.max_speed_mps, p.relocation_pings
    accepted = [0]
    relocations = set()
    for k in range(1, n):
        last = accepted[-1]
        if last == k - 1:
            if not fast[k]:
                accepted.append(k)
                continue
        else:
            d = float(geodesic_m(lon[last], lat[last], lon[k], lat[k]))
            if d / ((ts_l[k] - ts_l[last]) / 1000.0) <= vmax:
                accepted.append(k)
                continue
        # A jump: a relocation when the next `need` candidates exist and step on from it slowly.
        if k + need < n and not any(fast[k + 1 : k + 1 + need]):
            relocations.add(len(accepted))
            accepted.append(k)
    return accepted, relocations


def clean(worker, ts_ms, lon, lat, acc, values=(), p=Params()):
    """Cleans every worker's pings. Inputs are equal-length arrays in file order; `values`
    are the other columns that tell a repeat from a conflict (speed, mock, check-in).
    Returns a dict of arrays over the accepted fixes, ordered by worker then time: `worker`,
    `ts_ms`, `lon`, `lat`, `segment` (an id unique over all workers), and per-worker counts
    {worker: {"accepted", "repeats", "conflict", "accuracy", "speed"}}."""
    worker = np.asarray(worker)
    ts_ms = np.asarray(ts_ms, dtype=np.int64)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    acc = np.asarray(acc, dtype=np.float64)
    if len(ts_ms) == 0:
        return {k: np.array([]) for k in ("worker", "ts_ms", "lon", "lat", "segment")}, {}
    codes, names = _factorize(worker)
    order = np.lexsort((ts_ms, codes))  # stable: equal keys keep file order
    codes, ts_ms, lon, lat, acc = codes[order], ts_ms[order], lon[order], lat[order], acc[order]

    same = np.zeros(len(ts_ms), dtype=bool)
    same[1:] = (codes[1:] == codes[:-1]) & (ts_ms[1:] == ts_ms[:-1])
    # Among the rows sharing a timestamp, a copy of an earlier one is a repeat (pandas'
    # `duplicated` takes a missing value as equal only to a missing value, as gridbeat does).
    repeat = np.zeros(len(ts_ms), dtype=bool)
    at = np.flatnonzero(same | np.r_[same[1:], False])
    if len(at):
        cols = {"w": codes[at], "t": ts_ms[at], "x": lon[at], "y": lat[at], "a": acc[at]}
        cols.update({f"v{i}": np.asarray(v)[order][at] for i, v in enumerate(values)})
        repeat[at] = pd.DataFrame(cols).duplicated().to_numpy()
    conflict = same & ~repeat
    inaccurate = ~same & (acc > p.max_accuracy_m)  # NaN (missing) compares False: kept
    candidate = ~same & ~inaccurate

    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(codes)]))
    out = {k: [] for k in ("worker", "ts_ms", "lon", "lat", "segment")}
    counts = {}
    next_segment = 0
    for s, e in zip(starts.tolist(), ends.tolist()):
        name = names[codes[s]]
        idx = s + np.flatnonzero(candidate[s:e])
        t, x, y = ts_ms[idx], lon[idx], lat[idx]
        accepted, relocations = _speed_gate(t, x, y, p)
        acc_idx = np.asarray(accepted, dtype=np.int64)
        t, x, y = t[acc_idx], x[acc_idx], y[acc_idx]
        new_seg = np.zeros(len(t), dtype=bool)
        if len(t):
            new_seg[0] = True
            new_seg[1:] = np.diff(t) > p.max_gap_s * 1000.0
            for r in relocations:
                new_seg[r] = True
        seg = next_segment + np.cumsum(new_seg) - 1
        next_segment += int(new_seg.sum())
        out["worker"].append(np.full(len(t), name, dtype=object))
        out["ts_ms"].append(t)
        out["lon"].append(x)
        out["lat"].append(y)
        out["segment"].append(seg)
        counts[name] = {
            "accepted": len(t),
            "repeats": int(repeat[s:e].sum()),
            "conflict": int(conflict[s:e].sum()),
            "accuracy": int(inaccurate[s:e].sum()),
            "speed": len(idx) - len(t),
        }
    return {k: np.concatenate(v) if v else np.array([]) for k, v in out.items()}, counts


def _factorize(values):
    """Integer codes for the values and the sorted distinct values they index."""
    names, codes = np.unique(values, return_inverse=True)
    return codes, names
