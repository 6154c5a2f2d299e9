//! `vehicles.csv` and `routes.geojson` (DESIGN.md §5.2): each row and feature checked against
//! the grid registry (units, worker ids) and each other (vehicle ids), every fault named.
//!
//! A route's `schedule` is written either as text, `"mon-fri 05:00-08:00,14:00-16:00;
//! sat,sun 06:00-07:30"` (groups separated by `;`, each a set of days then its windows), or as
//! an array of `{"days": "mon-fri", "from": "05:00", "to": "08:00"}` objects. Days are `mon` …
//! `sun` (or ISO numbers 1–7, Monday 1), single, in lists (`mon,wed`) or ranges (`mon-fri`,
//! `sat-mon` wraps), or `daily`. A window whose end is not after its start crosses midnight.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::{
    code_property, describe, feature_code, range_fault, read_collection, text_property, Issues,
    MAX_ID_BYTES, MAX_NAME_BYTES,
};
use crate::crs::to_wgs84;
use crate::geodesy::distance_m;
use crate::model::{Crs, UnitCode};
use crate::registry::fleet::{Assignment, Fleet, Route, Schedule, Vehicle, Window};
use crate::registry::{Fault, Place, Registry, RegistryError, RegistryIssue, Source};

/// The header `vehicles.csv` needs.
const VEHICLES_HEADER: &str = "vehicle,plate,kind,unit";

/// The most positions a route may have (all lines together).
const MAX_ROUTE_POSITIONS: usize = 100_000;

/// The most windows a schedule may have.
const MAX_WINDOWS: usize = 64;

/// Loads the fleet: vehicles first, then the routes that name them.
///
/// # Errors
/// Every fault of either file, each naming its file and line or feature.
pub(crate) fn load_fleet(
    vehicles: Option<Source<'_>>,
    routes: Option<Source<'_>>,
    registry: &Registry,
    crs: Option<Crs>,
) -> Result<Fleet, RegistryError> {
    let mut issues = Vec::new();
    let vehicle_list = match vehicles {
        Some(src) => {
            let mut found = Issues::new(src.name);
            let list = read_vehicles(src.text, registry, &mut found);
            issues.extend(found.sorted());
            list
        }
        None => Vec::new(),
    };
    let by_id: HashMap<&str, &Vehicle> = vehicle_list.iter().map(|v| (&*v.id, v)).collect();
    let route_list = match routes {
        Some(src) => match read_collection(src.text) {
            Ok((features, member_crs)) => {
                let crs = crs.or(member_crs).unwrap_or_default();
                let mut found = Issues::new(src.name);
                let mut seen: HashMap<String, usize> = HashMap::new();
                let list = features
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        read_route(i, f, crs, registry, &by_id, &mut seen, &mut found)
                    })
                    .collect();
                issues.extend(found.sorted());
                list
            }
            Err(fault) => {
                issues.push(RegistryIssue {
                    file: src.name.to_string(),
                    place: Place::File,
                    fault,
                });
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    if issues.is_empty() {
        Ok(Fleet::new(vehicle_list, route_list))
    } else {
        Err(RegistryError { issues })
    }
}

/// Reads `vehicles.csv` (`vehicle,plate,kind,unit`).
fn read_vehicles(text: &str, registry: &Registry, issues: &mut Issues<'_>) -> Vec<Vehicle> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            issues.push(Place::Line(1), Fault::BadRow(e.to_string()));
            return Vec::new();
        }
    };
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut cols = [0; 4];
    for (slot, name) in cols.iter_mut().zip(["vehicle", "plate", "kind", "unit"]) {
        match column(name) {
            Some(c) => *slot = c,
            None => {
                issues.push(
                    Place::Line(1),
                    Fault::MissingFleetColumn {
                        column: name.to_string(),
                        expected: VEHICLES_HEADER,
                    },
                );
                return Vec::new();
            }
        }
    }
    let mut vehicles = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for (line, record) in super::good_records(&mut reader, issues) {
        let [id, plate, kind, unit] = cols.map(|c| record.get(c).unwrap_or(""));
        let mut faults = Vec::new();
        for (name, value, max) in [
            ("vehicle", id, MAX_ID_BYTES),
            ("unit", unit, MAX_ID_BYTES),
            ("kind", kind, MAX_NAME_BYTES),
            ("plate", plate, MAX_NAME_BYTES),
        ] {
            if value.len() > max {
                faults.push(Fault::BadRow(format!(
                    "{name} is {} bytes long; at most {max}",
                    value.len()
                )));
            }
        }
        for (name, value) in [("vehicle", id), ("kind", kind), ("unit", unit)] {
            if value.is_empty() {
                faults.push(Fault::BadRow(format!(
                    "empty {name}: every vehicle needs one"
                )));
            }
        }
        if !id.is_empty() {
            if let Some(&first) = first_line.get(id) {
                faults.push(Fault::DuplicateVehicle {
                    id: id.to_string(),
                    first_line: first,
                });
            } else {
                first_line.insert(id.to_string(), line);
            }
            if registry.worker(id).is_some() {
                faults.push(Fault::VehicleIsWorker(id.to_string()));
            }
        }
        if !unit.is_empty() && registry.unit(unit).is_none() {
            faults.push(Fault::UnknownUnit(unit.to_string()));
        }
        if faults.is_empty() {
            vehicles.push(Vehicle {
                id: Arc::from(id),
                plate: plate.to_string(),
                kind: kind.to_string(),
                unit: UnitCode::new(unit),
            });
        }
        for fault in faults {
            issues.push(Place::Line(line), fault);
        }
    }
    vehicles
}

