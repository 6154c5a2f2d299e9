//! The `positions` layer: each worker's latest reported fix, its grid and whether that is
//! one of the worker's assigned grids.

use std::collections::BTreeMap;

use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, time, worker_name, Ctx};
use crate::model::Position;
use crate::registry::GridId;

impl Ctx<'_> {
    pub(super) fn positions(&self) -> Vec<Feat> {
        let mut latest: BTreeMap<&str, &Position> = BTreeMap::new();
        for p in self.extras.positions {
            if !self.worker_ok(&p.worker) {
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
                let grid = self.reg.locate(p.lon, p.lat);
                let assigned: &[GridId] = self.reg.worker(&p.worker).map_or(&[], |w| &w.grids);
                Feat {
                    geom: Geom::Point((p.lon, p.lat)),
                    props: props([
                        ("worker", json!(p.worker)),
                        ("name", worker_name(self.reg, &p.worker)),
                        ("ts", time(self.tz(), p.ts)),
                        (
                            "age_s",
                            json!(((self.extras.now_ms - p.ts).max(0) as f64 / 1000.0).round()),
                        ),
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
