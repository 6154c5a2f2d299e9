//! The lake's part files: the pings and worker_days Parquet schemas, their writers (fixed
//! settings, so the bytes are a function of the rows) and the worker_days reader. The lake's
//! pings are read by the batch door's own Parquet reader ([`crate::ingest::read_table`]),
//! which takes these columns.

use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::Compression;
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::LakeError;
use crate::model::Ping;

/// The pings of a partition (DESIGN.md §6).
pub const PINGS_SCHEMA: &str = "message pings {
  REQUIRED BYTE_ARRAY worker (UTF8);
  REQUIRED INT64 ts_ms (TIMESTAMP(MILLIS,true));
  REQUIRED DOUBLE lat;
  REQUIRED DOUBLE lon;
  OPTIONAL FLOAT acc;
  OPTIONAL FLOAT speed;
  OPTIONAL FLOAT bearing;
  OPTIONAL FLOAT alt;
  OPTIONAL FLOAT batt;
  REQUIRED BOOLEAN mock;
  OPTIONAL BYTE_ARRAY checkin (UTF8);
  OPTIONAL INT64 received_ms (TIMESTAMP(MILLIS,true));
  OPTIONAL BYTE_ARRAY source (UTF8);
  OPTIONAL BYTE_ARRAY device (UTF8);
}";

/// The worker_days of a partition: the figures a report reads at a glance, the stored summary
/// (what reports are assembled from) and what it was computed on.
pub const WORKER_DAYS_SCHEMA: &str = "message worker_days {
  REQUIRED BYTE_ARRAY worker (UTF8);
  REQUIRED INT32 day (DATE);
  REQUIRED INT32 pings;
  REQUIRED INT32 accepted;
  REQUIRED DOUBLE patrol_s;
  REQUIRED DOUBLE length_m;
  REQUIRED DOUBLE in_assigned_s;
  REQUIRED DOUBLE out_of_grid_s;
  REQUIRED INT32 anomalies;
  REQUIRED BYTE_ARRAY summary;
  REQUIRED BYTE_ARRAY engine (UTF8);
  REQUIRED BYTE_ARRAY params_digest (UTF8);
  REQUIRED BYTE_ARRAY registry_digest (UTF8);
}";

/// A lake ping: the ping with what only the store knows.
#[derive(Clone, Debug, PartialEq)]
pub struct LakePing {
    /// The ping (its `received` is the receipt time, if known).
    pub ping: Ping,
    /// Where it came from (`import`, `json`, …), if known.
    pub source: Option<String>,
    /// The device that sent it, if known.
    pub device: Option<String>,
}

/// A worker_days row.
#[derive(Clone, Debug, PartialEq)]
pub struct DayRow {
    /// The worker.
    pub worker: String,
    /// The local day.
    pub day: chrono::NaiveDate,
    /// Pings received with a timestamp that day.
    pub pings: i32,
    /// Accepted fixes taken that day.
    pub accepted: i32,
    /// Patrol time, seconds.
    pub patrol_s: f64,
    /// Length, metres.
    pub length_m: f64,
    /// Time inside the assigned grids, seconds.
    pub in_assigned_s: f64,
    /// Out-of-grid time, seconds.
    pub out_of_grid_s: f64,
    /// Plausibility flags.
    pub anomalies: i32,
    /// The stored summary ([`crate::assess::Assessor::encode`]).
    pub summary: Vec<u8>,
    /// The engine version.
    pub engine: String,
    /// The digest of the parameters a summary depends on (not the score's).
    pub params_digest: String,
    /// The digest of the registry (grids and checkpoints).
    pub registry_digest: String,
}

fn props() -> WriterProperties {
    use parquet::basic::Encoding;
    use parquet::schema::types::ColumnPath;
    // Timestamps step evenly; coordinates share their high bytes; ids and codes repeat.
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from("worker"), true)
        .set_column_dictionary_enabled(ColumnPath::from("checkin"), true)
        .set_column_dictionary_enabled(ColumnPath::from("source"), true)
        .set_column_dictionary_enabled(ColumnPath::from("device"), true)
        .set_column_dictionary_enabled(ColumnPath::from("engine"), true)
        .set_column_dictionary_enabled(ColumnPath::from("params_digest"), true)
        .set_column_dictionary_enabled(ColumnPath::from("registry_digest"), true)
        .set_column_encoding(ColumnPath::from("ts_ms"), Encoding::DELTA_BINARY_PACKED)
        .set_column_encoding(
            ColumnPath::from("received_ms"),
            Encoding::DELTA_BINARY_PACKED,
        )
        .set_column_encoding(ColumnPath::from("lat"), Encoding::BYTE_STREAM_SPLIT)
        .set_column_encoding(ColumnPath::from("lon"), Encoding::BYTE_STREAM_SPLIT)
        .set_created_by("gridbeat lake".into())
        .build()
}

fn bytes_of(s: &str) -> ByteArray {
    ByteArray::from(Bytes::from(s.as_bytes().to_vec()))
}

fn bad(what: &str, e: impl std::fmt::Display) -> LakeError {
    LakeError::BadPart {
        path: what.to_string(),
        reason: e.to_string(),
    }
}

