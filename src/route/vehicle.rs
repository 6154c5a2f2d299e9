//! One vehicle's days: every route planned for it and scheduled on a day, each as a
//! [`RouteDay`] over that day's span, and the vehicle's own working time on and off its routes
//! with each step counted once (README "Route coverage (vehicles)", "Monthly vehicle report").
//!
//! Pure: the caller passes all of one vehicle's fixes; they are cleaned here as one stream, and
//! each route is indexed once for all the days asked.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{clean, day_span, merged, pieces, working, RouteDay, RouteIndex, RouteParams};
use super::{VehicleFix, Xy};
use crate::geodesy::distance_m;
use crate::model::{local_midnight_ms, UnixMs};
use crate::registry::{Fleet, Registry, Route, Schedule, Vehicle};
use crate::track::local_day;

/// One vehicle's local day: its scheduled routes' figures and its own working time.
///
/// Stored by the service as a summary (postcard, so no field is ever skipped when written):
/// [`VehicleDay::FORMAT`] says which layout and meaning a stored one has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleDay {
    /// The vehicle's id.
    pub vehicle: Arc<str>,
    /// The local day.
    pub day: NaiveDate,
    /// The vehicle-day's span `[from, to)`, UTC ms: [`day_span`] of the union of the
    /// schedules of every route planned for the vehicle, so consecutive vehicle-days tile time.
    pub span: (UnixMs, UnixMs),
    /// Each route planned for the vehicle and scheduled on the day, in the fleet's order.
    pub routes: Vec<RouteDay>,
    /// Working time of the steps starting in [`VehicleDay::span`] within `tolerance_m` of one
    /// of the day's scheduled routes, seconds (each step once, however many routes it is near).
    pub work_time_on_route_s: f64,
    /// Working time of the other steps starting in the span, seconds.
    pub work_time_off_route_s: f64,
    /// Length of the working steps on route, metres.
    pub work_distance_on_route_m: f64,
    /// Length of the other working steps, metres.
    pub work_distance_off_route_m: f64,
    /// Working steps on route faster than the `max_work_speed_kmh` of a route they are near,
    /// seconds.
    pub over_speed_s: f64,
    /// Working steps whose reported pressure is below the `min_pressure` of a route they are
    /// near (of any of the day's routes, when near none), seconds.
    pub under_pressure_s: f64,
    /// Gaps in reporting overlapping the union of the day's scheduled windows: their total
    /// overlap with it, seconds.
    pub gap_s_in_window: f64,
}

impl VehicleDay {
    /// The day of a vehicle with these route-days and no working time of its own yet.
    pub fn of_routes(
        vehicle: Arc<str>,
        day: NaiveDate,
        span: (UnixMs, UnixMs),
        routes: Vec<RouteDay>,
    ) -> Self {
        VehicleDay {
            vehicle,
            day,
            span,
            routes,
            work_time_on_route_s: 0.0,
            work_time_off_route_s: 0.0,
            work_distance_on_route_m: 0.0,
            work_distance_off_route_m: 0.0,
            over_speed_s: 0.0,
            under_pressure_s: 0.0,
            gap_s_in_window: 0.0,
        }
    }

    /// The layout and meaning of the stored form; bump it when a field or a definition
    /// changes, so that stored vehicle-days of another format are recomputed.
    pub const FORMAT: u32 = 1;

    /// Whether the day holds nothing: no route scheduled and no working step.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
            && self.work_time_on_route_s == 0.0
            && self.work_time_off_route_s == 0.0
            && self.gap_s_in_window == 0.0
    }
}

