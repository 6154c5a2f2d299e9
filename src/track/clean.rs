//! Cleaning (DESIGN.md §4.2): from one worker's raw pings, in any order, to the accepted
//! fixes in time order, with every dropped ping counted by reason.
//!
//! The gates run in this order: sort by timestamp (stable, so equal timestamps keep their
//! order of receipt), repeats and conflicts, timestamps ahead of receipt, accuracy, speed.
//! Cleaning never invents or reorders fixes beyond that sort.
//!
//! A *repeat* (DESIGN.md §4.2 step 1) is a ping identical to one received before it: same
//! worker, timestamp and stored values ([`same_values`]: position, accuracy, speed, bearing,
//! altitude, battery, mock flag and check-in, compared exactly; the receipt time is not a
//! value of the fix). A repeat is the same fix received again: it is no ping received and no
//! drop, so it changes no figure; [`Cleaned::repeats`] counts it as an operational number.
//! A ping with the same timestamp and other values is a *conflict*: received, and dropped.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use super::{CleanMode, Fix, TrackParams};
use crate::geodesy::{distance_scaled_m, Scale};
use crate::model::{Ping, UnixMs};

/// How many pings each gate dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DropCounts {
    /// Same worker and timestamp as an earlier ping, other values (repeats are not drops).
    pub conflict: u32,
    /// Timestamp more than `max_future_s` after the ping was received.
    pub future: u32,
    /// Reported accuracy worse than `max_accuracy_m`.
    pub accuracy: u32,
    /// Implied speed from the last accepted fix above `max_speed_mps` (a jump).
    pub speed: u32,
}

impl DropCounts {
    /// All dropped pings.
    pub fn total(&self) -> u32 {
        self.conflict + self.future + self.accuracy + self.speed
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: &DropCounts) {
        self.conflict += other.conflict;
        self.future += other.future;
        self.accuracy += other.accuracy;
        self.speed += other.speed;
    }
}

/// Why cleaning dropped a ping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Same timestamp as an earlier ping, other values.
    Conflict,
    /// Stamped too far ahead of its receipt.
    Future,
    /// Reported accuracy too poor.
    Accuracy,
    /// A jump of the speed gate.
    Speed,
}

impl DropCounts {
    /// Counts one more dropped ping.
    pub fn count(&mut self, reason: DropReason) {
        match reason {
            DropReason::Conflict => self.conflict += 1,
            DropReason::Future => self.future += 1,
            DropReason::Accuracy => self.accuracy += 1,
            DropReason::Speed => self.speed += 1,
        }
    }
}

/// The speed gate's state carried into a window of pings: the last accepted fix before it
/// (see `assess::window`). Cleaning a window from its carry accepts exactly the fixes that
/// cleaning the whole stream accepts there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Carry {
    /// UTC ms.
    pub ts: UnixMs,
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
}

/// A ping the speed gate dropped: the evidence behind a jump flag.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Jump {
    /// When the dropped ping was taken, UTC ms.
    pub ts: UnixMs,
    /// Its distance from the last accepted fix, metres.
    pub distance_m: f64,
    /// The speed it implies, m/s.
    pub speed_mps: f64,
}

/// What cleaning produced for one worker.
#[derive(Clone, Debug, Default)]
pub struct Cleaned {
    /// The accepted fixes, in time order.
    pub fixes: Vec<Fix>,
    /// Indices into `fixes` where a relocation (a confirmed jump) forces a new segment.
    pub relocations: Vec<usize>,
    /// Dropped pings by reason.
    pub dropped: DropCounts,
    /// The pings the speed gate dropped.
    pub jumps: Vec<Jump>,
    /// Timestamps of the pings dropped for being ahead of their receipt.
    pub future: Vec<UnixMs>,
    /// Pings the client flagged as mock locations (among all received, repeats left out,
    /// before cleaning).
    pub mock: u32,
    /// Repeats: pings identical to one received before them, left out of every figure.
    pub repeats: u32,
    /// Every dropped ping: its timestamp and why, in time order (the per-day counts).
    pub drops: Vec<(UnixMs, DropReason)>,
}

/// Cleans the pings of one worker (any order) per DESIGN.md §4.2.
pub fn clean(pings: &[Ping], params: &TrackParams) -> Cleaned {
    clean_from(pings, params, None)
}

