//! The `visits` layer: checkpoint visits merged over the period, at their checkpoints.

use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, time, worker_name, Ctx};
use crate::assess::period;
use crate::assess::WorkerDay;
use crate::registry::GridId;

impl Ctx<'_> {
    /// Whether a checkpoint's grid is among the selected ones.
    fn checkpoint_shown(&self, grid: GridId) -> bool {
        self.grids.contains(&grid)
    }

    pub(super) fn visits(&self) -> Vec<Feat> {
        let days: Vec<WorkerDay> = self.days().cloned().collect();
        period::merged_visits(self.a, &days)
            .into_iter()
            .filter_map(|v| {
                let c = self.reg.checkpoints.get(v.checkpoint)?;
                if !self.checkpoint_shown(c.grid) {
                    return None;
                }
                let w = v.worker.as_str();
                Some(Feat {
                    geom: Geom::Point((c.lon, c.lat)),
                    props: props([
                        ("checkpoint", json!(c.code)),
                        ("name", json!(c.name)),
                        ("worker", json!(w)),
                        ("worker_name", worker_name(self.reg, w)),
                        ("start", time(self.tz(), v.start)),
                        ("end", time(self.tz(), v.end)),
                        ("duration_s", json!((v.end - v.start) as f64 / 1000.0)),
                        ("via", json!(v.via.as_str())),
                    ]),
                })
            })
            .collect()
    }
}