/// The figures of one vehicle on `days` (one [`VehicleDay`] per day given, in that order): for
/// each day, every route [`Fleet::routes_of`] the vehicle that is scheduled on the day, as a
/// [`RouteDay`] over the route's [`day_span`] (with the fix before and the fix after it), and
/// the vehicle's own working time over its vehicle-day span.
///
/// `fixes` are the vehicle's fixes the caller has, in any order. Each day is computed from the
/// fixes in its [`fix_window`] only, [`clean`]ed as one stream, so a door that passes all of a
/// month's fixes and one that passes each day's window get the same figures. A day without a
/// scheduled route still has its working time (all of it off route).
pub fn vehicle_days(
    fleet: &Fleet,
    registry: &Registry,
    vehicle: &Vehicle,
    fixes: &[VehicleFix],
    days: &[NaiveDate],
    tz: chrono_tz::Tz,
    params: &RouteParams,
) -> Vec<VehicleDay> {
    let mut sorted = fixes.to_vec();
    // Stable: of fixes with one timestamp the first given stays first (as `clean` keeps it).
    sorted.sort_by_key(|f| f.t);
    let routes: Vec<&Route> = fleet.routes_of(vehicle, registry).collect();
    // Each route cut and indexed once, for all the days.
    let indexes: Vec<RouteIndex<'_>> = routes.iter().map(|r| RouteIndex::new(r, params)).collect();
    let all = Schedule {
        windows: routes
            .iter()
            .flat_map(|r| r.schedule.windows.iter().copied())
            .collect(),
    };
    days.iter()
        .map(|&day| {
            let w = fix_window(day, tz);
            let from = sorted.partition_point(|f| f.t < w.start);
            let to = sorted.partition_point(|f| f.t < w.end);
            let fixes = clean(&sorted[from..to], params);
            let scheduled: Vec<&RouteIndex<'_>> = indexes
                .iter()
                .filter(|ix| ix.route.schedule.scheduled_on(day))
                .collect();
            let route_days = scheduled
                .iter()
                .map(|ix| {
                    let span = day_span(&ix.route.schedule, day, tz);
                    ix.route_day(span_slice(&fixes, span), day, tz)
                })
                .collect();
            let span = day_span(&all, day, tz);
            let mut out = VehicleDay::of_routes(vehicle.id.clone(), day, span, route_days);
            own_work(&mut out, span_slice(&fixes, span), &scheduled, tz, params);
            out
        })
        .collect()
}

/// The fixes a vehicle-day of `day` is computed from, UTC ms: from an hour before the local
/// day to an hour after the next one. A window that crosses midnight ends on the next day,
/// and each span needs the fix before and after it; a terminal that reports at least hourly
/// gives every span its neighbours. The one rule of every door (a stored vehicle-day's
/// window: a fix arriving in it makes the day stale).
pub fn fix_window(day: NaiveDate, tz: chrono_tz::Tz) -> std::ops::Range<UnixMs> {
    let midnight = |d: NaiveDate| local_midnight_ms(d, tz).unwrap_or_default();
    let after = day.succ_opt().and_then(|d| d.succ_opt()).unwrap_or(day);
    midnight(day) - 3_600_000..midnight(after) + 3_600_000
}

/// The cleaned fixes a span needs: those in `[from, to)` and the one before and after.
fn span_slice(fixes: &[VehicleFix], (from, to): (UnixMs, UnixMs)) -> &[VehicleFix] {
    let first = fixes.partition_point(|f| f.t < from).saturating_sub(1);
    let end = (fixes.partition_point(|f| f.t < to) + 1).min(fixes.len());
    fixes.get(first..end).unwrap_or(&[])
}

