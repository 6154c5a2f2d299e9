//! The `positions` layer: each worker's latest reported fix, its grid and whether that is
//! one of the worker's assigned grids; a vehicle's latest fix with its plate, kind and unit
//! (a vehicle is shown when its unit is in scope).

use std::collections::BTreeMap;

use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, time, worker_name, Ctx};
use crate::model::Position;
use crate::registry::GridId;

impl Ctx<'_> {
    pub(super) fn positions(&self) -> Vec<Feat> {
        let fleet = self.extras.fleet;
        let mut latest: BTreeMap<&str, &Position> = BTreeMap::new();
        for p in self.extras.positions {
            let shown = match fleet.and_then(|f| f.vehicle(&p.worker)) {
                // A worker filter names one worker: no vehicle then, unless it names this one.
                Some(v) => {
                    self.unit_ok(&v.unit.0)
                        && self.filter.worker.as_deref().is_none_or(|w| w == p.worker)
                }
                None => self.worker_ok(&p.worker),
            };
            if !shown {
                continue;
            }
            let e = latest.entry(p.worker.as_str()).or_insert(p);
            if p.ts > e.ts {
                *e = p;
            }
        }
        latest
            .into_values()
            .map(|p| {
                let age_s = ((self.extras.now_ms - p.ts).max(0) as f64 / 1000.0).round();
                let grid = self.reg.locate(p.lon, p.lat);
                if let Some(v) = fleet.and_then(|f| f.vehicle(&p.worker)) {
                    return Feat {
                        geom: Geom::Point((p.lon, p.lat)),
                        props: props([
                            ("vehicle", json!(p.worker)),
                            ("plate", json!(v.plate)),
                            ("kind", json!(v.kind)),
                            ("unit", json!(v.unit.0)),
                            ("ts", time(self.tz(), p.ts)),
                            ("age_s", json!(age_s)),
                            ("acc_m", json!(p.acc_m)),
                            ("grid", json!(grid.map(|g| self.grid_code(g)))),
                        ]),
                    };
                }
                let assigned: &[GridId] = self.reg.worker(&p.worker).map_or(&[], |w| &w.grids);
                Feat {
                    geom: Geom::Point((p.lon, p.lat)),
                    props: props([
                        ("worker", json!(p.worker)),
                        ("name", worker_name(self.reg, &p.worker)),
                        ("ts", time(self.tz(), p.ts)),
                        ("age_s", json!(age_s)),
                        ("acc_m", json!(p.acc_m)),
                        ("grid", json!(grid.map(|g| self.grid_code(g)))),
                        (
                            "assigned",
                            json!(assigned
                                .iter()
                                .map(|&g| self.grid_code(g))
                                .collect::<Vec<_>>()),
                        ),
                        (
                            "in_grid",
                            json!(grid.is_some_and(|g| assigned.contains(&g))),
                        ),
                    ]),
                }
            })
            .collect()
    }
}
