//! Where a worker's time goes and which checkpoints they visit (DESIGN.md §4.5, §4.7, §4.9):
//! in-grid time per worker-day, out-of-grid episodes, checkpoint visits (dwell and check-in),
//! and checkpoint compliance.
//!
//! Pure computation: no I/O, no async. One call per worker on a built [`Track`]; callers run
//! workers in parallel. Every figure walks the steps of the track's segments (consecutive
//! accepted fixes within one segment): a step across a gap is never counted.
//!
//! Boundaries (chosen here, tested below):
//! - a fix at exactly `visit_radius_m` from a checkpoint is **inside** (≤);
//! - a dwell of exactly `visit_min_s` (last − first timestamp of the run) **counts** (≥);
//! - a check-in at exactly `checkin_radius_m` counts (≤);
//! - visits whose gap (next start − previous end) is **strictly less** than `visit_merge_s`
//!   merge;
//! - an out-of-grid episode must last **strictly longer** than `out_of_grid_min_s`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use serde::Serialize;

use crate::config::Config;
use crate::geodesy::{distance_scaled_m, Scale};
use crate::model::{Ping, UnixMs, WorkerId};
use crate::registry::{Checkpoint, GridId, GridIndex};
use crate::track::days::DayClock;
use crate::track::{Fix, Track};

/// The parameters this module reads (a view of [`Config`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VisitParams {
    /// Fixes within this distance of a checkpoint are at it, metres (≤ is inside).
    pub visit_radius_m: f64,
    /// Shortest dwell that is a visit, seconds (≥ counts).
    pub visit_min_s: f64,
    /// A check-in counts when its ping is within this distance of the checkpoint, metres.
    pub checkin_radius_m: f64,
    /// Visits to one checkpoint with a gap shorter than this are one visit, seconds.
    pub visit_merge_s: f64,
    /// Out-of-grid episodes must last longer than this, seconds.
    pub out_of_grid_min_s: f64,
    /// The time zone whose local days and months split the figures.
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: Tz,
}

fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

impl Default for VisitParams {
    fn default() -> Self {
        VisitParams::from_config(&Config::default())
    }
}

