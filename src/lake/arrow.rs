//! `gridbeat summarize --arrow`: a bucket's pings arrive as an Arrow IPC stream (a distributed
//! engine read them from the lake itself and hands them over, e.g. Spark's `applyInArrow`),
//! and its worker_days rows leave as an Arrow IPC stream, with `month` and `bucket` columns so
//! the engine can write them partitioned. The summaries are the same as [`super::ops::
//! summarize_partition`]'s: the rows are the partition's and its context's, grouped per worker
//! and ordered by timestamp (then receipt time) as the lake's files hold them.
//!
//! Input columns (by name; others are ignored): `worker` (Utf8 or LargeUtf8), `ts_ms` (Int64
//! Unix ms, or a Timestamp of any unit), `lat`, `lon` (Float64 or Float32), and optionally
//! `acc`, `speed`, `bearing`, `alt`, `batt` (Float32 or Float64), `mock` (Boolean), `checkin`
//! (Utf8), `received_ms` (Int64 or Timestamp).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float32Type, Float64Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int32Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::parts::DayRow;
use super::{Lake, LakeError};
use crate::assess::Assessor;
use crate::model::{Month, Ping, WorkerId};

fn bad(reason: impl std::fmt::Display) -> LakeError {
    LakeError::BadPart {
        path: "the Arrow stream on standard input".into(),
        reason: reason.to_string(),
    }
}

/// The worker_days rows as Arrow leave: the part file's columns, then `month` (`YYYY-MM`) and
/// `bucket` (three digits, as in the lake's directory names), the partition columns.
pub fn worker_days_schema() -> Schema {
    Schema::new(vec![
        Field::new("worker", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("pings", DataType::Int32, false),
        Field::new("accepted", DataType::Int32, false),
        Field::new("patrol_s", DataType::Float64, false),
        Field::new("length_m", DataType::Float64, false),
        Field::new("in_assigned_s", DataType::Float64, false),
        Field::new("out_of_grid_s", DataType::Float64, false),
        Field::new("anomalies", DataType::Int32, false),
        Field::new("summary", DataType::Binary, false),
        Field::new("engine", DataType::Utf8, false),
        Field::new("params_digest", DataType::Utf8, false),
        Field::new("registry_digest", DataType::Utf8, false),
        Field::new("month", DataType::Utf8, false),
        Field::new("bucket", DataType::Utf8, false),
    ])
}

/// A column as f64 values (nulls as `None`), whatever its float or integer type.
fn floats(col: &ArrayRef) -> Result<Vec<Option<f64>>, LakeError> {
    let n = col.len();
    Ok(match col.data_type() {
        DataType::Float64 => {
            let a = col.as_primitive::<Float64Type>();
            (0..n).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
        }
        DataType::Float32 => {
            let a = col.as_primitive::<Float32Type>();
            (0..n)
                .map(|i| a.is_valid(i).then(|| f64::from(a.value(i))))
                .collect()
        }
        DataType::Int64 => {
            let a = col.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| a.is_valid(i).then(|| a.value(i) as f64))
                .collect()
        }
        other => return Err(bad(format!("a number column is {other}"))),
    })
}

/// A time column as Unix ms (Int64 ms, or a Timestamp of any unit).
fn millis(col: &ArrayRef) -> Result<Vec<Option<i64>>, LakeError> {
    let n = col.len();
    let scale = |v: i64, unit: &TimeUnit| match unit {
        TimeUnit::Second => v.saturating_mul(1000),
        TimeUnit::Millisecond => v,
        TimeUnit::Microsecond => v.div_euclid(1000),
        TimeUnit::Nanosecond => v.div_euclid(1_000_000),
    };
    Ok(match col.data_type() {
        DataType::Int64 => {
            let a = col.as_primitive::<Int64Type>();
            (0..n).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
        }
        DataType::Timestamp(unit, _) => {
            let raw = match unit {
                TimeUnit::Second => prim::<TimestampSecondType>(col),
                TimeUnit::Millisecond => prim::<TimestampMillisecondType>(col),
                TimeUnit::Microsecond => prim::<TimestampMicrosecondType>(col),
                TimeUnit::Nanosecond => prim::<TimestampNanosecondType>(col),
            };
            raw.into_iter().map(|v| v.map(|v| scale(v, unit))).collect()
        }
        other => return Err(bad(format!("a time column is {other}"))),
    })
}

