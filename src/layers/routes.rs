//! The `routes` layer: each planned route of the fleet cut into its pieces
//! ([`RoutePieces`], `piece_m` as the vehicle-days were computed with), each piece's passes
//! over the period against the route's required passes, and the route's figures.
//!
//! **A day** (a one-day period): a piece's `passes` are that day's passes of every vehicle
//! together (the vehicle-days' [`RouteDay::pieces`](crate::route::RouteDay) summed, as the
//! report combines a route's day); its `state` is `met` (≥ the required passes), `partial`
//! (some, fewer than required), `missed` (none), or `unscheduled` (the route is not scheduled
//! that day).
//!
//! **A period of several days**: over the route's scheduled days of the period, `passes` is
//! the mean passes per scheduled day and `met_share` the share of scheduled days on which the
//! piece had its required passes; `state` is `met` when it had them on every scheduled day,
//! `missed` when it was passed on none, `partial` otherwise, and `unscheduled` when the route
//! has no scheduled day in the period. A scheduled day without a vehicle-day counts as no
//! pass, as in the report (so a month still running shows its days to come as missed).
//!
//! **Merged runs**: consecutive pieces of one line with the same `passes`, `met_share` and
//! `state` are written as one LineString (`pieces`: the first and last piece index, `length_m`
//! their length), so a street worked end to end is one feature, not a hundred 10 m pieces. A
//! piece is drawn as the straight segment it is measured as (its start and end).
//!
//! **The route's figures** (on each of its features, for the pop-up), over its scheduled days
//! of the period with every vehicle together, as the report's route rows define them:
//! `worked_share` and `passes_met_share` the mean of the day's shares, `on_schedule_share` the
//! mean over the vehicle-route-days that have one, `fully_worked_days` the days with a worked
//! share of at least [`FULL_SHARE`].

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::geojson::{Feat, Geom};
use super::{props, round, Ctx};
use crate::model::Period;
use crate::registry::Route;
use crate::route::month::FULL_SHARE;
use crate::route::{RoutePieces, VehicleDay};

/// What a piece shows, for colouring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceState {
    /// The required passes on every scheduled day.
    Met,
    /// Passed, but short of the required passes on some scheduled day.
    Partial,
    /// Not passed on any scheduled day.
    Missed,
    /// No scheduled day in the period.
    Unscheduled,
}

impl PieceState {
    /// The state's name in the layer (`met`, `partial`, `missed`, `unscheduled`).
    pub fn name(self) -> &'static str {
        match self {
            PieceState::Met => "met",
            PieceState::Partial => "partial",
            PieceState::Missed => "missed",
            PieceState::Unscheduled => "unscheduled",
        }
    }
}

/// One route on one day, every vehicle together.
#[derive(Debug, Default)]
struct Combined {
    /// Passes per piece, summed over the vehicles.
    passes: Vec<u32>,
    /// The best single vehicle's (worked, passes-met) shares, for a day whose pieces no longer
    /// match the route's (computed on other lines).
    best: (f64, f64),
}

/// One piece's figures over the period.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PieceFigures {
    /// Mean passes per scheduled day (that day's passes for a day).
    passes: f64,
    /// Share of scheduled days with the required passes; `None` when none is scheduled.
    met_share: Option<f64>,
    state: PieceState,
}

/// A route's figures over the period (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct RouteFigures {
    scheduled_days: u32,
    worked_share: Option<f64>,
    passes_met_share: Option<f64>,
    on_schedule_share: Option<f64>,
    fully_worked_days: u32,
}

/// The vehicle-days of a period gathered per route and day: passes per piece summed, and
/// the on-schedule shares of each route's vehicle-route-days.
struct Gathered<'d> {
    combined: BTreeMap<(&'d str, NaiveDate), Combined>,
    on_schedule: BTreeMap<&'d str, Vec<f64>>,
}

fn gather(days: &[VehicleDay], period: Period) -> Gathered<'_> {
    let mut seen: HashSet<(&str, NaiveDate)> = HashSet::new();
    let mut combined: BTreeMap<(&str, NaiveDate), Combined> = BTreeMap::new();
    let mut on_schedule: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for d in days {
        // A vehicle-day given twice counts once.
        if !period.contains(d.day) || !seen.insert((&d.vehicle, d.day)) {
            continue;
        }
        for r in &d.routes {
            let c = combined.entry((&r.route, d.day)).or_default();
            if c.passes.len() < r.pieces.len() {
                c.passes.resize(r.pieces.len(), 0);
            }
            for (sum, &n) in c.passes.iter_mut().zip(&r.pieces) {
                *sum += u32::from(n);
            }
            c.best.0 = c.best.0.max(r.worked_share);
            c.best.1 = c.best.1.max(r.passes_met_share);
            if let Some(s) = r.on_schedule_share {
                on_schedule.entry(&r.route).or_default().push(s);
            }
        }
    }
    Gathered {
        combined,
        on_schedule,
    }
}

