//! Reading and validating the registry sources (DESIGN.md §5.2).
//!
//! Grids go through four passes: read each feature (properties and raw positions, checked
//! before any conversion because geo closes rings silently), compare each grid's position with
//! the others to catch swapped coordinates, build and validate the geo polygons, then resolve
//! the hierarchy. Workers and checkpoints are checked against the grids that survived.
//!
//! This file holds [`load`] (the passes in order), the shared property readers and limits;
//! `grids.rs` the grid passes (features, raw rings, the swapped-axes reference, polygons, the
//! hierarchy, overlap and sliver warnings), `workers.rs` and `checkpoints.rs` the other two
//! sources.

mod checkpoints;
pub(super) mod fleet;
mod grids;
mod workers;

use std::collections::{HashMap, HashSet};

use geo::{BoundingRect, Coord, GeodesicArea, MultiPolygon};
use serde_json::{Map, Value};

use super::{
    Fault, Grid, GridId, GridIndex, LoadOptions, Place, Registry, RegistryError, RegistryIssue,
    Source, Unit,
};
use crate::model::{Crs, Level, UnitCode};
use checkpoints::read_checkpoint;
use grids::{
    build_polygon, polygon_faults, raw_center, read_unit, reference_of, resolve, shape_warnings,
    swapped_far,
};
use workers::read_workers;

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

/// A feature's `properties` (an empty map when it has none or they are not an object).
fn properties(feature: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    feature
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY)
}

/// The readable records of a CSV source with their line numbers; each unreadable one is a
/// `bad row` issue at its line.
fn good_records(
    reader: &mut csv::Reader<&[u8]>,
    issues: &mut Issues<'_>,
) -> Vec<(u64, csv::StringRecord)> {
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => out.push((r.position().map_or(0, |p| p.line()), r)),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                issues.push(Place::Line(line), Fault::BadRow(e.to_string()));
            }
        }
    }
    out
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

/// Reads `[x, y, ...]` as two finite numbers.
fn read_position(value: &Value) -> Option<[f64; 2]> {
    let a = value.as_array()?;
    let x = a.first()?.as_f64()?;
    let y = a.get(1)?.as_f64()?;
    (x.is_finite() && y.is_finite()).then_some([x, y])
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
