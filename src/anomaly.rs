//! Plausibility checks per worker-day (DESIGN.md §4.8): many speed-gate jumps, a static
//! device, a replayed track, client mock-location flags, timestamps ahead of receipt. Each
//! flag carries its evidence, so a person can check it.
//!
//! The checks read a [`Track`] (and the raw pings, for the client's flags); a replay needs the
//! worker's earlier days, which it sees through their [`Fingerprint`]s. Pure computation.

use std::cell::OnceCell;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::geodesy::{distance_scaled_m, LocalFrame, Scale};
use crate::model::{format_timestamp, Ping, UnixMs};
use crate::track::days::DayClock;
use crate::track::{Fix, Track};

/// The parameters of the checks (a view of [`Config`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyParams {
    /// A day with at least this many speed-gate jumps is flagged.
    pub jump_flag_count: u32,
    /// Only jumps at least this long count towards that flag, metres: GPS outliers in urban
    /// canyons jump tens to a couple of hundred metres, a fake-location app kilometres.
    pub jump_flag_min_m: f64,
    /// Shortest "patrol" inside a small circle that flags a static device, seconds.
    pub static_min_s: f64,
    /// Radius of that circle, metres.
    pub static_radius_m: f64,
    /// Two days' positions at the same time into the day match when this close, metres.
    pub replay_radius_m: f64,
    /// The share of moving minutes that must match for a replay.
    pub replay_min_share: f64,
    /// The matched moving time that a replay needs at least, seconds.
    pub replay_min_s: f64,
}

impl AnomalyParams {
    /// The anomaly parameters of a config.
    pub fn from_config(c: &Config) -> AnomalyParams {
        AnomalyParams {
            jump_flag_count: c.jump_flag_count,
            jump_flag_min_m: c.jump_flag_min_m,
            static_min_s: c.static_min_s,
            static_radius_m: c.static_radius_m,
            replay_radius_m: c.replay_radius_m,
            replay_min_share: c.replay_min_share,
            replay_min_s: c.replay_min_s,
        }
    }
}

/// One flag on one worker-day, with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The local day.
    pub day: NaiveDate,
    /// What was found, and the evidence.
    #[serde(flatten)]
    pub finding: Finding,
}

impl Anomaly {
    /// The flag's name as reports show it (`static_device`, `replay`, …).
    pub fn kind(&self) -> &'static str {
        match self.finding {
            Finding::Jumps { .. } => "jumps",
            Finding::StaticDevice { .. } => "static_device",
            Finding::Replay { .. } => "replay",
            Finding::MockLocation { .. } => "mock_location",
            Finding::FutureTimestamps { .. } => "future_timestamps",
            Finding::OutOfGrid { .. } => "out_of_grid",
        }
    }
}

/// The kinds of flag, each with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "evidence", rename_all = "snake_case")]
pub enum Finding {
    /// Many pings implied impossible speeds (teleport-like jumps).
    Jumps {
        /// Jumps of at least `jump_flag_min_m` that day.
        count: u32,
        /// The fastest implied speed, m/s.
        max_speed_mps: f64,
        /// The longest jump, metres.
        max_distance_m: f64,
        /// When the first (up to ten) happened.
        times: Vec<String>,
    },
    /// The phone stayed inside a small circle for a long time while reporting a patrol.
    StaticDevice {
        /// Start of the period.
        start: String,
        /// End of the period.
        end: String,
        /// Its duration, minutes.
        minutes: f64,
        /// The circle's centre (mean of the fixes).
        lon: f64,
        /// The circle's centre (mean of the fixes).
        lat: f64,
        /// Fixes in the period.
        fixes: u32,
    },
    /// The day's track repeats an earlier day's, shifted in time.
    Replay {
        /// The earlier day it repeats.
        of_day: NaiveDate,
        /// Share of the moving minutes that coincide.
        matched_share: f64,
        /// Moving minutes that coincide.
        matched_minutes: u32,
        /// The time shift that aligns them, seconds (this day's start minus that day's).
        shift_s: i64,
    },
    /// The client flagged pings as coming from a mock-location provider.
    MockLocation {
        /// Flagged pings that day.
        pings: u32,
        /// The first flagged ping.
        first: String,
        /// The last flagged ping.
        last: String,
    },
    /// Pings stamped further ahead of their receipt than `max_future_s`.
    FutureTimestamps {
        /// Such pings that day.
        pings: u32,
    },
    /// Long patrol time outside the worker's assigned grids (raised by the assessment, which
    /// knows the assignment).
    OutOfGrid {
        /// Minutes outside the assigned grids that day.
        minutes: f64,
        /// The episodes longer than `out_of_grid_min_s`, as `start/end`.
        episodes: Vec<String>,
    },
}

/// The sampling step of fingerprints, seconds.
const FINGERPRINT_STEP_S: i64 = 60;
/// Moving minutes after which a comparison whose share is under half the threshold stops.
const REPLAY_EARLY_EXIT_MINUTES: u32 = 30;
/// How many sampling steps either way a replay may be shifted against the original's start.
const REPLAY_MAX_LAG_STEPS: i64 = 5;

/// A day's track sampled once a minute from its first fix: what replay detection compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The local day.
    pub day: NaiveDate,
    /// The first fix's timestamp, UTC ms.
    pub start: UnixMs,
    /// Positions (lon, lat) each minute from `start`; `None` inside gaps.
    pub samples: Vec<Option<(f64, f64)>>,
}