/// Reads one route feature; `None` with its faults recorded when it cannot be used.
fn read_route(
    index: usize,
    feature: &Value,
    crs: Crs,
    registry: &Registry,
    vehicles: &HashMap<&str, &Vehicle>,
    seen: &mut HashMap<String, usize>,
    issues: &mut Issues<'_>,
) -> Option<Route> {
    let props = super::properties(feature);
    let mut faults = Vec::new();
    let code = feature_code(props, &mut faults);
    let place = Place::Feature {
        index,
        code: code.clone(),
    };
    if let Some(code) = &code {
        match seen.get(code) {
            Some(&first) => faults.push(Fault::DuplicateCode {
                code: code.clone(),
                first_index: first,
            }),
            None => {
                seen.insert(code.clone(), index);
            }
        }
    }
    let unit = match code_property(props.get("unit")) {
        Ok(Some(u)) if registry.unit(&u).is_some() => Some(UnitCode::new(&u)),
        Ok(Some(u)) => {
            faults.push(Fault::UnknownUnit(u));
            None
        }
        Ok(None) => {
            faults.push(missing("unit", "give the code of the unit responsible"));
            None
        }
        Err(what) => {
            faults.push(bad("unit", format!("is {what}: give a unit code")));
            None
        }
    };
    let kind = text_property(props, "kind");
    let assigned = match props.get("vehicles") {
        None | Some(Value::Null) if kind.is_empty() => {
            faults.push(missing(
                "vehicles",
                "(and no \"kind\"): list the vehicle ids, or give the vehicle kind the route is for",
            ));
            None
        }
        None | Some(Value::Null) => Some(Assignment::Kind(kind.clone())),
        Some(Value::Array(ids)) => {
            let mut list = Vec::new();
            for v in ids {
                match v.as_str().map(str::trim) {
                    Some(id) => match vehicles.get(id) {
                        Some(vehicle) => list.push(vehicle.id.clone()),
                        None => faults.push(Fault::UnknownVehicle(id.to_string())),
                    },
                    None => faults.push(bad(
                        "vehicles",
                        format!("holds {}: list vehicle ids as strings", describe(v)),
                    )),
                }
            }
            if list.is_empty() && ids.is_empty() {
                faults.push(bad(
                    "vehicles",
                    "is empty: list at least one vehicle id".into(),
                ));
            }
            Some(Assignment::Vehicles(list))
        }
        Some(v) => {
            faults.push(bad(
                "vehicles",
                format!("is {}: give an array of vehicle ids", describe(v)),
            ));
            None
        }
    };
    let schedule = match props.get("schedule") {
        None | Some(Value::Null) => {
            faults.push(missing(
                "schedule",
                "give the days and local time windows, e.g. \"mon-fri 05:00-08:00\"",
            ));
            None
        }
        Some(v) => match parse_schedule(v) {
            Ok(s) => Some(s),
            Err(why) => {
                faults.push(Fault::BadSchedule(why));
                None
            }
        },
    };
    let passes = match number(props.get("passes")) {
        None if props.get("passes").is_none() => Some(1),
        Some(n) if n.fract() == 0.0 && (1.0..=100.0).contains(&n) => Some(n as u32),
        _ => {
            faults.push(bad(
                "passes",
                format!(
                    "is {}: give the whole number of passes required per scheduled day, 1 to 100",
                    shown(props.get("passes"))
                ),
            ));
            None
        }
    };
    let max_speed = match number(props.get("max_work_speed_kmh")) {
        Some(n) if n > 0.0 && n <= 120.0 => Some(n),
        _ => {
            faults.push(bad(
                "max_work_speed_kmh",
                format!(
                    "is {}: give the highest working speed in km/h, e.g. 15",
                    shown(props.get("max_work_speed_kmh"))
                ),
            ));
            None
        }
    };
    let min_pressure = match props.get("min_pressure") {
        None | Some(Value::Null) => None,
        v => match number(v) {
            Some(n) if n >= 0.0 => Some(n),
            _ => {
                faults.push(bad(
                    "min_pressure",
                    format!(
                        "is {}: give the lowest working water pressure in MPa, e.g. 0.2",
                        shown(v)
                    ),
                ));
                None
            }
        },
    };
    for key in ["name", "kind"] {
        let len = text_property(props, key).len();
        if len > MAX_NAME_BYTES {
            faults.push(bad(
                key,
                format!("is {len} bytes long; at most {MAX_NAME_BYTES}"),
            ));
        }
    }
    let lines = read_lines(feature.get("geometry"), crs, &mut faults);
    let (
        Some(code),
        Some(unit),
        Some(assigned),
        Some(schedule),
        Some(passes),
        Some(max_speed),
        Some(lines),
        true,
    ) = (
        code,
        unit,
        assigned,
        schedule,
        passes,
        max_speed,
        lines,
        faults.is_empty(),
    )
    else {
        for fault in faults {
            issues.push(place.clone(), fault);
        }
        return None;
    };
    Some(Route {
        code: Arc::from(code.as_str()),
        name: text_property(props, "name"),
        unit,
        kind,
        assigned,
        lines,
        schedule,
        passes,
        max_work_speed_kmh: max_speed,
        min_pressure,
    })
}

