//! Reading and validating the registry sources (DESIGN.md §5.2).
//!
//! Grids go through four passes: read each feature (properties and raw positions, checked
//! before any conversion because geo closes rings silently), compare each grid's position with
//! the others to catch swapped coordinates, build and validate the geo polygons, then resolve
//! the hierarchy. Workers and checkpoints are checked against the grids that survived.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use geo::algorithm::validation::{InvalidMultiPolygon, InvalidPolygon};
use geo::{BooleanOps, BoundingRect, Coord, GeodesicArea, LineString, MultiPolygon, Polygon};
use geo::{Rect, Validation};
use rstar::primitives::Rectangle;
use rstar::{RTree, RTreeObject};
use serde_json::{Map, Value};

use super::{
    Checkpoint, Fault, Grid, GridId, GridIndex, LoadOptions, Place, PointPosition, Registry,
    RegistryError, RegistryIssue, Source, Unit, Worker, OVERLAP_TOLERANCE_M2, SLIVER_MAX_AREA_M2,
    SLIVER_MIN_COMPACTNESS,
};
use crate::crs::to_wgs84;
use crate::model::{Crs, Level, UnitCode, WorkerId};

/// Raw positions of one polygon: rings of [x, y], exterior first.
type RawPolygon = Vec<Vec<[f64; 2]>>;

/// A feature of the grids file as read, before the hierarchy is resolved.
struct RawUnit {
    index: usize,
    code: Option<String>,
    name: String,
    level: Option<Level>,
    parent: Option<String>,
    raw: Vec<RawPolygon>,
    polygon: Option<MultiPolygon<f64>>,
    /// Something is wrong with the feature itself.
    bad: bool,
}

impl RawUnit {
    fn place(&self) -> Place {
        Place::Feature {
            index: self.index,
            code: self.code.clone(),
        }
    }
}

/// Collects the issues of one source.
struct Issues<'a> {
    file: &'a str,
    list: Vec<RegistryIssue>,
}

impl<'a> Issues<'a> {
    fn new(file: &'a str) -> Self {
        Issues {
            file,
            list: Vec::new(),
        }
    }

    fn push(&mut self, place: Place, fault: Fault) {
        self.list.push(RegistryIssue {
            file: self.file.to_string(),
            place,
            fault,
        });
    }

    /// The issues sorted by place (stable), so messages follow the file.
    fn sorted(mut self) -> Vec<RegistryIssue> {
        self.list.sort_by_key(|i| match i.place {
            Place::File => 0,
            Place::Feature { index, .. } => index as u64 + 1,
            Place::Line(line) => line,
        });
        self.list
    }
}

/// The middle of the grids and their typical distance from it, for the swapped-axes test.
#[derive(Clone, Copy, Debug)]
struct Reference {
    center: Coord<f64>,
    spread_deg: f64,
}

