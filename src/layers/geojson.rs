//! The one GeoJSON writer of the layers (RFC 7946): features are built in WGS84 with engine
//! geometry, then finished once — polygons oriented (exterior rings counter-clockwise, holes
//! clockwise), every position converted to the output CRS and rounded to 6 decimals (~0.1 m),
//! the bbox filter applied to each feature's extent, and the collection's `bbox` computed from
//! what is written.

use geo::orient::{Direction, Orient};
use geo::{Area, MultiPolygon};
use serde_json::{json, Map, Value};

use crate::model::Crs;

/// Decimals of every written coordinate.
pub const COORD_DECIMALS: i32 = 6;

/// Polygons smaller than this (square degrees, about 1 m²) are slivers of a Boolean operation
/// and are not written.
const SLIVER_DEG2: f64 = 1e-10;

/// Rounds a coordinate to [`COORD_DECIMALS`]: the layers' one rounding policy.
pub fn round_coord(x: f64) -> f64 {
    let f = 10f64.powi(COORD_DECIMALS);
    (x * f).round() / f
}

/// A feature's geometry in WGS84 (x = lon, y = lat), before it is written.
#[derive(Clone, Debug)]
pub(crate) enum Geom {
    /// One position.
    Point((f64, f64)),
    /// A line of two or more positions.
    LineString(Vec<(f64, f64)>),
    /// Lines of two or more positions each.
    MultiLineString(Vec<Vec<(f64, f64)>>),
    /// A Polygon when it has one part, else a MultiPolygon.
    Polygons(MultiPolygon<f64>),
}

/// A feature before it is written: geometry and properties.
#[derive(Clone, Debug)]
pub(crate) struct Feat {
    pub geom: Geom,
    pub props: Map<String, Value>,
}

/// The extent of written positions, [w, s, e, n].
#[derive(Clone, Copy, Debug)]
struct Extent([f64; 4]);

impl Extent {
    fn empty() -> Extent {
        Extent([
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ])
    }

    fn add(&mut self, p: [f64; 2]) {
        let e = &mut self.0;
        e[0] = e[0].min(p[0]);
        e[1] = e[1].min(p[1]);
        e[2] = e[2].max(p[0]);
        e[3] = e[3].max(p[1]);
    }

    fn union(&mut self, other: &Extent) {
        self.add([other.0[0], other.0[1]]);
        self.add([other.0[2], other.0[3]]);
    }

    fn intersects(&self, b: &[f64; 4]) -> bool {
        let e = &self.0;
        e[0] <= b[2] && e[2] >= b[0] && e[1] <= b[3] && e[3] >= b[1]
    }
}

/// Twice the signed area of a written ring (positive when counter-clockwise).
fn signed_area2(ring: &[[f64; 2]]) -> f64 {
    ring.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum()
}

/// Writes positions in one output CRS and records their extent.
struct Writer {
    crs: Crs,
    extent: Extent,
}

impl Writer {
    fn pos(&mut self, (lon, lat): (f64, f64)) -> [f64; 2] {
        let (x, y) = crate::crs::convert(Crs::Wgs84, self.crs, lon, lat);
        let p = [
            round_coord(x.clamp(-180.0, 180.0)),
            round_coord(y.clamp(-90.0, 90.0)),
        ];
        self.extent.add(p);
        p
    }

    fn line(&mut self, line: &[(f64, f64)]) -> Vec<[f64; 2]> {
        line.iter().map(|&c| self.pos(c)).collect()
    }

    fn ring(&mut self, ring: &geo::LineString<f64>) -> Vec<[f64; 2]> {
        let mut out: Vec<[f64; 2]> = ring.coords().map(|c| self.pos((c.x, c.y))).collect();
        // geo closes rings; make sure the written ring is closed whatever came in.
        if let (Some(&first), Some(&last)) = (out.first(), out.last()) {
            if first != last {
                out.push(first);
            }
        }
        out
    }