fn missing(name: &str, what: &str) -> Fault {
    bad(name, format!("is missing: {what}"))
}

fn bad(name: &str, problem: String) -> Fault {
    Fault::BadProperty {
        name: name.to_string(),
        problem,
    }
}

fn shown(v: Option<&Value>) -> String {
    v.map_or("missing".to_string(), describe)
}

/// A finite number, or a string holding one.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// The lines of a LineString or MultiLineString in WGS84, repeated consecutive positions
/// removed; `None` with the faults recorded when any line cannot be used.
fn read_lines(
    geometry: Option<&Value>,
    crs: Crs,
    faults: &mut Vec<Fault>,
) -> Option<Vec<Vec<(f64, f64)>>> {
    let kind = geometry.and_then(|g| g.get("type")).and_then(Value::as_str);
    let coords = geometry.and_then(|g| g.get("coordinates"));
    let raw: Vec<&Value> = match (kind, coords.and_then(Value::as_array)) {
        (Some("LineString"), Some(_)) => vec![coords?],
        (Some("MultiLineString"), Some(parts)) => parts.iter().collect(),
        (Some("LineString" | "MultiLineString"), None) => {
            faults.push(Fault::BadGeometry(
                "the coordinates are not an array of positions".to_string(),
            ));
            return None;
        }
        (Some(other), _) => {
            faults.push(Fault::MissingLine(format!("a {other} geometry")));
            return None;
        }
        (None, _) => {
            faults.push(Fault::MissingLine("no geometry".to_string()));
            return None;
        }
    };
    if raw.is_empty() {
        faults.push(Fault::MissingLine("an empty MultiLineString".to_string()));
        return None;
    }
    let before = faults.len();
    let mut lines = Vec::with_capacity(raw.len());
    let mut total = 0;
    for (i, part) in raw.into_iter().enumerate() {
        let Some(positions) = part.as_array() else {
            faults.push(Fault::BadGeometry(format!(
                "line {i} is not an array of positions"
            )));
            continue;
        };
        total += positions.len();
        if total > MAX_ROUTE_POSITIONS {
            faults.push(Fault::BadGeometry(format!(
                "more than {MAX_ROUTE_POSITIONS} positions; split the route"
            )));
            return None;
        }
        let mut line: Vec<(f64, f64)> = Vec::with_capacity(positions.len());
        let mut ok = true;
        for p in positions {
            let Some(xy) = super::read_position(p) else {
                faults.push(Fault::BadGeometry(format!(
                    "line {i} has the position {}, not [lon, lat]",
                    p
                )));
                ok = false;
                break;
            };
            if let Some(fault) = range_fault(xy) {
                faults.push(fault);
                ok = false;
                break;
            }
            let q = to_wgs84(crs, xy[0], xy[1]);
            if line.last() != Some(&q) {
                line.push(q);
            }
        }
        if !ok {
            continue;
        }
        let length: f64 = line
            .windows(2)
            .map(|w| distance_m(w[0].0, w[0].1, w[1].0, w[1].1))
            .sum();
        if line.len() < 2 {
            faults.push(Fault::DegenerateLine {
                line: i,
                problem: format!(
                    "{} distinct position{}; a line needs at least two",
                    line.len(),
                    if line.len() == 1 { "" } else { "s" }
                ),
            });
        } else if length < 1.0 {
            faults.push(Fault::DegenerateLine {
                line: i,
                problem: format!("it is {length:.2} m long; a route line must be at least 1 m"),
            });
        } else {
            lines.push(line);
        }
    }
    (faults.len() == before).then_some(lines)
}