/// Flags every day of one worker's track. `earlier` holds fingerprints of days before the
/// track's first day (from stored summaries); the track's own days are compared with each
/// other too. Returns the flags, and the fingerprint of each of the track's days.
///
/// This compares every day given, whatever its month; the figures every door reports come from
/// `assess::day`, which calls [`detect_flags`] and [`replay`] itself and compares a day only
/// with the earlier days of its own month.
pub fn detect(
    pings: &[Ping],
    track: &Track,
    earlier: &[Fingerprint],
    params: &AnomalyParams,
    tz: chrono_tz::Tz,
) -> (Vec<Anomaly>, Vec<Fingerprint>) {
    let mut out = detect_flags(pings, track, params, tz);
    let prints = fingerprints(track, tz);
    for (k, finding) in replays(earlier, &prints, params, |_, _| true) {
        out.push(Anomaly {
            day: prints[k].day,
            finding,
        });
    }
    out.sort_by(|a, b| (a.day, a.kind()).cmp(&(b.day, b.kind())));
    (out, prints)
}

/// The flags that need no other day: jumps, static device, mock locations, timestamps ahead of
/// receipt, each on the local day it happened (a static period on the day it starts). Of
/// `pings` (the worker's raw pings, repeats left out, in time order) only those the client
/// flagged as mock are read, so a caller may pass just those.
pub fn detect_flags<'a>(
    pings: impl IntoIterator<Item = &'a Ping>,
    track: &Track,
    params: &AnomalyParams,
    tz: chrono_tz::Tz,
) -> Vec<Anomaly> {
    let mut out = Vec::new();
    jumps(track, params, tz, &mut out);
    static_device(track, params, tz, &mut out);
    mock_location(pings, tz, &mut out);
    future_timestamps(track, tz, &mut out);
    out
}

fn jumps(track: &Track, params: &AnomalyParams, tz: chrono_tz::Tz, out: &mut Vec<Anomaly>) {
    let mut clock = DayClock::new(tz);
    let mut day_jumps: Vec<(NaiveDate, Vec<&crate::track::Jump>)> = Vec::new();
    for j in track
        .cleaned
        .jumps
        .iter()
        .filter(|j| j.distance_m >= params.jump_flag_min_m)
    {
        let day = clock.day(j.ts);
        match day_jumps.last_mut() {
            Some((d, list)) if *d == day => list.push(j),
            _ => day_jumps.push((day, vec![j])),
        }
    }
    for (day, list) in day_jumps {
        if (list.len() as u32) < params.jump_flag_count.max(1) {
            continue;
        }
        out.push(Anomaly {
            day,
            finding: Finding::Jumps {
                count: list.len() as u32,
                max_speed_mps: round1(list.iter().map(|j| j.speed_mps).fold(0.0, f64::max)),
                max_distance_m: round1(list.iter().map(|j| j.distance_m).fold(0.0, f64::max)),
                times: list
                    .iter()
                    .take(10)
                    .map(|j| format_timestamp(j.ts))
                    .collect(),
            },
        });
    }
}

/// Runs of fixes within one segment that all lie inside `static_radius_m` of the run's
/// running mean, lasting at least `static_min_s`. A real phone on a person moves; a phone on
/// a desk stays inside its GPS noise. [`static_runs`] finds the runs.
fn static_device(track: &Track, params: &AnomalyParams, tz: chrono_tz::Tz, out: &mut Vec<Anomaly>) {
    let fixes = track.fixes();
    let min_ms = params.static_min_s * 1000.0;
    let r2 = params.static_radius_m * params.static_radius_m;
    let mut clock = DayClock::new(tz);
    // One set of buffers for every segment of the track.
    let (mut ts, mut xy) = (Vec::new(), Vec::new());
    for seg in &track.segments {
        let run = &fixes[seg.clone()];
        let Some(origin) = run.first() else {
            continue;
        };
        // One metric frame per segment (a walk of a few km: the scale error over it is far
        // below a millimetre on the 20 m radius); every fix projected once.
        let frame = LocalFrame::new(origin.lon, origin.lat);
        ts.clear();
        ts.extend(run.iter().map(|f| f.ts));
        xy.clear();
        xy.extend(run.iter().map(|f| frame.project(f.lon, f.lat)));
        for r in static_runs(&ts, &xy, min_ms, r2) {
            let (first, last) = (&run[r.start], &run[r.end - 1]);
            let (lon, lat) = frame.unproject(r.centre.0, r.centre.1);
            out.push(Anomaly {
                day: clock.day(first.ts),
                finding: Finding::StaticDevice {
                    start: format_timestamp(first.ts),
                    end: format_timestamp(last.ts),
                    minutes: round1((last.ts - first.ts) as f64 / 60_000.0),
                    lon: round7(lon),
                    lat: round7(lat),
                    fixes: (r.end - r.start) as u32,
                },
            });
        }
    }
}

/// A static run of one segment: its fixes `start..end` (indices into the segment) and its
/// centre, the mean of their positions in the segment's frame, metres.
#[derive(Clone, Copy, Debug, PartialEq)]
struct StaticRun {
    start: usize,
    end: usize,
    centre: (f64, f64),
}

/// Positions further than this from their segment's first fix, metres, turn the pruning of
/// [`static_runs`] off for the segment: its float arithmetic then stays inside the error
/// bounds that [`STATIC_PRUNE_MARGIN_UM`] covers. No patrol segment comes close (nor a
/// radius: the same limit applies to it).
const STATIC_PRUNE_LIMIT_M: f64 = 1.0e6;

/// How far beyond the radius a fix must lie before the pruning of [`static_runs`] takes it as
/// surely breaking a run, micrometres, at least. The test works on positions truncated to
/// whole micrometres, so its distance differs from the exact one by less than 2√2 µm (under
/// 1 µm per axis for the fix and for the mean); the walk's own float rounding adds three
/// roundings per fix, under 1e-15 of the run's extent (see [`PositionSums::new`], which
/// widens the margin by that on long segments; at 20 m and a day of fixes every 10 s it is
/// below 0.01 µm). Only a fix within the margin of the radius (never seen in GPS data)
/// escapes the pruning — it is then walked, which is exact.
const STATIC_PRUNE_MARGIN_UM: f64 = 10.0;