pub(super) fn load(
    grids_src: Source<'_>,
    workers_src: Option<Source<'_>>,
    checkpoints_src: Option<Source<'_>>,
    opts: &LoadOptions,
) -> Result<Registry, RegistryError> {
    let fatal = |file: &str, fault: Fault| RegistryError {
        issues: vec![RegistryIssue {
            file: file.to_string(),
            place: Place::File,
            fault,
        }],
    };
    let (features, member_crs) =
        read_collection(grids_src.text).map_err(|f| fatal(grids_src.name, f))?;
    let crs = opts.crs.or(member_crs).unwrap_or_default();

    let mut grid_issues = Issues::new(grids_src.name);
    let mut raws: Vec<RawUnit> = features
        .iter()
        .enumerate()
        .map(|(index, f)| read_unit(index, f, &mut grid_issues))
        .collect();

    // Grids far from all others that would sit among them with x and y exchanged.
    let centers: Vec<Coord<f64>> = raws
        .iter()
        .filter(|r| !r.bad && r.level == Some(Level::Grid))
        .filter_map(|r| raw_center(&r.raw))
        .collect();
    let reference = reference_of(&centers);
    for r in raws
        .iter_mut()
        .filter(|r| !r.bad && r.level == Some(Level::Grid))
    {
        if let (Some(reference), Some(c)) = (reference, raw_center(&r.raw)) {
            if let Some(fault) = swapped_far(c, &reference) {
                grid_issues.push(r.place(), fault);
                r.bad = true;
            }
        }
    }

    for r in raws
        .iter_mut()
        .filter(|r| !r.bad && r.level == Some(Level::Grid))
    {
        let polygon = build_polygon(&r.raw, crs);
        let faults = polygon_faults(&polygon);
        if faults.is_empty() {
            r.polygon = Some(polygon);
        } else {
            r.bad = true;
            for fault in faults {
                grid_issues.push(r.place(), fault);
            }
        }
    }

    // Codes: the first feature with a code keeps it.
    let mut by_code: HashMap<String, usize> = HashMap::new();
    for i in 0..raws.len() {
        let Some(code) = raws[i].code.clone() else {
            continue;
        };
        if let Some(&first) = by_code.get(&code) {
            grid_issues.push(
                raws[i].place(),
                Fault::DuplicateCode {
                    code,
                    first_index: raws[first].index,
                },
            );
            raws[i].bad = true;
        } else {
            by_code.insert(code, i);
        }
    }

    let mut accepted: Vec<Option<bool>> = vec![None; raws.len()];
    for i in 0..raws.len() {
        resolve(i, &raws, &by_code, &mut accepted, &mut grid_issues);
    }

    // Units in file order, then grids sorted by code.
    let mut units = Vec::new();
    let mut unit_of_raw: Vec<Option<usize>> = vec![None; raws.len()];
    for (i, r) in raws.iter().enumerate() {
        if accepted[i] != Some(true) {
            continue;
        }
        let (Some(code), Some(level)) = (&r.code, r.level) else {
            continue;
        };
        unit_of_raw[i] = Some(units.len());
        units.push(Unit {
            code: UnitCode::new(code),
            name: r.name.clone(),
            level,
            parent: None,
        });
    }
    for (i, r) in raws.iter().enumerate() {
        if let (Some(u), Some(parent)) = (unit_of_raw[i], &r.parent) {
            units[u].parent = by_code.get(parent).and_then(|&p| unit_of_raw[p]);
        }
    }
    let mut grid_raws: Vec<usize> = (0..raws.len())
        .filter(|&i| unit_of_raw[i].is_some() && raws[i].polygon.is_some())
        .collect();
    grid_raws.sort_by(|&a, &b| raws[a].code.cmp(&raws[b].code));
    let mut grids = Vec::with_capacity(grid_raws.len());
    let mut feature_of_grid = Vec::with_capacity(grid_raws.len());
    for &i in &grid_raws {
        let (Some(unit), Some(polygon)) = (unit_of_raw[i], raws[i].polygon.take()) else {
            continue;
        };
        let Some(bbox) = polygon.bounding_rect() else {
            continue;
        };
        grids.push(Grid {
            code: units[unit].code.clone(),
            name: units[unit].name.clone(),
            unit,
            area_m2: polygon.geodesic_area_unsigned(),
            polygon,
            bbox,
        });
        feature_of_grid.push(raws[i].place());
    }
    let rejected_grids: HashSet<String> = raws
        .iter()
        .enumerate()
        .filter(|(i, r)| accepted[*i] != Some(true) && r.level == Some(Level::Grid))
        .filter_map(|(_, r)| r.code.clone())
        .collect();

    let mut grid_warnings = Issues::new(grids_src.name);
    shape_warnings(&grids, &feature_of_grid, &mut grid_warnings);

    let index = GridIndex::new(grids.iter().map(|g| (g.code.as_str(), &g.polygon)));
    let mut registry = Registry {
        units,
        grids,
        index,
        ..Registry::default()
    };
    for (i, u) in registry.units.iter().enumerate() {
        registry.unit_by_code.insert(u.code.0.clone(), i);
    }
    for (i, g) in registry.grids.iter().enumerate() {
        registry.grid_by_code.insert(g.code.0.clone(), i as GridId);
    }

    let mut errors = grid_issues.sorted();
    let mut warnings = grid_warnings.sorted();
    if let Some(src) = workers_src {
        let mut issues = Issues::new(src.name);
        let mut warns = Issues::new(src.name);
        read_workers(
            src.text,
            &mut registry,
            &rejected_grids,
            &mut issues,
            &mut warns,
        );
        errors.extend(issues.sorted());
        warnings.extend(warns.sorted());
    }
    if let Some(src) = checkpoints_src {
        let (features, member_crs) = read_collection(src.text).map_err(|f| fatal(src.name, f))?;
        let crs = opts.crs.or(member_crs).unwrap_or_default();
        let mut issues = Issues::new(src.name);
        let mut warns = Issues::new(src.name);
        for (index, feature) in features.iter().enumerate() {
            read_checkpoint(
                index,
                feature,
                crs,
                reference,
                &mut registry,
                &rejected_grids,
                &mut issues,
                &mut warns,
            );
        }
        errors.extend(issues.sorted());
        warnings.extend(warns.sorted());
    }

    if !opts.keep_going && !errors.is_empty() {
        // Dependents are consequences of other errors: list only the causes.
        errors.retain(|i| !matches!(i.fault, Fault::ParentRejected(_) | Fault::GridRejected(_)));
        return Err(RegistryError { issues: errors });
    }
    registry.warnings = warnings;
    registry.rejected = errors;
    Ok(registry)
}