/// Cleans the pings of one worker (any order) with the speed gate starting from `carry`, the
/// last fix accepted before these pings (`None`: nothing before them).
pub fn clean_from(pings: &[Ping], params: &TrackParams, carry: Option<Carry>) -> Cleaned {
    let mut out = Cleaned::default();
    let mut candidates: Vec<Fix> = Vec::with_capacity(pings.len());
    // In the order given, which is nearly always time order: the first ping earlier than the
    // one before it abandons the pass (no separate pass to check the order first), and the
    // pings are then taken in time order.
    if !first_gates(pings, None, params, &mut out, &mut candidates) {
        out = Cleaned::default();
        candidates.clear();
        let order = time_order(pings);
        let in_order = first_gates(pings, order.as_deref(), params, &mut out, &mut candidates);
        debug_assert!(in_order, "pings taken in time order are in time order");
    }

    if params.clean == CleanMode::DedupeOnly {
        for k in 1..candidates.len() {
            candidates[k].step_m = candidates[k - 1].distance_m(&candidates[k]);
        }
        out.fixes = candidates;
        return out;
    }
    match carry {
        None => speed_gate(&mut candidates, params, &mut out),
        Some(c) => {
            // The carried fix leads the gate as the last accepted one, then leaves.
            candidates.insert(0, Fix::new(c.ts, c.lon, c.lat, u32::MAX));
            speed_gate(&mut candidates, params, &mut out);
            candidates.remove(0);
            out.relocations.retain(|&r| r > 1);
            for r in &mut out.relocations {
                *r -= 1;
            }
        }
    }
    out.drops.sort_by_key(|d| d.0);
    out.fixes = candidates;
    out
}

/// The gates that look at one ping (and its predecessor in time) at a time: duplicates,
/// receipt and accuracy. The pings are taken in `order` (indices into `pings`, time order), or
/// as given when `None`; the fixes that pass go to `candidates` (the speed gate then compacts
/// them in place). With no `order`, false as soon as a ping is earlier than the one before it
/// (what was done so far is then to be thrown away).
fn first_gates(
    pings: &[Ping],
    order: Option<&[u32]>,
    params: &TrackParams,
    out: &mut Cleaned,
    candidates: &mut Vec<Fix>,
) -> bool {
    let future_ms = (params.max_future_s * 1000.0) as UnixMs;
    let mut prev: Option<&Ping> = None;
    // The values received at `prev`'s timestamp.
    let mut seen = Seen::default();
    for k in 0..pings.len() {
        let i = order.map_or(k as u32, |o| o[k]);
        let p = &pings[i as usize];
        if let Some(q) = prev {
            if p.ts < q.ts {
                return false;
            }
            // A copy of any ping received before with this timestamp (conflicts included)
            // is a repeat.
            if seen.repeats(q, p) {
                out.repeats += 1;
                continue;
            }
            if q.ts == p.ts {
                // `prev` is the first received ping with this timestamp: it stays.
                out.mock += u32::from(p.mock);
                out.dropped.conflict += 1;
                out.drops.push((p.ts, DropReason::Conflict));
                continue;
            }
        }
        out.mock += u32::from(p.mock);
        prev = Some(p);
        if let Some(received) = p.received {
            if p.ts > received + future_ms {
                out.dropped.future += 1;
                out.future.push(p.ts);
                out.drops.push((p.ts, DropReason::Future));
                continue;
            }
        }
        if params.clean == CleanMode::Full {
            if let Some(acc) = p.acc_m {
                if f64::from(acc) > params.max_accuracy_m {
                    out.dropped.accuracy += 1;
                    out.drops.push((p.ts, DropReason::Accuracy));
                    continue;
                }
            }
        }
        candidates.push(Fix::new(p.ts, p.lon, p.lat, i));
    }
    true
}

/// The stored values of a fix, as compared for repeats: longitude, latitude, then accuracy,
/// speed, bearing, altitude and battery, the mock flag and the check-in; −0 is taken as +0, so
/// the key is equal exactly when the values are `==`.
type ValueKey = (
    u64,
    u64,
    [Option<u32>; 6],
    bool,
    Option<Arc<str>>,
    [Option<bool>; 2],
);

