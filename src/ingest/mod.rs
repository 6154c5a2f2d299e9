//! Decoders that turn what clients and files send into [`Ping`]s: CSV, Parquet and GPX files;
//! the phone protocols join here.
//!
//! Every decoder keeps the good records and reports each bad one with where it is (file and
//! line) and what is wrong, so a single broken row never takes a file down with it.

use std::fmt;

use crate::model::Ping;

pub mod csv;
pub mod gpx;
pub mod parquet;

/// One input record that could not be read, with where it is and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// The file or stream it came from.
    pub source: String,
    /// The 1-based line (CSV) or record number.
    pub line: u64,
    /// What is wrong and what is expected.
    pub reason: String,
    /// The worker the record names, when that much could be read.
    pub worker: Option<String>,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.reason)
    }
}

impl std::error::Error for RecordError {}

/// What a decoder produced: the pings it could read, and one error per record it could not.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The good records, in input order.
    pub pings: Vec<Ping>,
    /// The bad records, in input order.
    pub errors: Vec<RecordError>,
}

/// Where each column the engine reads sits among a file's columns, found by name
/// (case-insensitive, a leading BOM ignored) with the accepted aliases: `worker`/`worker_id`,
/// `ts`/`timestamp`/`time`, `lat`/`latitude`, `lon`/`lng`/`longitude`, `acc`/`accuracy`,
/// `speed`, `bearing`/`course`, `alt`/`altitude`/`altitude_m`, `batt`/`battery`, `mock`,
/// `checkin`. Every decoder of tabular files uses this one table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    /// The worker id column.
    pub worker: usize,
    /// The timestamp column.
    pub ts: usize,
    /// Latitude.
    pub lat: usize,
    /// Longitude.
    pub lon: usize,
    /// Reported accuracy, metres.
    pub acc: Option<usize>,
    /// Reported speed, m/s.
    pub speed: Option<usize>,
    /// Reported bearing, degrees.
    pub bearing: Option<usize>,
    /// Reported altitude, metres.
    pub alt: Option<usize>,
    /// Reported battery, percent.
    pub batt: Option<usize>,
    /// Client mock-location flag.
    pub mock: Option<usize>,
    /// Check-in checkpoint code.
    pub checkin: Option<usize>,
}

/// A file lacks a column the engine needs.
#[derive(Clone, Debug, PartialEq)]
pub struct MissingColumn {
    /// The column that is missing.
    pub column: &'static str,
    /// The columns the file has, comma-separated.
    pub found: String,
}

impl Columns {
    /// Finds the columns among `names`.
    ///
    /// # Errors
    /// [`MissingColumn`] naming the first required column not found.
    pub fn resolve<S: AsRef<str>>(names: &[S]) -> Result<Columns, MissingColumn> {
        let names: Vec<String> = names
            .iter()
            .map(|h| {
                h.as_ref()
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_ascii_lowercase()
            })
            .collect();
        let find = |aliases: &[&str]| names.iter().position(|n| aliases.contains(&n.as_str()));
        let require = |column: &'static str, aliases: &[&str]| {
            find(aliases).ok_or_else(|| MissingColumn {
                column,
                found: names.join(","),
            })
        };
        Ok(Columns {
            worker: require("worker", &["worker", "worker_id"])?,
            ts: require("ts", &["ts", "timestamp", "time"])?,
            lat: require("lat", &["lat", "latitude"])?,
            lon: require("lon", &["lon", "lng", "longitude"])?,
            acc: find(&["acc", "accuracy"]),
            speed: find(&["speed"]),
            bearing: find(&["bearing", "course"]),
            alt: find(&["alt", "altitude", "altitude_m"]),
            batt: find(&["batt", "battery"]),
            mock: find(&["mock"]),
            checkin: find(&["checkin"]),
        })
    }
}

/// Checks that a position is a real WGS84 position.
///
/// # Errors
/// A reason naming the bad coordinate.
pub fn check_position(lon: f64, lat: f64) -> Result<(), String> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(format!(
            "coordinates must be finite numbers, got lat={lat}, lon={lon}"
        ));
    }
    if !(-90.0..=90.0).contains(&lat) {
        let hint = if (-90.0..=90.0).contains(&lon) {
            " (lat and lon look swapped)"
        } else {
            ""
        };
        return Err(format!("lat {lat} is outside -90..90{hint}"));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(format!("lon {lon} is outside -180..180"));
    }
    Ok(())
}

/// The file formats pings can be read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-separated values with a header.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// GPS Exchange Format.
    Gpx,
}

impl FileFormat {
    /// The format a file name's extension names (`.csv`, `.parquet`/`.pq`, `.gpx`).
    pub fn from_path(path: &std::path::Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "txt" => Some(FileFormat::Csv),
            "parquet" | "pq" => Some(FileFormat::Parquet),
            "gpx" => Some(FileFormat::Gpx),
            _ => None,
        }
    }
}

/// Reads the pings of one file, choosing the decoder by its extension. GPX files hold one
/// worker's track, named by `gpx_worker` (or, without it, by the file's stem).
///
/// # Errors
/// When the file cannot be opened, has an unknown extension, or is not of its format; the
/// message names the file. Bad records are not errors: they are in [`Decoded::errors`].
pub fn read_file(
    path: &std::path::Path,
    crs: crate::model::Crs,
    gpx_worker: Option<&str>,
) -> anyhow::Result<Decoded> {
    use anyhow::Context;
    let name = path.display().to_string();
    let format = FileFormat::from_path(path)
        .with_context(|| format!("{name}: unknown file type; expected .csv, .parquet or .gpx"))?;
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
    let decoded = match format {
        FileFormat::Csv => csv::read_pings(std::io::BufReader::new(file), &name, crs)?,
        FileFormat::Parquet => parquet::read_pings(file, &name, crs)?,
        FileFormat::Gpx => {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("gpx");
            let worker = crate::model::WorkerId::new(gpx_worker.unwrap_or(stem));
            gpx::read_pings(std::io::BufReader::new(file), &name, &worker, crs)?
        }
    };
    Ok(decoded)
}