/// Values of an optional column and its definition levels.
fn optional<T: Clone>(values: impl Iterator<Item = Option<T>>) -> (Vec<T>, Vec<i16>) {
    let mut v = Vec::new();
    let mut d = Vec::new();
    for x in values {
        match x {
            Some(x) => {
                v.push(x);
                d.push(1);
            }
            None => d.push(0),
        }
    }
    (v, d)
}

/// The bytes of a pings part file holding `rows` in their order.
///
/// # Errors
/// When the Parquet writer fails.
pub fn pings_part(rows: &[LakePing]) -> Result<Vec<u8>, LakeError> {
    let schema = Arc::new(parse_message_type(PINGS_SCHEMA).map_err(|e| bad("pings schema", e))?);
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, Arc::new(props()))
        .map_err(|e| bad("pings part", e))?;
    for chunk in rows.chunks(1 << 20) {
        let mut rg = w.next_row_group().map_err(|e| bad("pings part", e))?;
        let mut col = 0;
        while let Some(mut c) = rg.next_column().map_err(|e| bad("pings part", e))? {
            let r = match col {
                0 => {
                    let v: Vec<ByteArray> = chunk
                        .iter()
                        .map(|p| bytes_of(p.ping.worker.as_str()))
                        .collect();
                    c.typed::<ByteArrayType>().write_batch(&v, None, None)
                }
                1 => {
                    let v: Vec<i64> = chunk.iter().map(|p| p.ping.ts).collect();
                    c.typed::<Int64Type>().write_batch(&v, None, None)
                }
                2 | 3 => {
                    let v: Vec<f64> = chunk
                        .iter()
                        .map(|p| if col == 2 { p.ping.lat } else { p.ping.lon })
                        .collect();
                    c.typed::<DoubleType>().write_batch(&v, None, None)
                }
                4..=8 => {
                    let (v, d) = optional(chunk.iter().map(|p| match col {
                        4 => p.ping.acc_m,
                        5 => p.ping.speed_mps,
                        6 => p.ping.bearing_deg,
                        7 => p.ping.alt_m,
                        _ => p.ping.batt_pct,
                    }));
                    c.typed::<FloatType>().write_batch(&v, Some(&d), None)
                }
                9 => {
                    let v: Vec<bool> = chunk.iter().map(|p| p.ping.mock).collect();
                    c.typed::<BoolType>().write_batch(&v, None, None)
                }
                11 => {
                    let (v, d) = optional(chunk.iter().map(|p| p.ping.received));
                    c.typed::<Int64Type>().write_batch(&v, Some(&d), None)
                }
                _ => {
                    let (v, d) = optional(chunk.iter().map(|p| match col {
                        10 => p.ping.checkin.as_deref().map(bytes_of),
                        12 => p.source.as_deref().map(bytes_of),
                        _ => p.device.as_deref().map(bytes_of),
                    }));
                    c.typed::<ByteArrayType>().write_batch(&v, Some(&d), None)
                }
            };
            r.map_err(|e| bad("pings part", e))?;
            c.close().map_err(|e| bad("pings part", e))?;
            col += 1;
        }
        rg.close().map_err(|e| bad("pings part", e))?;
    }
    w.close().map_err(|e| bad("pings part", e))?;
    Ok(out)
}

/// Days since 1970-01-01 (Parquet's DATE).
fn epoch_days(d: chrono::NaiveDate) -> i32 {
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

/// The bytes of a worker_days part file holding `rows` in their order.
///
/// # Errors
/// When the Parquet writer fails.
pub fn worker_days_part(rows: &[DayRow]) -> Result<Vec<u8>, LakeError> {
    let schema =
        Arc::new(parse_message_type(WORKER_DAYS_SCHEMA).map_err(|e| bad("worker_days schema", e))?);
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, Arc::new(props()))
        .map_err(|e| bad("worker_days part", e))?;
    let mut rg = w.next_row_group().map_err(|e| bad("worker_days part", e))?;
    let mut col = 0;
    while let Some(mut c) = rg.next_column().map_err(|e| bad("worker_days part", e))? {
        let text = |f: fn(&DayRow) -> &[u8]| -> Vec<ByteArray> {
            rows.iter()
                .map(|r| ByteArray::from(Bytes::from(f(r).to_vec())))
                .collect()
        };
        let ints = |f: fn(&DayRow) -> i32| -> Vec<i32> { rows.iter().map(f).collect() };
        let floats = |f: fn(&DayRow) -> f64| -> Vec<f64> { rows.iter().map(f).collect() };
        let r = match col {
            0 => c
                .typed::<ByteArrayType>()
                .write_batch(&text(|r| r.worker.as_bytes()), None, None),
            1 => c
                .typed::<Int32Type>()
                .write_batch(&ints(|r| epoch_days(r.day)), None, None),
            2 => c
                .typed::<Int32Type>()
                .write_batch(&ints(|r| r.pings), None, None),
            3 => c
                .typed::<Int32Type>()
                .write_batch(&ints(|r| r.accepted), None, None),
            4 => c
                .typed::<DoubleType>()
                .write_batch(&floats(|r| r.patrol_s), None, None),
            5 => c
                .typed::<DoubleType>()
                .write_batch(&floats(|r| r.length_m), None, None),
            6 => c
                .typed::<DoubleType>()
                .write_batch(&floats(|r| r.in_assigned_s), None, None),
            7 => c
                .typed::<DoubleType>()
                .write_batch(&floats(|r| r.out_of_grid_s), None, None),
            8 => c
                .typed::<Int32Type>()
                .write_batch(&ints(|r| r.anomalies), None, None),
            9 => c
                .typed::<ByteArrayType>()
                .write_batch(&text(|r| &r.summary), None, None),
            10 => {
                c.typed::<ByteArrayType>()
                    .write_batch(&text(|r| r.engine.as_bytes()), None, None)
            }
            11 => c.typed::<ByteArrayType>().write_batch(
                &text(|r| r.params_digest.as_bytes()),
                None,
                None,
            ),
            _ => c.typed::<ByteArrayType>().write_batch(
                &text(|r| r.registry_digest.as_bytes()),
                None,
                None,
            ),
        };
        r.map_err(|e| bad("worker_days part", e))?;
        c.close().map_err(|e| bad("worker_days part", e))?;
        col += 1;
    }
    rg.close().map_err(|e| bad("worker_days part", e))?;
    w.close().map_err(|e| bad("worker_days part", e))?;
    Ok(out)
}