fn value_key(p: &Ping) -> ValueKey {
    let f = |x: f64| (x + 0.0).to_bits();
    let g = |x: Option<f32>| x.map(|v| (v + 0.0).to_bits());
    (
        f(p.lon),
        f(p.lat),
        [
            g(p.acc_m),
            g(p.speed_mps),
            g(p.bearing_deg),
            g(p.alt_m),
            g(p.batt_pct),
            g(p.pressure_mpa),
        ],
        p.mock,
        p.checkin.clone(),
        [p.work, p.ignition],
    )
}

/// Whether `b` repeats `a` (DESIGN.md §4.2 step 1): the same worker, timestamp and stored
/// values — position, accuracy, speed, bearing, altitude, battery, mock flag, check-in, and a
/// vehicle's work state, pressure and ignition —
/// compared exactly (the store keeps each as the `f64`/`f32`, flag or text it was read as).
/// The receipt time is not compared: it is when the copy arrived, not a value of the fix.
pub fn same_values(a: &Ping, b: &Ping) -> bool {
    a.ts == b.ts && a.worker == b.worker && value_key(a) == value_key(b)
}

/// The distinct pings of `pings` (one worker's, any order): every repeat left out, the first
/// received of each kept, and how many repeats there were. Borrowed when there is none;
/// otherwise the distinct pings in time order (stable: equal timestamps keep receipt order).
pub fn distinct(pings: &[Ping]) -> (Cow<'_, [Ping]>, usize) {
    // Pings in time order without a repeat (the common case, also with other values at a
    // shared timestamp) are found in one pass, which checks the order as it counts.
    if repeats_in_time_order(pings) == Some(0) {
        return (Cow::Borrowed(pings), 0);
    }
    let order = time_order(pings);
    let source = |k: usize| order.as_ref().map_or(k, |o| o[k] as usize);
    // Counted first: pings out of order with no repeat need no list of the kept.
    if for_each_distinct(pings.len(), |k| &pings[source(k)], |_| {}) == 0 {
        return (Cow::Borrowed(pings), 0);
    }
    let mut keep: Vec<usize> = Vec::with_capacity(pings.len());
    let repeats = for_each_distinct(pings.len(), |k| &pings[source(k)], |k| keep.push(source(k)));
    (
        Cow::Owned(keep.into_iter().map(|i| pings[i].clone()).collect()),
        repeats,
    )
}

/// Leaves every repeat out of `pings` (one worker's, in time order, as [`distinct`] orders
/// them) and returns how many there were: what [`distinct`] leaves out, without a copy.
pub fn drop_repeats(pings: &mut Vec<Ping>) -> usize {
    if pings.windows(2).all(|w| w[0].ts != w[1].ts) {
        return 0;
    }
    let mut keep = vec![false; pings.len()];
    let repeats = for_each_distinct(pings.len(), |k| &pings[k], |k| keep[k] = true);
    if repeats > 0 {
        let mut kept = keep.iter();
        pings.retain(|_| kept.next().copied().unwrap_or(false));
    }
    repeats
}

/// The rule of [`distinct`] over `n` pings taken in time order through `at`: calls `kept`
/// with the place of each ping that repeats no earlier one of the same timestamp, and returns
/// how many did.
fn for_each_distinct<'a>(
    n: usize,
    at: impl Fn(usize) -> &'a Ping,
    mut kept: impl FnMut(usize),
) -> usize {
    let mut seen = Seen::default();
    let mut repeats = 0;
    for k in 0..n {
        let p = at(k);
        if k > 0 && seen.repeats(at(k - 1), p) {
            repeats += 1;
            continue;
        }
        kept(k);
    }
    repeats
}

/// How many repeats `pings` hold ([`for_each_distinct`]'s count in their order), or `None` as
/// soon as one is earlier than the ping before it.
fn repeats_in_time_order(pings: &[Ping]) -> Option<usize> {
    let mut seen = Seen::default();
    let mut repeats = 0;
    for w in pings.windows(2) {
        if w[1].ts < w[0].ts {
            return None;
        }
        repeats += usize::from(seen.repeats(&w[0], &w[1]));
    }
    Some(repeats)
}

/// The values received at one timestamp, for the repeat rule over pings in time order.
#[derive(Default)]
struct Seen {
    /// The values of the pings with the current timestamp, once a second ping has it (a hash
    /// set, so a flood of pings at one instant costs linear time).
    values: Option<HashSet<ValueKey>>,
}