impl VisitParams {
    /// The visit parameters of a config.
    pub fn from_config(config: &Config) -> VisitParams {
        VisitParams {
            visit_radius_m: config.visit_radius_m,
            visit_min_s: config.visit_min_s,
            checkin_radius_m: config.checkin_radius_m,
            visit_merge_s: config.visit_merge_s,
            out_of_grid_min_s: config.out_of_grid_min_s,
            timezone: config.tz(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// In-grid time (§4.5)
// ---------------------------------------------------------------------------------------------

/// One worker's time by place for one local day.
///
/// # Units
/// Seconds. `grid_s` plus `outside_s` equals the day's step time (patrol time).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GridDay {
    /// The local day of the steps' first fixes.
    pub day: NaiveDate,
    /// Seconds per grid, in grid-id order.
    pub grid_s: BTreeMap<GridId, f64>,
    /// Seconds outside every grid.
    pub outside_s: f64,
    /// Seconds outside the worker's assigned grids (outside every grid included).
    pub outside_assigned_s: f64,
}

/// The grid of each accepted fix (`None`: outside every grid), located once per track.
pub fn locate_fixes(track: &Track, index: &GridIndex) -> Vec<Option<GridId>> {
    let mut locator = index.locator();
    track
        .fixes()
        .iter()
        .map(|f| locator.locate(f.lon, f.lat))
        .collect()
}

/// A worker's assigned grids seen with the in-grid tolerance (DESIGN.md §4.5): a position
/// within `tolerance_m` of one of them counts as inside it. Grid boundaries run along streets;
/// a worker walking the boundary street is patrolling the grid, not leaving it.
#[derive(Clone, Debug, Default)]
pub struct AssignedArea {
    grids: Vec<AssignedGrid>,
    tolerance_m: f64,
}

/// One assigned grid's rings in a local metric frame, for distances to its boundary.
#[derive(Clone, Debug)]
struct AssignedGrid {
    id: GridId,
    frame: crate::geodesy::LocalFrame,
    /// Ring edges, metres.
    edges: Vec<[(f64, f64); 2]>,
    /// Bounding box of the rings, metres: (min x, min y, max x, max y).
    bbox: (f64, f64, f64, f64),
}

impl AssignedArea {
    /// The assigned grids of a worker (ids of `registry`) with a tolerance in metres.
    pub fn new(
        registry: &crate::registry::Registry,
        assigned: &[GridId],
        tolerance_m: f64,
    ) -> Self {
        let grids = assigned
            .iter()
            .filter_map(|&id| registry.grid(id).map(|g| (id, g)))
            .map(|(id, g)| {
                let c = g.bbox.center();
                let frame = crate::geodesy::LocalFrame::new(c.x, c.y);
                let mut edges = Vec::new();
                let mut bbox = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
                for poly in &g.polygon {
                    for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                        let pts: Vec<(f64, f64)> =
                            ring.coords().map(|p| frame.project(p.x, p.y)).collect();
                        for w in pts.windows(2) {
                            edges.push([w[0], w[1]]);
                        }
                        for &(x, y) in &pts {
                            bbox = (bbox.0.min(x), bbox.1.min(y), bbox.2.max(x), bbox.3.max(y));
                        }
                    }
                }
                AssignedGrid {
                    id,
                    frame,
                    edges,
                    bbox,
                }
            })
            .collect();
        AssignedArea { grids, tolerance_m }
    }

    /// Whether a grid is one of the assigned ones.
    pub fn is_assigned(&self, grid: GridId) -> bool {
        self.grids.iter().any(|g| g.id == grid)
    }

    /// The assigned grid a position counts for: the one it lies in (`located`, from the
    /// point locator) or, outside them all, the first whose boundary is within the tolerance
    /// (≤); else `None`.
    pub fn place(&self, located: Option<GridId>, lon: f64, lat: f64) -> Option<GridId> {
        if let Some(g) = located.filter(|&g| self.is_assigned(g)) {
            return Some(g);
        }
        let tol = self.tolerance_m;
        if tol <= 0.0 {
            return None;
        }
        self.grids.iter().find_map(|g| {
            let (x, y) = g.frame.project(lon, lat);
            let (x0, y0, x1, y1) = g.bbox;
            if x < x0 - tol || x > x1 + tol || y < y0 - tol || y > y1 + tol {
                return None;
            }
            g.edges
                .iter()
                .any(|&[a, b]| within_of_segment((x, y), a, b, tol))
                .then_some(g.id)
        })
    }
}

/// Whether `p` lies within `tol` (≤) of the segment `a`–`b`: `segment_distance2(p, a, b) ≤
/// tol²`, with the division it costs skipped where the segment's box, grown by the tolerance,
/// misses `p` (the point is then farther than `tol`). The box is grown by a further billionth
/// of the tolerance, far more than the rounding of the distance, so it never rejects a point
/// the distance would accept.
#[inline]
fn within_of_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
    let m = tol * (1.0 + 1e-9);
    if p.0 < a.0.min(b.0) - m
        || p.0 > a.0.max(b.0) + m
        || p.1 < a.1.min(b.1) - m
        || p.1 > a.1.max(b.1) + m
    {
        return false;
    }
    segment_distance2(p, a, b) <= tol * tol
}

/// The squared distance from `p` to the segment `a`–`b`, in the units of the inputs.
fn segment_distance2(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    cx * cx + cy * cy
}

/// The place of each accepted fix for one worker's in-grid figures: the assigned grid it is
/// in or within the tolerance of, else the grid the locator finds (`None`: outside every grid).
/// `located` is [`locate_fixes`] of the same track.
pub fn places_for_worker(
    track: &Track,
    located: &[Option<GridId>],
    area: &AssignedArea,
) -> Vec<Option<GridId>> {
    track
        .fixes()
        .iter()
        .zip(located)
        .map(|(f, &g)| area.place(g, f.lon, f.lat).or(g))
        .collect()
}

/// In-grid time per local day (DESIGN.md §4.5): each step's duration counts for the grid of
/// both its ends, half-half when the ends differ (a half may be "outside"); a half counts
/// outside the assigned grids when its end is in none of `assigned`. A step belongs to the
/// day of its first fix. `located` is [`locate_fixes`] of the same track.
pub fn grid_time(
    track: &Track,
    located: &[Option<GridId>],
    assigned: &[GridId],
    tz: Tz,
) -> Vec<GridDay> {
    let fixes = track.fixes();
    let mut clock = DayClock::new(tz);
    let mut days: Vec<GridDay> = Vec::new();
    // The last day's seconds per grid, in the order the grids came: a worker is in a few grids
    // a day, so a short list, moved into the day's map when the next day starts. Each grid's
    // seconds are added in the same order as into the map, so to the same value.
    let mut sums: Vec<(GridId, f64)> = Vec::new();
    let close = |day: Option<&mut GridDay>, sums: &mut Vec<(GridId, f64)>| {
        if let Some(d) = day {
            d.grid_s.extend(sums.drain(..));
        }
    };
    for seg in &track.segments {
        for i in seg.start..seg.end.saturating_sub(1) {
            let dur_s = (fixes[i + 1].ts - fixes[i].ts) as f64 / 1000.0;
            let day = clock.day(fixes[i].ts);
            if days.last().is_none_or(|d| d.day != day) {
                close(days.last_mut(), &mut sums);
                days.push(GridDay {
                    day,
                    grid_s: BTreeMap::new(),
                    outside_s: 0.0,
                    outside_assigned_s: 0.0,
                });
            }
            let Some(d) = days.last_mut() else { continue };
            let (a, b) = (located[i], located[i + 1]);
            let halves = if a == b {
                [(a, dur_s), (None, 0.0)]
            } else {
                [(a, dur_s / 2.0), (b, dur_s / 2.0)]
            };
            for (place, s) in halves {
                if s == 0.0 {
                    continue;
                }
                match place {
                    Some(g) => match sums.iter_mut().find(|(h, _)| *h == g) {
                        Some((_, sum)) => *sum += s,
                        None => sums.push((g, 0.0 + s)),
                    },
                    None => d.outside_s += s,
                }
                if !place.is_some_and(|g| assigned.contains(&g)) {
                    d.outside_assigned_s += s;
                }
            }
        }
    }
    close(days.last_mut(), &mut sums);
    days
}

/// A stretch of time outside all of a worker's assigned grids.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutOfGridEpisode {
    /// UTC ms: the first outside fix, or the middle of the step that left (half-half rule).
    pub start: UnixMs,
    /// UTC ms: the last outside fix, or the middle of the step that came back.
    pub end: UnixMs,
    /// The grid where most of the episode was spent; `None` when that was outside every grid.
    pub grid: Option<GridId>,
}

impl OutOfGridEpisode {
    /// The episode's duration, seconds.
    pub fn duration_s(&self) -> f64 {
        (self.end - self.start) as f64 / 1000.0
    }
}

/// The time a fix stands for within its segment: from the middle of the step before it to
/// the middle of the step after it (a segment's ends stop at the fix itself).
fn half_steps(fixes: &[Fix], seg: &std::ops::Range<usize>, k: usize) -> (UnixMs, UnixMs) {
    let lo = if k > seg.start {
        (fixes[k - 1].ts + fixes[k].ts) / 2
    } else {
        fixes[k].ts
    };
    let hi = if k + 1 < seg.end {
        (fixes[k].ts + fixes[k + 1].ts) / 2
    } else {
        fixes[k].ts
    };
    (lo, hi)
}