/// Reads a `schedule` property: the text form or the array of objects (module doc).
pub(crate) fn parse_schedule(v: &Value) -> Result<Schedule, String> {
    let mut windows = Vec::new();
    match v {
        Value::String(s) => {
            for group in s.split(';').map(str::trim).filter(|g| !g.is_empty()) {
                let (days, times) = group.split_once(char::is_whitespace).ok_or_else(|| {
                    format!("{group:?} has no time window: write the days, a space, then windows like 05:00-08:00")
                })?;
                let days = parse_days(days)?;
                for w in times.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                    let (from, to) = w.split_once('-').ok_or_else(|| {
                        format!("{w:?} is not a window: write it as HH:MM-HH:MM")
                    })?;
                    windows.push(window(days, from, to)?);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let field = |k: &str| item.get(k).and_then(Value::as_str);
                let days = match item.get("days") {
                    Some(Value::String(s)) => parse_days(s)?,
                    Some(Value::Array(list)) => {
                        let mut mask = 0;
                        for d in list {
                            let d = d
                                .as_str()
                                .map(str::to_string)
                                .or_else(|| d.as_u64().map(|n| n.to_string()))
                                .ok_or_else(|| format!("window #{i}: a day is {}", describe(d)))?;
                            mask |= parse_days(&d)?;
                        }
                        mask
                    }
                    _ => return Err(format!("window #{i} has no \"days\", e.g. \"mon-fri\"")),
                };
                let (Some(from), Some(to)) = (field("from"), field("to")) else {
                    return Err(format!(
                        "window #{i} needs \"from\" and \"to\" as \"HH:MM\" local times"
                    ));
                };
                windows.push(window(days, from, to)?);
            }
        }
        other => {
            return Err(format!(
                "it is {}: write e.g. \"mon-fri 05:00-08:00\" or [{{\"days\": \"mon-fri\", \"from\": \"05:00\", \"to\": \"08:00\"}}]",
                describe(other)
            ))
        }
    }
    if windows.is_empty() {
        return Err("no window: give at least one, e.g. \"daily 05:00-08:00\"".to_string());
    }
    if windows.len() > MAX_WINDOWS {
        return Err(format!("{} windows; at most {MAX_WINDOWS}", windows.len()));
    }
    Ok(Schedule { windows })
}

fn window(days: u8, from: &str, to: &str) -> Result<Window, String> {
    let (start, end) = (minutes(from)?, minutes(to)?);
    if start == end {
        return Err(format!(
            "the window {from}-{to} is empty: give a start and an end that differ"
        ));
    }
    if start >= 1440 {
        return Err(format!(
            "a window cannot start at {from}: use 00:00 to 23:59"
        ));
    }
    Ok(Window {
        days,
        start_min: start,
        end_min: if end == 0 { 1440 } else { end },
    })
}

/// `HH:MM` → minutes after midnight (0..=1440; 24:00 is the end of the day).
fn minutes(t: &str) -> Result<u16, String> {
    let t = t.trim();
    let parsed = t.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| format!("{t:?} is not a local time: write HH:MM, 00:00 to 24:00"))
}