/// The static runs of one segment, given its fixes' timestamps `ts` and positions `xy`
/// (metres, in one local frame), `min_ms` the shortest run flagged and `r2` the squared
/// radius. The rule (DESIGN.md §4.8), greedy from the segment's first fix: the run from fix
/// `i` takes fixes `i+1, i+2, …` while each lies within the radius of the mean of the run so
/// far, itself included; if it then lasts `min_ms` it is a static run and the next run starts
/// after it, else the next run starts at `i+1`.
///
/// Walking every start's run, as the rule reads, is quadratic inside a stationary stretch
/// shorter than `min_ms` (a stop at a checkpoint, a break on a bench): each of its fixes
/// starts a run that walks to the stretch's end and fails. The same runs come out of far less
/// work, because of two facts:
///
/// - Whether the run from `i` is flagged depends only on whether it reaches `h(i)`, the first
///   fix at least `min_ms` after fix `i`. When there is no such fix, neither `i` nor any later
///   start can be flagged (timestamps only grow within a segment): the segment is done.
/// - Whether the run from `i`, were it to reach a fix `k`, would break there is one comparison
///   of fix `k` with the mean of fixes `i..=k`: O(1) from prefix sums. If it breaks at some
///   `k ≤ h(i)`, the run ends before `h(i)` whatever happens before `k`: start `i` fails
///   without a walk. Two fixes are tried. `w`, the fix that broke the last walked run that
///   failed: every run started inside a stop breaks where the worker walked off. And `h(i)`
///   itself: a worker who left the circle within `min_ms` is usually still away at `h(i)`,
///   and a slow drift that broke the last run has carried the later fixes further still.
///   Only when neither proves anything is the run walked, which also gives the next `w`.
///
/// The comparison may never claim a break the walk would not find: it uses exact integer sums
/// of the positions in micrometres and claims one only with [`STATIC_PRUNE_MARGIN_UM`] (or
/// more) to spare. Every run that decides the output is still walked, with the rule's own
/// arithmetic, so the runs are exactly the rule's: the same fixes, and centres equal bit for
/// bit (the property tests compare with the literal walk).
///
/// Cost: O(n) for the sums and the `h(i)` pointer, O(1) for each start the comparison rules
/// out, and one walk per flagged run (the next start is past it). A start that fails is
/// walked only when neither `w` nor `h(i)` breaks it — about once per stop, and a few fixes
/// each while walking. On the reference month (`gridbeat simulate --seed 7 --workers 200
/// --days 30`: 15.8 M fixes) 11.4 M starts are ruled out, 0.12 M walked, and the walks visit
/// 1.4 M fixes in all; the check takes a tenth of the literal walk's time. A track built so
/// that every start breaks at a fix other than those two (fixes wandering in and out of the
/// circle within `min_ms`) can still cost what the literal walk costs, O(n · m) with m the
/// fixes in `min_ms`: the running-mean rule has no monotone structure that a linear scan
/// could follow exactly, and exactness comes first.
fn static_runs(ts: &[UnixMs], xy: &[(f64, f64)], min_ms: f64, r2: f64) -> Vec<StaticRun> {
    let n = ts.len().min(xy.len());
    let mut out = Vec::new();
    // Both facts need timestamps in order; the segments of a track have them.
    let sorted = ts[..n].windows(2).all(|w| w[0] <= w[1]);
    let sums = if sorted {
        PositionSums::new(&xy[..n], r2)
    } else {
        None
    };
    // `horizon` is h(i), or `n` when there is none; `witness` the fix that broke the last
    // walked run that failed.
    let (mut i, mut horizon, mut witness) = (0, 0, None);
    while i < n {
        if sorted {
            horizon = horizon.max(i);
            while horizon < n && ((ts[horizon] - ts[i]) as f64) < min_ms {
                horizon += 1;
            }
            if horizon == n {
                break;
            }
            if let Some(sums) = &sums {
                let fails = witness
                    .is_some_and(|w| i < w && w <= horizon && sums.surely_breaks(i, w))
                    || (i < horizon && sums.surely_breaks(i, horizon));
                if fails {
                    i += 1;
                    continue;
                }
            }
        }
        let (end, centre) = greedy_run(&xy[..n], i, r2);
        if ((ts[end - 1] - ts[i]) as f64) >= min_ms {
            out.push(StaticRun {
                start: i,
                end,
                centre,
            });
            i = end;
        } else {
            witness = Some(end);
            i += 1;
        }
    }
    out
}

/// The run from fix `i` as the rule walks it: the end of the run (exclusive; the fix that
/// broke it, or the end of the segment) and its centre. The arithmetic is the rule's
/// reference: offsets from fix `i`, the mean updated one fix at a time.
fn greedy_run(xy: &[(f64, f64)], i: usize, r2: f64) -> (usize, (f64, f64)) {
    let (x0, y0) = xy[i];
    let (mut mx, mut my, mut n) = (0.0, 0.0, 1.0);
    let mut j = i + 1;
    while j < xy.len() {
        let (x, y) = (xy[j].0 - x0, xy[j].1 - y0);
        let (nx, ny) = ((mx * n + x) / (n + 1.0), (my * n + y) / (n + 1.0));
        if (x - nx).powi(2) + (y - ny).powi(2) >= r2 {
            break;
        }
        (mx, my, n) = (nx, ny, n + 1.0);
        j += 1;
    }
    (j, (x0 + mx, y0 + my))
}

/// Prefix sums of a segment's positions in whole micrometres: exact integers, so the mean of
/// any stretch of fixes comes out in O(1) without the cancellation that float sums over a
/// long segment would suffer.
struct PositionSums {
    /// `sums[k]`: the sum of the (truncated) positions of fixes `..k`, µm.
    sums: Vec<(i64, i64)>,
    /// The radius plus the margin, µm.
    reach_um: f64,
}

