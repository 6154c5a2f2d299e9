//! Problems found while loading a registry: where they are and what is wrong.

use std::fmt;

/// Where in an input file a problem lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The file as a whole (unreadable JSON, a missing column, a bad `crs` member).
    File,
    /// A GeoJSON feature: its 0-based index in `features` and its code when it has one.
    Feature {
        /// Index in the `features` array, counted from 0.
        index: usize,
        /// The feature's `code` property, when present.
        code: Option<String>,
    },
    /// A CSV record, by its 1-based line number in the file (the header is line 1).
    Line(u64),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File => f.write_str("file"),
            Place::Feature {
                index,
                code: Some(code),
            } => write!(f, "feature #{index} (code {code:?})"),
            Place::Feature { index, code: None } => write!(f, "feature #{index}"),
            Place::Line(line) => write!(f, "line {line}"),
        }
    }
}

/// What is wrong: one variant per cause, each saying what to fix.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Fault {
    /// The text is not the expected JSON/GeoJSON.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    BadJson(String),
    /// The `crs` member names no system gridbeat knows.
    #[error("unknown crs {0:?}: use \"wgs84\", \"gcj02\" or \"bd09\" (or the GeoJSON CRS84 name)")]
    UnknownCrs(String),
    /// The feature has no `code` property (or it is empty).
    #[error("missing \"code\" property: give every unit a unique code (a string of digits)")]
    MissingCode,
    /// The code is neither a string nor an integer.
    #[error("\"code\" is {0}: write codes as strings, e.g. \"110101001001001\"")]
    BadCode(String),
    /// Another feature already uses this code.
    #[error(
        "duplicate code {code:?}: feature #{first_index} already uses it; codes must be unique"
    )]
    DuplicateCode {
        /// The repeated code.
        code: String,
        /// Index of the feature that used it first.
        first_index: usize,
    },
    /// The `level` property is missing or not a known level.
    #[error("missing or invalid \"level\" {0:?}: use city, district, street, community or grid")]
    BadLevel(String),
    /// The `parent` code names no unit in the file.
    #[error("unknown parent {0:?}: no unit in this file has that code; add the parent unit or fix the code")]
    UnknownParent(String),
    /// The parent unit itself was rejected, so this unit cannot be placed (keep-going mode).
    #[error("parent {0:?} was rejected, so this unit is skipped too; fix the parent first")]
    ParentRejected(String),
    /// The parent is not at a higher level than the unit (grids are leaves).
    #[error("level out of order: this {level} has parent {parent:?} at level {parent_level}; a unit's parent must be at a higher level (city > district > street > community > grid) and grids cannot have children")]
    LevelOutOfOrder {
        /// The unit's level.
        level: String,
        /// The parent's code.
        parent: String,
        /// The parent's level.
        parent_level: String,
    },
    /// A grid without Polygon or MultiPolygon geometry.
    #[error("grid has {0}: a grid needs a Polygon or MultiPolygon geometry")]
    MissingPolygon(String),
    /// Coordinates that cannot be read (not numbers, too few rings or positions).
    #[error("invalid geometry: {0}")]
    BadGeometry(String),
    /// A ring whose last position differs from its first.
    #[error("ring {ring} is not closed: it starts at [{first_lon}, {first_lat}] but ends at [{last_lon}, {last_lat}]; repeat the first position at the end")]
    UnclosedRing {
        /// Ring index within the feature (0 = first exterior).
        ring: usize,
        /// First position's longitude.
        first_lon: f64,
        /// First position's latitude.
        first_lat: f64,
        /// Last position's longitude.
        last_lon: f64,
        /// Last position's latitude.
        last_lat: f64,
    },
    /// A ring crosses itself, or rings of the polygon cross each other.
    #[error("self-intersecting polygon: {0}; redraw the boundary so that no edges cross")]
    SelfIntersection(String),
    /// The polygon is invalid for another reason geo's validation reports.
    #[error("invalid polygon: {0}")]
    InvalidPolygon(String),
    /// A position outside lon −180..180 / lat −90..90.
    #[error("coordinate [{lon}, {lat}] is out of range: longitude must be within -180..180 and latitude within -90..90")]
    OutOfRange {
        /// Longitude as given.
        lon: f64,
        /// Latitude as given.
        lat: f64,
    },
    /// Coordinates that look like [lat, lon] instead of GeoJSON's [lon, lat].
    #[error("coordinates look like [lat, lon] ([{lon}, {lat}] read as lon, lat): {reason}; GeoJSON positions are [longitude, latitude]")]
    LatLonSwapped {
        /// The first position's first number, read as longitude.
        lon: f64,
        /// The first position's second number, read as latitude.
        lat: f64,
        /// Why they look swapped.
        reason: String,
    },
    /// A checkpoint without a Point geometry.
    #[error("checkpoint has {0}: a checkpoint needs a Point geometry")]
    MissingPoint(String),
    /// A property is missing or has the wrong type.
    #[error("property {name:?} {problem}")]
    BadProperty {
        /// The property's name.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A worker row or a checkpoint names a grid code the registry does not have.
    #[error("unknown grid {0:?}: no grid in the registry has that code")]
    UnknownGrid(String),
    /// A worker row or a checkpoint names a grid that was rejected (keep-going mode).
    #[error("grid {0:?} was rejected, so this is skipped too; fix the grid first")]
    GridRejected(String),
    /// A CSV header lacks a required column.
    #[error("missing column {0:?}: the header must have worker,name,grid")]
    MissingColumn(String),
    /// A CSV record cannot be read or has an empty required field.
    #[error("bad row: {0}")]
    BadRow(String),
    /// Two grids overlap by more than the tolerance (a warning).
    #[error("grids {a:?} and {b:?} overlap by {area_m2:.1} m²; grids should tile without overlaps (points there go to the smaller code)")]
    Overlap {
        /// Smaller code of the pair.
        a: String,
        /// Larger code of the pair.
        b: String,
        /// Area of the overlap, square metres.
        area_m2: f64,
    },
    /// A grid so small or thin that it is probably a digitising artefact (a warning).
    #[error("grid looks like a sliver ({area_m2:.1} m², compactness {compactness:.3}); check for a digitising error")]
    Sliver {
        /// Geodesic area, square metres.
        area_m2: f64,
        /// 4πA/P², 1 for a circle, ≈ 0.785 for a square, near 0 for a thin strip.
        compactness: f64,
    },
    /// A checkpoint whose position is not inside the grid it names (a warning).
    #[error("checkpoint lies outside its grid {0:?}")]
    CheckpointOutsideGrid(String),
    /// A CSV header of the fleet's files lacks a required column.
    #[error("missing column {column:?}: the header must have {expected}")]
    MissingFleetColumn {
        /// The missing column.
        column: String,
        /// The header the file needs.
        expected: &'static str,
    },
    /// A vehicle or route names a unit the grid registry does not have.
    #[error("unknown unit {0:?}: no unit in grids.geojson has that code; give the code of the community, street or district responsible")]
    UnknownUnit(String),
    /// A route names a vehicle `vehicles.csv` does not have.
    #[error("unknown vehicle {0:?}: no row of vehicles.csv has that id")]
    UnknownVehicle(String),
    /// A vehicle id that is also a worker id (pings are stored under either).
    #[error("vehicle id {0:?} is also a worker id in workers.csv; give vehicles ids of their own")]
    VehicleIsWorker(String),
    /// Another row already uses this vehicle id.
    #[error("duplicate vehicle {id:?}: line {first_line} already has it")]
    DuplicateVehicle {
        /// The repeated id.
        id: String,
        /// The line that has it first.
        first_line: u64,
    },
    /// A route without a LineString or MultiLineString geometry.
    #[error("route has {0}: a route needs a LineString or MultiLineString geometry")]
    MissingLine(String),
    /// A line of a route that has no length.
    #[error("line {line} of the route is degenerate: {problem}")]
    DegenerateLine {
        /// Index of the line in the geometry (0 for a LineString).
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A route's `schedule` that cannot be read.
    #[error("bad schedule: {0}")]
    BadSchedule(String),
    /// The same worker row appears twice (a warning).
    #[error("worker {worker:?} is assigned to grid {grid:?} twice")]
    DuplicateAssignment {
        /// The worker id.
        worker: String,
        /// The grid code.
        grid: String,
    },
}

impl Fault {
    /// Whether the problem is only a warning: the registry is usable as it is.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            Fault::Overlap { .. }
                | Fault::Sliver { .. }
                | Fault::CheckpointOutsideGrid(_)
                | Fault::DuplicateAssignment { .. }
        )
    }
}

/// One problem in one input file, with its place and its fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file}: {place}: {fault}")]
pub struct RegistryIssue {
    /// The source name (file name) given to the loader.
    pub file: String,
    /// Where in the file.
    pub place: Place,
    /// What is wrong.
    pub fault: Fault,
}

/// The registry could not be loaded; lists every error found, not only the first.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryError {
    /// Every error, in file order.
    pub issues: Vec<RegistryIssue>,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        write!(
            f,
            "invalid registry: {n} error{}",
            if n == 1 { "" } else { "s" }
        )?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        if n > 0 {
            write!(
                f,
                "\n(fix these, or load with keep-going to skip the bad features and rows)"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for RegistryError {}