impl Seen {
    /// Whether `p`, the ping after `q` in time order, repeats a ping of its timestamp received
    /// before it (`q` and those before `q` with the same timestamp).
    #[inline(always)]
    fn repeats(&mut self, q: &Ping, p: &Ping) -> bool {
        if q.ts != p.ts {
            self.values = None;
            return false;
        }
        self.repeats_shared(q, p)
    }

    /// [`Seen::repeats`] for `p` with the timestamp of `q` (rare: kept out of the loops).
    #[inline(never)]
    fn repeats_shared(&mut self, q: &Ping, p: &Ping) -> bool {
        let set = self
            .values
            .get_or_insert_with(|| HashSet::from([value_key(q)]));
        !set.insert(value_key(p))
    }
}

/// Whether a ping passes the gates that look at it alone (duplicates, receipt, accuracy), so
/// that the speed gate will consider it; `prev` is the ping before it in time order.
pub fn is_candidate(prev: Option<&Ping>, p: &Ping, params: &TrackParams) -> bool {
    if prev.is_some_and(|q| q.ts == p.ts) {
        return false;
    }
    let future_ms = (params.max_future_s * 1000.0) as UnixMs;
    if p.received.is_some_and(|r| p.ts > r + future_ms) {
        return false;
    }
    !(params.clean == CleanMode::Full
        && p.acc_m
            .is_some_and(|a| f64::from(a) > params.max_accuracy_m))
}

/// The indices of `pings` in time order, or `None` when they already are (the common case);
/// stable, so equal timestamps keep receipt order.
fn time_order(pings: &[Ping]) -> Option<Vec<u32>> {
    if pings.windows(2).all(|w| w[0].ts <= w[1].ts) {
        return None;
    }
    // The keys beside the indices: sorting them touches one array, not the pings.
    let keyed = by_time(pings.iter().enumerate().map(|(i, p)| (p.ts, i as u32)));
    Some(keyed.into_iter().map(|(_, i)| i).collect())
}

/// (timestamp, index) pairs in time order, stable: equal timestamps keep the order they came
/// in. `keys` must come with increasing indices (input order), so the stable order by time is
/// the order by (timestamp, index), which has no ties.
///
/// Pings nearly always arrive nearly in order (a phone's late deliveries are a few among
/// thousands), so the pairs are split in one pass into those in order (each at or after the
/// last kept) and the few others; only the others are sorted, then the two merged. When the
/// others are many (an early ping far in the future, say), all are sorted.
pub(crate) fn by_time(keys: impl Iterator<Item = (UnixMs, u32)>) -> Vec<(UnixMs, u32)> {
    let (lower, _) = keys.size_hint();
    let mut in_order: Vec<(UnixMs, u32)> = Vec::with_capacity(lower);
    let mut others: Vec<(UnixMs, u32)> = Vec::new();
    for key in keys {
        debug_assert!(
            in_order.last().is_none_or(|l| l.1 < key.1)
                && others.last().is_none_or(|l| l.1 < key.1),
            "keys come in input order"
        );
        if in_order.last().is_none_or(|l| l.0 <= key.0) {
            in_order.push(key);
        } else {
            others.push(key);
        }
    }
    if others.is_empty() {
        return in_order;
    }
    if others.len() > in_order.len() / 8 {
        in_order.append(&mut others);
        in_order.sort_unstable();
        return in_order;
    }
    others.sort_unstable();
    let mut out = Vec::with_capacity(in_order.len() + others.len());
    let mut rest = others.into_iter().peekable();
    for key in in_order {
        while let Some(o) = rest.next_if(|o| *o < key) {
            out.push(o);
        }
        out.push(key);
    }
    // Each late key is earlier than a key in order before it, so none is left.
    debug_assert!(rest.next().is_none(), "every late key is merged");
    out
}

/// The implied speed in m/s between two fixes and their distance in metres.
#[inline]
fn speed(a: &Fix, b: &Fix) -> (f64, f64) {
    let d = distance_scaled_m(a.lon, a.lat, a.scale, b.lon, b.lat, b.scale);
    let dt_s = (b.ts - a.ts) as f64 / 1000.0;
    (d / dt_s, d)
}

