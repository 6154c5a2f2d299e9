//! The `grids` layer: each grid's polygon with its team coverage over the period, covered
//! area, attainable share, the mean score of its workers and their patrol time in it.

use std::collections::BTreeMap;

use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, round, Ctx};
use crate::assess::period;
use crate::registry::GridId;

impl Ctx<'_> {
    /// Time the assigned workers spent in each grid over the period (everyone's when the
    /// registry assigns nobody), in one pass over the days.
    fn patrol_by_grid(&self) -> BTreeMap<GridId, f64> {
        let everyone = self.reg.workers.is_empty();
        let mut out: BTreeMap<GridId, f64> = BTreeMap::new();
        for d in self.period_days.iter() {
            let assigned = self
                .reg
                .worker(d.worker.as_str())
                .map_or(&[][..], |w| &w.grids[..]);
            for (g, s) in &d.grid_s {
                if everyone || assigned.contains(g) {
                    *out.entry(*g).or_insert(0.0) += s;
                }
            }
        }
        out
    }

    pub(super) fn grids(&self) -> Vec<Feat> {
        let team = self.team();
        let patrol = self.patrol_by_grid();
        let index = &self.a.coverage;
        self.worker_grids()
            .into_iter()
            .map(|g| {
                let grid = &self.reg.grids[g as usize];
                let parent = self.reg.units[grid.unit].parent.map(|i| &self.reg.units[i]);
                let workers = self.assigned_workers(g);
                let mask = team.get(&g);
                let share = period::share(self.a, &team, g);
                let covered = mask.map_or(0.0, |m| index.covered_m2(g, m));
                let attainable = self.extras.attainable.map(|att| index.coverage(att, g));
                let patrol_s = patrol.get(&g).copied().unwrap_or(0.0);
                Feat {
                    geom: Geom::Polygons(grid.polygon.clone()),
                    props: props([
                        ("code", json!(grid.code.as_str())),
                        ("name", json!(grid.name)),
                        ("parent", json!(parent.map(|u| u.code.as_str()))),
                        ("parent_name", json!(parent.map(|u| u.name.as_str()))),
                        (
                            "workers",
                            json!(workers.iter().map(|w| w.as_str()).collect::<Vec<_>>()),
                        ),
                        ("area_m2", json!(round(grid.area_m2, 1))),
                        ("coverage", json!(round(share, 4))),
                        ("covered_m2", json!(round(covered, 1))),
                        ("attainable", json!(attainable.map(|x| round(x, 4)))),
                        ("score", self.mean_score(workers.iter().copied())),
                        ("patrol_s", json!(round(patrol_s, 1))),
                    ]),
                }
            })
            .collect()
    }
}