/// Out-of-grid episodes: maximal runs of consecutive fixes of one segment that lie outside all
/// of `assigned`, with their time measured by the half-half rule of [`grid_time`] (so a run
/// starts and ends mid-step when the worker crosses the boundary), kept when strictly longer
/// than `min_s` seconds. A gap ends an episode: time across it is never counted.
pub fn out_of_grid_episodes(
    track: &Track,
    located: &[Option<GridId>],
    assigned: &[GridId],
    min_s: f64,
) -> Vec<OutOfGridEpisode> {
    let fixes = track.fixes();
    let outside = |i: usize| !located[i].is_some_and(|g| assigned.contains(&g));
    let mut out = Vec::new();
    for seg in &track.segments {
        let mut i = seg.start;
        while i < seg.end {
            if !outside(i) {
                i += 1;
                continue;
            }
            let first = i;
            while i + 1 < seg.end && outside(i + 1) {
                i += 1;
            }
            let last = i;
            i += 1;
            let (start, end) = (
                half_steps(fixes, seg, first).0,
                half_steps(fixes, seg, last).1,
            );
            if (end - start) as f64 / 1000.0 <= min_s {
                continue;
            }
            // Where: the place with the most time; each fix stands for the half-steps around it.
            let mut by_place: BTreeMap<Option<GridId>, UnixMs> = BTreeMap::new();
            for (k, place) in located.iter().enumerate().take(last + 1).skip(first) {
                let (lo, hi) = half_steps(fixes, seg, k);
                *by_place.entry(*place).or_insert(0) += hi - lo;
            }
            let grid = by_place
                .into_iter()
                .max_by_key(|&(place, ms)| (ms, std::cmp::Reverse(place)))
                .and_then(|(place, _)| place);
            out.push(OutOfGridEpisode { start, end, grid });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Visits (§4.7)
// ---------------------------------------------------------------------------------------------

/// How a visit was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Accepted fixes stayed within the visit radius long enough.
    Dwell,
    /// A check-in event near the checkpoint.
    Checkin,
    /// Merged from dwell and check-in visits.
    Both,
}

impl Via {
    /// The way a merged visit was established.
    fn merge(self, other: Via) -> Via {
        if self == other {
            self
        } else {
            Via::Both
        }
    }

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Dwell => "dwell",
            Via::Checkin => "checkin",
            Via::Both => "both",
        }
    }
}

/// One visit of a worker to a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Visit {
    /// Index into the checkpoint list the [`CheckpointIndex`] was built from.
    pub checkpoint: usize,
    /// Who visited.
    pub worker: WorkerId,
    /// UTC ms: the first fix of the dwell, or the check-in's time.
    pub start: UnixMs,
    /// UTC ms: the last fix of the dwell, or the check-in's time.
    pub end: UnixMs,
    /// How it was established.
    pub via: Via,
}

/// Why a check-in did not count.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CheckinRejection {
    /// The ping carrying the check-in is farther from the checkpoint than `checkin_radius_m`.
    TooFar {
        /// The distance from the checkpoint, metres.
        distance_m: f64,
    },
    /// The check-in names no known checkpoint.
    UnknownCheckpoint,
}

/// A check-in that was rejected, with the reason.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct RejectedCheckin {
    /// Who checked in.
    pub worker: WorkerId,
    /// UTC ms of the ping.
    pub ts: UnixMs,
    /// The checkpoint code the ping names.
    pub checkpoint: String,
    /// Why it does not count.
    #[serde(flatten)]
    pub rejection: CheckinRejection,
}

/// An R-tree of checkpoints, built once, for the per-fix "which checkpoints are near" query.
#[derive(Clone, Debug)]
pub struct CheckpointIndex {
    tree: RTree<GeomWithData<[f64; 2], usize>>,
    /// Position and scale of each checkpoint, by index.
    points: Vec<(f64, f64, Scale)>,
    by_code: std::collections::HashMap<String, usize>,
}

impl CheckpointIndex {
    /// Indexes checkpoints (x = lon, y = lat); a [`Visit::checkpoint`] indexes this list.
    pub fn new(checkpoints: &[Checkpoint]) -> CheckpointIndex {
        let items = checkpoints
            .iter()
            .enumerate()
            .map(|(i, c)| GeomWithData::new([c.lon, c.lat], i))
            .collect();
        CheckpointIndex {
            tree: RTree::bulk_load(items),
            points: checkpoints
                .iter()
                .map(|c| (c.lon, c.lat, Scale::at(c.lat)))
                .collect(),
            by_code: checkpoints
                .iter()
                .enumerate()
                .map(|(i, c)| (c.code.clone(), i))
                .collect(),
        }
    }

    /// The distance from a position (with its scale) to checkpoint `i`, metres.
    #[inline]
    fn distance_m(&self, i: usize, lon: f64, lat: f64, scale: Scale) -> f64 {
        let (clon, clat, cscale) = self.points[i];
        distance_scaled_m(lon, lat, scale, clon, clat, cscale)
    }