/// Parses a FeatureCollection: its features and its `crs` member.
fn read_collection(text: &str) -> Result<(Vec<Value>, Option<Crs>), Fault> {
    let mut root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| Fault::BadJson(e.to_string()))?;
    let crs = crs_member(root.get("crs"))?;
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(Fault::BadJson(
            "expected {\"type\": \"FeatureCollection\", \"features\": [...]}".to_string(),
        ));
    }
    match root.get_mut("features").map(Value::take) {
        Some(Value::Array(features)) => Ok((features, crs)),
        _ => Err(Fault::BadJson(
            "the collection has no \"features\" array".to_string(),
        )),
    }
}

/// Reads a `crs` member: a name (`"gcj02"`) or the old GeoJSON form
/// `{"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}`.
fn crs_member(value: Option<&Value>) -> Result<Option<Crs>, Fault> {
    let name = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        Some(v) => match v.pointer("/properties/name").and_then(Value::as_str) {
            Some(s) => s,
            None => return Err(Fault::UnknownCrs(v.to_string())),
        },
    };
    let lower = name.to_ascii_lowercase();
    // Old GeoJSON names WGS84 lon/lat as CRS84 or EPSG:4326 in its URN forms.
    if lower.ends_with("crs84") || lower.ends_with(":4326") {
        return Ok(Some(Crs::Wgs84));
    }
    name.parse::<Crs>()
        .map(Some)
        .map_err(|_| Fault::UnknownCrs(name.to_string()))
}

/// A code-like property: a non-empty string or an integer.
fn code_property(value: Option<&Value>) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.trim().len() > MAX_ID_BYTES => Err(format!(
            "a code of {} bytes (at most {MAX_ID_BYTES})",
            s.trim().len()
        )),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(v) => Err(describe(v)),
    }
}

/// The longest unit, checkpoint or worker id or code, bytes (the row rules' bound).
const MAX_ID_BYTES: usize = crate::ingest::row::MAX_ID_BYTES;

/// The longest name (of a unit, checkpoint or worker), bytes.
const MAX_NAME_BYTES: usize = 256;

/// The fault of a name over [`MAX_NAME_BYTES`].
fn long_name(len: usize) -> Fault {
    Fault::BadProperty {
        name: "name".to_string(),
        problem: format!("is {len} bytes long; at most {MAX_NAME_BYTES}"),
    }
}

/// A short description of a JSON value for messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {:?}", crate::ingest::row::shown(s)),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

