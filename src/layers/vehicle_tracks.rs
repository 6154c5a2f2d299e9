//! The `vehicle_tracks` layer: each vehicle's track of each local day, from its pings
//! ([`Extras::vehicle_pings`](super::Extras)), as LineString runs coloured by work state.
//!
//! A vehicle's pings are cleaned as one stream ([`crate::route::clean`]: order, one fix per
//! timestamp, the vehicle speed gate), so the track is made of the fixes the route figures
//! count. A step (two consecutive fixes at most `gap_s` apart) belongs to the local day its
//! first fix is on and carries that fix's work state, as in route coverage. A run is a
//! maximal chain of steps of one day with one state; a new run starts where the state
//! changes, at a gap in reporting (longer than `gap_s`: not drawn, as the vehicle's way is
//! unknown) and at local midnight. Properties: `vehicle`, `plate`, `kind`, `unit`, `day`,
//! `work` (the reported state: `true`, `false`, or `null` when the terminal does not report
//! one), `working` (the state route coverage uses: the reported one, else on unless the
//! ignition is reported off), `start`, `end`, `fixes` and `length_m` (ellipsoidal, before
//! simplification). Runs are simplified like worker tracks (`simplify_m` or `zoom`).

use std::collections::BTreeMap;

use serde_json::json;

use super::geojson::{Feat, Geom};
use super::tracks::tolerance_m;
use super::{props, round, time, Ctx};
use crate::route::{clean, working, VehicleFix};
use crate::track::local_day;

/// One run of steps with one work state.
struct Run {
    fixes: Vec<VehicleFix>,
    work: Option<bool>,
    working: bool,
}

/// Cuts a vehicle's cleaned fixes into runs (see the module documentation).
fn runs(fixes: &[VehicleFix], gap_s: f64, tz: chrono_tz::Tz) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for pair in fixes.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.t <= a.t || (b.t - a.t) as f64 / 1000.0 > gap_s {
            continue;
        }
        let (work, on) = (a.work, working(&a));
        match out.last_mut() {
            Some(r)
                if r.work == work
                    && r.working == on
                    && r.fixes.last().is_some_and(|l| l.t == a.t)
                    && local_day(r.fixes[0].t, tz) == local_day(a.t, tz) =>
            {
                r.fixes.push(b);
            }
            _ => out.push(Run {
                fixes: vec![a, b],
                work,
                working: on,
            }),
        }
    }
    out
}

impl Ctx<'_> {
    pub(super) fn vehicle_tracks(&self) -> Vec<Feat> {
        let Some(fleet) = self.extras.fleet else {
            return Vec::new();
        };
        let tz = self.tz();
        let params = &self.extras.route;
        let mut by_vehicle: BTreeMap<&str, Vec<VehicleFix>> = BTreeMap::new();
        for p in self.extras.vehicle_pings {
            by_vehicle
                .entry(p.worker.as_str())
                .or_default()
                .push(VehicleFix::of_ping(p));
        }
        let mut out = Vec::new();
        for v in &fleet.vehicles {
            let Some(fixes) = by_vehicle.get_mut(&*v.id) else {
                continue;
            };
            if !self.unit_ok(&v.unit.0)
                || self.filter.worker.as_deref().is_some_and(|w| w != &*v.id)
            {
                continue;
            }
            // Stable: of fixes with one timestamp the first given stays first (as `clean`
            // keeps it).
            fixes.sort_by_key(|f| f.t);
            let cleaned = clean(fixes, params);
            for run in runs(&cleaned, params.gap_s, tz) {
                let day = local_day(run.fixes[0].t, tz);
                if self.filter.period.is_some_and(|p| !p.contains(day)) {
                    continue;
                }
                let line: Vec<(f64, f64)> = run.fixes.iter().map(|f| (f.lon, f.lat)).collect();
                let length_m: f64 = line
                    .windows(2)
                    .map(|w| crate::geodesy::distance_m(w[0].0, w[0].1, w[1].0, w[1].1))
                    .sum();
                let line = match tolerance_m(self.filter, line[0].1) {
                    Some(tol) if line.len() > 2 => {
                        crate::track::simplify::simplify_lonlat(&line, tol)
                            .into_iter()
                            .map(|k| line[k])
                            .collect()
                    }
                    _ => line,
                };
                let (first, last) = (run.fixes[0].t, run.fixes[run.fixes.len() - 1].t);
                out.push(Feat {
                    geom: Geom::LineString(line),
                    props: props([
                        ("vehicle", json!(&*v.id)),
                        ("plate", json!(v.plate)),
                        ("kind", json!(v.kind)),
                        ("unit", json!(v.unit.0)),
                        ("day", json!(day.to_string())),
                        ("work", json!(run.work)),
                        ("working", json!(run.working)),
                        ("start", time(tz, first)),
                        ("end", time(tz, last)),
                        ("fixes", json!(run.fixes.len())),
                        ("length_m", json!(round(length_m, 1))),
                    ]),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(t_s: i64, lon: f64, work: Option<bool>, acc: Option<bool>) -> VehicleFix {
        VehicleFix {
            t: 1_790_000_000_000 + t_s * 1000,
            lon,
            lat: 28.2,
            speed_kmh: None,
            work,
            pressure: None,
            acc,
        }
    }

    #[test]
    fn runs_split_where_the_work_state_changes_and_at_gaps() {
        let tz = chrono_tz::Asia::Shanghai;
        let fixes = [
            fix(0, 112.98, Some(true), None),
            fix(10, 112.9801, Some(true), None),
            fix(20, 112.9802, Some(false), None),
            fix(30, 112.9803, Some(false), None),
            // A gap of 300 s: not drawn.
            fix(330, 112.9804, None, Some(false)),
            fix(340, 112.9805, None, Some(true)),
            fix(350, 112.9806, None, None),
        ];
        let r = runs(&fixes, 120.0, tz);
        let got: Vec<(usize, Option<bool>, bool)> = r
            .iter()
            .map(|r| (r.fixes.len(), r.work, r.working))
            .collect();
        // Steps 0-1 and 1-2 carry fix 0's and 1's state (working); 2-3 not; 3-4 is a gap; 4-5
        // is off (no work reported, ignition off); 5-6 on (ignition on).
        assert_eq!(
            got,
            [
                (3, Some(true), true),
                (2, Some(false), false),
                (2, None, false),
                (2, None, true)
            ]
        );
        // A run ends where the next begins: the state changes at a fix both share.
        assert_eq!(r[0].fixes[2].t, r[1].fixes[0].t);
    }
}