/// The vehicle-level working figures of one day, each step once (see [`VehicleDay`]).
fn own_work(
    out: &mut VehicleDay,
    fixes: &[VehicleFix],
    routes: &[&RouteIndex<'_>],
    tz: chrono_tz::Tz,
    p: &RouteParams,
) {
    let windows = merged(
        routes
            .iter()
            .flat_map(|ix| ix.route.schedule.intervals(out.day, tz))
            .collect(),
    );
    // Lengths in the first scheduled route's frame (as that route's `RouteDay` measures
    // them), else on the ellipsoid.
    let frame = routes.first().map(|ix| ix.pieces.frame());
    for pair in fixes.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.t <= a.t {
            continue;
        }
        let dt_s = (b.t - a.t) as f64 / 1000.0;
        if dt_s > p.gap_s {
            let overlap_ms: i64 = windows
                .iter()
                .map(|&(w0, w1)| (b.t.min(w1) - a.t.max(w0)).max(0))
                .sum();
            out.gap_s_in_window += overlap_ms as f64 / 1000.0;
            continue;
        }
        if !(out.span.0 <= a.t && a.t < out.span.1 && working(a)) {
            continue;
        }
        let len_m = match &frame {
            Some(f) => pieces::dist(f.project(a.lon, a.lat), f.project(b.lon, b.lat)),
            None => distance_m(a.lon, a.lat, b.lon, b.lat),
        };
        let speed_kmh = len_m / dt_s * 3.6;
        let near: Vec<&Route> = routes
            .iter()
            .filter(|ix| {
                let f = ix.pieces.frame();
                let (pa, pb): (Xy, Xy) = (f.project(a.lon, a.lat), f.project(b.lon, b.lat));
                ix.pieces.near_route(pa, pb, p.tolerance_m)
            })
            .map(|ix| ix.route)
            .collect();
        if near.is_empty() {
            out.work_time_off_route_s += dt_s;
            out.work_distance_off_route_m += len_m;
        } else {
            out.work_time_on_route_s += dt_s;
            out.work_distance_on_route_m += len_m;
            if near.iter().any(|r| speed_kmh > r.max_work_speed_kmh) {
                out.over_speed_s += dt_s;
            }
        }
        let judged: Vec<&Route> = if near.is_empty() {
            routes.iter().map(|ix| ix.route).collect()
        } else {
            near
        };
        let low = a.pressure.is_some_and(|pr| {
            judged
                .iter()
                .any(|r| r.min_pressure.is_some_and(|min| pr < min))
        });
        if low {
            out.under_pressure_s += dt_s;
        }
    }
}