/// The values of a 64-bit primitive column (nulls as `None`).
fn prim<T: ArrowPrimitiveType<Native = i64>>(col: &ArrayRef) -> Vec<Option<i64>> {
    let a = col.as_primitive::<T>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

/// A text column (Utf8 or LargeUtf8).
fn texts(col: &ArrayRef) -> Result<Vec<Option<String>>, LakeError> {
    let n = col.len();
    Ok(match col.data_type() {
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            (0..n)
                .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
                .collect()
        }
        DataType::LargeUtf8 => {
            let a = col.as_string::<i64>();
            (0..n)
                .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
                .collect()
        }
        other => return Err(bad(format!("a text column is {other}"))),
    })
}

/// The pings of the stream, per worker, in (ts, receipt time) order.
///
/// # Errors
/// When the stream is not Arrow IPC or lacks a required column.
pub fn read_pings(input: impl Read) -> Result<BTreeMap<String, Vec<Ping>>, LakeError> {
    let reader = arrow_ipc::reader::StreamReader::try_new(input, None).map_err(bad)?;
    // One slot per worker, found by name only when the worker changes from the row before
    // (a bucket's rows arrive grouped by worker): no allocation per row.
    let mut slots: Vec<(WorkerId, Vec<Ping>)> = Vec::new();
    let mut slot_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut last: Option<usize> = None;
    for batch in reader {
        let batch = batch.map_err(bad)?;
        let col = |name: &str| batch.column_by_name(name).cloned();
        let need = |name: &str| col(name).ok_or_else(|| bad(format!("no column {name}")));
        let worker_col = need("worker")?;
        let worker = TextColumn::of(&worker_col)?;
        let ts = millis(&need("ts_ms")?)?;
        let lat = floats(&need("lat")?)?;
        let lon = floats(&need("lon")?)?;
        let n = batch.num_rows();
        let opt = |name: &str| -> Result<Vec<Option<f64>>, LakeError> {
            match col(name) {
                Some(c) => floats(&c),
                None => Ok(vec![None; n]),
            }
        };
        let (acc, speed, bearing, alt, batt) = (
            opt("acc")?,
            opt("speed")?,
            opt("bearing")?,
            opt("alt")?,
            opt("batt")?,
        );
        let mock: Vec<bool> = match col("mock") {
            Some(c) => {
                let a: &BooleanArray = c.as_boolean();
                (0..n).map(|i| a.is_valid(i) && a.value(i)).collect()
            }
            None => vec![false; n],
        };
        let checkin = match col("checkin") {
            Some(c) => texts(&c)?,
            None => vec![None; n],
        };
        let received = match col("received_ms") {
            Some(c) => millis(&c)?,
            None => vec![None; n],
        };
        for i in 0..n {
            let (Some(w), Some(t), Some(la), Some(lo)) = (worker.get(i), ts[i], lat[i], lon[i])
            else {
                continue;
            };
            let k = match last {
                Some(k) if slots[k].0.as_str() == w => k,
                _ => {
                    let k = match slot_of.get(w) {
                        Some(&k) => k,
                        None => {
                            slots.push((WorkerId::new(w), Vec::new()));
                            slot_of.insert(w.to_string(), slots.len() - 1);
                            slots.len() - 1
                        }
                    };
                    last = Some(k);
                    k
                }
            };
            let (id, pings) = &mut slots[k];
            let f = |v: Option<f64>| v.map(|x| x as f32);
            pings.push(Ping {
                acc_m: f(acc[i]),
                speed_mps: f(speed[i]),
                bearing_deg: f(bearing[i]),
                alt_m: f(alt[i]),
                batt_pct: f(batt[i]),
                mock: mock[i],
                checkin: checkin[i].as_deref().map(Into::into),
                received: received[i],
                ..Ping::new(id.clone(), t, lo, la)
            });
        }
    }
    Ok(slots
        .into_iter()
        .map(|(id, mut pings)| {
            // As the lake's files hold them: by timestamp, a key's earliest receipt first.
            pings.sort_by_key(|p| (p.ts, p.received.unwrap_or(i64::MIN)));
            (id.as_str().to_string(), pings)
        })
        .collect())
}

