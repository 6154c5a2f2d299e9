//! Route coverage of city-management vehicles (street sweepers, washers): one vehicle's fixes
//! over one planned [`Route`] on one local day → a [`RouteDay`] of figures. The figures are
//! defined in README.md, "Route coverage (vehicles)"; the independent reference is
//! `tests/reference/route_coverage.py` (Shapely + pyproj), checked by
//! `tests/it/route_coverage.rs`.
//!
//! Pure: no I/O, no async. [`clean`] orders and gates the fixes; [`RouteIndex`] cuts a route
//! into pieces once (R-trees of pieces and of the route's segments) and computes any number of
//! vehicle-days over it; [`route_day`] does both for one day. [`vehicle_days`] computes all of
//! one vehicle's route-days (each route indexed once) and [`days_touched`] says which days a
//! set of fixes changes; [`month`] folds a month of [`VehicleDay`]s into the report's vehicle
//! section.

mod clean;
pub mod month;
mod pieces;
mod vehicle;

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{local_midnight_ms, UnixMs};
use crate::registry::{Route, Schedule};

pub use clean::clean;
pub use pieces::{axial_angle_deg, segment_distance, Piece, RoutePieces, Xy, MIN_DIRECTED_M};
pub use vehicle::{days_touched, fix_window, vehicle_days, VehicleDay};

/// One fix reported by a vehicle terminal (e.g. a JT/T 808 location report).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleFix {
    /// When, UTC milliseconds.
    pub t: UnixMs,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// The speed the terminal reported, km/h (kept for display; figures use the speed of
    /// steps).
    pub speed_kmh: Option<f64>,
    /// Whether the working equipment (brushes, pump) was on; `None`: not reported.
    pub work: Option<bool>,
    /// Water pressure, MPa; `None`: not reported.
    pub pressure: Option<f64>,
    /// Whether the ignition (ACC) was on; `None`: not reported.
    pub acc: Option<bool>,
}

impl VehicleFix {
    /// The fix of a stored ping of a vehicle: its reported speed from m/s to km/h, its work
    /// state, pressure and ignition as reported. The one conversion of every door.
    pub fn of_ping(p: &crate::model::Ping) -> VehicleFix {
        VehicleFix {
            t: p.ts,
            lon: p.lon,
            lat: p.lat,
            speed_kmh: p.speed_mps.map(|v| f64::from(v) * 3.6),
            work: p.work,
            pressure: p.pressure_mpa.map(f64::from),
            acc: p.ignition,
        }
    }
}

/// The parameters of route coverage (README "Route coverage (vehicles)").
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteParams {
    /// Length of a route piece along its line, metres.
    pub piece_m: f64,
    /// How far from a piece (or the route) a step may run and still count, metres.
    pub tolerance_m: f64,
    /// The largest angle between a step and a piece (modulo 180°) for the step to pass it,
    /// degrees.
    pub heading_tolerance_deg: f64,
    /// The longest interval between consecutive fixes that is still a step, seconds.
    pub gap_s: f64,
    /// The cleaning speed gate, km/h.
    pub max_vehicle_speed_kmh: f64,
}

impl Default for RouteParams {
    fn default() -> RouteParams {
        RouteParams {
            piece_m: 10.0,
            tolerance_m: 15.0,
            // Below 45°, so that a step passes at most one of two perpendicular streets (a
            // vehicle crossing the route at a junction passes nothing), with room for a
            // street's own bends between fixes 10–30 s apart and for GPS noise on a moving
            // vehicle (±5 m across a 40 m step turns it by ≤ 14°).
            heading_tolerance_deg: 30.0,
            gap_s: 120.0,
            max_vehicle_speed_kmh: 120.0,
        }
    }
}

/// A gap in reporting that overlaps one of the day's scheduled windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteGap {
    /// The fix before the gap, UTC ms.
    pub from: UnixMs,
    /// The fix after it, UTC ms.
    pub to: UnixMs,
}

