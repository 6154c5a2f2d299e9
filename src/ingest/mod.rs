//! Decoders that turn what clients and files send into [`Ping`]s: CSV for now; Parquet, GPX
//! and the phone protocols join here.
//!
//! Every decoder keeps the good records and reports each bad one with where it is (file and
//! line) and what is wrong, so a single broken row never takes a file down with it.

use std::fmt;

use crate::model::Ping;

pub mod csv;

/// One input record that could not be read, with where it is and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// The file or stream it came from.
    pub source: String,
    /// The 1-based line (CSV) or record number.
    pub line: u64,
    /// What is wrong and what is expected.
    pub reason: String,
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