/// The days of a period, in order.
fn days_of(period: Period) -> impl Iterator<Item = NaiveDate> {
    period
        .first
        .iter_days()
        .take_while(move |d| *d <= period.last)
}

/// Each piece's figures and the route's over its scheduled days of the period.
fn route_figures(
    route: &Route,
    pieces: &RoutePieces,
    period: Period,
    g: &Gathered<'_>,
) -> (Vec<PieceFigures>, RouteFigures) {
    let n = pieces.pieces().len();
    let length = pieces.length_m();
    let required = route.passes;
    let mut sum = vec![0u64; n];
    let mut met_days = vec![0u32; n];
    let mut passed_days = vec![0u32; n];
    let mut fig = RouteFigures::default();
    let (mut worked, mut met) = (0.0, 0.0);
    let none = Combined::default();
    for day in days_of(period).filter(|d| route.schedule.scheduled_on(*d)) {
        fig.scheduled_days += 1;
        let c = g.combined.get(&(&*route.code, day)).unwrap_or(&none);
        let passes = |i: usize| c.passes.get(i).copied().unwrap_or(0);
        for i in 0..n {
            let p = passes(i);
            sum[i] += u64::from(p);
            met_days[i] += u32::from(p >= required);
            passed_days[i] += u32::from(p > 0);
        }
        // The day's shares, as the report combines a route's day: by length over the pieces;
        // the best vehicle's when the stored pieces are of other lines.
        let (w, m) = if !c.passes.is_empty() && c.passes.len() != n || length <= 0.0 {
            c.best
        } else {
            let with = |min: u32| -> f64 {
                pieces
                    .pieces()
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| passes(i) >= min)
                    .map(|(_, p)| p.length_m)
                    .sum::<f64>()
                    / length
            };
            (with(1), with(required))
        };
        worked += w;
        met += m;
        fig.fully_worked_days += u32::from(w >= FULL_SHARE);
    }
    let k = fig.scheduled_days;
    if k > 0 {
        fig.worked_share = Some(worked / f64::from(k));
        fig.passes_met_share = Some(met / f64::from(k));
    }
    fig.on_schedule_share = g
        .on_schedule
        .get(&*route.code)
        .filter(|v| !v.is_empty())
        .map(|v| v.iter().sum::<f64>() / v.len() as f64);
    let pieces = (0..n)
        .map(|i| {
            if k == 0 {
                return PieceFigures {
                    passes: 0.0,
                    met_share: None,
                    state: PieceState::Unscheduled,
                };
            }
            let state = if met_days[i] == k {
                PieceState::Met
            } else if passed_days[i] == 0 {
                PieceState::Missed
            } else {
                PieceState::Partial
            };
            PieceFigures {
                passes: sum[i] as f64 / f64::from(k),
                met_share: Some(f64::from(met_days[i]) / f64::from(k)),
                state,
            }
        })
        .collect();
    (pieces, fig)
}

/// The period the layer shows: the filter's, else the span of the vehicle-days given, else
/// the day of `now_ms`.
fn period_of(ctx: &Ctx<'_>) -> Period {
    if let Some(p) = ctx.filter.period {
        return p;
    }
    let days: BTreeSet<NaiveDate> = ctx.extras.vehicle_days.iter().map(|d| d.day).collect();
    match (days.first(), days.last()) {
        (Some(&first), Some(&last)) => Period::new(first, last).unwrap_or(Period::day(first)),
        _ => Period::day(crate::track::local_day(ctx.extras.now_ms, ctx.tz())),
    }
}

