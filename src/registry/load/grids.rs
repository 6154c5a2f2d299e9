//! The grids file: each feature read with its raw positions checked before any conversion,
//! the swapped-axes test against the other grids, the geo polygons built and validated, the
//! hierarchy resolved, and the overlap and sliver warnings.

use std::collections::HashMap;

use geo::algorithm::validation::{InvalidMultiPolygon, InvalidPolygon};
use geo::{BooleanOps, Coord, GeodesicArea, LineString, MultiPolygon, Polygon};
use geo::{Rect, Validation};
use rstar::primitives::Rectangle;
use rstar::{RTree, RTreeObject};
use serde_json::Value;

use super::{
    code_property, describe, feature_code, long_name, range_fault, read_position, text_property,
    Issues, RawPolygon, RawUnit, Reference, MAX_NAME_BYTES,
};
use crate::crs::to_wgs84;
use crate::model::{Crs, Level};
use crate::registry::{
    Fault, Grid, Place, OVERLAP_TOLERANCE_M2, SLIVER_MAX_AREA_M2, SLIVER_MIN_COMPACTNESS,
};

/// Reads one feature of the grids file, with the checks that need only the feature itself.
pub(super) fn read_unit(index: usize, feature: &Value, issues: &mut Issues<'_>) -> RawUnit {
    let props = super::properties(feature);
    let mut faults = Vec::new();
    let code = feature_code(props, &mut faults);
    let level = match props.get("level") {
        Some(Value::String(s)) => s.parse::<Level>().ok(),
        _ => None,
    };
    if level.is_none() {
        let shown = props.get("level").map_or("missing".to_string(), describe);
        faults.push(Fault::BadLevel(shown));
    }
    let parent = match code_property(props.get("parent")) {
        Ok(p) => p,
        Err(what) => {
            faults.push(Fault::BadProperty {
                name: "parent".to_string(),
                problem: format!(
                    "is {what}: give the parent's code as a string, or null for a root"
                ),
            });
            None
        }
    };
    let name = text_property(props, "name");
    if name.len() > MAX_NAME_BYTES {
        faults.push(long_name(name.len()));
    }
    let mut raw = Vec::new();
    if level == Some(Level::Grid) {
        match read_polygons(feature.get("geometry")) {
            Ok(polygons) => {
                faults.extend(raw_faults(&polygons));
                raw = polygons;
            }
            Err(fault) => faults.push(fault),
        }
    }
    let unit = RawUnit {
        index,
        code,
        name,
        level,
        parent,
        raw,
        polygon: None,
        bad: !faults.is_empty(),
    };
    for fault in faults {
        issues.push(unit.place(), fault);
    }
    unit
}

/// Reads a Polygon or MultiPolygon geometry into raw rings.
fn read_polygons(geometry: Option<&Value>) -> Result<Vec<RawPolygon>, Fault> {
    let geometry = match geometry {
        None | Some(Value::Null) => return Err(Fault::MissingPolygon("no geometry".to_string())),
        Some(g) => g,
    };
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = geometry.get("coordinates");
    match (kind, coords) {
        ("Polygon", Some(c)) => Ok(vec![read_polygon(c, 0)?]),
        ("MultiPolygon", Some(Value::Array(polys))) => {
            let mut ring_base = 0;
            let mut out = Vec::with_capacity(polys.len());
            for p in polys {
                let polygon = read_polygon(p, ring_base)?;
                ring_base += polygon.len();
                out.push(polygon);
            }
            if out.is_empty() {
                return Err(Fault::BadGeometry("the MultiPolygon is empty".to_string()));
            }
            Ok(out)
        }
        ("Polygon" | "MultiPolygon", _) => Err(Fault::BadGeometry(format!(
            "the {kind} has no valid \"coordinates\" array"
        ))),
        ("", _) => Err(Fault::MissingPolygon(
            "a geometry without a type".to_string(),
        )),
        (other, _) => Err(Fault::MissingPolygon(format!("a {other} geometry"))),
    }
}

