//! Decoders that turn what clients and files send into [`Ping`]s: CSV, Parquet and GPX files;
//! the phone protocols join here.
//!
//! Every decoder keeps the good records and reports each bad one with where it is (file and
//! line) and what is wrong, so a single broken row never takes a file down with it.

use std::path::Path;

use crate::model::{Crs, Ping};

pub mod admit;
pub mod csv;
mod dict_runs;
mod error;
pub mod gpx;
pub mod gzip;
pub mod parquet;
pub mod row;
pub mod table;
pub mod wire;

pub use admit::{admit, AdmitError, Admitted};
pub use error::{IngestError, RecordError};
pub use row::{RecordFault, TsUnit};
pub use table::{read_table, PingTable, ReadOptions};

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
/// `ts_ms` (Unix milliseconds; preferred when present) or `ts`/`timestamp`/`time`, `lat`/`latitude`, `lon`/`lng`/`longitude`, `acc`/`accuracy`,
/// `speed`, `bearing`/`course`, `alt`/`altitude`/`altitude_m`, `batt`/`battery`, `mock`,
/// `checkin`. Every decoder of tabular files uses this one table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    /// The worker id column.
    pub worker: usize,
    /// The timestamp column: `ts_ms` when the file has one, else `ts` (or an alias).
    pub ts: usize,
    /// How the timestamp column's values are read.
    pub ts_unit: TsUnit,
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
    /// A vehicle's work state.
    pub work: Option<usize>,
    /// A washer's water pressure, MPa.
    pub pressure: Option<usize>,
    /// A vehicle's ignition (ACC).
    pub ignition: Option<usize>,
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
        // A typed millisecond column beats a text one (the simulator writes both).
        let (ts, ts_unit) = match find(&["ts_ms"]) {
            Some(i) => (i, TsUnit::Millis),
            None => (require("ts", &["ts", "timestamp", "time"])?, TsUnit::Auto),
        };
        Ok(Columns {
            worker: require("worker", &["worker", "worker_id", "vehicle", "vehicle_id"])?,
            ts,
            ts_unit,
            lat: require("lat", &["lat", "latitude"])?,
            lon: require("lon", &["lon", "lng", "longitude"])?,
            acc: find(&["acc", "accuracy"]),
            speed: find(&["speed"]),
            bearing: find(&["bearing", "course"]),
            alt: find(&["alt", "altitude", "altitude_m"]),
            batt: find(&["batt", "battery"]),
            mock: find(&["mock"]),
            checkin: find(&["checkin"]),
            work: find(&["work"]),
            pressure: find(&["pressure", "pressure_mpa"]),
            ignition: find(&["ignition"]),
        })
    }
}

/// Why a position is not a real WGS84 position.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum PositionError {
    /// A coordinate is NaN or infinite.
    #[error("coordinates must be finite numbers, got lat={lat}, lon={lon}")]
    NotFinite {
        /// Longitude as given.
        lon: f64,
        /// Latitude as given.
        lat: f64,
    },
    /// The latitude is outside −90..90 (with a hint when lat and lon look swapped).
    #[error("lat {lat} is outside -90..90{}", if *.swapped { " (lat and lon look swapped)" } else { "" })]
    LatOutOfRange {
        /// Latitude as given.
        lat: f64,
        /// The longitude would be a valid latitude.
        swapped: bool,
    },
    /// The longitude is outside −180..180.
    #[error("lon {lon} is outside -180..180")]
    LonOutOfRange {
        /// Longitude as given.
        lon: f64,
    },
}

/// Checks that a position is a real WGS84 position.
///
/// # Errors
/// [`PositionError`] naming the bad coordinate.
#[inline]
pub fn check_position(lon: f64, lat: f64) -> Result<(), PositionError> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(PositionError::NotFinite { lon, lat });
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(PositionError::LatOutOfRange {
            lat,
            swapped: (-90.0..=90.0).contains(&lon),
        });
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(PositionError::LonOutOfRange { lon });
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

/// Reads the pings of one file, choosing the decoder by its extension, through
/// [`read_table`]. GPX files hold one worker's track, named by `worker` (or, without it, by the
/// file's stem); with `worker`, only that worker's rows of CSV and Parquet files are kept.
///
/// # Errors
/// [`IngestError`] when the file cannot be opened, has an unknown extension, or is not of its
/// format; the message names the file. Bad records are not errors: they are in
/// [`Decoded::errors`].
pub fn read_file(path: &Path, crs: Crs, worker: Option<&str>) -> Result<Decoded, IngestError> {
    let opts = ReadOptions {
        crs,
        range: None,
        worker: worker.map(String::from),
    };
    Ok(read_table(&[path.to_path_buf()], &opts)?.into_decoded())
}