impl Ctx<'_> {
    pub(super) fn routes(&self) -> Vec<Feat> {
        let Some(fleet) = self.extras.fleet else {
            return Vec::new();
        };
        let period = period_of(self);
        let g = gather(self.extras.vehicle_days, period);
        // A worker filter that names a vehicle keeps the routes planned for it.
        let planned: Option<Vec<&str>> = self
            .filter
            .worker
            .as_deref()
            .and_then(|w| fleet.vehicle(w))
            .map(|v| {
                fleet
                    .routes_of(v, self.reg)
                    .map(|r| &*r.code)
                    .collect::<Vec<_>>()
            });
        let mut out = Vec::new();
        for route in &fleet.routes {
            if !self.unit_ok(&route.unit.0)
                || planned.as_ref().is_some_and(|p| !p.contains(&&*route.code))
            {
                continue;
            }
            let pieces = RoutePieces::new(&route.lines, self.extras.route.piece_m);
            let (figures, fig) = route_figures(route, &pieces, period, &g);
            let common = [
                ("route", json!(&*route.code)),
                ("name", json!(route.name)),
                ("unit", json!(route.unit.0)),
                ("kind", json!(route.kind)),
                ("required", json!(route.passes)),
                ("route_length_m", json!(round(pieces.length_m(), 1))),
                ("scheduled_days", json!(fig.scheduled_days)),
                ("worked_share", share(fig.worked_share)),
                ("passes_met_share", share(fig.passes_met_share)),
                ("on_schedule_share", share(fig.on_schedule_share)),
                ("fully_worked_days", json!(fig.fully_worked_days)),
            ];
            for run in runs(&pieces, &figures) {
                let f = figures[run.start];
                let mut line: Vec<(f64, f64)> = Vec::with_capacity(run.len() + 1);
                for i in run.clone() {
                    let Some([a, b]) = pieces.piece_lonlat(i) else {
                        continue;
                    };
                    if line.is_empty() {
                        line.push(a);
                    }
                    line.push(b);
                }
                if line.len() < 2 {
                    continue;
                }
                let length_m: f64 = pieces.pieces()[run.clone()]
                    .iter()
                    .map(|p| p.length_m)
                    .sum();
                let mut p = props(common.clone());
                p.extend(props([
                    ("passes", json!(round(f.passes, 2))),
                    ("met_share", share(f.met_share)),
                    ("state", json!(f.state.name())),
                    ("pieces", json!([run.start, run.end - 1])),
                    ("length_m", json!(round(length_m, 1))),
                ]));
                out.push(Feat {
                    geom: Geom::LineString(line),
                    props: p,
                });
            }
        }
        out
    }
}

/// A share rounded for output, or null.
fn share(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |x| json!(round(x, 4)))
}

