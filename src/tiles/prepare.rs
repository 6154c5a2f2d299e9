//! A FeatureCollection read once into Web Mercator geometries and MVT-ready properties, and
//! the cutting of one tile from it.

use std::ops::Range;

use geozero::mvt::{Message, MvtWriter, Tile};
use geozero::{ColumnValue, FeatureProcessor, GeomProcessor, PropertyProcessor};
use serde_json::Value;

use super::clip::{clip_line, clip_ring, finish_ring, simplify, snap, TOLERANCE};
use super::{project_x, project_y, TileError, TileId, BUFFER, EXTENT};

/// Geometry family of a feature: MVT has one geometry type per feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Point,
    Line,
    Polygon,
}

/// A property value as MVT stores it (JSON null is left out; arrays and objects are their
/// JSON text).
#[derive(Clone, Debug, PartialEq)]
enum Prop {
    Str(String),
    Double(f64),
    Sint(i64),
    Uint(u64),
    Bool(bool),
}

/// What a run of positions is read as.
#[derive(Clone, Copy, Debug)]
enum Run {
    Points,
    Line,
    Ring { exterior: bool },
}

/// One part of a geometry: a point run, a line or a ring, as a range of `coords`.
#[derive(Clone, Debug)]
struct Part {
    coords: Range<usize>,
    /// The first ring of a polygon (its exterior); holes follow it.
    exterior: bool,
}

#[derive(Clone, Debug)]
struct Feature {
    kind: Kind,
    parts: Range<usize>,
    /// `[min_x, min_y, max_x, max_y]` in world units (0..1, y down).
    bbox: [f64; 4],
    props: Vec<(String, Prop)>,
    id: Option<u64>,
}

/// A FeatureCollection projected to Web Mercator world units (0..1, y down) once, from which
/// tiles are cut: the form the server caches per layer and filter set.
#[derive(Clone, Debug, Default)]
pub struct PreparedLayer {
    name: String,
    coords: Vec<[f64; 2]>,
    parts: Vec<Part>,
    features: Vec<Feature>,
}