/// Days of the week → a mask (bit 0 Monday).
fn parse_days(text: &str) -> Result<u8, String> {
    let t = text.trim().to_ascii_lowercase();
    if matches!(t.as_str(), "daily" | "*" | "all" | "every day") {
        return Ok(0x7f);
    }
    let mut mask = 0u8;
    for part in t.split(',').map(str::trim) {
        if let Some((a, b)) = part.split_once('-') {
            let (a, b) = (day(a)?, day(b)?);
            let mut d = a;
            loop {
                mask |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        } else {
            mask |= 1 << day(part)?;
        }
    }
    Ok(mask)
}

/// A day name or ISO number → 0 (Monday) .. 6 (Sunday).
fn day(name: &str) -> Result<u8, String> {
    const NAMES: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let n = name.trim();
    if let Ok(k) = n.parse::<u8>() {
        if (1..=7).contains(&k) {
            return Ok(k - 1);
        }
    }
    NAMES
        .iter()
        .position(|d| n.len() >= 3 && d.starts_with(n))
        .map(|i| i as u8)
        .ok_or_else(|| format!("{n:?} is not a day: use mon … sun, 1–7 (Monday 1) or daily"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::LoadOptions;

    fn registry() -> Registry {
        let grids = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"code":"s1","name":"S","level":"street","parent":null},"geometry":null},
          {"type":"Feature","properties":{"code":"c1","name":"C","level":"community","parent":"s1"},"geometry":null},
          {"type":"Feature","properties":{"code":"g1","name":"G","level":"grid","parent":"c1"},
           "geometry":{"type":"Polygon","coordinates":[[[112.98,28.20],[112.99,28.20],[112.99,28.21],[112.98,28.21],[112.98,28.20]]]}}]}"#;
        Registry::from_sources(
            Source::new("grids.geojson", grids),
            Some(Source::new("workers.csv", "worker,name,grid\nw1,A,g1\n")),
            None,
            &LoadOptions::default(),
        )
        .unwrap()
    }

    fn route(props: &str, geometry: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{props},"geometry":{geometry}}}]}}"#
        )
    }

    const LINE: &str = r#"{"type":"LineString","coordinates":[[112.981,28.201],[112.985,28.201]]}"#;

    fn load(vehicles: &str, routes: &str) -> Result<Fleet, Vec<String>> {
        load_fleet(
            Some(Source::new("vehicles.csv", vehicles)),
            Some(Source::new("routes.geojson", routes)),
            &registry(),
            None,
        )
        .map_err(|e| e.issues.iter().map(ToString::to_string).collect())
    }

    const VEHICLES: &str =
        "vehicle,plate,kind,unit\nv1,湘A·00001,sweeper,c1\nv2,湘A·00002,washer,s1\n";

    #[test]
    fn a_valid_fleet_loads_with_its_schedule_and_assignment() {
        let fleet = load(
            VEHICLES,
            &route(
                r#"{"code":"r1","name":"Main St","unit":"s1","kind":"sweeper","schedule":"mon-fri 05:00-08:00,14:00-16:00; sun 22:00-02:00","passes":2,"max_work_speed_kmh":15,"min_pressure":0.2}"#,
                LINE,
            ),
        )
        .unwrap();
        assert_eq!(fleet.vehicles.len(), 2);
        let r = &fleet.routes[0];
        assert_eq!(r.assigned, Assignment::Kind("sweeper".into()));
        assert_eq!(
            (r.passes, r.max_work_speed_kmh, r.min_pressure),
            (2, 15.0, Some(0.2))
        );
        assert_eq!(
            r.schedule.windows,
            vec![
                Window {
                    days: 0b001_1111,
                    start_min: 300,
                    end_min: 480
                },
                Window {
                    days: 0b001_1111,
                    start_min: 840,
                    end_min: 960
                },
                Window {
                    days: 0b100_0000,
                    start_min: 1320,
                    end_min: 120
                },
            ]
        );
        // A sweeper of community c1 lies under street s1: the kind route is planned for it,
        // not for the washer.
        let reg = registry();
        let v1 = fleet.vehicle("v1").unwrap();
        assert_eq!(fleet.routes_of(v1, &reg).count(), 1);
        let v2 = fleet.vehicle("v2").unwrap();
        assert_eq!(fleet.routes_of(v2, &reg).count(), 0);
    }

    #[test]
    fn the_array_form_of_a_schedule_reads_like_the_text_form() {
        let text = parse_schedule(&Value::String("sat-mon 06:00-07:30".into())).unwrap();
        let array = parse_schedule(
            &serde_json::json!([{"days": ["sat", "sun", 1], "from": "06:00", "to": "07:30"}]),
        )
        .unwrap();
        assert_eq!(text, array);
        assert_eq!(text.windows[0].days, 0b110_0001);
    }

    #[test]
    fn every_fault_of_the_vehicles_is_named_with_its_line() {
        let err = load(
            "vehicle,plate,kind,unit\nv1,P1,sweeper,c1\nv1,P2,sweeper,c1\nw1,P3,washer,c1\nv3,P4,,nowhere\n",
            r#"{"type":"FeatureCollection","features":[]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            [
                "vehicles.csv: line 3: duplicate vehicle \"v1\": line 2 already has it",
                "vehicles.csv: line 4: vehicle id \"w1\" is also a worker id in workers.csv; give vehicles ids of their own",
                "vehicles.csv: line 5: bad row: empty kind: every vehicle needs one",
                "vehicles.csv: line 5: unknown unit \"nowhere\": no unit in grids.geojson has that code; give the code of the community, street or district responsible",
            ]
        );
        let err = load(
            "vehicle,plate,unit\n",
            r#"{"type":"FeatureCollection","features":[]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ["vehicles.csv: line 1: missing column \"kind\": the header must have vehicle,plate,kind,unit"]
        );
    }

    #[test]
    fn every_fault_of_a_route_is_named_with_its_feature() {
        let props = r#"{"code":"r1","unit":"c9","vehicles":["v1","v7"],"schedule":"mon 09:00-09:00","passes":0,"max_work_speed_kmh":"fast"}"#;
        let err = load(
            VEHICLES,
            &route(props, r#"{"type":"Polygon","coordinates":[]}"#),
        )
        .unwrap_err();
        let at = "routes.geojson: feature #0 (code \"r1\"): ";
        assert_eq!(
            err,
            [
                format!("{at}unknown unit \"c9\": no unit in grids.geojson has that code; give the code of the community, street or district responsible"),
                format!("{at}unknown vehicle \"v7\": no row of vehicles.csv has that id"),
                format!("{at}bad schedule: the window 09:00-09:00 is empty: give a start and an end that differ"),
                format!("{at}property \"passes\" is the number 0: give the whole number of passes required per scheduled day, 1 to 100"),
                format!("{at}property \"max_work_speed_kmh\" is the string \"fast\": give the highest working speed in km/h, e.g. 15"),
                format!("{at}route has a Polygon geometry: a route needs a LineString or MultiLineString geometry"),
            ]
        );
    }

    #[test]
    fn degenerate_lines_are_faults_and_repeated_positions_are_dropped() {
        let props = r#"{"code":"r1","unit":"c1","kind":"sweeper","schedule":"daily 05:00-06:00","max_work_speed_kmh":15}"#;
        let multi = r#"{"type":"MultiLineString","coordinates":[[[112.981,28.201],[112.981,28.201]],[[112.981,28.201],[112.981,28.201000001]],[[112.982,28.202],[112.982,28.202],[112.983,28.202]]]}"#;
        let err = load(VEHICLES, &route(props, multi)).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(
            err[0].ends_with(
                "line 0 of the route is degenerate: 1 distinct position; a line needs at least two"
            ),
            "{err:?}"
        );
        assert!(
            err[1].contains("line 1 of the route is degenerate: it is 0.00 m long"),
            "{err:?}"
        );
        let ok = r#"{"type":"LineString","coordinates":[[112.982,28.202],[112.982,28.202],[112.983,28.202]]}"#;
        let fleet = load(VEHICLES, &route(props, ok)).unwrap();
        assert_eq!(
            fleet.routes[0].lines,
            vec![vec![(112.982, 28.202), (112.983, 28.202)]]
        );
    }

    #[test]
    fn day_names_numbers_and_ranges() {
        assert_eq!(parse_days("mon-fri"), Ok(0b001_1111));
        assert_eq!(parse_days("Monday,Wednesday"), Ok(0b000_0101));
        assert_eq!(parse_days("6-7"), Ok(0b110_0000));
        assert_eq!(parse_days("daily"), Ok(0x7f));
        assert!(parse_days("mo").is_err());
        assert!(parse_days("funday").is_err());
        assert_eq!(minutes("24:00"), Ok(1440));
        assert!(minutes("24:01").is_err());
        assert!(minutes("7:5").is_ok());
        assert!(minutes("07:60").is_err());
    }
}