/// One vehicle's work on one route on one local day (README "Route coverage (vehicles)").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteDay {
    /// The route's code.
    pub route: Arc<str>,
    /// The local day.
    pub day: NaiveDate,
    /// The day's span `[from, to)` in UTC ms: the steps that start in it are the day's.
    pub span: (UnixMs, UnixMs),
    /// The route's length, metres.
    pub length_m: f64,
    /// Share of the route's length in pieces with at least one pass.
    pub worked_share: f64,
    /// Share of the route's length in pieces with at least `route.passes` passes.
    pub passes_met_share: f64,
    /// Worked length over the worked length with the window condition dropped; `None` when
    /// nothing was worked at all.
    pub on_schedule_share: Option<f64>,
    /// Duration of working steps within `tolerance_m` of the route, seconds.
    pub work_time_on_route_s: f64,
    /// Duration of the other working steps, seconds.
    pub work_time_off_route_s: f64,
    /// Length of working steps within `tolerance_m` of the route, metres.
    pub work_distance_on_route_m: f64,
    /// Length of the other working steps, metres.
    pub work_distance_off_route_m: f64,
    /// Duration of working steps within tolerance of the route faster than
    /// `max_work_speed_kmh`, seconds.
    pub over_speed_s: f64,
    /// Duration of working steps whose reported pressure is below `min_pressure`, seconds.
    pub under_pressure_s: f64,
    /// Gaps in reporting that overlap one of the day's windows.
    pub gaps: Vec<RouteGap>,
    /// The gaps' total overlap with the day's windows, seconds.
    pub gap_s_in_window: f64,
    /// Passes of each piece, in the order of [`RoutePieces::pieces`] (saturating at 65535).
    pub pieces: Vec<u16>,
}

/// The span of a route's local day, `[from, to)` in UTC ms: from the day's local midnight, or
/// from the end of the previous day's last window if that crosses into this day, to the next
/// local midnight, or to the end of this day's last window if that crosses it. Consecutive
/// days' spans tile time, so each step belongs to exactly one route-day.
///
/// The caller passes [`RouteIndex::route_day`] the vehicle's cleaned fixes in the span plus the
/// last fix before it and the first fix after it (a longer slice gives the same figures):
/// for a window 22:00–04:00 that means the next morning's fixes up to 04:00 and one more.
pub fn day_span(schedule: &Schedule, day: NaiveDate, tz: chrono_tz::Tz) -> (UnixMs, UnixMs) {
    let last_end = |d: Option<NaiveDate>| {
        d.and_then(|d| schedule.intervals(d, tz).iter().map(|w| w.1).max())
            .unwrap_or(UnixMs::MIN)
    };
    let midnight = |d: Option<NaiveDate>| d.and_then(|d| local_midnight_ms(d, tz));
    let (Some(start), Some(end)) = (midnight(Some(day)), midnight(day.succ_opt())) else {
        return (0, 0);
    };
    (
        start.max(last_end(day.pred_opt())),
        end.max(last_end(Some(day))),
    )
}

/// A route prepared for coverage: its pieces and indexes, and the parameters.
#[derive(Debug)]
pub struct RouteIndex<'r> {
    route: &'r Route,
    params: RouteParams,
    pieces: RoutePieces,
}

/// What the passes of every piece are counted with: per piece, the last pair of fixes (index)
/// that was near it and whether its current visit has been a pass.
struct PassCounter {
    passes: Vec<u32>,
    last_near: Vec<usize>,
    run_passed: Vec<bool>,
}

impl PassCounter {
    fn new(n: usize) -> PassCounter {
        PassCounter {
            passes: vec![0; n],
            last_near: vec![usize::MAX; n],
            run_passed: vec![false; n],
        }
    }

    /// The pair of fixes `k` is near piece `p`, and is a qualifying step passing it or not.
    fn near(&mut self, p: usize, k: usize, passing: bool) {
        // A visit goes on only from the pair just before; a pair that was not near ended it.
        let continues = k > 0 && self.last_near[p] == k - 1;
        if !continues {
            self.run_passed[p] = false;
        }
        if passing && !self.run_passed[p] {
            self.passes[p] += 1;
            self.run_passed[p] = true;
        }
        self.last_near[p] = k;
    }

    /// The length of pieces with at least `min` passes.
    fn length_with(&self, pieces: &[Piece], min: u32) -> f64 {
        pieces
            .iter()
            .zip(&self.passes)
            .filter(|(_, &n)| n >= min)
            .map(|(p, _)| p.length_m)
            .sum()
    }
}

