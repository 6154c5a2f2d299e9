//! The month of the vehicles: [`VehicleDay`]s folded in one at a time ([`VehicleMonth`], like
//! `assess::month::MonthDays`), then [`vehicle_report`]: one row per vehicle, per route and per
//! unit, as the report's vehicles section. Every column is defined in README.md, "Monthly
//! vehicle report".
//!
//! Pure. The scheduled route-days come from the fleet and the month, not from the days folded
//! in: a scheduled route-day without a folded vehicle-day (no fix at all) counts as not worked,
//! so every door gives the same rows whichever empty days it stored.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use super::{RouteParams, RoutePieces, VehicleDay};
use crate::model::{Level, Month};
use crate::registry::{Fleet, Registry, Route};
use crate::report::{RouteRow, VehicleReport, VehicleRow, VehicleUnitRow};

/// The worked share at or above which a route-day counts as fully worked. Not 1: a street
/// worked end to end still loses a piece or two to noise where a step cuts a corner between
/// fixes (it passes neither street) or where a line ends in a turn within `tolerance_m`; on a
/// route of 1–2 km that is 1–3 %. Below 0.95 a skipped side street of 100 m would pass.
pub const FULL_SHARE: f64 = 0.95;

/// What the month keeps of one vehicle on one route on one day.
#[derive(Clone, Copy, Debug)]
struct Figures {
    worked_share: f64,
    passes_met_share: f64,
    on_schedule_share: Option<f64>,
}

/// One route on one day, all vehicles together: passes per piece summed.
#[derive(Clone, Debug, Default)]
struct Combined {
    passes: Vec<u16>,
    /// The best single vehicle's shares, for a day whose pieces no longer match the route.
    best: (f64, f64),
    /// Vehicles that worked it (worked share > 0).
    worked_by: Vec<Arc<str>>,
}

/// A vehicle's working figures summed over the month (seconds, metres).
#[derive(Clone, Copy, Debug, Default)]
struct Work {
    on_s: f64,
    off_s: f64,
    on_m: f64,
    off_m: f64,
    over_speed_s: f64,
    under_pressure_s: f64,
    gap_s: f64,
}

/// A month of vehicle-days, folded in one at a time: per vehicle, route and day a few shares;
/// per route and day the passes per piece of all vehicles together; per vehicle its summed
/// working time.
#[derive(Debug)]
pub struct VehicleMonth {
    month: Month,
    seen: HashSet<(Arc<str>, NaiveDate)>,
    route_days: HashMap<(Arc<str>, Arc<str>, NaiveDate), Figures>,
    combined: HashMap<(Arc<str>, NaiveDate), Combined>,
    work: HashMap<Arc<str>, Work>,
}

impl VehicleMonth {
    /// No days yet.
    pub fn new(month: Month) -> VehicleMonth {
        VehicleMonth {
            month,
            seen: HashSet::new(),
            route_days: HashMap::new(),
            combined: HashMap::new(),
            work: HashMap::new(),
        }
    }

    /// Folds in one vehicle-day; a day outside the month, or a vehicle-day folded in already,
    /// is ignored.
    pub fn add(&mut self, day: &VehicleDay) {
        if !self.month.period().contains(day.day)
            || !self.seen.insert((day.vehicle.clone(), day.day))
        {
            return;
        }
        for r in &day.routes {
            self.route_days.insert(
                (day.vehicle.clone(), r.route.clone(), day.day),
                Figures {
                    worked_share: r.worked_share,
                    passes_met_share: r.passes_met_share,
                    on_schedule_share: r.on_schedule_share,
                },
            );
            let c = self.combined.entry((r.route.clone(), day.day)).or_default();
            if c.passes.len() < r.pieces.len() {
                c.passes.resize(r.pieces.len(), 0);
            }
            for (sum, &n) in c.passes.iter_mut().zip(&r.pieces) {
                *sum = sum.saturating_add(n);
            }
            c.best.0 = c.best.0.max(r.worked_share);
            c.best.1 = c.best.1.max(r.passes_met_share);
            if r.worked_share > 0.0 {
                c.worked_by.push(day.vehicle.clone());
            }
        }
        let w = self.work.entry(day.vehicle.clone()).or_default();
        w.on_s += day.work_time_on_route_s;
        w.off_s += day.work_time_off_route_s;
        w.on_m += day.work_distance_on_route_m;
        w.off_m += day.work_distance_off_route_m;
        w.over_speed_s += day.over_speed_s;
        w.under_pressure_s += day.under_pressure_s;
        w.gap_s += day.gap_s_in_window;
    }