impl PositionSums {
    /// The sums of `xy`, or `None` when a position or the radius is out of the range where
    /// the error bounds hold (see [`STATIC_PRUNE_LIMIT_M`]; NaN is out of range too), or the
    /// sums could overflow.
    fn new(xy: &[(f64, f64)], r2: f64) -> Option<PositionSums> {
        let in_range = |v: f64| v.abs() < STATIC_PRUNE_LIMIT_M;
        let r = r2.sqrt();
        if !in_range(r) {
            return None;
        }
        let mut sums = Vec::with_capacity(xy.len() + 1);
        let (mut sx, mut sy, mut max) = (0i64, 0i64, 0i64);
        sums.push((sx, sy));
        for &(x, y) in xy {
            if !(in_range(x) && in_range(y)) {
                return None;
            }
            // Truncated (one instruction; `round` is a call): below 1e12 µm in magnitude, so
            // the conversion is exact but for the dropped fraction, under 1 µm.
            let (px, py) = ((x * 1e6) as i64, (y * 1e6) as i64);
            max = max.max(px.abs()).max(py.abs());
            // Saturating: a sum that would overflow means max · count ≥ 2^63, which the check
            // below turns down.
            sx = sx.saturating_add(px);
            sy = sy.saturating_add(py);
            sums.push((sx, sy));
        }
        // `surely_breaks` forms count · position − sum over up to every fix: both terms stay
        // below 2^61 in magnitude, so neither they nor their difference overflow. A patrol
        // segment (positions within ~10 km: 1e10 µm) passes up to 2e8 fixes.
        let count = xy.len() as i64 + 1;
        if max.checked_mul(count).is_none_or(|m| m >= 1 << 61) {
            return None;
        }
        // The walk's rounding: each fix adds three roundings to its mean's error, together
        // under 1e-15 of the run's extent; a run of k fixes that each stayed within r of the
        // running mean spans at most r · (2 + ln k) (the mean moves less than r / (j − 1) at
        // its j-th fix). So at most k · 1e-15 · r · (2 + ln k) metres, for k the segment's
        // fixes.
        let k = xy.len().max(1) as f64;
        let rounding_um = 1e-9 * k * r * (2.0 + k.ln());
        Some(PositionSums {
            sums,
            reach_um: r * 1e6 + STATIC_PRUNE_MARGIN_UM + rounding_um,
        })
    }

    /// Whether fix `w` lies beyond the radius (by the margin) from the mean of fixes `i..=w`:
    /// then the run from `i`, if it gets as far as `w`, surely ends there. `i < w`.
    fn surely_breaks(&self, i: usize, w: usize) -> bool {
        let (before, at, after) = (self.sums[i], self.sums[w], self.sums[w + 1]);
        let count = (w + 1 - i) as i64;
        // count · (fix − mean), exact (see `new` for the range).
        let dx = (after.0 - at.0) * count - (after.0 - before.0);
        let dy = (after.1 - at.1) * count - (after.1 - before.1);
        let (dx, dy) = (dx as f64, dy as f64);
        let reach = self.reach_um * count as f64;
        dx * dx + dy * dy >= reach * reach
    }
}

fn mock_location<'a>(
    pings: impl IntoIterator<Item = &'a Ping>,
    tz: chrono_tz::Tz,
    out: &mut Vec<Anomaly>,
) {
    let mut clock = DayClock::new(tz);
    let mut by_day: Vec<(NaiveDate, u32, UnixMs, UnixMs)> = Vec::new();
    for p in pings.into_iter().filter(|p| p.mock) {
        let day = clock.day(p.ts);
        match by_day.iter_mut().find(|(d, ..)| *d == day) {
            Some((_, n, first, last)) => {
                *n += 1;
                *first = (*first).min(p.ts);
                *last = (*last).max(p.ts);
            }
            None => by_day.push((day, 1, p.ts, p.ts)),
        }
    }
    for (day, n, first, last) in by_day {
        out.push(Anomaly {
            day,
            finding: Finding::MockLocation {
                pings: n,
                first: format_timestamp(first),
                last: format_timestamp(last),
            },
        });
    }
}

fn future_timestamps(track: &Track, tz: chrono_tz::Tz, out: &mut Vec<Anomaly>) {
    let mut clock = DayClock::new(tz);
    let mut by_day: Vec<(NaiveDate, u32)> = Vec::new();
    for &ts in &track.cleaned.future {
        let day = clock.day(ts);
        match by_day.iter_mut().find(|(d, _)| *d == day) {
            Some((_, n)) => *n += 1,
            None => by_day.push((day, 1)),
        }
    }
    for (day, pings) in by_day {
        out.push(Anomaly {
            day,
            finding: Finding::FutureTimestamps { pings },
        });
    }
}

/// Samples each day of a track once a minute from the day's first fix, interpolating inside
/// segments and leaving gaps empty.
pub fn fingerprints(track: &Track, tz: chrono_tz::Tz) -> Vec<Fingerprint> {
    let fixes = track.fixes();
    let mut out: Vec<Fingerprint> = Vec::new();
    // The day being sampled; it joins `out` when a fix of another day comes, or at the end.
    let mut current: Option<Fingerprint> = None;
    let mut clock = DayClock::new(tz);
    for seg in &track.segments {
        let run = &fixes[seg.clone()];
        for (k, f) in run.iter().enumerate() {
            let day = clock.day(f.ts);
            if current.as_ref().is_some_and(|fp| fp.day != day) {
                out.extend(current.take());
            }
            let fp = current.get_or_insert_with(|| Fingerprint {
                day,
                start: f.ts,
                samples: Vec::new(),
            });
            let step_ms = FINGERPRINT_STEP_S * 1000;
            let slot = |ts: UnixMs| ((ts - fp.start) + step_ms - 1).div_euclid(step_ms) as usize;
            // Fill every sample instant in [f.ts, next.ts) by interpolation along the step.
            let next = run.get(k + 1);
            let end = next.map_or(f.ts + 1, |n| n.ts);
            let mut s = slot(f.ts);
            loop {
                let t = fp.start + s as i64 * step_ms;
                if t >= end {
                    break;
                }
                if fp.samples.len() <= s {
                    fp.samples.resize(s + 1, None);
                }
                // Rounded to 1e-7° (1 cm) so that a stored fingerprint compares as the fresh one.
                let (lon, lat) = interpolate(f, next, t);
                fp.samples[s] = Some((round7(lon), round7(lat)));
                s += 1;
            }
        }
    }
    out.extend(current);
    out
}