/// The local days whose figures a set of fixes can change, sorted: for each fix, its local
/// day in `tz`, the day before (a window crossing midnight counts the morning for the day it
/// starts on) and the day after (a fix is the one before the next day's span). The one rule of
/// which days to (re)compute, for every door.
///
/// A fix that ends a silence also changes the day of the fix before it (the gap it closes):
/// a door adding fixes to stored ones asks the days of the new fixes together with those of
/// their stored neighbours (the last stored fix before each run of new ones and the first
/// after).
pub fn days_touched(fixes: &[VehicleFix], tz: chrono_tz::Tz) -> Vec<NaiveDate> {
    let mut days = BTreeSet::new();
    for f in fixes {
        let day = local_day(f.t, tz);
        days.extend(
            [day.pred_opt(), Some(day), day.succ_opt()]
                .into_iter()
                .flatten(),
        );
    }
    days.into_iter().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::geodesy::LocalFrame;
    use crate::model::UnitCode;
    use crate::registry::{Assignment, Window};

    const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

    fn frame() -> LocalFrame {
        LocalFrame::new(24.94, 60.17)
    }

    /// Monday 2026-10-12.
    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 12).unwrap()
    }

    fn at(day: NaiveDate, h: i64, m: i64) -> UnixMs {
        local_midnight_ms(day, TZ).unwrap() + (h * 60 + m) * 60_000
    }

    /// A registry of one street `s` with two communities `c1`, `c2` below it.
    pub(crate) fn registry() -> Registry {
        let grids = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"code":"s","name":"S","level":"street","parent":null},"geometry":null},
          {"type":"Feature","properties":{"code":"c1","name":"C1","level":"community","parent":"s"},"geometry":null},
          {"type":"Feature","properties":{"code":"c2","name":"C2","level":"community","parent":"s"},"geometry":null},
          {"type":"Feature","properties":{"code":"g1","name":"G","level":"grid","parent":"c1"},
           "geometry":{"type":"Polygon","coordinates":[[[24.93,60.16],[24.95,60.16],[24.95,60.18],[24.93,60.18],[24.93,60.16]]]}}]}"#;
        Registry::from_sources(
            crate::registry::Source::new("grids.geojson", grids),
            None,
            None,
            &crate::registry::LoadOptions::default(),
        )
        .unwrap()
    }

    /// A route along y = `y` from x = 0 to 100 in the test frame.
    fn route(code: &str, unit: &str, y: f64, assigned: Assignment, window: Window) -> Route {
        let f = frame();
        Route {
            code: code.into(),
            name: code.into(),
            unit: UnitCode(unit.into()),
            kind: "sweeper".into(),
            assigned,
            lines: vec![vec![f.unproject(0.0, y), f.unproject(100.0, y)]],
            schedule: Schedule {
                windows: vec![window],
            },
            passes: 1,
            max_work_speed_kmh: 15.0,
            min_pressure: None,
        }
    }

    fn window(days: u8, start_min: u16, end_min: u16) -> Window {
        Window {
            days,
            start_min,
            end_min,
        }
    }

    fn vehicle(id: &str, unit: &str) -> Vehicle {
        Vehicle {
            id: id.into(),
            plate: format!("湘A·{id}"),
            kind: "sweeper".into(),
            unit: UnitCode(unit.into()),
        }
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

    /// Fixes every 10 s from `t0` along y = `y`, x = −20, 0, …, 120 (7 steps, 140 m).
    fn sweep(t0: UnixMs, y: f64) -> Vec<VehicleFix> {
        (0..8)
            .map(|i| fix(t0 + i * 10_000, -20.0 + 20.0 * i as f64, y))
            .collect()
    }

    const MON_FRI: u8 = 0b001_1111;
    const DAILY: u8 = 0x7f;

    #[test]
    fn each_day_has_the_routes_planned_for_the_vehicle_and_scheduled_that_day() {
        let reg = registry();
        let fleet = Fleet::new(
            vec![vehicle("v1", "c1"), vehicle("v2", "c2")],
            vec![
                // For every sweeper under the street, weekdays 06:00–10:00.
                route(
                    "a",
                    "s",
                    0.0,
                    Assignment::Kind("sweeper".into()),
                    window(MON_FRI, 360, 600),
                ),
                // Only for v1, Sundays.
                route(
                    "b",
                    "c1",
                    200.0,
                    Assignment::Vehicles(vec!["v1".into()]),
                    window(1 << 6, 360, 600),
                ),
                // For sweepers of c2 only: not v1's.
                route(
                    "c",
                    "c2",
                    400.0,
                    Assignment::Kind("sweeper".into()),
                    window(DAILY, 360, 600),
                ),
            ],
        );
        let days: Vec<NaiveDate> = monday().iter_days().take(7).collect();
        let v1 = fleet.vehicle("v1").unwrap();
        // v1 sweeps route a on Monday 07:00.
        let fixes = sweep(at(monday(), 7, 0), 3.0);
        let out = vehicle_days(&fleet, &reg, v1, &fixes, &days, TZ, &RouteParams::default());
        assert_eq!(out.len(), 7);
        let codes: Vec<Vec<&str>> = out
            .iter()
            .map(|d| d.routes.iter().map(|r| &*r.route).collect())
            .collect();
        assert_eq!(
            codes,
            [
                vec!["a"],
                vec!["a"],
                vec!["a"],
                vec!["a"],
                vec!["a"],
                vec![],
                vec!["b"]
            ]
        );
        assert!((out[0].routes[0].worked_share - 1.0).abs() < 1e-9);
        assert_eq!(out[1].routes[0].worked_share, 0.0);
        // 7 steps of 20 m and 10 s, each within 3 m of route a.
        assert!((out[0].work_time_on_route_s - 70.0).abs() < 1e-9);
        assert!((out[0].work_distance_on_route_m - 140.0).abs() < 1e-6);
        assert_eq!(out[0].work_time_off_route_s, 0.0);
        assert!(out[5].is_empty() && !out[6].is_empty());
        // v2 gets a (kind, under the street) and c every day.
        let v2 = fleet.vehicle("v2").unwrap();
        let out = vehicle_days(
            &fleet,
            &reg,
            v2,
            &[],
            &days[..1],
            TZ,
            &RouteParams::default(),
        );
        let codes: Vec<&str> = out[0].routes.iter().map(|r| &*r.route).collect();
        assert_eq!(codes, ["a", "c"]);
    }

    #[test]
    fn a_window_across_midnight_counts_the_next_morning_and_a_step_once() {
        let reg = registry();
        // Route a 22:00–04:00 daily; route b (y = 10, parallel, 10 m away) 06:00–10:00 daily.
        let fleet = Fleet::new(
            vec![vehicle("v1", "c1")],
            vec![
                route(
                    "a",
                    "s",
                    0.0,
                    Assignment::Kind("sweeper".into()),
                    window(DAILY, 1320, 240),
                ),
                route(
                    "b",
                    "s",
                    10.0,
                    Assignment::Kind("sweeper".into()),
                    window(DAILY, 360, 600),
                ),
            ],
        );
        let (mon, tue) = (monday(), monday().succ_opt().unwrap());
        let v1 = fleet.vehicle("v1").unwrap();
        // Tuesday 03:00 (Monday's night window) along y = 5: near both routes.
        // Tuesday 07:00 along y = 5 again: Tuesday's, near both.
        let mut fixes = sweep(at(tue, 3, 0), 5.0);
        fixes.extend(sweep(at(tue, 7, 0), 5.0));
        let out = vehicle_days(
            &fleet,
            &reg,
            v1,
            &fixes,
            &[mon, tue],
            TZ,
            &RouteParams::default(),
        );
        // Monday: route a worked at 03:00 Tuesday (its span runs to Tuesday 04:00); route b's
        // Monday span ends at Tuesday 00:00, so nothing.
        let (a, b) = (&out[0].routes[0], &out[0].routes[1]);
        assert!((a.worked_share - 1.0).abs() < 1e-9 && b.worked_share == 0.0);
        // The vehicle's Monday span runs to the end of route a's window, Tuesday 04:00: the
        // 03:00 sweep is Monday's, once (70 s), though near both routes.
        assert_eq!(out[0].span, (at(mon, 4, 0), at(tue, 4, 0)));
        assert!((out[0].work_time_on_route_s - 70.0).abs() < 1e-9);
        // Tuesday: the 07:00 sweep passes b (and a, out of a's window: not worked); 70 s once.
        let (a, b) = (&out[1].routes[0], &out[1].routes[1]);
        assert!((b.worked_share - 1.0).abs() < 1e-9 && a.worked_share == 0.0);
        assert_eq!(a.on_schedule_share, Some(0.0));
        assert!((out[1].work_time_on_route_s - 70.0).abs() < 1e-9);
        // The gap 03:01:10 → 07:00 overlaps Tuesday's windows (b 06:00–10:00; a from 22:00)
        // for 06:00–07:00: 3600 s; Monday's (a until Tuesday 04:00) for 03:01:10–04:00: 3530 s.
        // No fix before 03:00: no gap from Monday 22:00.
        assert!((out[1].gap_s_in_window - 3600.0).abs() < 1e-9);
        // Each day alone, from the fixes of its window only, gives the same day.
        for (i, &day) in [mon, tue].iter().enumerate() {
            let w = fix_window(day, TZ);
            let own: Vec<VehicleFix> = fixes.iter().filter(|f| w.contains(&f.t)).copied().collect();
            let alone = vehicle_days(&fleet, &reg, v1, &own, &[day], TZ, &RouteParams::default());
            assert_eq!(alone[0], out[i]);
        }
        assert!((out[0].gap_s_in_window - 3530.0).abs() < 1e-9);
    }

    #[test]
    fn days_touched_are_each_fix_day_and_its_neighbours() {
        let f = |t| fix(t, 0.0, 0.0);
        let tue = monday().succ_opt().unwrap();
        let days = days_touched(&[f(at(tue, 23, 0)), f(at(monday(), 1, 0))], TZ);
        let want: Vec<NaiveDate> = monday().pred_opt().unwrap().iter_days().take(4).collect();
        assert_eq!(days, want);
        assert!(days_touched(&[], TZ).is_empty());
    }

    #[test]
    fn a_vehicle_day_round_trips_through_postcard() {
        let reg = registry();
        let fleet = Fleet::new(
            vec![vehicle("v1", "c1")],
            vec![route(
                "a",
                "s",
                0.0,
                Assignment::Kind("sweeper".into()),
                window(DAILY, 360, 600),
            )],
        );
        let v1 = fleet.vehicle("v1").unwrap();
        let fixes = sweep(at(monday(), 7, 0), 3.0);
        let d = vehicle_days(
            &fleet,
            &reg,
            v1,
            &fixes,
            &[monday()],
            TZ,
            &RouteParams::default(),
        );
        let bytes = postcard::to_allocvec(&d[0]).unwrap();
        let back: VehicleDay = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, d[0]);
    }
}