    /// How many vehicle-days were folded in.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no vehicle-day was folded in.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The month the days were folded for.
    pub fn month(&self) -> Month {
        self.month
    }
}

/// Why a vehicle report could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VehicleReportError {
    /// The scope is not a unit of the registry.
    #[error("no unit {0:?} in the registry: give the code of a community, street or district")]
    UnknownUnit(String),
}

/// A route's combined figures on one scheduled day: (worked share, passes-met share).
fn day_shares(route: &Route, pieces: &RoutePieces, c: Option<&Combined>) -> (f64, f64) {
    let Some(c) = c else {
        return (0.0, 0.0);
    };
    let length = pieces.length_m();
    if c.passes.len() != pieces.pieces().len() || length <= 0.0 {
        // Vehicle-days computed on other lines than the registry's now: the best vehicle's.
        return c.best;
    }
    let with = |min: u32| -> f64 {
        pieces
            .pieces()
            .iter()
            .zip(&c.passes)
            .filter(|(_, &n)| u32::from(n) >= min)
            .map(|(p, _)| p.length_m)
            .sum::<f64>()
            / length
    };
    (with(1), with(route.passes))
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

/// The report's vehicles section for the folded month: the vehicles and routes whose unit is
/// within `scope` (every one without a scope) and the units in scope with any of them at or
/// below, each column as README.md "Monthly vehicle report" defines it.
///
/// # Errors
/// [`VehicleReportError::UnknownUnit`] when `scope` is not a unit of the registry.
pub fn vehicle_report(
    folded: &VehicleMonth,
    fleet: &Fleet,
    registry: &Registry,
    scope: Option<&str>,
    params: &RouteParams,
) -> Result<VehicleReport, VehicleReportError> {
    let scope = match scope {
        Some(code) => Some(
            registry
                .unit_index(code)
                .ok_or_else(|| VehicleReportError::UnknownUnit(code.to_string()))?,
        ),
        None => None,
    };
    let in_scope = |unit: &str| match (registry.unit_index(unit), scope) {
        (Some(u), Some(s)) => registry.is_within(u, s),
        (Some(_), None) => true,
        (None, _) => false,
    };
    let unit_name = |code: &str| registry.unit(code).map_or("", |u| u.name.as_str());
    let period = folded.month.period();
    let days: Vec<NaiveDate> = period
        .first
        .iter_days()
        .take_while(|d| *d <= period.last)
        .collect();
    let pieces: HashMap<&str, RoutePieces> = fleet
        .routes
        .iter()
        .map(|r| (&*r.code, RoutePieces::new(&r.lines, params.piece_m)))
        .collect();
    let length = |r: &Route| pieces.get(&*r.code).map_or(0.0, RoutePieces::length_m);

    let mut vehicles = Vec::new();
    for v in fleet.vehicles.iter().filter(|v| in_scope(&v.unit.0)) {
        let routes: Vec<&Route> = fleet.routes_of(v, registry).collect();
        let mut row = VehicleRow {
            vehicle: v.id.to_string(),
            plate: v.plate.clone(),
            kind: v.kind.clone(),
            unit: v.unit.0.to_string(),
            unit_name: unit_name(&v.unit.0).to_string(),
            routes: routes.len() as u32,
            scheduled_route_days: 0,
            fully_worked: 0,
            partly_worked: 0,
            not_worked: 0,
            worked_share: None,
            passes_met_share: None,
            on_schedule_share: None,
            work_on_route_h: 0.0,
            work_off_route_h: 0.0,
            work_on_route_km: 0.0,
            work_off_route_km: 0.0,
            over_speed_min: 0.0,
            under_pressure_min: 0.0,
            gap_min: 0.0,
        };
        let (mut len, mut worked, mut met, mut os_len, mut os) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &day in &days {
            for r in routes.iter().filter(|r| r.schedule.scheduled_on(day)) {
                let l = length(r);
                let f = folded
                    .route_days
                    .get(&(v.id.clone(), r.code.clone(), day))
                    .copied();
                let share = f.map_or(0.0, |f| f.worked_share);
                row.scheduled_route_days += 1;
                if share >= FULL_SHARE {
                    row.fully_worked += 1;
                } else if share > 0.0 {
                    row.partly_worked += 1;
                } else {
                    row.not_worked += 1;
                }
                len += l;
                worked += l * share;
                met += l * f.map_or(0.0, |f| f.passes_met_share);
                if let Some(s) = f.and_then(|f| f.on_schedule_share) {
                    os_len += l;
                    os += l * s;
                }
            }
        }
        // A route of no length (cannot be loaded, but a fleet may be built by hand) still
        // counts its days; its shares weigh nothing.
        row.worked_share = ratio(worked, len).or((row.scheduled_route_days > 0).then_some(0.0));
        row.passes_met_share = ratio(met, len).or(row.worked_share.map(|_| 0.0));
        row.on_schedule_share = ratio(os, os_len);
        if let Some(w) = folded.work.get(&v.id) {
            row.work_on_route_h = w.on_s / 3600.0;
            row.work_off_route_h = w.off_s / 3600.0;
            row.work_on_route_km = w.on_m / 1000.0;
            row.work_off_route_km = w.off_m / 1000.0;
            row.over_speed_min = w.over_speed_s / 60.0;
            row.under_pressure_min = w.under_pressure_s / 60.0;
            row.gap_min = w.gap_s / 60.0;
        }
        vehicles.push(row);
    }

    // Each vehicle-route-day's on-schedule share, by route.
    let mut on_schedule: HashMap<&str, (f64, u32)> = HashMap::new();
    for ((_, route, _), f) in &folded.route_days {
        if let Some(s) = f.on_schedule_share {
            let e = on_schedule.entry(&**route).or_default();
            e.0 += s;
            e.1 += 1;
        }
    }
    let mut routes = Vec::new();
    // Per route in scope: its unit, length, scheduled days and summed day shares.
    let mut sums: Vec<(&Route, f64, u32, f64, f64)> = Vec::new();
    for r in fleet.routes.iter().filter(|r| in_scope(&r.unit.0)) {
        let Some(p) = pieces.get(&*r.code) else {
            continue;
        };
        let (mut n, mut worked, mut met, mut full) = (0u32, 0.0, 0.0, 0u32);
        let mut by: BTreeSet<&str> = BTreeSet::new();
        for &day in days.iter().filter(|d| r.schedule.scheduled_on(**d)) {
            let c = folded.combined.get(&(r.code.clone(), day));
            let (w, m) = day_shares(r, p, c);
            n += 1;
            worked += w;
            met += m;
            if w >= FULL_SHARE {
                full += 1;
            }
            by.extend(c.iter().flat_map(|c| c.worked_by.iter().map(|v| &**v)));
        }
        sums.push((r, p.length_m(), n, worked, met));
        routes.push(RouteRow {
            code: r.code.to_string(),
            name: r.name.clone(),
            unit: r.unit.0.to_string(),
            unit_name: unit_name(&r.unit.0).to_string(),
            kind: r.kind.clone(),
            passes: r.passes,
            length_km: p.length_m() / 1000.0,
            scheduled_days: n,
            worked_share: ratio(worked, f64::from(n)),
            passes_met_share: ratio(met, f64::from(n)),
            on_schedule_share: on_schedule
                .get(&*r.code)
                .and_then(|&(s, k)| ratio(s, f64::from(k))),
            fully_worked_days: full,
            vehicles: by.into_iter().map(String::from).collect(),
        });
    }

    // Units: every unit in scope at or above a vehicle's or route's unit.
    let mut units: BTreeSet<usize> = BTreeSet::new();
    let in_scope_vehicles: Vec<usize> = fleet
        .vehicles
        .iter()
        .filter_map(|v| registry.unit_index(&v.unit.0))
        .filter(|&u| scope.is_none_or(|s| registry.is_within(u, s)))
        .collect();
    let route_units: Vec<Option<usize>> = sums
        .iter()
        .map(|(r, ..)| registry.unit_index(&r.unit.0))
        .collect();
    for &u in in_scope_vehicles.iter().chain(route_units.iter().flatten()) {
        for a in registry.ancestors(u) {
            if scope.is_some_and(|s| !registry.is_within(a, s)) {
                break;
            }
            units.insert(a);
        }
    }
    let rank = |l: Level| Level::ALL.iter().rev().position(|&x| x == l).unwrap_or(0);
    let mut order: Vec<usize> = units.into_iter().collect();
    order.sort_by(|&a, &b| {
        let (ua, ub) = (&registry.units[a], &registry.units[b]);
        rank(ua.level)
            .cmp(&rank(ub.level))
            .then(ua.code.0.cmp(&ub.code.0))
    });
    let unit_rows = order
        .into_iter()
        .map(|i| {
            let u = &registry.units[i];
            let within = |x: Option<usize>| x.is_some_and(|x| registry.is_within(x, i));
            let (mut n_routes, mut days_n, mut len, mut w_sum, mut m_sum, mut weight) =
                (0u32, 0u32, 0.0, 0.0, 0.0, 0.0);
            for ((_, l, n, worked, met), &ru) in sums.iter().zip(&route_units) {
                if within(ru) {
                    n_routes += 1;
                    days_n += n;
                    len += l;
                    weight += l * f64::from(*n);
                    w_sum += l * worked;
                    m_sum += l * met;
                }
            }
            VehicleUnitRow {
                code: u.code.0.to_string(),
                name: u.name.clone(),
                level: u.level.as_str().to_string(),
                parent: u
                    .parent
                    .filter(|_| Some(i) != scope)
                    .and_then(|p| registry.units.get(p))
                    .map(|p| p.code.0.to_string()),
                vehicles: in_scope_vehicles
                    .iter()
                    .filter(|&&v| within(Some(v)))
                    .count() as u32,
                routes: n_routes,
                scheduled_route_days: days_n,
                length_km: len / 1000.0,
                worked_share: ratio(w_sum, weight),
                passes_met_share: ratio(m_sum, weight),
            }
        })
        .collect();

    Ok(VehicleReport {
        full_share: FULL_SHARE,
        vehicles,
        routes,
        units: unit_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::LocalFrame;
    use crate::model::UnitCode;
    use crate::registry::{Assignment, Schedule, Vehicle, Window};
    use crate::route::RouteDay;

    // Street `s` with communities `c1`, `c2` below it (and a grid in `c1`).
    use crate::route::vehicle::tests::registry;

    /// A straight route of `len_m` (10 m pieces) on weekdays `days` (bit 0 Monday).
    fn route(
        code: &str,
        unit: &str,
        len_m: f64,
        passes: u32,
        assigned: Assignment,
        days: u8,
    ) -> Route {
        let f = LocalFrame::new(24.94, 60.17);
        Route {
            code: code.into(),
            name: code.to_uppercase(),
            unit: UnitCode(unit.into()),
            kind: "sweeper".into(),
            assigned,
            lines: vec![vec![f.unproject(0.0, 0.0), f.unproject(len_m, 0.0)]],
            schedule: Schedule {
                windows: vec![Window {
                    days,
                    start_min: 360,
                    end_min: 600,
                }],
            },
            passes,
            max_work_speed_kmh: 15.0,
            min_pressure: None,
        }
    }

    fn vehicle(id: &str, unit: &str) -> Vehicle {
        Vehicle {
            id: id.into(),
            plate: format!("P-{id}"),
            kind: "sweeper".into(),
            unit: UnitCode(unit.into()),
        }
    }

    /// Route a (100 m, c1, v1 only) on Mondays; route b (200 m, street s, two passes, every
    /// sweeper under s: v1 and v2) on Sundays. October 2026: Mondays 5, 12, 19, 26; Sundays
    /// 4, 11, 18, 25.
    fn fleet() -> Fleet {
        Fleet::new(
            vec![vehicle("v1", "c1"), vehicle("v2", "c2")],
            vec![
                route(
                    "a",
                    "c1",
                    100.0,
                    1,
                    Assignment::Vehicles(vec!["v1".into()]),
                    1,
                ),
                route(
                    "b",
                    "s",
                    200.0,
                    2,
                    Assignment::Kind("sweeper".into()),
                    1 << 6,
                ),
            ],
        )
    }

    fn oct(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    /// A route-day with these shares and passes per piece (the engine's output, made up).
    fn rd(
        route: &str,
        day: NaiveDate,
        shares: (f64, f64, Option<f64>),
        pieces: Vec<u16>,
    ) -> RouteDay {
        let pieces_len = pieces.len();
        RouteDay {
            worked_share: shares.0,
            passes_met_share: shares.1,
            on_schedule_share: shares.2,
            pieces,
            ..RouteDay::nothing(route.into(), day, (0, 0), pieces_len as f64 * 10.0)
        }
    }

    fn vd(vehicle: &str, day: NaiveDate, routes: Vec<RouteDay>) -> VehicleDay {
        VehicleDay::of_routes(vehicle.into(), day, (0, 0), routes)
    }

    fn runs(runs: &[(u16, usize)]) -> Vec<u16> {
        runs.iter()
            .flat_map(|&(n, k)| std::iter::repeat_n(n, k))
            .collect()
    }

    fn folded() -> VehicleMonth {
        let mut m = VehicleMonth::new(Month::of(oct(1)));
        let mut v1_oct5 = vd(
            "v1",
            oct(5),
            vec![rd("a", oct(5), (1.0, 1.0, Some(1.0)), runs(&[(1, 10)]))],
        );
        v1_oct5.work_time_on_route_s = 1800.0;
        v1_oct5.work_time_off_route_s = 600.0;
        v1_oct5.work_distance_on_route_m = 700.0;
        v1_oct5.work_distance_off_route_m = 300.0;
        v1_oct5.over_speed_s = 120.0;
        v1_oct5.gap_s_in_window = 300.0;
        m.add(&v1_oct5);
        m.add(&v1_oct5); // a repeat: ignored
        m.add(&vd(
            "v1",
            oct(12),
            vec![rd(
                "a",
                oct(12),
                (0.5, 0.5, Some(0.5)),
                runs(&[(1, 5), (0, 5)]),
            )],
        ));
        // Sunday 4: v1 passes b's pieces 0–9 once, v2 pieces 5–19 once.
        m.add(&vd(
            "v1",
            oct(4),
            vec![rd(
                "b",
                oct(4),
                (0.5, 0.0, Some(1.0)),
                runs(&[(1, 10), (0, 10)]),
            )],
        ));
        m.add(&vd(
            "v2",
            oct(4),
            vec![rd(
                "b",
                oct(4),
                (0.75, 0.0, Some(0.8)),
                runs(&[(0, 5), (1, 15)]),
            )],
        ));
        m.add(&vd(
            "v2",
            oct(11),
            vec![rd("b", oct(11), (1.0, 1.0, Some(1.0)), runs(&[(2, 20)]))],
        ));
        // September: not this month's.
        m.add(&vd(
            "v1",
            NaiveDate::from_ymd_opt(2026, 9, 28).unwrap(),
            vec![rd("a", oct(5), (1.0, 1.0, Some(1.0)), runs(&[(1, 10)]))],
        ));
        m
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn vehicle_rows_count_every_scheduled_route_day_and_weigh_shares_by_length() {
        let m = folded();
        assert_eq!(m.len(), 5);
        let r = vehicle_report(&m, &fleet(), &registry(), None, &RouteParams::default()).unwrap();
        let v1 = &r.vehicles[0];
        // v1: a on 4 Mondays + b on 4 Sundays = 8 route-days; a on the 5th full (1.0), a on
        // the 12th (0.5) and b on the 4th (0.5) partly, the other 5 not at all.
        assert_eq!((v1.routes, v1.scheduled_route_days), (2, 8));
        assert_eq!(
            (v1.fully_worked, v1.partly_worked, v1.not_worked),
            (1, 2, 5)
        );
        // Worked: (100·1 + 100·0.5 + 200·0.5) / (4·100 + 4·200) = 250 / 1200.
        assert!(close(v1.worked_share, 250.0 / 1200.0));
        // Passes met: (100·1 + 100·0.5 + 200·0) / 1200.
        assert!(close(v1.passes_met_share, 150.0 / 1200.0));
        // On schedule over the 3 route-days worked: (100·1 + 100·0.5 + 200·1) / 400.
        assert!(close(v1.on_schedule_share, 0.875));
        assert!(
            close(Some(v1.work_on_route_h), 0.5) && close(Some(v1.work_off_route_h), 1.0 / 6.0)
        );
        assert!(close(Some(v1.work_on_route_km), 0.7) && close(Some(v1.work_off_route_km), 0.3));
        assert!(close(Some(v1.over_speed_min), 2.0) && close(Some(v1.gap_min), 5.0));
        assert_eq!(v1.under_pressure_min, 0.0);
        // v2: only b (a names v1): the 4th 0.75, the 11th 1.0; 200·1.75 / 800.
        let v2 = &r.vehicles[1];
        assert_eq!((v2.routes, v2.scheduled_route_days), (1, 4));
        assert_eq!(
            (v2.fully_worked, v2.partly_worked, v2.not_worked),
            (1, 1, 2)
        );
        assert!(close(v2.worked_share, 0.4375) && close(v2.passes_met_share, 0.25));
        assert!(close(v2.on_schedule_share, 0.9));
        assert_eq!(v2.work_on_route_h, 0.0);
    }

    #[test]
    fn route_rows_put_the_vehicles_of_a_day_together() {
        let r = vehicle_report(
            &folded(),
            &fleet(),
            &registry(),
            None,
            &RouteParams::default(),
        )
        .unwrap();
        let a = &r.routes[0];
        // a: 4 Mondays, worked 1.0 and 0.5: mean 1.5 / 4.
        assert_eq!((a.scheduled_days, a.fully_worked_days), (4, 1));
        assert!((a.length_km - 0.1).abs() < 1e-6);
        assert!(close(a.worked_share, 0.375) && close(a.passes_met_share, 0.375));
        assert!(close(a.on_schedule_share, 0.75));
        assert_eq!(a.vehicles, ["v1"]);
        // b on the 4th: v1's pieces 0–9 and v2's 5–19 cover all 20 (worked 1.0), 5–9 twice
        // (passes met 50 / 200 m = 0.25); the 11th: 1.0 and 1.0. Means over 4 Sundays: 2 / 4
        // and 1.25 / 4; both days fully worked though no vehicle worked the 4th fully.
        let b = &r.routes[1];
        assert_eq!((b.scheduled_days, b.fully_worked_days, b.passes), (4, 2, 2));
        assert!(close(b.worked_share, 0.5) && close(b.passes_met_share, 0.3125));
        // On schedule: the mean of 1.0, 0.8 and 1.0.
        assert!(close(b.on_schedule_share, 2.8 / 3.0));
        assert_eq!(b.vehicles, ["v1", "v2"]);
    }

    #[test]
    fn unit_rows_roll_up_and_a_scope_keeps_what_is_within_it() {
        let (fleet, reg, p) = (fleet(), registry(), RouteParams::default());
        let r = vehicle_report(&folded(), &fleet, &reg, None, &p).unwrap();
        let codes: Vec<&str> = r.units.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(codes, ["c1", "c2", "s"]);
        let (c1, c2, s) = (&r.units[0], &r.units[1], &r.units[2]);
        assert_eq!((c1.vehicles, c1.routes, c1.scheduled_route_days), (1, 1, 4));
        assert!(close(c1.worked_share, 0.375));
        // c2 has v2 but no route of its own.
        assert_eq!((c2.vehicles, c2.routes, c2.worked_share), (1, 0, None));
        assert_eq!(c2.parent.as_deref(), Some("s"));
        // s: a (100 m, 4 days, Σ 1.5) and b (200 m, 4 days, Σ 2.0 worked, Σ 1.25 met):
        // (100·1.5 + 200·2) / (100·4 + 200·4) and (100·1.5 + 200·1.25) / 1200.
        assert_eq!(
            (
                s.vehicles,
                s.routes,
                s.scheduled_route_days,
                s.parent.as_deref()
            ),
            (2, 2, 8, None)
        );
        assert!((s.length_km - 0.3).abs() < 1e-6);
        assert!(close(s.worked_share, 550.0 / 1200.0) && close(s.passes_met_share, 400.0 / 1200.0));

        let r = vehicle_report(&folded(), &fleet, &reg, Some("c1"), &p).unwrap();
        let ids: Vec<&str> = r.vehicles.iter().map(|v| v.vehicle.as_str()).collect();
        let routes: Vec<&str> = r.routes.iter().map(|r| r.code.as_str()).collect();
        let units: Vec<(&str, Option<&str>)> = r
            .units
            .iter()
            .map(|u| (u.code.as_str(), u.parent.as_deref()))
            .collect();
        assert_eq!(
            (ids, routes, units),
            (vec!["v1"], vec!["a"], vec![("c1", None)])
        );
        // v1's own row still counts route b, which is planned for it.
        assert_eq!(r.vehicles[0].scheduled_route_days, 8);
        assert_eq!(
            vehicle_report(&folded(), &fleet, &reg, Some("nope"), &p),
            Err(VehicleReportError::UnknownUnit("nope".into()))
        );
    }
}