/// Runs of consecutive pieces of one line with the same figures, as index ranges.
fn runs(pieces: &RoutePieces, figures: &[PieceFigures]) -> Vec<std::ops::Range<usize>> {
    let ps = pieces.pieces();
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for i in 0..ps.len().min(figures.len()) {
        match out.last_mut() {
            Some(r) if ps[r.start].line == ps[i].line && figures[r.start] == figures[i] => {
                r.end = i + 1;
            }
            _ => out.push(i..i + 1),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::assess::{Assessor, Params};
    use crate::config::Config;
    use crate::layers::{build, Everything, Extras, Filter, Layer};
    use crate::model::{Crs, UnitCode};
    use crate::registry::{Assignment, Fleet, Registry, Schedule, Vehicle, Window};
    use crate::route::{RouteDay, RouteParams};

    /// A registry with one unit (`u1`) and no grids: enough for routes in a unit.
    fn registry() -> Registry {
        let grids = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"code":"u1","name":"Street","level":"street"},"geometry":null},
          {"type":"Feature","properties":{"code":"g1","name":"Grid","level":"grid","parent":"u1"},
           "geometry":{"type":"Polygon","coordinates":[[[112.98,28.19],[112.99,28.19],[112.99,28.20],[112.98,28.20],[112.98,28.19]]]}}]}"#;
        Registry::from_sources(
            crate::registry::Source::new("grids.geojson", grids),
            None,
            None,
            &crate::registry::LoadOptions::default(),
        )
        .unwrap()
    }

    /// A route of two lines: line 0 east 50 m (5 pieces of 10 m), line 1 north 30 m (3 pieces),
    /// scheduled Monday to Friday, two passes required.
    fn route() -> Route {
        // Metres in a local frame at the route (the pieces' frame is centred on the lines'
        // box, a few metres away: lengths agree to far below the 4 decimals written).
        let f = crate::geodesy::LocalFrame::new(112.985, 28.195);
        let (a, b, c) = (
            f.unproject(0.0, 0.0),
            f.unproject(50.0, 0.0),
            f.unproject(50.0, 30.0),
        );
        Route {
            code: Arc::from("r1"),
            name: "Route one".into(),
            unit: UnitCode(Arc::from("u1")),
            kind: "sweeper".into(),
            assigned: Assignment::Vehicles(vec![Arc::from("v1"), Arc::from("v2")]),
            lines: vec![vec![a, b], vec![b, c]],
            schedule: Schedule {
                windows: vec![Window {
                    days: 0b001_1111,
                    start_min: 5 * 60,
                    end_min: 8 * 60,
                }],
            },
            passes: 2,
            max_work_speed_kmh: 15.0,
            min_pressure: None,
        }
    }

    fn fleet() -> Fleet {
        let v = |id: &str| Vehicle {
            id: Arc::from(id),
            plate: format!("湘A·{id}"),
            kind: "sweeper".into(),
            unit: UnitCode(Arc::from("u1")),
        };
        Fleet::new(vec![v("v1"), v("v2")], vec![route()])
    }

    fn date(d: u32) -> NaiveDate {
        // 2026-10-05 is a Monday.
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    /// A vehicle-day with these passes per piece on route r1 (shares as given).
    fn vday(vehicle: &str, day: u32, pieces: &[u16], on_schedule: Option<f64>) -> VehicleDay {
        let route = RouteDay {
            on_schedule_share: on_schedule,
            pieces: pieces.to_vec(),
            ..RouteDay::nothing(Arc::from("r1"), date(day), (0, 0), 80.0)
        };
        VehicleDay::of_routes(Arc::from(vehicle), date(day), (0, 0), vec![route])
    }

    fn layer(days: &[VehicleDay], period: Period) -> Value {
        let fleet = fleet();
        let a = Assessor::new(
            Arc::new(registry()),
            Params::new(Config::default(), crate::track::CleanMode::Full),
        );
        let extras = Extras {
            fleet: Some(&fleet),
            vehicle_days: days,
            route: RouteParams::default(),
            ..Extras::default()
        };
        let filter = Filter {
            period: Some(period),
            ..Filter::default()
        };
        build(Layer::Routes, &a, &[], &extras, &filter, &Everything).unwrap()
    }

    /// (state, passes, first piece, last piece) of each feature.
    fn summary(doc: &Value) -> Vec<(String, f64, u64, u64)> {
        doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = &f["properties"];
                (
                    p["state"].as_str().unwrap().to_string(),
                    p["passes"].as_f64().unwrap(),
                    p["pieces"][0].as_u64().unwrap(),
                    p["pieces"][1].as_u64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn the_pieces_are_those_of_the_route() {
        let p = RoutePieces::new(&route().lines, RouteParams::default().piece_m);
        let lines: Vec<usize> = p.pieces().iter().map(|p| p.line).collect();
        assert_eq!(lines, [0, 0, 0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn a_day_sums_the_vehicles_and_merges_equal_runs_within_a_line() {
        // Monday: v1 passes pieces 0-2 once and 5-7 twice; v2 passes pieces 0-1 once more.
        // Together: 2 2 1 0 0 | 2 2 2 (required 2).
        let days = [
            vday("v1", 5, &[1, 1, 1, 0, 0, 2, 2, 2], Some(0.8)),
            vday("v2", 5, &[1, 1, 0, 0, 0, 0, 0, 0], None),
        ];
        let doc = layer(&days, Period::day(date(5)));
        assert_eq!(
            summary(&doc),
            [
                ("met".into(), 2.0, 0, 1),
                ("partial".into(), 1.0, 2, 2),
                ("missed".into(), 0.0, 3, 4),
                // Line 1 starts a new feature even with the same figures as line 0's first run.
                ("met".into(), 2.0, 5, 7),
            ]
        );
        let f = &doc["features"][0]["properties"];
        // Worked: pieces 0-2 and 5-7 = 60 of 80 m; met: 0-1 and 5-7 = 50 of 80 m.
        assert_eq!(f["worked_share"], json!(0.75));
        assert_eq!(f["passes_met_share"], json!(0.625));
        assert_eq!(f["on_schedule_share"], json!(0.8));
        assert_eq!(
            (f["route"].clone(), f["required"].clone()),
            (json!("r1"), json!(2))
        );
        assert_eq!(f["scheduled_days"], json!(1));
        assert_eq!(f["met_share"], json!(1.0));
        assert_eq!(f["length_m"], json!(20.0));
        let line = doc["features"][0]["geometry"]["coordinates"]
            .as_array()
            .unwrap();
        assert_eq!(line.len(), 3, "two pieces: three positions");
        // A vehicle-day given twice counts once.
        let twice = [days[0].clone(), days[0].clone(), days[1].clone()];
        assert_eq!(summary(&layer(&twice, Period::day(date(5)))), summary(&doc));
    }

    #[test]
    fn a_day_off_the_schedule_is_unscheduled() {
        // Saturday 2026-10-10: not scheduled; even a stray vehicle-day shows no state.
        let doc = layer(&[], Period::day(date(10)));
        assert_eq!(
            summary(&doc),
            [
                ("unscheduled".into(), 0.0, 0, 4),
                ("unscheduled".into(), 0.0, 5, 7)
            ]
        );
        let p = &doc["features"][0]["properties"];
        assert_eq!(p["met_share"], Value::Null);
        assert_eq!(p["worked_share"], Value::Null);
        assert_eq!(p["scheduled_days"], json!(0));
    }

    #[test]
    fn a_period_takes_the_mean_per_scheduled_day_and_the_share_of_days_met() {
        // Monday 5 to Sunday 11: five scheduled days. Monday every piece twice; Tuesday pieces
        // 0-4 twice; Wednesday piece 0 once; Thursday and Friday nothing (no vehicle-day).
        let days = [
            vday("v1", 5, &[2; 8], Some(1.0)),
            vday("v1", 6, &[2, 2, 2, 2, 2, 0, 0, 0], Some(0.5)),
            vday("v2", 7, &[1, 0, 0, 0, 0, 0, 0, 0], None),
            // Saturday is not scheduled: its passes are not counted.
            vday("v1", 10, &[9; 8], None),
        ];
        let doc = layer(&days, Period::new(date(5), date(11)).unwrap());
        assert_eq!(
            summary(&doc),
            [
                ("partial".into(), 1.0, 0, 0),
                ("partial".into(), 0.8, 1, 4),
                ("partial".into(), 0.4, 5, 7),
            ]
        );
        let p = |i: usize| doc["features"][i]["properties"].clone();
        assert_eq!(p(0)["met_share"], json!(0.4));
        assert_eq!(p(2)["met_share"], json!(0.2));
        // Day shares (worked, met): Mon (1, 1), Tue (50/80, 50/80), Wed (10/80, 0), Thu, Fri 0.
        assert_eq!(
            p(0)["worked_share"],
            json!(round((1.0 + 0.625 + 0.125) / 5.0, 4))
        );
        assert_eq!(
            p(0)["passes_met_share"],
            json!(round((1.0 + 0.625) / 5.0, 4))
        );
        assert_eq!(p(0)["on_schedule_share"], json!(0.75));
        assert_eq!(p(0)["fully_worked_days"], json!(1));
        assert_eq!(p(0)["scheduled_days"], json!(5));
        // Never passed on a scheduled day: missed.
        let doc = layer(&days[3..], Period::new(date(5), date(11)).unwrap());
        assert_eq!(
            summary(&doc),
            [("missed".into(), 0.0, 0, 4), ("missed".into(), 0.0, 5, 7)]
        );
    }

    #[test]
    fn the_layer_is_written_in_the_output_crs_and_scoped_by_unit() {
        let fleet = fleet();
        let a = Assessor::new(
            Arc::new(registry()),
            Params::new(Config::default(), crate::track::CleanMode::Full),
        );
        let extras = Extras {
            fleet: Some(&fleet),
            ..Extras::default()
        };
        let wgs = build(
            Layer::Routes,
            &a,
            &[],
            &extras,
            &Filter {
                period: Some(Period::day(date(5))),
                ..Filter::default()
            },
            &Everything,
        )
        .unwrap();
        let gcj = build(
            Layer::Routes,
            &a,
            &[],
            &extras,
            &Filter {
                period: Some(Period::day(date(5))),
                crs: Crs::Gcj02,
                ..Filter::default()
            },
            &Everything,
        )
        .unwrap();
        let at = |d: &Value| {
            let c = &d["features"][0]["geometry"]["coordinates"][0];
            (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
        };
        let (lon, lat) = at(&wgs);
        let (x, y) = crate::crs::convert(Crs::Wgs84, Crs::Gcj02, lon, lat);
        let (gx, gy) = at(&gcj);
        assert!((gx - x).abs() < 2e-6 && (gy - y).abs() < 2e-6);
        assert_eq!(gcj["gridbeat"]["crs"], "gcj02");
        // A unit the route is not under: nothing.
        let none = build(
            Layer::Routes,
            &a,
            &[],
            &extras,
            &Filter {
                unit: Some("g1".into()),
                ..Filter::default()
            },
            &Everything,
        )
        .unwrap();
        assert_eq!(none["features"], json!([]));
    }
}
