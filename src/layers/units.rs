//! The `units` layer: communities, streets, districts and the city, dissolved from their
//! selected grids (bottom-up union of the children), with the figures of
//! [`units::unit_figures`] (the report's unit rows, over the layer's period): grids, workers,
//! area, area-weighted team coverage, mean score.

use std::collections::BTreeMap;

use geo::MultiPolygon;
use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, round, Ctx};
use crate::assess::units;
use crate::model::Level;
use crate::registry::{GridId, Registry};

impl Ctx<'_> {
    pub(super) fn units(&self) -> Vec<Feat> {
        let reg = self.reg;
        let n = reg.units.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, u) in reg.units.iter().enumerate() {
            if let Some(p) = u.parent {
                children[p].push(i);
            }
        }
        // The selected grids under each unit, by walking up from each grid once.
        let grids_under = reg.grids_by_unit(&self.grids);
        let root = self.filter.unit.as_deref().and_then(|u| reg.unit_index(u));
        let in_root = |i: usize| root.is_none_or(|r| reg.is_within(i, r));
        let worker_grids = self.worker_grids();
        let wanted: Vec<usize> = (0..n)
            .filter(|&i| reg.units[i].level != Level::Grid && !grids_under[i].is_empty())
            .filter(|&i| in_root(i))
            .filter(|&i| {
                self.filter.worker.is_none()
                    || grids_under[i].iter().any(|g| worker_grids.contains(g))
            })
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let grid_of_unit: BTreeMap<usize, GridId> = self
            .grids
            .iter()
            .map(|&g| (reg.grids[g as usize].unit, g))
            .collect();
        let mut dissolved: Vec<Option<MultiPolygon<f64>>> = vec![None; n];
        let team = self.team();
        let mut out = Vec::new();
        for i in wanted {
            let shape = dissolve(i, &children, &grid_of_unit, reg, &mut dissolved);
            let u = &reg.units[i];
            // The figures the report's unit rows show, over this layer's period.
            let figures =
                units::unit_figures(self.a, &grids_under[i], &team, self.extras.scores, |w| {
                    self.scope.worker(w.id.as_str())
                });
            out.push(Feat {
                geom: Geom::Polygons(shape),
                props: props([
                    ("code", json!(u.code.as_str())),
                    ("name", json!(u.name)),
                    ("level", json!(u.level.as_str())),
                    (
                        "parent",
                        json!(u.parent.map(|p| reg.units[p].code.as_str())),
                    ),
                    ("grids", json!(figures.grids.len())),
                    ("workers", json!(figures.workers.len())),
                    ("area_m2", json!(round(figures.area_m2, 1))),
                    ("coverage", json!(round(figures.team_coverage, 4))),
                    ("score", json!(figures.mean_score.map(|s| round(s, 2)))),
                ]),
            });
        }
        out
    }
}

/// The union of a unit's selected grids, computed once per unit from its children's unions.
fn dissolve(
    i: usize,
    children: &[Vec<usize>],
    grid_of_unit: &BTreeMap<usize, GridId>,
    reg: &Registry,
    memo: &mut [Option<MultiPolygon<f64>>],
) -> MultiPolygon<f64> {
    if let Some(done) = &memo[i] {
        return done.clone();
    }
    let shape = if let Some(&g) = grid_of_unit.get(&i) {
        use geo::orient::{Direction, Orient};
        reg.grids[g as usize].polygon.orient(Direction::Default)
    } else {
        let parts: Vec<MultiPolygon<f64>> = children[i]
            .iter()
            .map(|&c| dissolve(c, children, grid_of_unit, reg, memo))
            .filter(|p| !p.0.is_empty())
            .collect();
        match parts.len() {
            0 => MultiPolygon::new(Vec::new()),
            1 => parts[0].clone(),
            _ => geo::unary_union(parts.iter()),
        }
    };
    memo[i] = Some(shape.clone());
    shape
}