    /// Calls `f` with each checkpoint within `radius_m` (≤) of a position, in the R-tree's
    /// order. `near` keeps the checkpoints of a box [`NEAR_MARGIN_M`] wider, from the last
    /// position whose box was not inside it: consecutive fixes of a track ask the tree once
    /// per few hundred metres, not once each.
    #[inline]
    fn for_each_within(
        &self,
        near: &mut Near,
        lon: f64,
        lat: f64,
        scale: Scale,
        radius_m: f64,
        mut f: impl FnMut(usize),
    ) {
        // A box a little larger than the circle (1 %), then the exact distance.
        let dlat = (radius_m * 1.01 / scale.ky).to_degrees();
        let dlon = (radius_m * 1.01 / scale.kx.max(1e-9)).to_degrees();
        let (lo, hi) = ([lon - dlon, lat - dlat], [lon + dlon, lat + dlat]);
        if !near.holds(lo, hi) {
            let mlat = (NEAR_MARGIN_M / scale.ky).to_degrees();
            let mlon = (NEAR_MARGIN_M / scale.kx.max(1e-9)).to_degrees();
            near.lo = [lo[0] - mlon, lo[1] - mlat];
            near.hi = [hi[0] + mlon, hi[1] + mlat];
            near.valid = true;
            near.ids.clear();
            near.xs.clear();
            near.ys.clear();
            let envelope = AABB::from_corners(near.lo, near.hi);
            for item in self.tree.locate_in_envelope(&envelope) {
                let [x, y] = *item.geom();
                near.ids.push(item.data);
                near.xs.push(x);
                near.ys.push(y);
            }
        }
        // The tree's own test for a point in a box (bounds included), on the few kept: the
        // same checkpoints as a query of this box, in the same order (a depth-first walk
        // yields the points of a smaller box in the order it yields them for a larger one).
        // The box test goes 64 checkpoints at a time into a bit mask, without a branch (most
        // are outside); the distance only for those inside, in order.
        for ((ids, xs), ys) in near
            .ids
            .chunks(64)
            .zip(near.xs.chunks(64))
            .zip(near.ys.chunks(64))
        {
            let mut inside = 0u64;
            for (k, (&x, &y)) in xs.iter().zip(ys).enumerate() {
                let hit = lo[0] <= x && x <= hi[0] && lo[1] <= y && y <= hi[1];
                inside |= u64::from(hit) << k;
            }
            while inside != 0 {
                let i = ids[inside.trailing_zeros() as usize];
                inside &= inside - 1;
                if self.distance_m(i, lon, lat, scale) <= radius_m {
                    f(i);
                }
            }
        }
    }
}

/// How much wider than a fix's box the box of [`Near`] is, metres.
const NEAR_MARGIN_M: f64 = 200.0;

/// The checkpoints in a box around part of a track (see [`CheckpointIndex::for_each_within`]).
#[derive(Default)]
struct Near {
    lo: [f64; 2],
    hi: [f64; 2],
    valid: bool,
    /// Each checkpoint in the box, in the R-tree's order, and its longitude and latitude.
    ids: Vec<usize>,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl Near {
    /// Whether the box `lo`–`hi` lies inside the kept one.
    #[inline]
    fn holds(&self, lo: [f64; 2], hi: [f64; 2]) -> bool {
        self.valid
            && self.lo[0] <= lo[0]
            && self.lo[1] <= lo[1]
            && hi[0] <= self.hi[0]
            && hi[1] <= self.hi[1]
    }
}

/// A run of consecutive fixes within the radius of one checkpoint.
struct OpenRun {
    checkpoint: usize,
    first_ts: UnixMs,
    last_ts: UnixMs,
    last_fix: usize,
}

/// Dwell visits (unmerged): runs of consecutive accepted fixes of one segment all within
/// `visit_radius_m` (≤) of a checkpoint, kept when last − first timestamp ≥ `visit_min_s`.
/// The R-tree is asked once per few hundred metres of track ([`CheckpointIndex::for_each_within`]);
/// only the few checkpoints near the track are ever touched.
pub fn dwell_visits(
    track: &Track,
    worker: &WorkerId,
    index: &CheckpointIndex,
    params: &VisitParams,
) -> Vec<Visit> {
    let fixes = track.fixes();
    let min_ms = params.visit_min_s * 1000.0;
    let mut out = Vec::new();
    let mut open: Vec<OpenRun> = Vec::new();
    let mut near = Near::default();
    let close = |run: OpenRun, out: &mut Vec<Visit>| {
        if (run.last_ts - run.first_ts) as f64 >= min_ms {
            out.push(Visit {
                checkpoint: run.checkpoint,
                worker: worker.clone(),
                start: run.first_ts,
                end: run.last_ts,
                via: Via::Dwell,
            });
        }
    };
    for seg in &track.segments {
        for i in seg.clone() {
            let f = &fixes[i];
            let r = params.visit_radius_m;
            index.for_each_within(&mut near, f.lon, f.lat, f.scale, r, |c| {
                match open.iter_mut().find(|r| r.checkpoint == c) {
                    Some(run) => {
                        run.last_ts = f.ts;
                        run.last_fix = i;
                    }
                    None => open.push(OpenRun {
                        checkpoint: c,
                        first_ts: f.ts,
                        last_ts: f.ts,
                        last_fix: i,
                    }),
                }
            });
            // Runs this fix did not extend are over.
            let mut k = 0;
            while k < open.len() {
                if open[k].last_fix != i {
                    close(open.swap_remove(k), &mut out);
                } else {
                    k += 1;
                }
            }
        }
        for run in open.drain(..) {
            close(run, &mut out);
        }
    }
    out
}

/// Check-in visits (unmerged) and rejected check-ins: every raw ping naming a checkpoint in
/// `checkin` is a zero-length visit when the ping's own position lies within
/// `checkin_radius_m` (≤) of it, else a rejection with the distance. Raw pings are used, so a
/// check-in counts even when cleaning dropped its fix. Only pings with a check-in are read, so
/// a caller may pass just those (in time order).
pub fn checkin_visits<'a>(
    pings: impl IntoIterator<Item = &'a Ping>,
    index: &CheckpointIndex,
    params: &VisitParams,
) -> (Vec<Visit>, Vec<RejectedCheckin>) {
    let mut visits = Vec::new();
    let mut rejected = Vec::new();
    for p in pings {
        let Some(code) = p.checkin.as_deref() else {
            continue;
        };
        let Some(&c) = index.by_code.get(code) else {
            rejected.push(RejectedCheckin {
                worker: p.worker.clone(),
                ts: p.ts,
                checkpoint: code.to_string(),
                rejection: CheckinRejection::UnknownCheckpoint,
            });
            continue;
        };
        let distance_m = index.distance_m(c, p.lon, p.lat, Scale::at(p.lat));
        if distance_m <= params.checkin_radius_m {
            visits.push(Visit {
                checkpoint: c,
                worker: p.worker.clone(),
                start: p.ts,
                end: p.ts,
                via: Via::Checkin,
            });
        } else {
            rejected.push(RejectedCheckin {
                worker: p.worker.clone(),
                ts: p.ts,
                checkpoint: code.to_string(),
                rejection: CheckinRejection::TooFar { distance_m },
            });
        }
    }
    (visits, rejected)
}