impl RouteDay {
    /// The day of a route with nothing worked yet: every figure zero, no gap, no piece
    /// counted (the start of [`RouteIndex::route_day`]'s walk).
    pub fn nothing(route: Arc<str>, day: NaiveDate, span: (UnixMs, UnixMs), length_m: f64) -> Self {
        RouteDay {
            route,
            day,
            span,
            length_m,
            worked_share: 0.0,
            passes_met_share: 0.0,
            on_schedule_share: None,
            work_time_on_route_s: 0.0,
            work_time_off_route_s: 0.0,
            work_distance_on_route_m: 0.0,
            work_distance_off_route_m: 0.0,
            over_speed_s: 0.0,
            under_pressure_s: 0.0,
            gaps: Vec::new(),
            gap_s_in_window: 0.0,
            pieces: Vec::new(),
        }
    }
}

impl<'r> RouteIndex<'r> {
    /// Cuts the route into pieces and indexes them.
    pub fn new(route: &'r Route, params: &RouteParams) -> RouteIndex<'r> {
        RouteIndex {
            route,
            params: *params,
            pieces: RoutePieces::new(&route.lines, params.piece_m),
        }
    }

    /// The route's pieces and frame.
    pub fn pieces(&self) -> &RoutePieces {
        &self.pieces
    }

    /// The figures of one vehicle on the route on local day `day` in `tz`, from its fixes
    /// after [`clean`] (see [`day_span`] for which fixes to pass). Pairs of fixes not strictly
    /// increasing in time are not steps.
    pub fn route_day(&self, fixes: &[VehicleFix], day: NaiveDate, tz: chrono_tz::Tz) -> RouteDay {
        let p = &self.params;
        let route = self.route;
        let frame = self.pieces.frame();
        let windows = merged(route.schedule.intervals(day, tz));
        let span = day_span(&route.schedule, day, tz);
        let in_window = |t: UnixMs| windows.iter().any(|&(a, b)| a <= t && t < b);
        let pieces = self.pieces.pieces();
        let piece_dirs: Vec<Option<Xy>> =
            pieces.iter().map(|q| direction(q.start, q.end)).collect();
        let xy: Vec<Xy> = fixes.iter().map(|f| frame.project(f.lon, f.lat)).collect();

        let mut in_window_passes = PassCounter::new(pieces.len());
        let mut any_time_passes = PassCounter::new(pieces.len());
        let mut day = RouteDay::nothing(route.code.clone(), day, span, self.pieces.length_m());

        for (k, (pair, ab)) in fixes.windows(2).zip(xy.windows(2)).enumerate() {
            let (a, b) = (&pair[0], &pair[1]);
            if b.t <= a.t {
                continue;
            }
            let (pa, pb) = (ab[0], ab[1]);
            let dt_s = (b.t - a.t) as f64 / 1000.0;
            // What this pair of fixes may pass: nothing, unless it is a qualifying step (with
            // or without the window condition).
            let mut qualifies_any_time = false;
            let mut scheduled = false;
            if dt_s > p.gap_s {
                let overlap_ms: i64 = windows
                    .iter()
                    .map(|&(w0, w1)| (b.t.min(w1) - a.t.max(w0)).max(0))
                    .sum();
                if overlap_ms > 0 {
                    day.gaps.push(RouteGap { from: a.t, to: b.t });
                    day.gap_s_in_window += overlap_ms as f64 / 1000.0;
                }
            } else if span.0 <= a.t && a.t < span.1 && working(a) {
                let len_m = pieces::dist(pa, pb);
                let speed_kmh = len_m / dt_s * 3.6;
                if self.pieces.near_route(pa, pb, p.tolerance_m) {
                    day.work_time_on_route_s += dt_s;
                    day.work_distance_on_route_m += len_m;
                    if speed_kmh > route.max_work_speed_kmh {
                        day.over_speed_s += dt_s;
                    }
                } else {
                    day.work_time_off_route_s += dt_s;
                    day.work_distance_off_route_m += len_m;
                }
                let pressure_ok = match (route.min_pressure, a.pressure) {
                    (Some(min), Some(p)) => {
                        if p < min {
                            day.under_pressure_s += dt_s;
                        }
                        p >= min
                    }
                    _ => true,
                };
                qualifies_any_time = speed_kmh <= route.max_work_speed_kmh && pressure_ok;
                scheduled = qualifies_any_time && in_window(a.t);
            }
            // Every pair near a piece (a step of any kind, or a gap) continues the piece's
            // visit; only a qualifying step that passes it makes the visit a pass.
            let step_dir = direction(pa, pb);
            self.pieces.for_each_near_piece(pa, pb, p.tolerance_m, |q| {
                let passing = qualifies_any_time
                    && match (step_dir, piece_dirs[q]) {
                        (Some(u), Some(v)) => axial_angle_deg(u, v) <= p.heading_tolerance_deg,
                        // A piece with no direction (a hairpin within one piece) is passed
                        // by any directed step near it.
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                any_time_passes.near(q, k, passing);
                in_window_passes.near(q, k, passing && scheduled);
            });
        }

        let length = day.length_m;
        if length > 0.0 {
            day.worked_share = in_window_passes.length_with(pieces, 1) / length;
            day.passes_met_share = in_window_passes.length_with(pieces, route.passes) / length;
        }
        let worked_any_time = any_time_passes.length_with(pieces, 1);
        if worked_any_time > 0.0 {
            day.on_schedule_share = Some(in_window_passes.length_with(pieces, 1) / worked_any_time);
        }
        day.pieces = in_window_passes
            .passes
            .iter()
            .map(|&n| u16::try_from(n).unwrap_or(u16::MAX))
            .collect();
        day
    }
}

/// One vehicle's figures on one route on one local day: [`RouteIndex::new`] and
/// [`RouteIndex::route_day`] (build the index once per route when computing many days).
pub fn route_day(
    route: &Route,
    fixes: &[VehicleFix],
    day: NaiveDate,
    tz: chrono_tz::Tz,
    params: &RouteParams,
) -> RouteDay {
    RouteIndex::new(route, params).route_day(fixes, day, tz)
}

/// A step's work state: the `work` its first fix reports; not reported, the ignition: working
/// unless ACC is reported off (a terminal with no work sensor on a parked, switched-off
/// vehicle is not working).
pub fn working(a: &VehicleFix) -> bool {
    a.work.unwrap_or(a.acc != Some(false))
}

/// The direction a→b, or `None` when shorter than [`MIN_DIRECTED_M`].
fn direction(a: Xy, b: Xy) -> Option<Xy> {
    (pieces::dist(a, b) >= MIN_DIRECTED_M).then_some((b.0 - a.0, b.1 - a.1))
}

/// Intervals sorted and merged, so an overlap is counted once.
fn merged(mut intervals: Vec<(UnixMs, UnixMs)>) -> Vec<(UnixMs, UnixMs)> {
    intervals.sort_unstable();
    let mut out: Vec<(UnixMs, UnixMs)> = Vec::with_capacity(intervals.len());
    for (a, b) in intervals {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::LocalFrame;
    use crate::model::UnitCode;
    use crate::registry::{Assignment, Window};

    // Routes lie along y = 0 of a frame at (24.94, 60.17), so the engine's frame (centred on
    // the route's box, at the same latitude) differs from it only by a shift in x: metres
    // below are the engine's metres.
    const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

    fn frame() -> LocalFrame {
        LocalFrame::new(24.94, 60.17)
    }

    fn tuesday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 13).unwrap()
    }

    /// UTC ms of local `h:m:s` on `day` (Asia/Shanghai).
    fn at(day: NaiveDate, h: i64, m: i64, s: i64) -> UnixMs {
        local_midnight_ms(day, TZ).unwrap() + ((h * 60 + m) * 60 + s) * 1000
    }

    fn route(lines: &[&[(f64, f64)]], passes: u32, window: (u16, u16)) -> Route {
        let f = frame();
        Route {
            code: "r1".into(),
            name: "test".into(),
            unit: UnitCode("1".into()),
            kind: "sweeping".into(),
            assigned: Assignment::Kind("sweeper".into()),
            lines: lines
                .iter()
                .map(|l| l.iter().map(|&(x, y)| f.unproject(x, y)).collect())
                .collect(),
            schedule: Schedule {
                windows: vec![Window {
                    days: 0x7f,
                    start_min: window.0,
                    end_min: window.1,
                }],
            },
            passes,
            max_work_speed_kmh: 15.0,
            min_pressure: None,
        }
    }

    /// The 100 m street (0, 0)–(100, 0), worked 06:00–10:00.
    fn street(passes: u32) -> Route {
        route(&[&[(0.0, 0.0), (100.0, 0.0)]], passes, (360, 600))
    }

    fn fix(t: UnixMs, x: f64, y: f64) -> VehicleFix {
        let (lon, lat) = frame().unproject(x, y);
        VehicleFix {
            t,
            lon,
            lat,
            speed_kmh: None,
            work: Some(true),
            pressure: None,
            acc: None,
        }
    }

    /// Fixes every 10 s from `t0` through the points.
    fn drive(t0: UnixMs, points: &[(f64, f64)]) -> Vec<VehicleFix> {
        points
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| fix(t0 + i as i64 * 10_000, x, y))
            .collect()
    }