fn interpolate(a: &Fix, b: Option<&Fix>, t: UnixMs) -> (f64, f64) {
    match b {
        Some(b) if b.ts > a.ts => {
            let w = (t - a.ts) as f64 / (b.ts - a.ts) as f64;
            (a.lon + w * (b.lon - a.lon), a.lat + w * (b.lat - a.lat))
        }
        _ => (a.lon, a.lat),
    }
}

/// A fingerprint with what [`replay`] computes at its samples, each at most once however many
/// days it is compared with: the ellipsoid's scale at a sample, and the distance to the next
/// sample (whether the day moved in that minute). Both are found when first asked for, so a
/// comparison that stops early computes no more than it reads; the values are those computed
/// each time before.
pub struct Sampled<'a> {
    /// The fingerprint.
    pub fp: &'a Fingerprint,
    scale: Vec<OnceCell<Scale>>,
    step_m: Vec<OnceCell<f64>>,
}

impl<'a> Sampled<'a> {
    /// A fingerprint with nothing computed yet.
    pub fn new(fp: &'a Fingerprint) -> Sampled<'a> {
        let n = fp.samples.len();
        Sampled {
            fp,
            scale: (0..n).map(|_| OnceCell::new()).collect(),
            step_m: (0..n).map(|_| OnceCell::new()).collect(),
        }
    }

    /// The scale at sample `k`, whose position is `at`.
    #[inline]
    fn scale(&self, k: usize, at: (f64, f64)) -> Scale {
        *self.scale[k].get_or_init(|| Scale::at(at.1))
    }

    /// The distance from sample `k` (at `a`) to sample `k + 1` (at `b`), metres.
    #[inline]
    fn step_m(&self, k: usize, a: (f64, f64), b: (f64, f64)) -> f64 {
        *self.step_m[k].get_or_init(|| {
            distance_scaled_m(a.0, a.1, self.scale(k, a), b.0, b.1, self.scale(k + 1, b))
        })
    }
}

/// Each of `days` (in day order) compared by [`replay`] with the days of `earlier` and of
/// `days` before it that `compared(day, other)` admits; what the comparisons compute at a
/// day's samples is kept for the later days ([`Sampled`]). The findings, each with the index
/// in `days` of the day it flags.
pub fn replays<'f>(
    earlier: &'f [Fingerprint],
    days: impl IntoIterator<Item = &'f Fingerprint>,
    params: &AnomalyParams,
    compared: impl Fn(&Fingerprint, &Fingerprint) -> bool,
) -> Vec<(usize, Finding)> {
    let sampled: Vec<Sampled> = earlier.iter().chain(days).map(Sampled::new).collect();
    let mut out = Vec::new();
    for (k, day) in sampled.iter().enumerate().skip(earlier.len()) {
        let others: Vec<&Sampled> = sampled[..k]
            .iter()
            .filter(|e| compared(day.fp, e.fp))
            .collect();
        if let Some(finding) = replay(day, &others, params) {
            out.push((k - earlier.len(), finding));
        }
    }
    out
}