/// Merges visits of the same worker to the same checkpoint whose gap (next start − previous
/// end) is strictly less than `merge_s` seconds; overlapping visits always merge. The result
/// is sorted by worker, checkpoint and start.
pub fn merge_visits(mut visits: Vec<Visit>, merge_s: f64) -> Vec<Visit> {
    visits.sort_by(|a, b| {
        (a.worker.as_str(), a.checkpoint, a.start, a.end).cmp(&(
            b.worker.as_str(),
            b.checkpoint,
            b.start,
            b.end,
        ))
    });
    let merge_ms = merge_s * 1000.0;
    let mut out: Vec<Visit> = Vec::with_capacity(visits.len());
    for v in visits {
        match out.last_mut() {
            Some(prev)
                if prev.worker == v.worker
                    && prev.checkpoint == v.checkpoint
                    && ((v.start - prev.end) as f64) < merge_ms =>
            {
                prev.end = prev.end.max(v.end);
                prev.via = prev.via.merge(v.via);
            }
            _ => out.push(v),
        }
    }
    out
}

/// One worker's visits (§4.7): dwell visits on the track, check-ins on the raw pings (the
/// ones [`crate::track::build`] was given), merged. Returns the visits and the rejected
/// check-ins.
pub fn visits(
    worker: &WorkerId,
    pings: &[Ping],
    track: &Track,
    index: &CheckpointIndex,
    params: &VisitParams,
) -> (Vec<Visit>, Vec<RejectedCheckin>) {
    let mut all = dwell_visits(track, worker, index, params);
    let (checkins, rejected) = checkin_visits(pings, index, params);
    all.extend(checkins);
    (merge_visits(all, params.visit_merge_s), rejected)
}

// ---------------------------------------------------------------------------------------------
// Compliance (§4.9)
// ---------------------------------------------------------------------------------------------

pub use crate::model::Month;

/// Compliance of one checkpoint in one month: `min(1, visits / required)`; 1 when nothing is
/// required.
pub fn compliance(visits: usize, required: u32) -> f64 {
    if required == 0 {
        1.0
    } else {
        (visits as f64 / f64::from(required)).min(1.0)
    }
}

/// The number of visits per (checkpoint, local month of the visit's start).
pub fn visits_per_month(visits: &[Visit], tz: Tz) -> BTreeMap<(usize, Month), usize> {
    let mut clock = DayClock::new(tz);
    let mut counts = BTreeMap::new();
    for v in visits {
        *counts
            .entry((v.checkpoint, Month::of(clock.day(v.start))))
            .or_insert(0) += 1;
    }
    counts
}

