//! The `checkpoints` layer: each checkpoint with its visits and compliance over the period.

use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, round, Ctx};
use crate::assess::period;
use crate::model::Period;

impl Ctx<'_> {
    pub(super) fn checkpoints(&self) -> Vec<Feat> {
        let merged = period::merged_visits(self.a, &self.period_days);
        let today = crate::track::local_day(self.extras.now_ms, self.tz());
        // The filter's period, else the days given span, as every door resolves it; with no
        // day at all, today.
        let Ok(period) = period::resolve_period(self.filter.period, || {
            Ok::<_, std::convert::Infallible>(period::Extent::Days(&self.period_days))
        });
        let period = period.unwrap_or(Period::day(today));
        let figures = period::checkpoint_figures(self.a, &merged, period);
        let grids = self.worker_grids();
        figures
            .into_iter()
            .filter_map(|f| {
                let c = self.reg.checkpoints.get(f.checkpoint)?;
                if !grids.contains(&c.grid) {
                    return None;
                }
                Some(Feat {
                    geom: Geom::Point((c.lon, c.lat)),
                    props: props([
                        ("code", json!(c.code)),
                        ("name", json!(c.name)),
                        ("kind", json!(c.kind)),
                        ("grid", json!(self.grid_code(c.grid))),
                        ("visits_per_month", json!(c.visits_per_month)),
                        ("visits", json!(f.visits.len())),
                        ("compliance", json!(round(f.compliance, 4))),
                    ]),
                })
            })
            .collect()
    }
}