impl PreparedLayer {
    /// Reads a GeoJSON FeatureCollection in WGS84. Features without a geometry (`null`) or
    /// with an empty one are left out. The MVT layer name is the collection's
    /// `gridbeat.layer` member (the layers contract), else `"layer"`; see
    /// [`PreparedLayer::with_name`].
    ///
    /// # Errors
    /// [`TileError::NotACollection`] when `collection` is not a FeatureCollection;
    /// [`TileError::BadGeometry`] for a geometry that is not Point, LineString, Polygon or
    /// their Multi forms with numeric positions.
    pub fn from_geojson(collection: &Value) -> Result<PreparedLayer, TileError> {
        let not = |reason: &str| TileError::NotACollection {
            reason: reason.to_string(),
        };
        if collection.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
            return Err(not("`type` is not \"FeatureCollection\""));
        }
        let features = collection
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| not("`features` is not an array"))?;
        let name = collection
            .pointer("/gridbeat/layer")
            .and_then(Value::as_str)
            .unwrap_or("layer");
        let mut layer = PreparedLayer {
            name: name.to_string(),
            ..PreparedLayer::default()
        };
        for (index, feature) in features.iter().enumerate() {
            layer
                .push_feature(feature)
                .map_err(|reason| TileError::BadGeometry { index, reason })?;
        }
        Ok(layer)
    }

    /// The same layer under the MVT layer name `name`.
    pub fn with_name(mut self, name: &str) -> PreparedLayer {
        self.name = name.to_string();
        self
    }

    /// The MVT layer name of its tiles.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of features with a geometry.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether no feature has a geometry.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    fn push_feature(&mut self, feature: &Value) -> Result<(), String> {
        let geometry = match feature.get("geometry") {
            None | Some(Value::Null) => return Ok(()),
            Some(g) => g,
        };
        let kind_name = geometry
            .get("type")
            .and_then(Value::as_str)
            .ok_or("geometry without a `type`")?;
        let coordinates = geometry
            .get("coordinates")
            .ok_or_else(|| format!("{kind_name} without `coordinates`"))?;
        let first_part = self.parts.len();
        let first_coord = self.coords.len();
        let kind = match kind_name {
            "Point" => {
                self.push_part(std::slice::from_ref(coordinates), Run::Points)?;
                Kind::Point
            }
            "MultiPoint" => {
                self.push_part(array(coordinates)?, Run::Points)?;
                Kind::Point
            }
            "LineString" => {
                self.push_part(array(coordinates)?, Run::Line)?;
                Kind::Line
            }
            "MultiLineString" => {
                for line in array(coordinates)? {
                    self.push_part(array(line)?, Run::Line)?;
                }
                Kind::Line
            }
            "Polygon" => {
                self.push_polygon(array(coordinates)?)?;
                Kind::Polygon
            }
            "MultiPolygon" => {
                for polygon in array(coordinates)? {
                    self.push_polygon(array(polygon)?)?;
                }
                Kind::Polygon
            }
            other => return Err(format!("geometry type {other} cannot be tiled")),
        };
        // Empty geometries, lines of one point and degenerate rings draw nothing.
        let kept: Vec<Part> = self
            .parts
            .drain(first_part..)
            .filter(|p| !p.coords.is_empty())
            .collect();
        self.parts.extend(kept);
        if self.parts.len() == first_part {
            self.coords.truncate(first_coord);
            return Ok(());
        }
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for p in &self.coords[first_coord..] {
            bbox[0] = bbox[0].min(p[0]);
            bbox[1] = bbox[1].min(p[1]);
            bbox[2] = bbox[2].max(p[0]);
            bbox[3] = bbox[3].max(p[1]);
        }
        let props = match feature.get("properties") {
            Some(Value::Object(map)) => map
                .iter()
                .filter_map(|(k, v)| prop(v).map(|p| (k.clone(), p)))
                .collect(),
            _ => Vec::new(),
        };
        self.features.push(Feature {
            kind,
            parts: first_part..self.parts.len(),
            bbox,
            props,
            id: feature.get("id").and_then(Value::as_u64),
        });
        Ok(())
    }

    /// Appends one run of positions as a part; a line of one point and a ring of fewer than
    /// three become empty parts.
    fn push_part(&mut self, positions: &[Value], run: Run) -> Result<(), String> {
        let start = self.coords.len();
        for position in positions {
            let pair = position
                .as_array()
                .filter(|a| a.len() >= 2)
                .ok_or("a position is not an array of two or more numbers")?;
            let (Some(lon), Some(lat)) = (pair[0].as_f64(), pair[1].as_f64()) else {
                return Err("a position is not an array of two or more numbers".to_string());
            };
            self.coords.push([project_x(lon), project_y(lat)]);
        }
        let min_len = match run {
            Run::Points => 1,
            Run::Line => 2,
            Run::Ring { .. } => {
                // Rings are kept open: the closing position is implied.
                if self.coords.len() > start + 1
                    && self.coords[start] == self.coords[self.coords.len() - 1]
                {
                    self.coords.pop();
                }
                3
            }
        };
        if self.coords.len() - start < min_len {
            self.coords.truncate(start);
        }
        self.parts.push(Part {
            coords: start..self.coords.len(),
            exterior: matches!(run, Run::Ring { exterior: true }),
        });
        Ok(())
    }

    fn push_polygon(&mut self, rings: &[Value]) -> Result<(), String> {
        let first = self.parts.len();
        for (i, ring) in rings.iter().enumerate() {
            self.push_part(array(ring)?, Run::Ring { exterior: i == 0 })?;
        }
        // A polygon whose exterior is degenerate draws nothing, holes included.
        if self.parts.get(first).is_some_and(|p| p.coords.is_empty()) {
            for p in &mut self.parts[first..] {
                p.coords = 0..0;
            }
        }
        Ok(())
    }

    /// Cuts one tile: the features that touch the tile grown by [`BUFFER`], clipped and
    /// simplified in tile units, as one MVT layer named [`PreparedLayer::name`]. `None` when
    /// nothing touches the tile.
    ///
    /// # Errors
    /// [`TileError::Encoder`] if geozero's encoder refuses a part (not expected: every part
    /// is checked before).
    pub fn encode(&self, tile: TileId) -> Result<Option<Vec<u8>>, TileError> {
        let enc = |e: geozero::error::GeozeroError| TileError::Encoder {
            reason: e.to_string(),
        };
        let n = 2f64.powi(i32::from(tile.z));
        let extent = f64::from(EXTENT);
        let scale = n * extent;
        let (ox, oy) = (f64::from(tile.x) * extent, f64::from(tile.y) * extent);
        let lo = -f64::from(BUFFER);
        let hi = extent + f64::from(BUFFER);
        // The buffered tile in world units, for the bounding-box prefilter.
        let window = [
            (ox + lo) / scale,
            (oy + lo) / scale,
            (ox + hi) / scale,
            (oy + hi) / scale,
        ];

        let mut writer = MvtWriter::new_unscaled(EXTENT).map_err(enc)?;
        let mut ids: Vec<Option<u64>> = Vec::new();
        let mut s = Scratch::default();
        for (index, f) in self.features.iter().enumerate() {
            if f.bbox[0] > window[2]
                || f.bbox[2] < window[0]
                || f.bbox[1] > window[3]
                || f.bbox[3] < window[1]
            {
                continue;
            }
            s.out.clear();
            s.out_parts.clear();
            let mut exterior_kept = false;
            for part in &self.parts[f.parts.clone()] {
                let coords = &self.coords[part.coords.clone()];
                s.world.clear();
                s.world.extend(
                    coords
                        .iter()
                        .map(|p| [p[0] * scale - ox, p[1] * scale - oy]),
                );
                match f.kind {
                    Kind::Point => {
                        let start = s.out.len();
                        for p in &s.world {
                            if p[0] >= lo && p[0] <= hi && p[1] >= lo && p[1] <= hi {
                                s.out.push([p[0].round() as i32, p[1].round() as i32]);
                            }
                        }
                        if s.out.len() > start {
                            s.out_parts.push((start..s.out.len(), false));
                        }
                    }
                    Kind::Line => {
                        clip_line(&s.world, lo, hi, &mut s.clipped, &mut s.clipped_parts);
                        for r in &s.clipped_parts {
                            snap(&s.clipped[r.clone()], &mut s.snapped);
                            simplify(&mut s.snapped, TOLERANCE, &mut s.keep, &mut s.stack);
                            if s.snapped.len() >= 2 {
                                let start = s.out.len();
                                s.out.extend_from_slice(&s.snapped);
                                s.out_parts.push((start..s.out.len(), false));
                            }
                        }
                    }
                    Kind::Polygon => {
                        // Holes of a dropped exterior are dropped with it.
                        if !part.exterior && !exterior_kept {
                            continue;
                        }
                        clip_ring(&s.world, lo, hi, &mut s.scratch, &mut s.clipped);
                        snap(&s.clipped, &mut s.snapped);
                        let kept =
                            finish_ring(&mut s.snapped, part.exterior, &mut s.keep, &mut s.stack);
                        if kept {
                            let start = s.out.len();
                            s.out.extend_from_slice(&s.snapped);
                            s.out_parts.push((start..s.out.len(), part.exterior));
                        }
                        if part.exterior {
                            exterior_kept = kept;
                        }
                    }
                }
            }
            if s.out_parts.is_empty() {
                continue;
            }
            writer.feature_begin(index as u64).map_err(enc)?;
            for (i, (key, value)) in f.props.iter().enumerate() {
                let value = match value {
                    Prop::Str(v) => ColumnValue::String(v),
                    Prop::Double(v) => ColumnValue::Double(*v),
                    Prop::Sint(v) => ColumnValue::Long(*v),
                    Prop::Uint(v) => ColumnValue::ULong(*v),
                    Prop::Bool(v) => ColumnValue::Bool(*v),
                };
                writer.property(i, key, &value).map_err(enc)?;
            }
            writer.geometry_begin().map_err(enc)?;
            s.emit(f.kind, &mut writer).map_err(enc)?;
            writer.geometry_end().map_err(enc)?;
            writer.feature_end(index as u64).map_err(enc)?;
            ids.push(f.id);
        }
        if ids.is_empty() {
            return Ok(None);
        }
        let mut layer = writer.layer(&self.name);
        for (feature, id) in layer.features.iter_mut().zip(ids) {
            feature.id = id;
        }
        Ok(Some(
            Tile {
                layers: vec![layer],
            }
            .encode_to_vec(),
        ))
    }
}