/// Reads the rings of one polygon; `ring_base` numbers rings across a MultiPolygon.
fn read_polygon(value: &Value, ring_base: usize) -> Result<RawPolygon, Fault> {
    let Some(rings) = value.as_array().filter(|r| !r.is_empty()) else {
        return Err(Fault::BadGeometry(format!(
            "polygon starting at ring {ring_base} has no rings"
        )));
    };
    rings
        .iter()
        .enumerate()
        .map(|(k, ring)| {
            let Some(positions) = ring.as_array() else {
                return Err(Fault::BadGeometry(format!(
                    "ring {} is not an array of positions",
                    ring_base + k
                )));
            };
            positions
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    read_position(p).ok_or_else(|| {
                        Fault::BadGeometry(format!(
                            "ring {} position {j} is not [lon, lat]",
                            ring_base + k
                        ))
                    })
                })
                .collect()
        })
        .collect()
}

/// Checks the raw rings: enough positions, closed, coordinates in range.
fn raw_faults(polygons: &[RawPolygon]) -> Vec<Fault> {
    let mut faults = Vec::new();
    for (k, ring) in polygons.iter().flatten().enumerate() {
        if ring.len() < 4 {
            faults.push(Fault::BadGeometry(format!(
                "ring {k} has {} positions; a ring needs at least 4, the last repeating the first",
                ring.len()
            )));
            continue;
        }
        let (first, last) = (ring[0], ring[ring.len() - 1]);
        if first != last {
            faults.push(Fault::UnclosedRing {
                ring: k,
                first_lon: first[0],
                first_lat: first[1],
                last_lon: last[0],
                last_lat: last[1],
            });
        }
    }
    if let Some(fault) = polygons
        .iter()
        .flatten()
        .flatten()
        .find_map(|&p| range_fault(p))
    {
        faults.push(fault);
    }
    faults
}