/// Reads a worker_days part file, checking its columns against the layout.
///
/// # Errors
/// [`LakeError::BadPart`] naming the file: unreadable, not Parquet, or other columns.
pub fn read_worker_days(path: &std::path::Path) -> Result<Vec<DayRow>, LakeError> {
    use parquet::column::reader::ColumnReader;
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| bad(&name, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| bad(&name, e))?;
    let want = parse_message_type(WORKER_DAYS_SCHEMA).map_err(|e| bad(&name, e))?;
    let have = reader.metadata().file_metadata().schema();
    let names = |t: &parquet::schema::types::Type| -> Vec<String> {
        t.get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect()
    };
    if names(have) != names(&want) {
        return Err(bad(
            &name,
            format!(
                "not a worker_days part of layout {}: columns {:?}, expected {:?}",
                super::LAYOUT,
                names(have),
                names(&want)
            ),
        ));
    }
    let mut rows = Vec::new();
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(|e| bad(&name, e))?;
        let n = rg.metadata().num_rows() as usize;
        let mut bytes: Vec<Vec<ByteArray>> = Vec::new();
        let mut ints: Vec<Vec<i32>> = Vec::new();
        let mut floats: Vec<Vec<f64>> = Vec::new();
        for c in 0..13 {
            let col = rg.get_column_reader(c).map_err(|e| bad(&name, e))?;
            // Every value of a column of `n` rows (a null is an error: the layout has none).
            macro_rules! all {
                ($r:expr) => {{
                    let (mut v, mut defs) = (Vec::with_capacity(n), Vec::with_capacity(n));
                    $r.read_records(n, Some(&mut defs), None, &mut v)
                        .map_err(|e| bad(&name, e))?;
                    if v.len() != n {
                        return Err(bad(&name, format!("column {c} holds nulls")));
                    }
                    v
                }};
            }
            match col {
                ColumnReader::ByteArrayColumnReader(mut r) => bytes.push(all!(r)),
                ColumnReader::Int32ColumnReader(mut r) => ints.push(all!(r)),
                ColumnReader::DoubleColumnReader(mut r) => floats.push(all!(r)),
                _ => {
                    return Err(bad(
                        &name,
                        format!("column {c} has another type than the layout's"),
                    ))
                }
            }
        }
        if bytes.len() != 5 || ints.len() != 4 || floats.len() != 4 {
            return Err(bad(&name, "the columns' types differ from the layout's"));
        }
        let text = |b: &ByteArray| String::from_utf8_lossy(b.data()).into_owned();
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        for i in 0..n {
            let get = |v: &Vec<ByteArray>| v.get(i).cloned().unwrap_or_default();
            rows.push(DayRow {
                worker: text(&get(&bytes[0])),
                day: epoch + chrono::Days::new(ints[0].get(i).copied().unwrap_or(0).max(0) as u64),
                pings: ints[1].get(i).copied().unwrap_or(0),
                accepted: ints[2].get(i).copied().unwrap_or(0),
                patrol_s: floats[0].get(i).copied().unwrap_or(0.0),
                length_m: floats[1].get(i).copied().unwrap_or(0.0),
                in_assigned_s: floats[2].get(i).copied().unwrap_or(0.0),
                out_of_grid_s: floats[3].get(i).copied().unwrap_or(0.0),
                anomalies: ints[3].get(i).copied().unwrap_or(0),
                summary: get(&bytes[1]).data().to_vec(),
                engine: text(&get(&bytes[2])),
                params_digest: text(&get(&bytes[3])),
                registry_digest: text(&get(&bytes[4])),
            });
        }
    }
    Ok(rows)
}
