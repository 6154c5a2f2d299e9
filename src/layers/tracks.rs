//! The `tracks` layer: per worker-day one `walk` (the day's simplified segments) and one
//! `gap` per pair of consecutive segments; [`track_geojson`] is one day's track alone.

use serde_json::{json, Value};

use super::geojson::{self, Feat, Geom};
use super::{
    member, props, round, time, worker_name, Ctx, Filter, Layer, LayerError, METRES_PER_PIXEL_Z0,
};
use crate::assess::{Assessor, WorkerDay};
use crate::model::Period;

/// One worker-day's track as a FeatureCollection: its `walk` and its `gap`s (the tracks layer
/// of that day alone), in the filter's CRS, simplification and bbox; the period is the day.
///
/// # Errors
/// A malformed bbox, tolerance or zoom.
pub fn track_geojson(
    assessor: &Assessor,
    day: &WorkerDay,
    filter: &Filter,
) -> Result<Value, LayerError> {
    filter.check()?;
    let feats = track_features(assessor, day, filter);
    Ok(geojson::collection(
        feats,
        filter.crs,
        filter.bbox,
        member(Layer::Tracks, filter.crs, Some(Period::day(day.day))),
    ))
}

/// The Douglas–Peucker tolerance for a line starting at `lat`, if any.
pub(super) fn tolerance_m(filter: &Filter, lat: f64) -> Option<f64> {
    filter.simplify_m.or_else(|| {
        filter
            .zoom
            .map(|z| METRES_PER_PIXEL_Z0 * lat.to_radians().cos() / 2f64.powf(z))
    })
}

/// The walk and gaps of one worker-day.
fn track_features(assessor: &Assessor, d: &WorkerDay, filter: &Filter) -> Vec<Feat> {
    let reg = &assessor.registry;
    let w = d.worker.as_str();
    let lines: Vec<Vec<(f64, f64)>> = d
        .path
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut l = match tolerance_m(filter, l[0].1) {
                Some(tol) if l.len() > 2 => crate::track::simplify::simplify_lonlat(l, tol)
                    .into_iter()
                    .map(|k| l[k])
                    .collect(),
                _ => l.clone(),
            };
            if l.len() == 1 {
                l.push(l[0]);
            }
            l
        })
        .collect();
    let mut out = Vec::new();
    if lines.is_empty() {
        return out;
    }
    out.push(Feat {
        props: props([
            ("kind", json!("walk")),
            ("worker", json!(w)),
            ("name", worker_name(reg, w)),
            ("day", json!(d.day.to_string())),
            ("length_m", json!(round(d.length_m, 1))),
            ("patrol_s", json!(round(d.patrol_s, 1))),
            ("segments", json!(d.segments)),
            ("start", time(assessor.tz, d.first_fix)),
            ("end", time(assessor.tz, d.last_fix)),
        ]),
        geom: Geom::MultiLineString(lines.clone()),
    });
    for pair in lines.windows(2) {
        let (Some(&a), Some(&b)) = (pair[0].last(), pair[1].first()) else {
            continue;
        };
        out.push(Feat {
            props: props([
                ("kind", json!("gap")),
                ("worker", json!(w)),
                ("name", worker_name(reg, w)),
                ("day", json!(d.day.to_string())),
                (
                    "gap_m",
                    json!(round(crate::geodesy::distance_m(a.0, a.1, b.0, b.1), 1)),
                ),
            ]),
            geom: Geom::LineString(vec![a, b]),
        });
    }
    out
}

impl Ctx<'_> {
    pub(super) fn tracks(&self) -> Vec<Feat> {
        self.days()
            .flat_map(|d| track_features(self.a, d, self.filter))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_tolerance_is_a_pixel() {
        let f = Filter {
            zoom: Some(16.0),
            ..Filter::default()
        };
        let t = tolerance_m(&f, 0.0).unwrap();
        assert!((t - 2.388_657).abs() < 1e-3, "{t}");
        let t60 = tolerance_m(&f, 60.0).unwrap();
        assert!((t60 - t / 2.0).abs() < 1e-9);
    }
}