/// A worker's compliance for a month: the mean, over the checkpoints in their assigned grids,
/// of [`compliance`] counting that worker's own visits; `None` when their grids hold no
/// checkpoint.
pub fn worker_compliance(
    worker_visits: &[Visit],
    checkpoints: &[Checkpoint],
    assigned: &[GridId],
    month: Month,
    tz: Tz,
) -> Option<f64> {
    let counts = visits_per_month(worker_visits, tz);
    let mut sum = 0.0;
    let mut n = 0usize;
    for (i, c) in checkpoints.iter().enumerate() {
        if assigned.contains(&c.grid) {
            sum += compliance(
                counts.get(&(i, month)).copied().unwrap_or(0),
                c.visits_per_month,
            );
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{LoadOptions, Registry, Source};
    use crate::track::{build, TrackParams};

    /// Metres per degree of latitude near 28.2° N (within 0.1 %; the tests keep margins).
    const M_PER_DEG_LAT: f64 = 110_800.0;
    const LON0: f64 = 112.98;
    const LAT0: f64 = 28.2;
    const T0: i64 = 1_790_000_000_000;

    fn w() -> WorkerId {
        WorkerId::new("w")
    }

    /// A ping `t_s` seconds after T0, `east_m`/`north_m` from (LON0, LAT0).
    fn ping(t_s: i64, east_m: f64, north_m: f64) -> Ping {
        let m_per_deg_lon = Scale::at(LAT0).kx.to_radians();
        Ping::new(
            w(),
            T0 + t_s * 1000,
            LON0 + east_m / m_per_deg_lon,
            LAT0 + north_m / M_PER_DEG_LAT,
        )
    }

    fn checkpoint(code: &str, east_m: f64, north_m: f64) -> Checkpoint {
        let p = ping(0, east_m, north_m);
        Checkpoint {
            code: code.into(),
            name: code.into(),
            grid: 0,
            kind: "household".into(),
            visits_per_month: 2,
            lon: p.lon,
            lat: p.lat,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        /// The box test in front of the distance to a boundary edge changes no answer: points
        /// anywhere near the edge, and points near each side of the grown box (within a tenth
        /// of the tolerance, and a few ulps either side of the border itself), where the two
        /// tests come closest.
        #[test]
        fn the_edge_box_rejects_only_what_the_distance_rejects(
            a in (-100.0f64..100.0, -100.0f64..100.0),
            d in proptest::prop_oneof![
                (-100.0f64..100.0, -100.0f64..100.0),
                (-100.0f64..100.0, proptest::strategy::Just(0.0)),
                (proptest::strategy::Just(0.0), -100.0f64..100.0),
            ],
            tol in proptest::prop_oneof![proptest::strategy::Just(0.0), 0.0f64..60.0],
            side in 0usize..5,
            along in -1.0f64..2.0,
            out in proptest::prop_oneof![proptest::strategy::Just(1.0), 0.9f64..1.1],
            ulps in -4i64..=4,
        ) {
            let b = (a.0 + d.0, a.1 + d.1);
            let m = tol * (1.0 + 1e-9) * out;
            let nudge = |v: f64| f64::from_bits((v.to_bits() as i64 + ulps) as u64);
            let (lo, hi) = ((a.0.min(b.0), a.1.min(b.1)), (a.0.max(b.0), a.1.max(b.1)));
            let x_along = lo.0 + along * (hi.0 - lo.0);
            let y_along = lo.1 + along * (hi.1 - lo.1);
            let p = match side {
                0 => (nudge(lo.0 - m), y_along),
                1 => (nudge(hi.0 + m), y_along),
                2 => (x_along, nudge(lo.1 - m)),
                3 => (x_along, nudge(hi.1 + m)),
                _ => (x_along + 100.0 * along, y_along - 70.0 * along),
            };
            proptest::prop_assert_eq!(
                within_of_segment(p, a, b, tol),
                segment_distance2(p, a, b) <= tol * tol
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Walks among random checkpoints (two on the same spot; sparse, or dense enough that
        /// the kept box holds more than the 64 tested at a time): the checkpoints near each
        /// fix, through the box kept along the walk, are those that the R-tree gives for the
        /// fix's own box, in the same order.
        #[test]
        fn the_kept_box_finds_what_the_tree_finds(
            spots in proptest::prop_oneof![
                proptest::collection::vec((-600.0f64..600.0, -600.0f64..600.0), 1..60),
                proptest::collection::vec((-150.0f64..150.0, -150.0f64..150.0), 60..200),
            ],
            walk in proptest::collection::vec((-80.0f64..80.0, -80.0f64..80.0), 1..200),
            radius_m in 1.0f64..60.0,
        ) {
            let mut cps: Vec<Checkpoint> = spots
                .iter()
                .enumerate()
                .map(|(i, &(e, n))| checkpoint(&format!("c{i}"), e, n))
                .collect();
            cps.push(checkpoint("twin", spots[0].0, spots[0].1));
            let index = CheckpointIndex::new(&cps);
            let mut near = Near::default();
            let (mut e, mut n) = (0.0, 0.0);
            for (de, dn) in walk {
                (e, n) = (e + de, n + dn);
                let p = ping(0, e, n);
                let scale = Scale::at(p.lat);
                let (mut kept, mut fresh) = (Vec::new(), Vec::new());
                index.for_each_within(&mut near, p.lon, p.lat, scale, radius_m, |c| kept.push(c));
                // The query as it was before the box was kept: the fix's own box, then the
                // exact distance.
                let dlat = (radius_m * 1.01 / scale.ky).to_degrees();
                let dlon = (radius_m * 1.01 / scale.kx.max(1e-9)).to_degrees();
                let own = AABB::from_corners([p.lon - dlon, p.lat - dlat], [p.lon + dlon, p.lat + dlat]);
                for item in index.tree.locate_in_envelope(&own) {
                    if index.distance_m(item.data, p.lon, p.lat, scale) <= radius_m {
                        fresh.push(item.data);
                    }
                }
                proptest::prop_assert_eq!(kept, fresh);
            }
        }
    }

    /// Two 100 m × 100 m grids side by side: `g1` west of LON0, `g2` east of it.
    fn two_grids() -> Registry {
        let m_per_deg_lon = Scale::at(LAT0).kx.to_radians();
        let (dx, dy) = (100.0 / m_per_deg_lon, 100.0 / M_PER_DEG_LAT);
        let sq = |x0: f64| {
            format!(
                "[[[{a},{b}],[{c},{b}],[{c},{d}],[{a},{d}],[{a},{b}]]]",
                a = x0,
                b = LAT0 - dy,
                c = x0 + dx,
                d = LAT0 + dy
            )
        };
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","geometry":null,"properties":{{"code":"c","name":"c","level":"community"}}}},
            {{"type":"Feature","geometry":{{"type":"Polygon","coordinates":{}}},"properties":{{"code":"g1","name":"g1","level":"grid","parent":"c"}}}},
            {{"type":"Feature","geometry":{{"type":"Polygon","coordinates":{}}},"properties":{{"code":"g2","name":"g2","level":"grid","parent":"c"}}}}]}}"#,
            sq(LON0 - dx),
            sq(LON0)
        );
        Registry::from_sources(Source::new("t", &text), None, None, &LoadOptions::default())
            .expect("test grids load")
    }

    #[test]
    fn a_fix_within_the_tolerance_of_an_assigned_grid_counts_inside_it() {
        // g1 spans 100 m west of LON0 to LON0, 100 m either side of LAT0; g2 lies east of it.
        let r = two_grids();
        let area = AssignedArea::new(&r, &[0], 30.0);
        let place = |east: f64, north: f64| {
            let p = ping(0, east, north);
            area.place(r.locate(p.lon, p.lat), p.lon, p.lat)
        };
        assert_eq!(place(-50.0, 0.0), Some(0), "inside");
        assert_eq!(place(20.0, 0.0), Some(0), "20 m into the neighbouring grid");
        assert_eq!(place(-50.0, 125.0), Some(0), "25 m outside every grid");
        assert_eq!(place(45.0, 0.0), None, "45 m into the neighbour");
        assert_eq!(place(-50.0, 135.0), None, "35 m outside every grid");
        // Without tolerance only the polygon counts.
        let strict = AssignedArea::new(&r, &[0], 0.0);
        let p = ping(0, 20.0, 0.0);
        assert_eq!(strict.place(r.locate(p.lon, p.lat), p.lon, p.lat), None);
    }

    fn track_of(pings: &[Ping]) -> Track {
        build(pings, &TrackParams::default())
    }

    #[test]
    fn a_step_across_a_grid_boundary_is_split_half_half() {
        let r = two_grids();
        let (g1, g2) = (r.grid_by_code("g1").unwrap(), r.grid_by_code("g2").unwrap());
        // 40 s in g1 (two steps), one 20 s step g1 → g2, 20 s in g2.
        let pings = [
            ping(0, -50.0, 0.0),
            ping(20, -40.0, 0.0),
            ping(40, -10.0, 0.0),
            ping(60, 10.0, 0.0),
            ping(80, 20.0, 0.0),
        ];
        let t = track_of(&pings);
        let located = locate_fixes(&t, &r.index);
        let days = grid_time(&t, &located, &[g1], chrono_tz::Asia::Shanghai);
        assert_eq!(days.len(), 1);
        let d = &days[0];
        assert!((d.grid_s[&g1] - 50.0).abs() < 1e-9, "{:?}", d);
        assert!((d.grid_s[&g2] - 30.0).abs() < 1e-9, "{:?}", d);
        assert_eq!(d.outside_s, 0.0);
        assert!((d.outside_assigned_s - 30.0).abs() < 1e-9);
    }

    #[test]
    fn time_outside_every_grid_is_outside() {
        let r = two_grids();
        let g2 = r.grid_by_code("g2").unwrap();
        // In g2, then a step out of it (north, beyond 100 m), then 60 s outside.
        let pings = [
            ping(0, 50.0, 90.0),
            ping(30, 50.0, 110.0),
            ping(60, 50.0, 130.0),
            ping(90, 50.0, 150.0),
        ];
        let t = track_of(&pings);
        let located = locate_fixes(&t, &r.index);
        let d = &grid_time(&t, &located, &[g2], chrono_tz::Asia::Shanghai)[0];
        assert!((d.grid_s[&g2] - 15.0).abs() < 1e-9, "{:?}", d);
        assert!((d.outside_s - 75.0).abs() < 1e-9, "{:?}", d);
        assert!((d.outside_assigned_s - 75.0).abs() < 1e-9, "{:?}", d);
        let total: f64 = d.grid_s.values().sum::<f64>() + d.outside_s;
        assert!((total - t.patrol_s).abs() < 1e-9);
    }

    /// A worker assigned g1 walks into g2 for `out_s` seconds (fixes every 60 s) and back.
    fn excursion(out_s: i64) -> Vec<OutOfGridEpisode> {
        let r = two_grids();
        let g1 = r.grid_by_code("g1").unwrap();
        let mut pings = vec![ping(0, -50.0, 0.0), ping(60, -40.0, 0.0)];
        // Outside fixes from 120 s to 60 + out_s s; the half-steps around them add 60 s.
        let mut t = 120;
        while t <= 60 + out_s {
            pings.push(ping(t, 50.0, 0.0));
            t += 60;
        }
        pings.push(ping(t, -40.0, 0.0));
        pings.push(ping(t + 60, -50.0, 0.0));
        let track = track_of(&pings);
        let located = locate_fixes(&track, &r.index);
        out_of_grid_episodes(&track, &located, &[g1], 600.0)
    }

    #[test]
    fn an_eleven_minute_excursion_is_an_episode_and_nine_minutes_is_not() {
        let r = two_grids();
        let eleven = excursion(660);
        assert_eq!(eleven.len(), 1, "{eleven:?}");
        assert!((eleven[0].duration_s() - 660.0).abs() < 1e-9, "{eleven:?}");
        assert_eq!(eleven[0].grid, r.grid_by_code("g2"));
        assert!(excursion(540).is_empty());
    }

    #[test]
    fn a_gap_ends_an_episode_and_is_never_counted() {
        let r = two_grids();
        let g1 = r.grid_by_code("g1").unwrap();
        // Outside fixes 0..400 s, a 20 min gap (a new segment), outside again 1600..2000 s.
        let mut pings: Vec<Ping> = (0..=8).map(|k| ping(k * 50, 50.0, 0.0)).collect();
        pings.extend((0..=8).map(|k| ping(1600 + k * 50, 50.0, 0.0)));
        let track = track_of(&pings);
        assert_eq!(track.segments.len(), 2);
        let located = locate_fixes(&track, &r.index);
        assert!(out_of_grid_episodes(&track, &located, &[g1], 600.0).is_empty());
        let d = &grid_time(&track, &located, &[g1], chrono_tz::Asia::Shanghai)[0];
        assert!((d.outside_assigned_s - 800.0).abs() < 1e-9);
    }

    fn dwell_at(cp_east_m: f64, times_s: &[i64], east_m: f64) -> Vec<Visit> {
        let index = CheckpointIndex::new(&[checkpoint("cp", cp_east_m, 0.0)]);
        let pings: Vec<Ping> = times_s.iter().map(|&t| ping(t, east_m, 0.0)).collect();
        let (v, _) = visits(
            &w(),
            &pings,
            &track_of(&pings),
            &index,
            &VisitParams::default(),
        );
        v
    }

    #[test]
    fn a_dwell_of_exactly_visit_min_s_counts_and_a_shorter_one_does_not() {
        let v = dwell_at(0.0, &[0, 60, 120], 5.0);
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].start, v[0].end, v[0].via),
            (T0, T0 + 120_000, Via::Dwell)
        );
        assert!(dwell_at(0.0, &[0, 60, 119], 5.0).is_empty());
    }

    #[test]
    fn a_fix_at_the_radius_is_inside_and_just_beyond_is_not() {
        // The radius is set to the fixes' exact computed distance from the checkpoint, so the
        // fixes lie exactly on the boundary: inside (≤). A hair less and they are outside.
        let cp = checkpoint("cp", 30.0, 0.0);
        let p = ping(0, 0.0, 0.0);
        let dist = distance_scaled_m(
            p.lon,
            p.lat,
            Scale::at(p.lat),
            cp.lon,
            cp.lat,
            Scale::at(cp.lat),
        );
        assert!((dist - 30.0).abs() < 0.1, "{dist}");
        let index = CheckpointIndex::new(&[cp]);
        let pings: Vec<Ping> = [0, 60, 120].iter().map(|&t| ping(t, 0.0, 0.0)).collect();
        let track = track_of(&pings);
        for (radius_m, expected) in [(dist, 1), (dist * (1.0 - 1e-12), 0), (dist + 1.0, 1)] {
            let params = VisitParams {
                visit_radius_m: radius_m,
                ..VisitParams::default()
            };
            assert_eq!(
                dwell_visits(&track, &w(), &index, &params).len(),
                expected,
                "radius {radius_m}"
            );
        }
    }

    #[test]
    fn a_run_is_broken_by_a_fix_outside_the_radius() {
        // 0–60 s at the checkpoint, 90 s 40 m away, 120–180 s back: two 60 s runs, no visit.
        let index = CheckpointIndex::new(&[checkpoint("cp", 0.0, 0.0)]);
        let pings = [
            ping(0, 0.0, 0.0),
            ping(60, 0.0, 0.0),
            ping(90, 40.0, 0.0),
            ping(120, 0.0, 0.0),
            ping(180, 0.0, 0.0),
        ];
        let (v, _) = visits(
            &w(),
            &pings,
            &track_of(&pings),
            &index,
            &VisitParams::default(),
        );
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn a_checkin_within_100_m_counts_and_at_150_m_is_rejected() {
        let index = CheckpointIndex::new(&[checkpoint("cp", 0.0, 0.0)]);
        let mut near = ping(0, 95.0, 0.0);
        near.checkin = Some("cp".into());
        let mut far = ping(5000, 150.0, 0.0);
        far.checkin = Some("cp".into());
        let mut unknown = ping(9000, 0.0, 0.0);
        unknown.checkin = Some("cp-x".into());
        let pings = [near, far, unknown];
        let (v, rejected) = visits(
            &w(),
            &pings,
            &track_of(&pings),
            &index,
            &VisitParams::default(),
        );
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].start, v[0].via), (T0, Via::Checkin));
        assert_eq!(rejected.len(), 2);
        match &rejected[0].rejection {
            CheckinRejection::TooFar { distance_m } => {
                assert!((distance_m - 150.0).abs() < 0.5, "{distance_m}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rejected[1].rejection, CheckinRejection::UnknownCheckpoint);
    }

    fn v(start_s: i64, end_s: i64, via: Via) -> Visit {
        Visit {
            checkpoint: 0,
            worker: w(),
            start: T0 + start_s * 1000,
            end: T0 + end_s * 1000,
            via,
        }
    }

    #[test]
    fn visits_20_min_apart_merge_and_40_min_apart_do_not() {
        let merged = merge_visits(
            vec![
                v(1200 + 180, 1200 + 360, Via::Checkin),
                v(0, 180, Via::Dwell),
            ],
            1800.0,
        );
        assert_eq!(merged, vec![v(0, 1560, Via::Both)]);
        let apart = merge_visits(
            vec![v(0, 180, Via::Dwell), v(2400 + 180, 2400 + 360, Via::Dwell)],
            1800.0,
        );
        assert_eq!(apart.len(), 2);
        // Exactly visit_merge_s apart is not "less than": two visits.
        assert_eq!(
            merge_visits(
                vec![v(0, 180, Via::Dwell), v(1980, 2100, Via::Dwell)],
                1800.0
            )
            .len(),
            2
        );
    }

    #[test]
    fn compliance_caps_at_one_and_averages_over_assigned_checkpoints() {
        assert_eq!(compliance(1, 2), 0.5);
        assert_eq!(compliance(5, 2), 1.0);
        assert_eq!(compliance(0, 4), 0.0);
        let cps = [checkpoint("a", 0.0, 0.0), checkpoint("b", 500.0, 0.0)];
        let tz = chrono_tz::Asia::Shanghai;
        let month = Month::of(crate::track::local_day(T0, tz));
        let mut visits = vec![
            v(0, 10, Via::Dwell),
            v(5000, 5010, Via::Dwell),
            v(9000, 9010, Via::Dwell),
        ];
        visits[2].checkpoint = 1;
        // a: 2/2 → 1; b: 1/2 → 0.5; mean 0.75.
        let c = worker_compliance(&visits, &cps, &[0], month, tz).unwrap();
        assert!((c - 0.75).abs() < 1e-12, "{c}");
        assert_eq!(worker_compliance(&visits, &cps, &[7], month, tz), None);
    }
}