/// Compares a day's fingerprint with earlier days': the earliest day whose samples coincide
/// (within `replay_radius_m`) on at least `replay_min_share` of the minutes in which that day
/// moved, for at least `replay_min_s`, at the best of a few small time shifts.
pub fn replay(
    day: &Sampled<'_>,
    earlier: &[&Sampled<'_>],
    params: &AnomalyParams,
) -> Option<Finding> {
    let fp = day.fp;
    let mut best: Option<(f64, u32, &Fingerprint, i64)> = None;
    for sampled in earlier.iter().filter(|e| e.fp.day < fp.day) {
        let e = sampled.fp;
        for lag in -REPLAY_MAX_LAG_STEPS..=REPLAY_MAX_LAG_STEPS {
            let (mut moving, mut matched) = (0u32, 0u32);
            for (k, s) in fp.samples.iter().enumerate() {
                // Two unrelated days part ways within minutes: once enough moving minutes are
                // seen, a share far below the threshold cannot recover, so stop early.
                if moving >= REPLAY_EARLY_EXIT_MINUTES
                    && f64::from(matched) < 0.5 * params.replay_min_share * f64::from(moving)
                {
                    break;
                }
                let idx = k as i64 + lag;
                if idx < 0 {
                    continue;
                }
                let idx = idx as usize;
                let (Some(a), Some(b), Some(Some(b_next))) = (
                    s,
                    e.samples.get(idx).copied().flatten(),
                    e.samples.get(idx + 1),
                ) else {
                    continue;
                };
                // Only minutes in which the original moved count: two days at the same desk
                // coincide without being a replay.
                if sampled.step_m(idx, b, *b_next) < params.replay_radius_m {
                    continue;
                }
                moving += 1;
                let (a_scale, b_scale) = (day.scale(k, *a), sampled.scale(idx, b));
                if distance_scaled_m(a.0, a.1, a_scale, b.0, b.1, b_scale) < params.replay_radius_m
                {
                    matched += 1;
                }
            }
            if moving == 0 {
                continue;
            }
            let share = f64::from(matched) / f64::from(moving);
            if share >= params.replay_min_share
                && f64::from(matched) * FINGERPRINT_STEP_S as f64 >= params.replay_min_s
                && best.is_none_or(|(s, ..)| share > s)
            {
                best = Some((share, matched, e, lag));
            }
        }
    }
    best.map(|(share, matched, e, lag)| Finding::Replay {
        of_day: e.day,
        matched_share: (share * 1000.0).round() / 1000.0,
        matched_minutes: matched,
        shift_s: (fp.start - e.start) / 1000 - lag * FINGERPRINT_STEP_S,
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_timestamp, WorkerId};
    use crate::track::{build, TrackParams};
    use proptest::prelude::*;

    /// A ping `east_m`/`north_m` metres from a base point in Changsha.
    fn ping(ts: UnixMs, east_m: f64, north_m: f64) -> Ping {
        let (lon, lat) = LocalFrame::new(112.98, 28.2).unproject(east_m, north_m);
        Ping::new(WorkerId::new("w"), ts, lon, lat)
    }

    fn morning(day: u32) -> UnixMs {
        parse_timestamp(&format!("2026-10-{day:02}T09:00:00+08:00")).unwrap()
    }

    /// A walk of `minutes` at 1.2 m/s along a zigzag whose shape depends on `route`.
    fn walk(start: UnixMs, minutes: i64, route: f64) -> Vec<Ping> {
        (0..minutes * 6)
            .map(|k| {
                let d = k as f64 * 12.0;
                let (e, n) = (d % 400.0, (d / 400.0).floor() * 60.0 * route);
                ping(start + k * 10_000, e, n)
            })
            .collect()
    }

    fn run(pings: &[Ping]) -> Vec<Anomaly> {
        let params = AnomalyParams::from_config(&Config::default());
        let track = build(pings, &TrackParams::default());
        detect(pings, &track, &[], &params, chrono_tz::Asia::Shanghai).0
    }

    fn kinds(a: &[Anomaly]) -> Vec<&'static str> {
        a.iter().map(Anomaly::kind).collect()
    }

    #[test]
    fn a_phone_on_a_desk_for_over_an_hour_is_a_static_device() {
        let t0 = morning(8);
        // 70 minutes jittering within 4 m, then a walk.
        let mut pings: Vec<Ping> = (0..420)
            .map(|k| ping(t0 + k * 10_000, (k % 3) as f64 * 2.0, (k % 5) as f64 * 1.0))
            .collect();
        pings.extend(walk(t0 + 4_200_000, 30, 1.0));
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["static_device"]);
        let Finding::StaticDevice { minutes, fixes, .. } = &a[0].finding else {
            unreachable!()
        };
        assert!(
            *minutes >= 69.8 && *fixes >= 420,
            "{minutes} min, {fixes} fixes"
        );
    }

    #[test]
    fn fifty_minutes_on_a_desk_or_a_walk_is_not_flagged() {
        let t0 = morning(8);
        let mut pings: Vec<Ping> = (0..300)
            .map(|k| ping(t0 + k * 10_000, 0.0, (k % 4) as f64))
            .collect();
        pings.extend(walk(t0 + 3_000_000, 120, 1.0));
        assert!(run(&pings).is_empty(), "{:?}", run(&pings));
    }

    #[test]
    fn a_track_replayed_on_a_later_day_is_flagged_with_the_original_day() {
        let day1 = walk(morning(8), 90, 1.0);
        // The same positions two days later, started 7 minutes later in the day.
        let shift = morning(10) - morning(8) + 420_000;
        let mut pings = day1.clone();
        pings.extend(day1.iter().map(|p| Ping {
            ts: p.ts + shift,
            ..p.clone()
        }));
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["replay"]);
        let Finding::Replay {
            of_day,
            matched_share,
            shift_s,
            ..
        } = &a[0].finding
        else {
            unreachable!()
        };
        assert_eq!(of_day.to_string(), "2026-10-08");
        assert!(*matched_share > 0.95, "{matched_share}");
        assert_eq!(*shift_s, shift / 1000);
        assert_eq!(a[0].day.to_string(), "2026-10-10");
    }

    #[test]
    fn a_different_walk_on_a_later_day_is_not_a_replay() {
        let mut pings = walk(morning(8), 90, 1.0);
        pings.extend(walk(morning(9), 90, -1.0));
        assert!(run(&pings).is_empty());
    }

    #[test]
    fn three_long_jumps_flag_a_day_and_short_outliers_do_not_count() {
        let t0 = morning(8);
        let mut pings = walk(t0, 60, 1.0);
        // Three 5 km teleports and four 150 m urban-canyon outliers, each a single ping.
        for (k, off) in [
            (50, 5000.0),
            (120, 5000.0),
            (200, 5000.0),
            (80, 150.0),
            (150, 150.0),
            (250, 150.0),
            (300, 150.0),
        ] {
            let p = &pings[k];
            let (e, n) = LocalFrame::new(112.98, 28.2).project(p.lon, p.lat);
            pings[k] = ping(p.ts, e + off, n);
        }
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["jumps"]);
        let Finding::Jumps {
            count,
            max_distance_m,
            ..
        } = &a[0].finding
        else {
            unreachable!()
        };
        assert_eq!(*count, 3);
        assert!(*max_distance_m > 4900.0);
        // Two teleports are not enough.
        let mut fewer = walk(t0, 60, 1.0);
        for k in [50, 120] {
            let p = &fewer[k];
            fewer[k] = ping(p.ts, 5000.0, 0.0);
        }
        assert!(run(&fewer).is_empty());
    }

    #[test]
    fn mock_flags_are_counted_per_day() {
        let mut pings = walk(morning(8), 30, 1.0);
        pings.extend(walk(morning(9), 30, 1.0).into_iter().map(|p| Ping {
            ts: p.ts + 1000,
            ..p
        }));
        for k in [3, 4, 5] {
            pings[k].mock = true;
        }
        let a: Vec<Anomaly> = run(&pings)
            .into_iter()
            .filter(|a| a.kind() == "mock_location")
            .collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].day.to_string(), "2026-10-08");
        assert!(matches!(
            a[0].finding,
            Finding::MockLocation { pings: 3, .. }
        ));
    }

    #[test]
    fn timestamps_ahead_of_receipt_are_flagged() {
        let mut pings = walk(morning(8), 10, 1.0);
        for p in pings.iter_mut().take(4) {
            p.received = Some(p.ts - 600_000);
        }
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["future_timestamps"]);
        assert!(matches!(
            a[0].finding,
            Finding::FutureTimestamps { pings: 4 }
        ));
    }

    /// The static-device check as first written (before issue 19), verbatim: every start's run
    /// walked to its end. The reference that [`static_device`] must reproduce exactly.
    fn static_device_literal(
        track: &Track,
        params: &AnomalyParams,
        tz: chrono_tz::Tz,
        out: &mut Vec<Anomaly>,
    ) {
        let fixes = track.fixes();
        let min_ms = params.static_min_s * 1000.0;
        let r2 = params.static_radius_m * params.static_radius_m;
        let mut clock = DayClock::new(tz);
        for seg in &track.segments {
            let run = &fixes[seg.clone()];
            let frame = LocalFrame::new(run[0].lon, run[0].lat);
            let xy: Vec<(f64, f64)> = run.iter().map(|f| frame.project(f.lon, f.lat)).collect();
            let mut i = 0;
            while i < run.len() {
                let (x0, y0) = xy[i];
                let (mut mx, mut my, mut n) = (0.0, 0.0, 1.0);
                let mut j = i + 1;
                while j < run.len() {
                    let (x, y) = (xy[j].0 - x0, xy[j].1 - y0);
                    let (nx, ny) = ((mx * n + x) / (n + 1.0), (my * n + y) / (n + 1.0));
                    if (x - nx).powi(2) + (y - ny).powi(2) >= r2 {
                        break;
                    }
                    (mx, my, n) = (nx, ny, n + 1.0);
                    j += 1;
                }
                let (first, last) = (&run[i], &run[j - 1]);
                if ((last.ts - first.ts) as f64) >= min_ms {
                    let (lon, lat) = frame.unproject(x0 + mx, y0 + my);
                    out.push(Anomaly {
                        day: clock.day(first.ts),
                        finding: Finding::StaticDevice {
                            start: format_timestamp(first.ts),
                            end: format_timestamp(last.ts),
                            minutes: round1((last.ts - first.ts) as f64 / 60_000.0),
                            lon: round7(lon),
                            lat: round7(lat),
                            fixes: (j - i) as u32,
                        },
                    });
                    i = j;
                } else {
                    i += 1;
                }
            }
        }
    }

    /// The same walk on bare positions: the runs [`static_runs`] must return.
    fn static_runs_literal(
        ts: &[UnixMs],
        xy: &[(f64, f64)],
        min_ms: f64,
        r2: f64,
    ) -> Vec<StaticRun> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < xy.len() {
            let (x0, y0) = xy[i];
            let (mut mx, mut my, mut n) = (0.0, 0.0, 1.0);
            let mut j = i + 1;
            while j < xy.len() {
                let (x, y) = (xy[j].0 - x0, xy[j].1 - y0);
                let (nx, ny) = ((mx * n + x) / (n + 1.0), (my * n + y) / (n + 1.0));
                if (x - nx).powi(2) + (y - ny).powi(2) >= r2 {
                    break;
                }
                (mx, my, n) = (nx, ny, n + 1.0);
                j += 1;
            }
            if ((ts[j - 1] - ts[i]) as f64) >= min_ms {
                out.push(StaticRun {
                    start: i,
                    end: j,
                    centre: (x0 + mx, y0 + my),
                });
                i = j;
            } else {
                i += 1;
            }
        }
        out
    }

    /// Runs compared bit for bit (a NaN centre equals itself).
    fn run_bits(runs: &[StaticRun]) -> Vec<(usize, usize, u64, u64)> {
        runs.iter()
            .map(|r| (r.start, r.end, r.centre.0.to_bits(), r.centre.1.to_bits()))
            .collect()
    }

    /// One stretch of a generated track: `len` fixes whose centre moves `step_m` per fix
    /// along `heading`, each scattered up to `noise_m` around it (a desk: step 0; a walk:
    /// step ~12 m; a slow drift at the edge of the radius: the cases the pruning must not get
    /// wrong), `dt_ms` apart; `outlier_m` puts the stretch's middle fix that far off.
    #[derive(Clone, Debug)]
    struct Stretch {
        len: usize,
        step_m: f64,
        heading: f64,
        noise_m: f64,
        dt_ms: i64,
        outlier_m: f64,
    }

    fn stretch() -> impl Strategy<Value = Stretch> {
        (
            1usize..160,
            prop_oneof![Just(0.0), 0.0f64..0.6, 0.0f64..3.0, 5.0f64..15.0],
            0.0f64..std::f64::consts::TAU,
            prop_oneof![Just(0.0), 0.0f64..4.0, 0.0f64..25.0],
            prop_oneof![Just(10_000i64), 0i64..30_000],
            prop_oneof![4 => Just(0.0), 1 => 15.0f64..200.0],
        )
            .prop_map(
                |(len, step_m, heading, noise_m, dt_ms, outlier_m)| Stretch {
                    len,
                    step_m,
                    heading,
                    noise_m,
                    dt_ms,
                    outlier_m,
                },
            )
    }

    /// A generated segment: timestamps and positions (metres). `lattice_m > 0` rounds every
    /// coordinate to that grid, so that fixes land exactly on the radius (a mean of two fixes
    /// 40 m apart lies exactly 20 m from each); `disorder` swaps a few timestamps.
    fn segment(
        stretches: &[Stretch],
        seed: u64,
        lattice_m: f64,
        disorder: bool,
    ) -> (Vec<UnixMs>, Vec<(f64, f64)>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut ts, mut xy) = (Vec::new(), Vec::new());
        let (mut t, mut cx, mut cy) = (1_791_385_200_000i64, 0.0f64, 0.0f64);
        for s in stretches {
            for k in 0..s.len {
                cx += s.step_m * s.heading.cos();
                cy += s.step_m * s.heading.sin();
                let (mut x, mut y) = (
                    cx + s.noise_m * rng.random_range(-1.0..=1.0),
                    cy + s.noise_m * rng.random_range(-1.0..=1.0),
                );
                if k == s.len / 2 {
                    x += s.outlier_m;
                }
                if lattice_m > 0.0 {
                    (x, y) = (
                        (x / lattice_m).round() * lattice_m,
                        (y / lattice_m).round() * lattice_m,
                    );
                }
                t += s.dt_ms;
                ts.push(t);
                xy.push((x, y));
            }
        }
        if disorder && ts.len() > 2 {
            for _ in 0..3 {
                let a = rng.random_range(0..ts.len());
                let b = rng.random_range(0..ts.len());
                ts.swap(a, b);
            }
        }
        (ts, xy)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The pruned scan returns exactly the literal walk's runs (same fixes, centres equal
        /// bit for bit) on stops, walks, drifts at the edge of the radius, outliers, equal
        /// and out-of-order timestamps, and lattice positions exactly on the radius.
        #[test]
        fn static_runs_equal_the_literal_walk(
            stretches in prop::collection::vec(stretch(), 1..8),
            seed in any::<u64>(),
            lattice_m in prop_oneof![4 => Just(0.0), 1 => Just(1.0), 1 => Just(5.0)],
            radius_m in prop_oneof![Just(20.0), Just(5.0), 0.5f64..30.0],
            min_s in prop_oneof![Just(0.0), 1.0f64..120.0, 120.0f64..1200.0],
            disorder in prop::bool::weighted(0.05),
        ) {
            let (ts, xy) = segment(&stretches, seed, lattice_m, disorder);
            let (min_ms, r2) = (min_s * 1000.0, radius_m * radius_m);
            prop_assert_eq!(
                run_bits(&static_runs(&ts, &xy, min_ms, r2)),
                run_bits(&static_runs_literal(&ts, &xy, min_ms, r2))
            );
        }

        /// Through the whole check (cleaning, segments, the local frame, days, rounding): the
        /// same flags as the literal walk.
        #[test]
        fn static_device_flags_equal_the_literal_walk(
            stretches in prop::collection::vec(stretch(), 1..8),
            seed in any::<u64>(),
            radius_m in 3.0f64..30.0,
            min_s in 60.0f64..900.0,
        ) {
            let (ts, xy) = segment(&stretches, seed, 0.0, false);
            let pings: Vec<Ping> = ts.iter().zip(&xy).map(|(&t, &(x, y))| ping(t, x, y)).collect();
            let params = AnomalyParams {
                static_min_s: min_s,
                static_radius_m: radius_m,
                ..AnomalyParams::from_config(&Config::default())
            };
            let track = build(&pings, &TrackParams::default());
            let (mut new, mut old) = (Vec::new(), Vec::new());
            static_device(&track, &params, chrono_tz::Asia::Shanghai, &mut new);
            static_device_literal(&track, &params, chrono_tz::Asia::Shanghai, &mut old);
            prop_assert_eq!(new, old);
        }
    }

    #[test]
    fn the_pruning_never_claims_a_break_within_its_margin() {
        // Fix 1 lies exactly on the radius from the mean of fixes 0..=1: the walk breaks
        // there (`>=`), the pruning must not claim it (it may only err on the side of walking).
        let r = 20.0;
        for (far_m, claimed) in [(40.0, false), (40.0 + 18e-6, false), (40.0 + 22e-6, true)] {
            let xy = [(0.0, 0.0), (far_m, 0.0)];
            let sums = PositionSums::new(&xy, r * r).unwrap();
            assert_eq!(sums.surely_breaks(0, 1), claimed, "{far_m}");
            assert_eq!(greedy_run(&xy, 0, r * r).0, 1);
        }
        // Out of range, or not a number: no pruning at all.
        assert!(PositionSums::new(&[(2e6, 0.0)], 400.0).is_none());
        assert!(PositionSums::new(&[(f64::NAN, 0.0)], 400.0).is_none());
        assert!(PositionSums::new(&[(0.0, 0.0)], f64::INFINITY).is_none());
        // NaN positions: the walk never breaks on them, and the result is still the walk's.
        let ts: Vec<UnixMs> = (0..50).map(|k| k * 10_000).collect();
        let xy: Vec<(f64, f64)> = (0..50)
            .map(|k| {
                if k == 20 {
                    (f64::NAN, 0.0)
                } else {
                    (k as f64 * 3.0, 0.0)
                }
            })
            .collect();
        assert_eq!(
            run_bits(&static_runs(&ts, &xy, 60_000.0, 400.0)),
            run_bits(&static_runs_literal(&ts, &xy, 60_000.0, 400.0))
        );
    }

    #[test]
    fn stops_shorter_than_the_minimum_give_the_literal_runs() {
        // The case the pruning is for: many 55-minute stops (one fix every 10 s, jittering
        // within 6 m), each followed by a 10-minute walk, and one 70-minute stop.
        let (mut ts, mut xy) = (Vec::new(), Vec::new());
        let (mut t, mut x) = (0i64, 0.0f64);
        for stop in 0..12 {
            let fixes = if stop == 7 { 420 } else { 330 };
            for k in 0..fixes {
                t += 10_000;
                ts.push(t);
                xy.push((x + (k % 3) as f64 * 2.0, (k % 7) as f64));
            }
            for _ in 0..60 {
                t += 10_000;
                x += 12.0;
                ts.push(t);
                xy.push((x, 0.0));
            }
        }
        let runs = static_runs(&ts, &xy, 3_600_000.0, 400.0);
        assert_eq!(
            run_bits(&runs),
            run_bits(&static_runs_literal(&ts, &xy, 3_600_000.0, 400.0))
        );
        // The 70-minute stop, and the last few fixes of the walk to it (their running mean
        // stays within the radius of each next fix as the walk slows into the stop).
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert!(
            runs[0].start <= 7 * 390 && runs[0].end > 7 * 390 + 420,
            "{runs:?}"
        );
    }
}
