//! The `coverage` layer: per grid the `covered` and the `uncovered` part of the team's
//! coverage over the period, or of one worker's when the filter names a worker.

use std::collections::BTreeMap;

use geo::BooleanOps;
use serde_json::{json, Value};

use super::geojson::{Feat, Geom};
use super::{props, round, Ctx};
use crate::assess::period;
use crate::coverage::CoverageMask;
use crate::model::WorkerId;
use crate::registry::GridId;

impl Ctx<'_> {
    pub(super) fn coverage(&self) -> Vec<Feat> {
        let index = &self.a.coverage;
        let by_worker = period::coverage_by_worker(&self.period_days);
        let (masks, worker, grids): (BTreeMap<GridId, CoverageMask>, Value, Vec<GridId>) =
            match self.filter.worker.as_deref() {
                Some(w) => {
                    let own: BTreeMap<GridId, CoverageMask> = by_worker
                        .get(&WorkerId::new(w))
                        .filter(|_| self.worker_ok(w))
                        .map(|c| c.iter().map(|(g, m)| (g, m.clone())).collect())
                        .unwrap_or_default();
                    let mut grids = self.worker_grids();
                    grids.extend(
                        self.grids
                            .iter()
                            .filter(|g| own.get(g).is_some_and(|m| !m.is_empty())),
                    );
                    grids.sort_unstable();
                    grids.dedup();
                    (own, json!(w), grids)
                }
                None => (
                    period::team_coverage(self.a, &by_worker),
                    Value::Null,
                    self.grids.clone(),
                ),
            };
        let mut out = Vec::new();
        for g in grids {
            let grid = &self.reg.grids[g as usize];
            let mask = masks.get(&g);
            let share = mask.map_or(0.0, |m| index.share(g, m));
            let uncovered = index.uncovered_polygons(g, mask);
            let prop = |kind: &str| {
                props([
                    ("kind", json!(kind)),
                    ("grid", json!(grid.code.as_str())),
                    ("worker", worker.clone()),
                    ("share", json!(round(share, 4))),
                ])
            };
            if share > 0.0 {
                let covered = if uncovered.0.is_empty() {
                    grid.polygon.clone()
                } else {
                    grid.polygon.difference(&uncovered)
                };
                out.push(Feat {
                    geom: Geom::Polygons(covered),
                    props: prop("covered"),
                });
            }
            if !uncovered.0.is_empty() {
                out.push(Feat {
                    geom: Geom::Polygons(uncovered),
                    props: prop("uncovered"),
                });
            }
        }
        out
    }
}