    /// A geometry as GeoJSON; `None` when nothing of it can be written (no polygon left).
    fn geometry(&mut self, geom: &Geom) -> Option<Value> {
        Some(match geom {
            Geom::Point(p) => json!({"type": "Point", "coordinates": self.pos(*p)}),
            Geom::LineString(l) => json!({"type": "LineString", "coordinates": self.line(l)}),
            Geom::MultiLineString(ls) => {
                let lines: Vec<Vec<[f64; 2]>> = ls.iter().map(|l| self.line(l)).collect();
                json!({"type": "MultiLineString", "coordinates": lines})
            }
            Geom::Polygons(mp) => {
                let mut polys: Vec<Vec<Vec<[f64; 2]>>> = Vec::new();
                for p in mp.iter() {
                    if p.exterior().0.len() < 4 || p.unsigned_area() <= SLIVER_DEG2 {
                        continue;
                    }
                    let p = p.orient(Direction::Default);
                    let exterior = self.ring(p.exterior());
                    // Rounding can flatten a tiny ring: keep only rings whose written
                    // orientation is still the right one.
                    if signed_area2(&exterior) <= 0.0 {
                        continue;
                    }
                    let mut rings = vec![exterior];
                    for hole in p.interiors() {
                        let hole_poly = geo::Polygon::new(hole.clone(), Vec::new());
                        if hole.0.len() < 4 || hole_poly.unsigned_area() <= SLIVER_DEG2 {
                            continue;
                        }
                        let r = self.ring(hole);
                        if signed_area2(&r) < 0.0 {
                            rings.push(r);
                        }
                    }
                    polys.push(rings);
                }
                match polys.len() {
                    0 => return None,
                    1 => json!({"type": "Polygon", "coordinates": polys[0]}),
                    _ => json!({"type": "MultiPolygon", "coordinates": polys}),
                }
            }
        })
    }
}

/// A MultiPolygon as a GeoJSON geometry (a Polygon when it has one part) in an output CRS:
/// oriented, converted and rounded as every layer writes polygons; `null` when empty.
pub fn polygon_geometry(mp: &MultiPolygon<f64>, crs: Crs) -> Value {
    let mut w = Writer {
        crs,
        extent: Extent::empty(),
    };
    w.geometry(&Geom::Polygons(mp.clone()))
        .unwrap_or(Value::Null)
}

/// Writes features as a FeatureCollection in `crs`, keeping those whose extent intersects
/// `bbox` (given in the output CRS), with the `gridbeat` foreign member and the collection's
/// `bbox` (omitted when no feature is left).
pub(crate) fn collection(
    feats: Vec<Feat>,
    crs: Crs,
    bbox: Option<[f64; 4]>,
    member: Value,
) -> Value {
    let mut total = Extent::empty();
    let mut features = Vec::with_capacity(feats.len());
    for f in feats {
        let mut w = Writer {
            crs,
            extent: Extent::empty(),
        };
        let Some(geometry) = w.geometry(&f.geom) else {
            continue;
        };
        if bbox.is_some_and(|b| !w.extent.intersects(&b)) {
            continue;
        }
        total.union(&w.extent);
        features.push(json!({"type": "Feature", "geometry": geometry, "properties": f.props}));
    }
    let mut out = Map::new();
    out.insert("type".into(), json!("FeatureCollection"));
    out.insert("gridbeat".into(), member);
    if !features.is_empty() {
        out.insert("bbox".into(), json!(total.0));
    }
    out.insert("features".into(), Value::Array(features));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn clockwise_exteriors_are_written_counter_clockwise_and_rounded() {
        // A clockwise square.
        let p = polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 0.001), (x: 0.0011111111, y: 0.001), (x: 0.0011111111, y: 0.0)];
        let g = polygon_geometry(&MultiPolygon::new(vec![p]), Crs::Wgs84);
        assert_eq!(g["type"], "Polygon");
        let ring = g["coordinates"][0].as_array().unwrap();
        let pts: Vec<(f64, f64)> = ring
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect();
        let twice_area: f64 = pts
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        assert!(twice_area > 0.0, "counter-clockwise");
        assert_eq!(pts.first(), pts.last());
        assert!(pts.iter().any(|p| p.0 == 0.001111));
    }

    #[test]
    fn features_outside_the_bbox_are_left_out_and_the_bbox_covers_the_rest() {
        let feats = vec![
            Feat {
                geom: Geom::Point((1.0, 1.0)),
                props: Map::new(),
            },
            Feat {
                geom: Geom::LineString(vec![(5.0, 5.0), (6.0, 7.0)]),
                props: Map::new(),
            },
        ];
        let all = collection(feats.clone(), Crs::Wgs84, None, Value::Null);
        assert_eq!(all["bbox"], json!([1.0, 1.0, 6.0, 7.0]));
        let some = collection(feats, Crs::Wgs84, Some([4.0, 4.0, 5.5, 5.5]), Value::Null);
        assert_eq!(some["features"].as_array().unwrap().len(), 1);
        assert_eq!(some["bbox"], json!([5.0, 5.0, 6.0, 7.0]));
        let none = collection(Vec::new(), Crs::Wgs84, None, Value::Null);
        assert!(none.get("bbox").is_none());
    }
}