/// The centre of the bounding box of raw rings.
pub(super) fn raw_center(polygons: &[RawPolygon]) -> Option<Coord<f64>> {
    let mut it = polygons.iter().flatten().flatten();
    let first = it.next()?;
    let (mut min, mut max) = (*first, *first);
    for p in it {
        min = [min[0].min(p[0]), min[1].min(p[1])];
        max = [max[0].max(p[0]), max[1].max(p[1])];
    }
    Some(Coord {
        x: (min[0] + max[0]) / 2.0,
        y: (min[1] + max[1]) / 2.0,
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median centre of the grids and the median distance from it; needs three grids.
pub(super) fn reference_of(centers: &[Coord<f64>]) -> Option<Reference> {
    if centers.len() < 3 {
        return None;
    }
    let center = Coord {
        x: median(&mut centers.iter().map(|c| c.x).collect::<Vec<_>>()),
        y: median(&mut centers.iter().map(|c| c.y).collect::<Vec<_>>()),
    };
    let spread_deg = median(
        &mut centers
            .iter()
            .map(|c| (*c - center).x.hypot((*c - center).y))
            .collect::<Vec<_>>(),
    );
    Some(Reference { center, spread_deg })
}

/// A position far from the reference (more than 1° and 20 spreads) that would be close to it
/// (within 0.2° or 5 spreads) with x and y exchanged.
pub(super) fn swapped_far(c: Coord<f64>, reference: &Reference) -> Option<Fault> {
    let far_deg = (20.0 * reference.spread_deg).max(1.0);
    let near_deg = (5.0 * reference.spread_deg).max(0.2);
    let d = (c - reference.center).x.hypot((c - reference.center).y);
    let swapped = Coord { x: c.y, y: c.x };
    let ds = (swapped - reference.center)
        .x
        .hypot((swapped - reference.center).y);
    (d > far_deg && ds < near_deg).then(|| Fault::LatLonSwapped {
        lon: c.x,
        lat: c.y,
        reason: format!(
            "it lies {d:.2}° from the other features but {ds:.3}° from them with x and y exchanged"
        ),
    })
}

/// Builds the geo polygon from raw rings converted to WGS84.
pub(super) fn build_polygon(raw: &[RawPolygon], crs: Crs) -> MultiPolygon<f64> {
    let ring = |positions: &Vec<[f64; 2]>| -> LineString<f64> {
        positions
            .iter()
            .map(|&[x, y]| {
                let (lon, lat) = to_wgs84(crs, x, y);
                Coord { x: lon, y: lat }
            })
            .collect()
    };
    MultiPolygon(
        raw.iter()
            .map(|rings| {
                let exterior = rings.first().map_or_else(|| LineString(Vec::new()), ring);
                Polygon::new(exterior, rings.iter().skip(1).map(ring).collect())
            })
            .collect(),
    )
}

/// Geo's validity checks, as faults.
pub(super) fn polygon_faults(polygon: &MultiPolygon<f64>) -> Vec<Fault> {
    polygon
        .validation_errors()
        .into_iter()
        .map(|e| match e {
            InvalidMultiPolygon::InvalidPolygon(
                i,
                err @ (InvalidPolygon::SelfIntersection(_)
                | InvalidPolygon::IntersectingRingsOnALine(..)
                | InvalidPolygon::IntersectingRingsOnAnArea(..)),
            ) => Fault::SelfIntersection(format!("polygon {}: {err}", i.0)),
            other => Fault::InvalidPolygon(other.to_string()),
        })
        .collect()
}

/// Resolves a unit's place in the hierarchy; `true` when it is accepted.
pub(super) fn resolve(
    i: usize,
    raws: &[RawUnit],
    by_code: &HashMap<String, usize>,
    accepted: &mut [Option<bool>],
    issues: &mut Issues<'_>,
) -> bool {
    if let Some(done) = accepted[i] {
        return done;
    }
    // Provisionally rejected, so that a cycle (only possible with levels out of order) ends.
    accepted[i] = Some(false);
    let r = &raws[i];
    if r.bad {
        return false;
    }
    let ok = match (&r.parent, r.level) {
        (None, _) => true,
        (Some(parent), level) => match by_code.get(parent) {
            None => {
                issues.push(r.place(), Fault::UnknownParent(parent.clone()));
                false
            }
            Some(&p) => match (raws[p].level, level) {
                (Some(parent_level), Some(level)) if parent_level >= level => {
                    issues.push(
                        r.place(),
                        Fault::LevelOutOfOrder {
                            level: level.to_string(),
                            parent: parent.clone(),
                            parent_level: parent_level.to_string(),
                        },
                    );
                    false
                }
                _ if !resolve(p, raws, by_code, accepted, issues) => {
                    issues.push(r.place(), Fault::ParentRejected(parent.clone()));
                    false
                }
                _ => true,
            },
        },
    };
    accepted[i] = Some(ok);
    ok
}

/// Warns about overlapping pairs of grids and about slivers.
pub(super) fn shape_warnings(grids: &[Grid], places: &[Place], warnings: &mut Issues<'_>) {
    let boxes: Vec<Rectangle<[f64; 2]>> = grids
        .iter()
        .map(|g| Rectangle::from_corners(g.bbox.min().into(), g.bbox.max().into()))
        .collect();
    let tree = RTree::bulk_load(
        boxes
            .iter()
            .enumerate()
            .map(|(i, b)| rstar::primitives::GeomWithData::new(*b, i))
            .collect(),
    );
    for (a, grid) in grids.iter().enumerate() {
        for other in tree.locate_in_envelope_intersecting(&boxes[a].envelope()) {
            let b = other.data;
            if b <= a || !rects_overlap(&grid.bbox, &grids[b].bbox) {
                continue;
            }
            let area_m2 = grid
                .polygon
                .intersection(&grids[b].polygon)
                .geodesic_area_unsigned();
            if area_m2 > OVERLAP_TOLERANCE_M2 {
                warnings.push(
                    places[a].clone(),
                    Fault::Overlap {
                        a: grid.code.to_string(),
                        b: grids[b].code.to_string(),
                        area_m2,
                    },
                );
            }
        }
        let perimeter_m = grid.polygon.geodesic_perimeter();
        let compactness = if perimeter_m > 0.0 {
            4.0 * std::f64::consts::PI * grid.area_m2 / (perimeter_m * perimeter_m)
        } else {
            0.0
        };
        if grid.area_m2 < SLIVER_MAX_AREA_M2 || compactness < SLIVER_MIN_COMPACTNESS {
            warnings.push(
                places[a].clone(),
                Fault::Sliver {
                    area_m2: grid.area_m2,
                    compactness,
                },
            );
        }
    }
}

/// Whether two boxes share more than a boundary.
fn rects_overlap(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x < b.max().x && b.min().x < a.max().x && a.min().y < b.max().y && b.min().y < a.max().y
}
