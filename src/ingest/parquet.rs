//! Pings from Parquet files with the same columns as CSV (`worker`/`worker_id`, `ts`, `lat`,
//! `lon`, and optionally `acc`, `speed`, `bearing`, `alt`, `batt`, `mock`, `checkin`). `ts` may
//! be a string (RFC 3339 or Unix digits), a Parquet timestamp, or an integer of Unix seconds
//! or milliseconds.

use std::fs::File;
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::{check_position, Columns, Decoded, RecordError};
use crate::crs;
use crate::model::{parse_timestamp, Crs, Ping, UnixMs, WorkerId};

/// Why a Parquet file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// The file is not Parquet, or is damaged.
    #[error("{source_name}: not a readable Parquet file: {reason}")]
    Unreadable {
        /// The file.
        source_name: String,
        /// The reader's message.
        reason: String,
    },
    /// The schema lacks a required column.
    #[error("{source_name}: no {column:?} column (found: {found}); required: worker (or worker_id), ts, lat, lon")]
    MissingColumn {
        /// The file.
        source_name: String,
        /// The missing column.
        column: &'static str,
        /// The columns the file has.
        found: String,
    },
}

/// Reads every row of a Parquet file as a ping in `crs`, converted to WGS84. Bad rows are
/// returned as errors (numbered from 1) beside the good pings.
///
/// # Errors
/// [`ParquetError`] when the file is not Parquet or lacks a required column.
pub fn read_pings(file: File, source_name: &str, crs: Crs) -> Result<Decoded, ParquetError> {
    let unreadable = |e: parquet::errors::ParquetError| ParquetError::Unreadable {
        source_name: source_name.to_string(),
        reason: e.to_string(),
    };
    let reader = SerializedFileReader::new(file).map_err(unreadable)?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_ascii_lowercase())
        .collect();
    let cols = Columns::resolve(&names).map_err(|m| ParquetError::MissingColumn {
        source_name: source_name.to_string(),
        column: m.column,
        found: m.found,
    })?;
    let mut out = Decoded::default();
    let mut last_worker: Option<WorkerId> = None;
    let rows = reader.get_row_iter(None).map_err(unreadable)?;
    for (n, row) in rows.enumerate() {
        let line = n as u64 + 1;
        let fields: Vec<(String, Field)> = match row {
            Ok(row) => row.into_columns(),
            Err(e) => {
                out.errors.push(RecordError {
                    source: source_name.to_string(),
                    line,
                    reason: format!("unreadable row: {e}"),
                    worker: None,
                });
                continue;
            }
        };
        match parse_row(&fields, &cols, crs, &mut last_worker) {
            Ok(p) => out.pings.push(p),
            Err(reason) => out.errors.push(RecordError {
                source: source_name.to_string(),
                line,
                reason,
                worker: match fields.get(cols.worker).map(|f| &f.1) {
                    Some(Field::Str(s)) => Some(s.clone()),
                    _ => None,
                },
            }),
        }
    }
    Ok(out)
}

fn parse_row(
    fields: &[(String, Field)],
    cols: &Columns,
    crs: Crs,
    last_worker: &mut Option<WorkerId>,
) -> Result<Ping, String> {
    let get = |i: usize| {
        fields
            .get(i)
            .map(|f| &f.1)
            .filter(|f| !matches!(f, Field::Null))
    };
    let worker = match get(cols.worker) {
        Some(Field::Str(s)) if !s.trim().is_empty() => s.trim(),
        Some(Field::Long(_) | Field::Int(_)) => return Err("worker must be a string column".into()),
        _ => return Err("the worker field is empty".into()),
    };
    let worker = match last_worker {
        Some(w) if w.as_str() == worker => w.clone(),
        _ => {
            let w = WorkerId::new(worker);
            *last_worker = Some(w.clone());
            w
        }
    };
    let ts = match get(cols.ts) {
        Some(f) => timestamp(f)?,
        None => return Err("the ts field is empty".into()),
    };
    let number = |i: Option<usize>, name: &str| -> Result<Option<f64>, String> {
        match i.and_then(get) {
            None => Ok(None),
            Some(f) => as_f64(f)
                .map(Some)
                .ok_or_else(|| format!("{name} is not a number: {f}")),
        }
    };
    let lat = number(Some(cols.lat), "lat")?.ok_or("the lat field is empty")?;
    let lon = number(Some(cols.lon), "lon")?.ok_or("the lon field is empty")?;
    check_position(lon, lat)?;
    let (lon, lat) = crs::to_wgs84(crs, lon, lat);
    let small = |i: Option<usize>, name: &str| -> Result<Option<f32>, String> {
        Ok(number(i, name)?.map(|v| v as f32))
    };
    let mock = match cols.mock.and_then(get) {
        None => false,
        Some(Field::Bool(b)) => *b,
        Some(f) => as_f64(f)
            .map(|v| v != 0.0)
            .ok_or_else(|| format!("mock is not a boolean: {f}"))?,
    };
    let checkin = match cols.checkin.and_then(get) {
        Some(Field::Str(s)) if !s.trim().is_empty() => Some(Arc::from(s.trim())),
        _ => None,
    };
    Ok(Ping {
        worker,
        ts,
        lon,
        lat,
        acc_m: small(cols.acc, "acc")?.filter(|a| *a > 0.0),
        speed_mps: small(cols.speed, "speed")?,
        bearing_deg: small(cols.bearing, "bearing")?,
        alt_m: small(cols.alt, "alt")?,
        batt_pct: small(cols.batt, "batt")?,
        mock,
        checkin,
        received: None,
    })
}

fn as_f64(f: &Field) -> Option<f64> {
    match f {
        Field::Double(v) => Some(*v),
        Field::Float(v) => Some(f64::from(*v)),
        Field::Int(v) => Some(f64::from(*v)),
        Field::Long(v) => Some(*v as f64),
        Field::Short(v) => Some(f64::from(*v)),
        Field::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite())
}

fn timestamp(f: &Field) -> Result<UnixMs, String> {
    match f {
        Field::TimestampMillis(ms) => Ok(*ms),
        Field::TimestampMicros(us) => Ok(us.div_euclid(1000)),
        Field::Str(s) => parse_timestamp(s).map_err(|e| e.to_string()),
        Field::Long(n) => parse_timestamp(&n.to_string()).map_err(|e| e.to_string()),
        Field::Int(n) => parse_timestamp(&n.to_string()).map_err(|e| e.to_string()),
        Field::Double(x) => parse_timestamp(&x.to_string()).map_err(|e| e.to_string()),
        other => Err(format!("ts has an unsupported type: {other}")),
    }
}