/// The speed gate with the relocation rule: a fix implying a speed above `max_speed_mps`
/// from the last accepted fix is a jump and dropped, unless the next `relocation_pings`
/// candidates are consistent with it (each step from it at most `max_speed_mps`), in which
/// case it is a real relocation (a bus ride) and starts a new segment.
fn speed_gate(fixes: &mut Vec<Fix>, params: &TrackParams, out: &mut Cleaned) {
    let needed = params.relocation_pings;
    // Each candidate's speed and distance from the candidate before it, computed before the
    // gate, where no step waits for the one before (the square roots and divisions overlap);
    // the gate takes them when that candidate is the last accepted fix, as it nearly always
    // is. `speed` reads no field that the gate changes (only `step_m`), so they are the values
    // it would compute.
    let from_previous: Vec<(f64, f64)> = std::iter::once((0.0, 0.0))
        .chain(fixes.windows(2).map(|p| speed(&p[0], &p[1])))
        .collect();
    // Compaction in place: accepted fixes are written at `w`, which never passes the read
    // position `k`, so the followers a jump looks ahead to are still unread candidates.
    // `last` is the candidate the last accepted fix came from.
    let (mut w, mut last) = (0, 0);
    for k in 0..fixes.len() {
        let mut c = fixes[k];
        if w == 0 {
            c.step_m = 0.0;
            fixes[0] = c;
            (w, last) = (1, k);
            continue;
        }
        let (v, d) = if last + 1 == k {
            from_previous[k]
        } else {
            speed(&fixes[w - 1], &c)
        };
        c.step_m = d;
        if v <= params.max_speed_mps {
            fixes[w] = c;
            (w, last) = (w + 1, k);
            continue;
        }
        let confirmed = fixes.get(k + 1..k + 1 + needed).is_some_and(|followers| {
            let mut from = &c;
            followers.iter().all(|next| {
                let ok = speed(from, next).0 <= params.max_speed_mps;
                from = next;
                ok
            })
        });
        if confirmed {
            out.relocations.push(w);
            fixes[w] = c;
            (w, last) = (w + 1, k);
        } else {
            out.dropped.speed += 1;
            out.drops.push((c.ts, DropReason::Speed));
            out.jumps.push(Jump {
                ts: c.ts,
                distance_m: d,
                speed_mps: v,
            });
        }
    }
    fixes.truncate(w);
}