    fn along(xs: std::ops::RangeInclusive<i32>, step: usize, y: f64) -> Vec<(f64, f64)> {
        xs.step_by(step).map(|x| (f64::from(x), y)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn a_sweep_along_the_street_passes_every_piece_once() {
        let r = street(1);
        // x = −20, 0, …, 120 at y = 5, 20 m every 10 s (7.2 km/h): 7 steps, each within 5 m of
        // the street, so 70 s and 140 m on the route; each 10 m piece is near a run of steps
        // that pass it (parallel) once.
        let fixes = drive(at(tuesday(), 7, 0, 0), &along(-20..=120, 20, 5.0));
        let d = route_day(&r, &fixes, tuesday(), TZ, &RouteParams::default());
        assert!(close(d.length_m, 100.0));
        assert_eq!(d.pieces, vec![1; 10]);
        assert!(close(d.worked_share, 1.0) && close(d.passes_met_share, 1.0));
        assert_eq!(d.on_schedule_share, Some(1.0));
        assert!(close(d.work_time_on_route_s, 70.0) && close(d.work_time_off_route_s, 0.0));
        assert!(close(d.work_distance_on_route_m, 140.0));
        assert_eq!((d.over_speed_s, d.under_pressure_s), (0.0, 0.0));
        assert!(d.gaps.is_empty());
    }

    #[test]
    fn a_u_turn_beyond_the_end_is_two_passes_at_a_dead_end_one_for_the_last_pieces() {
        let r = street(2);
        let p = RouteParams::default();
        // Out along y = 3 to x = 140, across to y = −3, back to x = −20. The steps near
        // (100, ±3)–(140, ±3) are ≥ 20 m from piece 9 (90–100 m), so each piece has two visits,
        // each with passing steps: 2 passes everywhere.
        let mut pts = along(-20..=140, 20, 3.0);
        pts.extend(along(-140..=20, 20, -3.0).into_iter().map(|(x, y)| (-x, y)));
        let d = route_day(&r, &drive(at(tuesday(), 7, 0, 0), &pts), tuesday(), TZ, &p);
        assert_eq!(d.pieces, vec![2; 10]);
        assert!(close(d.passes_met_share, 1.0));
        // Turning at the dead end x = 100: the turn (100, 3)–(100, −3) is within 15 m of
        // pieces 8 (80–90 m: 10 m) and 9 (0 m), so their visit never ends — one pass; piece 7
        // (70–80 m) is 20 m from the turn: two. 80 of 100 m have both passes.
        let mut pts = along(-20..=100, 20, 3.0);
        pts.extend(along(-100..=20, 20, -3.0).into_iter().map(|(x, y)| (-x, y)));
        let d = route_day(&r, &drive(at(tuesday(), 7, 0, 0), &pts), tuesday(), TZ, &p);
        assert_eq!(d.pieces, vec![2, 2, 2, 2, 2, 2, 2, 2, 1, 1]);
        assert!(close(d.worked_share, 1.0) && close(d.passes_met_share, 0.8));
    }

    #[test]
    fn parking_on_the_street_with_jitter_a_pause_and_a_quiet_terminal_adds_no_pass() {
        let r = street(1);
        let t0 = at(tuesday(), 7, 0, 0);
        let mut fixes = drive(t0, &along(-20..=40, 20, 2.0));
        // 60 fixes parked at (50, 2), jittering by up to 3 m; steps like (50, 2)–(53, 2) are
        // parallel to the street, ≥ 1 m long, slow and working: they pass pieces 2–6, but
        // every pair stays within 15 m of those pieces, so their visit never ends.
        let jitter = [
            (0.0, 0.0),
            (3.0, 0.0),
            (0.0, 2.0),
            (-3.0, -1.0),
            (1.0, 1.0),
            (-2.0, 0.0),
        ];
        let mut t = t0 + 40_000;
        for i in 0..60 {
            let (dx, dy) = jitter[i % jitter.len()];
            let mut f = fix(t, 50.0 + dx, 2.0 + dy);
            // Brushes off for a while (not working: not qualifying, but still near).
            f.work = Some(!(20..30).contains(&i));
            fixes.push(f);
            // The terminal falls quiet for 300 s after the 40th fix: a gap, still near.
            t += if i == 40 { 300_000 } else { 10_000 };
        }
        fixes.extend(drive(t, &along(60..=120, 20, 2.0)));
        let d = route_day(&r, &fixes, tuesday(), TZ, &RouteParams::default());
        assert_eq!(d.pieces, vec![1; 10]);
        let gap_from = t0 + 40_000 + 40 * 10_000;
        assert_eq!(
            d.gaps,
            vec![RouteGap {
                from: gap_from,
                to: gap_from + 300_000
            }]
        );
        assert!(close(d.gap_s_in_window, 300.0));
    }

    #[test]
    fn crossing_the_street_passes_nothing() {
        let r = street(1);
        // Along x = 50 from y = −100 to 100, 20 m every 10 s: the steps (50, −20)–(50, 0) and
        // (50, 0)–(50, 20) touch the street (20 s, 40 m on the route), the other 8 are ≥ 20 m
        // from it (80 s, 160 m off). Near pieces 2–6 but at 90°: no pass.
        let pts: Vec<(f64, f64)> = (-5..=5).map(|i| (50.0, f64::from(i) * 20.0)).collect();
        let d = route_day(
            &r,
            &drive(at(tuesday(), 7, 0, 0), &pts),
            tuesday(),
            TZ,
            &RouteParams::default(),
        );
        assert_eq!(d.pieces, vec![0; 10]);
        assert_eq!((d.worked_share, d.on_schedule_share), (0.0, None));
        assert!(close(d.work_time_on_route_s, 20.0) && close(d.work_time_off_route_s, 80.0));
        assert!(close(d.work_distance_on_route_m, 40.0));
        assert!(close(d.work_distance_off_route_m, 160.0));
    }

    #[test]
    fn a_window_across_midnight_takes_the_next_morning_and_the_span_ends_with_it() {
        // 22:00–04:00 every day.
        let r = route(&[&[(0.0, 0.0), (100.0, 0.0)]], 1, (1320, 240));
        let (tue, wed) = (tuesday(), tuesday().succ_opt().unwrap());
        // Tuesday's span: from the end of Monday's window (Tue 04:00) to the end of its own
        // (Wed 04:00).
        assert_eq!(
            day_span(&r.schedule, tue, TZ),
            (at(tue, 4, 0, 0), at(wed, 4, 0, 0))
        );
        // A: the whole street on Tuesday 21:50, before the window (7 steps, 70 s).
        let mut fixes = drive(at(tue, 21, 50, 0), &along(-20..=120, 20, 3.0));
        // B: Wednesday 03:00, in Tuesday's window, x = −20 … 40 (3 steps, 30 s): passes
        // pieces 0–5 (the step 20–40 is 10.4 m from piece 5, 50–60 m).
        fixes.extend(drive(at(wed, 3, 0, 0), &along(-20..=40, 20, 3.0)));
        // C: Wednesday 04:10, after Tuesday's span, x = 40 … 120.
        fixes.extend(drive(at(wed, 4, 10, 0), &along(40..=120, 20, 3.0)));
        let p = RouteParams::default();
        let d = route_day(&r, &fixes, tue, TZ, &p);
        assert!(close(d.worked_share, 0.6));
        // Worked without the window: A's whole street; 60 of 100 m in the window.
        assert!(close(d.on_schedule_share.unwrap(), 0.6));
        assert!(close(d.work_time_on_route_s, 100.0));
        // Gaps: 21:51:10 → 03:00 overlaps 22:00–03:00 (18000 s); 03:00:30 → 04:10 overlaps
        // until 04:00 (3570 s).
        assert_eq!(d.gaps.len(), 2);
        assert!(close(d.gap_s_in_window, 21_570.0));
        // Wednesday: C is in its span but not in its window (22:00 Wednesday).
        let d = route_day(&r, &fixes, wed, TZ, &p);
        assert_eq!(d.worked_share, 0.0);
        assert_eq!(d.on_schedule_share, Some(0.0));
        assert!(d.gaps.is_empty());
        assert!(close(d.work_time_on_route_s, 40.0));
    }

    #[test]
    fn too_fast_or_too_little_pressure_does_not_qualify() {
        let mut r = street(1);
        r.min_pressure = Some(0.3);
        // (−20, 2) → (30, 2) → (80, 2): 50 m in 10 s, 18 km/h > 15: 20 s over speed, no pass.
        // (80, 2) → (100, 2): 7.2 km/h at 0.5 MPa qualifies and passes pieces 6–9 (60–100 m;
        // piece 5, 50–60 m, is 20 m from it). (100, 2) → (120, 2) at 0.2 MPa: 10 s under
        // pressure.
        let pressures = [0.5, 0.5, 0.5, 0.2, 0.2];
        let mut fixes = drive(
            at(tuesday(), 7, 0, 0),
            &[
                (-20.0, 2.0),
                (30.0, 2.0),
                (80.0, 2.0),
                (100.0, 2.0),
                (120.0, 2.0),
            ],
        );
        for (f, p) in fixes.iter_mut().zip(pressures) {
            f.pressure = Some(p);
        }
        let d = route_day(&r, &fixes, tuesday(), TZ, &RouteParams::default());
        assert_eq!(d.pieces, vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert!(close(d.worked_share, 0.4));
        assert!(close(d.over_speed_s, 20.0) && close(d.under_pressure_s, 10.0));
        // Without a pressure set by the route, the low pressure is no fault (and the last step
        // qualifies, but its pieces, 8 and 9, are passed already: the same visit).
        r.min_pressure = None;
        let d = route_day(&r, &fixes, tuesday(), TZ, &RouteParams::default());
        assert_eq!(d.under_pressure_s, 0.0);
        assert_eq!(d.pieces, vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    }

    #[test]
    fn a_ping_becomes_a_fix() {
        let mut p = crate::model::Ping::new(crate::model::WorkerId::new("v1"), 1_000, 24.9, 60.1);
        p.speed_mps = Some(2.5);
        p.work = Some(true);
        p.pressure_mpa = Some(0.25);
        p.ignition = Some(false);
        let f = VehicleFix::of_ping(&p);
        assert_eq!((f.t, f.lon, f.lat), (1_000, 24.9, 60.1));
        assert!((f.speed_kmh.unwrap() - 9.0).abs() < 1e-9);
        assert_eq!((f.work, f.acc), (Some(true), Some(false)));
        assert!((f.pressure.unwrap() - 0.25).abs() < 1e-7);
        let bare = VehicleFix::of_ping(&crate::model::Ping::new(
            crate::model::WorkerId::new("v1"),
            0,
            0.0,
            0.0,
        ));
        assert_eq!(
            (bare.speed_kmh, bare.work, bare.pressure, bare.acc),
            (None, None, None, None)
        );
    }

    #[test]
    fn work_state_is_the_sensor_then_the_ignition() {
        let mut f = fix(0, 0.0, 0.0);
        f.work = None;
        assert!(working(&f));
        f.acc = Some(false);
        assert!(!working(&f));
        f.work = Some(true);
        assert!(working(&f));
    }

    #[test]
    fn params_default_from_an_empty_table_and_a_day_round_trips() {
        let p: RouteParams = serde_json::from_str("{}").unwrap();
        assert_eq!(p, RouteParams::default());
        let r = street(1);
        let fixes = drive(at(tuesday(), 7, 0, 0), &along(-20..=120, 20, 5.0));
        let d = route_day(&r, &fixes, tuesday(), TZ, &p);
        let back: RouteDay = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
