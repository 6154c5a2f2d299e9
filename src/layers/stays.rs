//! The `stays` layer: each stay of the days shown as a point, with its grid.

use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, time, worker_name, Ctx};

impl Ctx<'_> {
    pub(super) fn stays(&self) -> Vec<Feat> {
        let mut out = Vec::new();
        for d in self.days() {
            let w = d.worker.as_str();
            for s in &d.stays {
                let grid = self.reg.locate(s.lon, s.lat).map(|g| self.grid_code(g));
                out.push(Feat {
                    geom: Geom::Point((s.lon, s.lat)),
                    props: props([
                        ("worker", json!(w)),
                        ("name", worker_name(self.reg, w)),
                        ("day", json!(d.day.to_string())),
                        ("start", time(self.tz(), s.start)),
                        ("end", time(self.tz(), s.end)),
                        ("duration_s", json!(s.duration_s())),
                        ("pings", json!(s.pings)),
                        ("grid", json!(grid)),
                    ]),
                });
            }
        }
        out
    }
}