fn text_property(props: &Map<String, Value>, name: &str) -> String {
    match props.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The feature's `code` property, or `None` with the fault (missing or not a code) recorded.
fn feature_code(props: &Map<String, Value>, faults: &mut Vec<Fault>) -> Option<String> {
    match code_property(props.get("code")) {
        Ok(Some(code)) => Some(code),
        Ok(None) => {
            faults.push(Fault::MissingCode);
            None
        }
        Err(what) => {
            faults.push(Fault::BadCode(what));
            None
        }
    }
}

/// Reads one feature of the grids file, with the checks that need only the feature itself.
fn read_unit(index: usize, feature: &Value, issues: &mut Issues<'_>) -> RawUnit {
    let empty = Map::new();
    let props = feature
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
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

/// Reads `[x, y, ...]` as two finite numbers.
fn read_position(value: &Value) -> Option<[f64; 2]> {
    let a = value.as_array()?;
    let x = a.first()?.as_f64()?;
    let y = a.get(1)?.as_f64()?;
    (x.is_finite() && y.is_finite()).then_some([x, y])
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

/// Out of range, or plainly swapped (latitude beyond ±90 while the longitude would be valid).
fn range_fault([lon, lat]: [f64; 2]) -> Option<Fault> {
    if lon.abs() <= 180.0 && lat.abs() <= 90.0 {
        None
    } else if lat.abs() > 90.0 && lon.abs() <= 90.0 && lat.abs() <= 180.0 {
        Some(Fault::LatLonSwapped {
            lon,
            lat,
            reason: format!("latitude {lat} is beyond ±90 but would be a valid longitude"),
        })
    } else {
        Some(Fault::OutOfRange { lon, lat })
    }
}

/// The centre of the bounding box of raw rings.
fn raw_center(polygons: &[RawPolygon]) -> Option<Coord<f64>> {
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
fn reference_of(centers: &[Coord<f64>]) -> Option<Reference> {
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
fn swapped_far(c: Coord<f64>, reference: &Reference) -> Option<Fault> {
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
fn build_polygon(raw: &[RawPolygon], crs: Crs) -> MultiPolygon<f64> {
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
fn polygon_faults(polygon: &MultiPolygon<f64>) -> Vec<Fault> {
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
fn resolve(
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
fn shape_warnings(grids: &[Grid], places: &[Place], warnings: &mut Issues<'_>) {
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

/// The grid named by a worker row or checkpoint, or why it cannot be used.
fn grid_ref(registry: &Registry, rejected: &HashSet<String>, code: &str) -> Result<GridId, Fault> {
    registry.grid_by_code(code).ok_or_else(|| {
        if rejected.contains(code) {
            Fault::GridRejected(code.to_string())
        } else {
            Fault::UnknownGrid(code.to_string())
        }
    })
}

/// Reads `workers.csv` (`worker,name,grid`, one row per assignment) into the registry.
fn read_workers(
    text: &str,
    registry: &mut Registry,
    rejected: &HashSet<String>,
    issues: &mut Issues<'_>,
    warnings: &mut Issues<'_>,
) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            issues.push(Place::Line(1), Fault::BadRow(e.to_string()));
            return;
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(worker_col), Some(grid_col)) = (column("worker"), column("grid")) else {
        let missing = if column("worker").is_none() {
            "worker"
        } else {
            "grid"
        };
        issues.push(Place::Line(1), Fault::MissingColumn(missing.to_string()));
        return;
    };
    let name_col = column("name");
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                issues.push(Place::Line(line), Fault::BadRow(e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("");
        let (worker, grid) = (field(worker_col), field(grid_col));
        let name_len = name_col.map_or(0, |c| field(c).len());
        if worker.len() > MAX_ID_BYTES || grid.len() > MAX_ID_BYTES || name_len > MAX_NAME_BYTES {
            let (what, len, max) = if worker.len() > MAX_ID_BYTES {
                ("worker id", worker.len(), MAX_ID_BYTES)
            } else if grid.len() > MAX_ID_BYTES {
                ("grid code", grid.len(), MAX_ID_BYTES)
            } else {
                ("name", name_len, MAX_NAME_BYTES)
            };
            issues.push(
                Place::Line(line),
                Fault::BadRow(format!("the {what} is {len} bytes long; at most {max}")),
            );
            continue;
        }
        if worker.is_empty() || grid.is_empty() {
            let what = if worker.is_empty() { "worker" } else { "grid" };
            issues.push(
                Place::Line(line),
                Fault::BadRow(format!(
                    "empty {what} field; each row is worker,name,grid ({} fields found)",
                    record.len()
                )),
            );
            continue;
        }
        let grid_id = match grid_ref(registry, rejected, grid) {
            Ok(g) => g,
            Err(fault) => {
                issues.push(Place::Line(line), fault);
                continue;
            }
        };
        let name = name_col.map(field).unwrap_or("");
        let w = match registry.worker_by_id.get(worker) {
            Some(&w) => w,
            None => {
                let id: Arc<str> = Arc::from(worker);
                registry
                    .worker_by_id
                    .insert(id.clone(), registry.workers.len());
                registry.workers.push(Worker {
                    id: WorkerId(id),
                    name: name.to_string(),
                    grids: Vec::new(),
                });
                registry.workers.len() - 1
            }
        };
        let entry = &mut registry.workers[w];
        if entry.grids.contains(&grid_id) {
            warnings.push(
                Place::Line(line),
                Fault::DuplicateAssignment {
                    worker: worker.to_string(),
                    grid: grid.to_string(),
                },
            );
        } else {
            entry.grids.push(grid_id);
        }
    }
}

/// Reads one checkpoint feature into the registry.
#[allow(clippy::too_many_arguments)]
fn read_checkpoint(
    index: usize,
    feature: &Value,
    crs: Crs,
    reference: Option<Reference>,
    registry: &mut Registry,
    rejected: &HashSet<String>,
    issues: &mut Issues<'_>,
    warnings: &mut Issues<'_>,
) {
    let empty = Map::new();
    let props = feature
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut faults = Vec::new();
    let code = feature_code(props, &mut faults);
    let place = Place::Feature {
        index,
        code: code.clone(),
    };
    let grid = match code_property(props.get("grid")) {
        Ok(Some(g)) => match grid_ref(registry, rejected, &g) {
            Ok(id) => Some(id),
            Err(fault) => {
                faults.push(fault);
                None
            }
        },
        _ => {
            faults.push(Fault::BadProperty {
                name: "grid".to_string(),
                problem: "is missing: give the code of the grid the checkpoint is in".to_string(),
            });
            None
        }
    };
    let visits = match props.get("visits_per_month") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .and_then(|v| u32::try_from(v).ok());
    if visits.is_none() {
        let shown = props
            .get("visits_per_month")
            .map_or("missing".to_string(), describe);
        faults.push(Fault::BadProperty {
            name: "visits_per_month".to_string(),
            problem: format!(
                "is {shown}: give a whole number of required visits per month, e.g. 4"
            ),
        });
    }
    let geometry = feature.get("geometry");
    let position = match geometry.and_then(|g| g.get("type")).and_then(Value::as_str) {
        Some("Point") => match geometry
            .and_then(|g| g.get("coordinates"))
            .and_then(read_position)
        {
            Some(p) => Some(p),
            None => {
                faults.push(Fault::BadGeometry(
                    "the Point's coordinates are not [lon, lat]".to_string(),
                ));
                None
            }
        },
        Some(other) => {
            faults.push(Fault::MissingPoint(format!("a {other} geometry")));
            None
        }
        None => {
            faults.push(Fault::MissingPoint("no geometry".to_string()));
            None
        }
    };
    if let Some(p) = position {
        let fault = range_fault(p)
            .or_else(|| reference.and_then(|r| swapped_far(Coord { x: p[0], y: p[1] }, &r)));
        faults.extend(fault);
    }
    for key in ["name", "kind"] {
        let len = text_property(props, key).len();
        if len > MAX_NAME_BYTES {
            faults.push(Fault::BadProperty {
                name: key.to_string(),
                problem: format!("is {len} bytes long; at most {MAX_NAME_BYTES}"),
            });
        }
    }
    if let Some(code) = &code {
        if let Some(&first) = registry.checkpoint_by_code.get(code) {
            faults.push(Fault::DuplicateCode {
                code: code.clone(),
                first_index: registry.checkpoint_features[first],
            });
        }
    }
    let (Some(code), Some(grid), Some(visits_per_month), Some([x, y]), true) =
        (code, grid, visits, position, faults.is_empty())
    else {
        for fault in faults {
            issues.push(place.clone(), fault);
        }
        return;
    };
    let (lon, lat) = to_wgs84(crs, x, y);
    if registry.index.position(grid, lon, lat) == PointPosition::Outside {
        warnings.push(
            place,
            Fault::CheckpointOutsideGrid(registry.grids[grid as usize].code.to_string()),
        );
    }
    registry
        .checkpoint_by_code
        .insert(code.clone(), registry.checkpoints.len());
    registry.checkpoint_features.push(index);
    registry.checkpoints.push(Checkpoint {
        code,
        name: text_property(props, "name"),
        grid,
        kind: text_property(props, "kind"),
        visits_per_month,
        lon,
        lat,
    });
}
