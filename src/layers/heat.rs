//! The `heat` layer: patrol time per square cell of a local frame anchored at the south-west
//! corner of the registry; each worker-day's time is spread along its path by length.

use std::collections::BTreeMap;

use geo::MultiPolygon;
use serde_json::json;

use super::geojson::{Feat, Geom};
use super::{props, round, Ctx, DEFAULT_CELL_M};
use crate::assess::WorkerDay;
use crate::geodesy::LocalFrame;
use crate::registry::Registry;

impl Ctx<'_> {
    pub(super) fn heat(&self) -> Vec<Feat> {
        let cell = self.filter.cell_m.unwrap_or(DEFAULT_CELL_M);
        let Some(frame) = heat_frame(self.reg, &self.period_days) else {
            return Vec::new();
        };
        let mut cells: BTreeMap<(i64, i64), f64> = BTreeMap::new();
        for d in self.days() {
            let mut day_cells: BTreeMap<(i64, i64), f64> = BTreeMap::new();
            let mut total = 0.0;
            let mut points: Vec<(i64, i64)> = Vec::new();
            for line in &d.path {
                let pts: Vec<(f64, f64)> = line.iter().map(|&(x, y)| frame.project(x, y)).collect();
                points.extend(pts.iter().map(|&p| cell_of(p, cell)));
                for w in pts.windows(2) {
                    total += lengths_in_cells(w[0], w[1], cell, &mut day_cells);
                }
            }
            if total > 0.0 {
                for (c, len) in day_cells {
                    *cells.entry(c).or_insert(0.0) += d.patrol_s * len / total;
                }
            } else if !points.is_empty() {
                // No length (one-fix segments only): the day's time goes to its fixes' cells.
                let each = d.patrol_s / points.len() as f64;
                for c in points {
                    *cells.entry(c).or_insert(0.0) += each;
                }
            }
        }
        cells
            .into_iter()
            .filter(|&(_, s)| s > 0.0)
            .map(|((i, j), s)| {
                let (x0, y0) = (i as f64 * cell, j as f64 * cell);
                let ring: Vec<(f64, f64)> = [
                    (x0, y0),
                    (x0 + cell, y0),
                    (x0 + cell, y0 + cell),
                    (x0, y0 + cell),
                    (x0, y0),
                ]
                .iter()
                .map(|&(x, y)| frame.unproject(x, y))
                .collect();
                Feat {
                    geom: Geom::Polygons(MultiPolygon::new(vec![geo::Polygon::new(
                        ring.into(),
                        Vec::new(),
                    )])),
                    props: props([
                        ("patrol_s", json!(round(s, 1))),
                        ("cell", json!(format!("{i},{j}"))),
                    ]),
                }
            })
            .collect()
    }
}

/// The heat frame: at the south-west corner of the registry's grids, or (no grids) at the
/// whole degree south-west of the first position of the days.
fn heat_frame(reg: &Registry, days: &[WorkerDay]) -> Option<LocalFrame> {
    let sw = reg.grids.iter().fold(None, |acc: Option<(f64, f64)>, g| {
        let m = g.bbox.min();
        Some(acc.map_or((m.x, m.y), |(x, y)| (x.min(m.x), y.min(m.y))))
    });
    let sw = match sw {
        Some(sw) => sw,
        None => {
            let &(x, y) = days.iter().flat_map(|d| d.path.iter().flatten()).next()?;
            (x.floor(), y.floor())
        }
    };
    Some(LocalFrame::new(sw.0, sw.1))
}

/// The cell (i, j) of a point in frame metres.
fn cell_of(p: (f64, f64), cell: f64) -> (i64, i64) {
    ((p.0 / cell).floor() as i64, (p.1 / cell).floor() as i64)
}

/// Adds the length of the step p → q inside each cell it crosses; returns the step's length.
fn lengths_in_cells(
    p: (f64, f64),
    q: (f64, f64),
    cell: f64,
    out: &mut BTreeMap<(i64, i64), f64>,
) -> f64 {
    let len = (q.0 - p.0).hypot(q.1 - p.1);
    if len == 0.0 || !len.is_finite() {
        return 0.0;
    }
    // Where the step crosses a cell edge, as fractions of the step.
    let mut ts = vec![0.0, 1.0];
    for (a, b) in [(p.0 / cell, q.0 / cell), (p.1 / cell, q.1 / cell)] {
        if a != b {
            let (lo, hi) = (a.min(b).ceil() as i64, a.max(b).floor() as i64);
            for k in lo..=hi {
                let t = (k as f64 - a) / (b - a);
                if t > 0.0 && t < 1.0 {
                    ts.push(t);
                }
            }
        }
    }
    ts.sort_by(f64::total_cmp);
    for w in ts.windows(2) {
        let mid = (w[0] + w[1]) / 2.0;
        let at = (p.0 + (q.0 - p.0) * mid, p.1 + (q.1 - p.1) * mid);
        *out.entry(cell_of(at, cell)).or_insert(0.0) += len * (w[1] - w[0]);
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_split_by_the_cells_it_crosses() {
        let mut out = BTreeMap::new();
        // 0 → 120 m east at y = 10 with 50 m cells: 50 + 50 + 20.
        let len = lengths_in_cells((0.0, 10.0), (120.0, 10.0), 50.0, &mut out);
        assert!((len - 120.0).abs() < 1e-9);
        assert!((out[&(0, 0)] - 50.0).abs() < 1e-9);
        assert!((out[&(1, 0)] - 50.0).abs() < 1e-9);
        assert!((out[&(2, 0)] - 20.0).abs() < 1e-9);
        // A diagonal across a corner splits into three cells and keeps its length.
        let mut out = BTreeMap::new();
        let len = lengths_in_cells((40.0, 45.0), (60.0, 60.0), 50.0, &mut out);
        let sum: f64 = out.values().sum();
        assert!((sum - len).abs() < 1e-9);
        assert_eq!(out.len(), 3);
    }
}