/// A text column (Utf8 or LargeUtf8), read in place.
enum TextColumn<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
}

impl<'a> TextColumn<'a> {
    fn of(col: &'a ArrayRef) -> Result<TextColumn<'a>, LakeError> {
        match col.data_type() {
            DataType::Utf8 => Ok(TextColumn::Utf8(col.as_string::<i32>())),
            DataType::LargeUtf8 => Ok(TextColumn::Large(col.as_string::<i64>())),
            other => Err(bad(format!("a text column is {other}"))),
        }
    }

    /// Row `i`'s text; `None` when null.
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            TextColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// Summarises the pings of one bucket's stream for `month` and writes the worker_days rows
/// as an Arrow IPC stream. Returns how many rows were written.
///
/// # Errors
/// When the input is not a valid stream or the output cannot be written.
pub fn summarize_stream(
    lake: &Lake,
    assessor: &Assessor,
    month: Month,
    input: impl Read,
    output: impl Write,
) -> Result<usize, LakeError> {
    use rayon::prelude::*;
    let by_worker = read_pings(input)?;
    let period = crate::model::Period::months(month, month);
    // The month and one day of context on either side, as the file path reads them.
    let tz: chrono_tz::Tz = lake.meta.timezone.parse().unwrap_or(chrono_tz::UTC);
    let span = period.instants(tz);
    let context = span.start.saturating_sub(86_400_000)..span.end.saturating_add(86_400_000);
    let wanted = |d: chrono::NaiveDate| period.contains(d);
    let workers: Vec<(&String, &Vec<Ping>)> = by_worker.iter().collect();
    let days: Vec<crate::assess::WorkerDay> = workers
        .par_iter()
        .flat_map_iter(|(w, pings)| {
            let inside: Vec<Ping> = pings
                .iter()
                .filter(|p| context.contains(&p.ts))
                .cloned()
                .collect();
            let (pings, _) = crate::track::distinct(&inside);
            assessor.summarize_stream(&WorkerId::new(w), &pings, None, &wanted, &[])
        })
        .collect();
    let rows = super::ops::day_rows(lake, assessor, &days)?;
    let bucket = rows.first().map_or(0, |r| lake.bucket(&r.worker) as i32);
    write_rows(&rows, month, bucket, output)?;
    Ok(rows.len())
}

fn write_rows(
    rows: &[DayRow],
    month: Month,
    bucket: i32,
    output: impl Write,
) -> Result<(), LakeError> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let schema = Arc::new(worker_days_schema());
    let text = |f: fn(&DayRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let ints = |f: fn(&DayRow) -> i32| -> ArrayRef {
        Arc::new(Int32Array::from_iter_values(rows.iter().map(f)))
    };
    let reals = |f: fn(&DayRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
    };
    let month_text = month.to_string();
    let columns: Vec<ArrayRef> = vec![
        text(|r| &r.worker),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|r| (r.day - epoch).num_days() as i32),
        )),
        ints(|r| r.pings),
        ints(|r| r.accepted),
        reals(|r| r.patrol_s),
        reals(|r| r.length_m),
        reals(|r| r.in_assigned_s),
        reals(|r| r.out_of_grid_s),
        ints(|r| r.anomalies),
        Arc::new(BinaryArray::from_iter_values(
            rows.iter().map(|r| r.summary.as_slice()),
        )),
        text(|r| &r.engine),
        text(|r| &r.params_digest),
        text(|r| &r.registry_digest),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|_| month_text.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|_| format!("{bucket:03}")),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(bad)?;
    let mut w = arrow_ipc::writer::StreamWriter::try_new(output, &schema).map_err(bad)?;
    w.write(&batch).map_err(bad)?;
    w.finish().map_err(bad)?;
    Ok(())
}