impl Fix {
    /// A fix at (lon, lat) taken at `ts`, from input ping `ping`.
    pub fn new(ts: UnixMs, lon: f64, lat: f64, ping: u32) -> Fix {
        Fix {
            ts,
            lon,
            lat,
            scale: Scale::at(lat),
            step_m: 0.0,
            ping,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkerId;

    /// Metres of latitude per degree near 28° N, close enough to place test pings.
    const M_PER_DEG_LAT: f64 = 110_800.0;

    fn ping(t_s: i64, north_m: f64) -> Ping {
        Ping::new(
            WorkerId::new("w"),
            t_s * 1000,
            112.98,
            28.2 + north_m / M_PER_DEG_LAT,
        )
    }

    fn params() -> TrackParams {
        TrackParams::default()
    }

    #[test]
    fn out_of_order_input_is_sorted_and_nothing_invented() {
        let pings = vec![ping(20, 20.0), ping(0, 0.0), ping(10, 10.0)];
        let c = clean(&pings, &params());
        let ts: Vec<i64> = c.fixes.iter().map(|f| f.ts / 1000).collect();
        assert_eq!(ts, vec![0, 10, 20]);
        let sources: Vec<u32> = c.fixes.iter().map(|f| f.ping).collect();
        assert_eq!(sources, vec![1, 2, 0]);
    }

    /// At t = 10 s: a ping 500 m north with an accuracy of 5 m, and a copy of `ping(10, 10.0)`
    /// received again later (the receipt time is not a value of the fix).
    fn moved_and_resent() -> (Ping, Ping) {
        let mut moved = ping(10, 500.0);
        moved.acc_m = Some(5.0);
        let mut resent = ping(10, 10.0);
        resent.received = Some(99);
        (moved, resent)
    }

    #[test]
    fn repeats_change_nothing_and_conflicts_are_counted() {
        let (moved, resent) = moved_and_resent();
        let mut other_battery = ping(10, 10.0);
        other_battery.batt_pct = Some(50.0);
        let pings = vec![
            ping(0, 0.0),
            ping(10, 10.0),
            resent,
            moved.clone(),
            moved,
            other_battery,
            ping(20, 20.0),
        ];
        let c = clean(&pings, &params());
        assert_eq!(c.fixes.len(), 3);
        assert_eq!(c.fixes[1].ping, 1, "the first received of ts=10 stays");
        assert_eq!(c.repeats, 2, "the resent copy and the moved ping's copy");
        assert_eq!(
            c.dropped.conflict, 2,
            "another position, another battery level"
        );
        let (d, repeats) = distinct(&pings);
        assert_eq!((d.len(), repeats), (5, 2));
        assert_eq!(
            d[2].acc_m,
            Some(5.0),
            "receipt order kept within a timestamp"
        );
    }

    #[test]
    fn a_flood_at_one_instant_keeps_the_first_and_counts_each_copy_once() {
        let mut pings = vec![ping(0, 0.0)];
        for k in 0..200 {
            pings.push(ping(10, f64::from(k)));
        }
        for k in (0..200).rev() {
            pings.push(ping(10, f64::from(k)));
        }
        let c = clean(&pings, &params());
        assert_eq!(
            (c.fixes.len(), c.dropped.conflict, c.repeats),
            (2, 199, 200)
        );
        assert_eq!(c.fixes[1].ping, 1);
        let (d, repeats) = distinct(&pings);
        assert_eq!((d.len(), repeats), (201, 200));
    }

    #[test]
    fn distinct_borrows_when_there_is_no_repeat() {
        let pings = vec![ping(20, 0.0), ping(10, 0.0), ping(10, 5.0)];
        assert!(matches!(
            distinct(&pings),
            (std::borrow::Cow::Borrowed(_), 0)
        ));
        // In time order: other values at a shared timestamp are no repeat; a copy of the
        // first value after another value is.
        let shared = vec![ping(10, 0.0), ping(10, 5.0), ping(20, 0.0)];
        assert!(matches!(
            distinct(&shared),
            (std::borrow::Cow::Borrowed(_), 0)
        ));
        let copied = vec![ping(10, 0.0), ping(10, 5.0), ping(10, 0.0), ping(20, 0.0)];
        let (d, n) = distinct(&copied);
        let kept: Vec<(i64, f64)> = d.iter().map(|p| (p.ts, p.lat)).collect();
        assert_eq!(n, 1);
        assert_eq!(
            kept,
            [
                (10_000, copied[0].lat),
                (10_000, copied[1].lat),
                (20_000, copied[3].lat)
            ]
        );
        let again = vec![ping(20, 0.0), ping(10, 0.0), ping(20, 0.0)];
        let (d, n) = distinct(&again);
        let ts: Vec<i64> = d.iter().map(|p| p.ts).collect();
        assert_eq!((ts, n), (vec![10_000, 20_000], 1));
    }

    #[test]
    fn drop_repeats_leaves_out_what_distinct_leaves_out() {
        let (moved, resent) = moved_and_resent();
        // Repeats of a timestamp apart from each other, and a repeat of the first ping of a
        // timestamp after a different value.
        let pings = vec![
            ping(20, 20.0),
            ping(10, 10.0),
            moved.clone(),
            ping(0, 0.0),
            resent,
            moved,
            ping(20, 20.0),
            ping(10, 10.0),
        ];
        let (borrowed, n) = distinct(&pings);
        let mut sorted = pings.clone();
        sorted.sort_by_key(|p| p.ts);
        let m = drop_repeats(&mut sorted);
        assert_eq!((n, m), (4, 4));
        assert_eq!(sorted.as_slice(), &*borrowed);
        let order: Vec<(i64, Option<f32>)> = sorted.iter().map(|p| (p.ts, p.acc_m)).collect();
        assert_eq!(
            order,
            vec![
                (0, None),
                (10_000, None),
                (10_000, Some(5.0)),
                (20_000, None)
            ]
        );
        // Equal times with other values are not repeats.
        let mut apart = vec![ping(10, 0.0), ping(10, 5.0), ping(20, 0.0)];
        assert_eq!(drop_repeats(&mut apart), 0);
        assert_eq!(apart.len(), 3);
    }

    #[test]
    fn accuracy_gate_drops_worse_than_the_limit_and_keeps_unknown() {
        let mut bad = ping(10, 10.0);
        bad.acc_m = Some(100.5);
        let mut edge = ping(20, 20.0);
        edge.acc_m = Some(100.0);
        let unknown = ping(30, 30.0);
        let c = clean(&[ping(0, 0.0), bad, edge, unknown], &params());
        assert_eq!(c.fixes.len(), 3);
        assert_eq!(c.dropped.accuracy, 1);
    }

    #[test]
    fn an_isolated_jump_is_dropped_with_its_evidence() {
        // 2 km away for one ping, then back: 200 m/s.
        let pings = vec![
            ping(0, 0.0),
            ping(10, 10.0),
            ping(20, 2000.0),
            ping(30, 20.0),
            ping(40, 30.0),
        ];
        let c = clean(&pings, &params());
        assert_eq!(c.fixes.len(), 4);
        assert_eq!(c.dropped.speed, 1);
        assert_eq!(c.jumps.len(), 1);
        assert_eq!(c.jumps[0].ts, 20_000);
        assert!(c.jumps[0].speed_mps > 150.0);
        assert!(c.relocations.is_empty());
    }

    #[test]
    fn a_jump_followed_by_consistent_pings_is_a_relocation() {
        let mut pings = vec![ping(0, 0.0), ping(10, 10.0)];
        // A bus ride during a gap: 3 km in 60 s, then walking on from there.
        for k in 0..4 {
            pings.push(ping(70 + 10 * k, 3000.0 + 10.0 * k as f64));
        }
        let c = clean(&pings, &params());
        assert_eq!(c.fixes.len(), 6);
        assert_eq!(c.dropped.speed, 0);
        assert_eq!(c.relocations, vec![2]);
    }

    #[test]
    fn a_jump_with_too_few_followers_is_dropped() {
        let pings = vec![
            ping(0, 0.0),
            ping(10, 10.0),
            ping(70, 3000.0),
            ping(80, 3010.0),
        ];
        let c = clean(&pings, &params());
        assert_eq!(c.fixes.len(), 2);
        assert_eq!(
            c.dropped.speed, 2,
            "both far pings imply a jump from the last accepted"
        );
    }

    #[test]
    fn future_timestamps_are_dropped_when_receipt_is_known() {
        let mut early = ping(1000, 0.0);
        early.received = Some(1_000_000 - 400_000);
        let mut fine = ping(1010, 10.0);
        fine.received = Some(1_010_000 - 200_000);
        let c = clean(&[early, fine], &params());
        assert_eq!(c.dropped.future, 1);
        assert_eq!(c.fixes.len(), 1);
    }

    #[test]
    fn dedupe_only_mode_skips_the_gates() {
        let mut bad = ping(10, 5000.0);
        bad.acc_m = Some(900.0);
        let p = TrackParams {
            clean: CleanMode::DedupeOnly,
            ..params()
        };
        let c = clean(&[ping(0, 0.0), bad.clone(), bad], &p);
        assert_eq!(c.fixes.len(), 2);
        assert_eq!(c.repeats, 1);
        assert_eq!(c.dropped.accuracy + c.dropped.speed, 0);
    }

    proptest::proptest! {
        /// The split-and-merge order is the stable sort by time: timestamps mostly in order
        /// with late ones (each late by its own amount, so the late ones are out of order among
        /// themselves too) and ties, and in some cases one far ahead early on (the others are
        /// then many, and every pair is sorted).
        #[test]
        fn by_time_is_the_stable_sort_by_time(
            moves in proptest::collection::vec((0u8..10, 0i64..40, 0i64..400), 0..400),
            ahead in proptest::option::of(0usize..40),
        ) {
            let mut t = 0i64;
            let keys: Vec<(UnixMs, u32)> = moves
                .iter()
                .enumerate()
                .map(|(i, &(kind, d, late))| {
                    let ts = if ahead == Some(i) {
                        t + 1_000_000
                    } else {
                        match kind {
                            0 => t - late,
                            1 => t, // the same instant
                            _ => {
                                t += d;
                                t
                            }
                        }
                    };
                    (ts, i as u32)
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort_by_key(|&(ts, _)| ts);
            proptest::prop_assert_eq!(by_time(keys.into_iter()), expected);
        }
    }
}