/// Buffers reused from feature to feature while cutting one tile.
#[derive(Default)]
struct Scratch {
    world: Vec<[f64; 2]>,
    clipped: Vec<[f64; 2]>,
    clipped_parts: Vec<Range<usize>>,
    scratch: Vec<[f64; 2]>,
    snapped: Vec<[i32; 2]>,
    keep: Vec<bool>,
    stack: Vec<(usize, usize)>,
    out: Vec<[i32; 2]>,
    /// Kept parts of the feature in `out`; for polygons, whether the ring is an exterior
    /// (starts a polygon).
    out_parts: Vec<(Range<usize>, bool)>,
}

impl Scratch {
    /// Feeds the kept parts of one feature to geozero's MVT geometry encoder.
    fn emit(&mut self, kind: Kind, w: &mut MvtWriter) -> geozero::error::Result<()> {
        let xy =
            |w: &mut MvtWriter, p: [i32; 2], i: usize| w.xy(f64::from(p[0]), f64::from(p[1]), i);
        match kind {
            Kind::Point => {
                let n: usize = self.out_parts.iter().map(|(r, _)| r.len()).sum();
                w.multipoint_begin(n, 0)?;
                let mut i = 0;
                for (r, _) in &self.out_parts {
                    for &p in &self.out[r.clone()] {
                        xy(w, p, i)?;
                        i += 1;
                    }
                }
                w.multipoint_end(0)?;
            }
            Kind::Line => {
                w.multilinestring_begin(self.out_parts.len(), 0)?;
                for (j, (r, _)) in self.out_parts.iter().enumerate() {
                    w.linestring_begin(false, r.len(), j)?;
                    for (i, &p) in self.out[r.clone()].iter().enumerate() {
                        xy(w, p, i)?;
                    }
                    w.linestring_end(false, j)?;
                }
                w.multilinestring_end(0)?;
            }
            Kind::Polygon => {
                let polygons = self.out_parts.iter().filter(|(_, e)| *e).count();
                w.multipolygon_begin(polygons, 0)?;
                let mut polygon = 0;
                let mut ring_in_polygon = 0;
                for (k, (r, exterior)) in self.out_parts.iter().enumerate() {
                    if *exterior {
                        if k > 0 {
                            w.polygon_end(false, polygon)?;
                            polygon += 1;
                        }
                        let rings = 1 + self.out_parts[k + 1..]
                            .iter()
                            .take_while(|(_, e)| !*e)
                            .count();
                        w.polygon_begin(false, rings, polygon)?;
                        ring_in_polygon = 0;
                    }
                    // The encoder takes closed rings and writes ClosePath for the last point.
                    let ring = &self.out[r.clone()];
                    w.linestring_begin(false, ring.len() + 1, ring_in_polygon)?;
                    for (i, &p) in ring.iter().chain(std::iter::once(&ring[0])).enumerate() {
                        xy(w, p, i)?;
                    }
                    w.linestring_end(false, ring_in_polygon)?;
                    ring_in_polygon += 1;
                }
                w.polygon_end(false, polygon)?;
                w.multipolygon_end(0)?;
            }
        }
        Ok(())
    }
}

fn array(v: &Value) -> Result<&[Value], String> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| "coordinates are not nested arrays".to_string())
}

/// A JSON property value as an MVT value: integers stay integers, null is skipped, arrays
/// and objects become their JSON text.
fn prop(v: &Value) -> Option<Prop> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => Prop::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Prop::Uint(u)
            } else if let Some(i) = n.as_i64() {
                Prop::Sint(i)
            } else {
                Prop::Double(n.as_f64()?)
            }
        }
        Value::String(s) => Prop::Str(s.clone()),
        Value::Array(_) | Value::Object(_) => Prop::Str(v.to_string()),
    })
}
