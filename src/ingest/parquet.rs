//! Pings from Parquet files with the same columns as CSV (`worker`/`worker_id`, `ts` or `ts_ms`,
//! `lat`, `lon`, and optionally `acc`, `speed`, `bearing`, `alt`, `batt`, `mock`, `checkin`),
//! read column by column with the `parquet` crate's typed column readers.
//!
//! Accepted column types (any column may be OPTIONAL; a null is an empty field):
//! - `worker`, `checkin`: `BYTE_ARRAY` (UTF8), plain or dictionary-encoded.
//! - `ts`: `INT64` `TIMESTAMP(MILLIS|MICROS|NANOS)` (read as UTC, adjusted or not); `INT64`
//!   named `ts_ms` (Unix milliseconds, preferred over a text `ts` when both exist); text
//!   (RFC 3339 or Unix digits); other integers or floats as Unix seconds or milliseconds.
//! - `lat`, `lon`, `acc`, `speed`, `bearing`, `alt`, `batt`: `DOUBLE`, `FLOAT`, `INT32`,
//!   `INT64`, or text.
//! - `mock`: `BOOLEAN`, `INT32`/`INT64` (0/1), or text.
//!
//! Each row goes through the one set of row rules ([`super::row`]); a bad row is reported
//! with its 1-based row number in the file. With a period, row groups whose `ts` statistics
//! lie wholly outside it (and hold no null or implausible timestamp, which would be a bad row)
//! are skipped without being read. Row groups are decoded in parallel, rows in batches, so
//! memory stays near the size of the table being built.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::reader::{
    ChunkReader, FileReader, Length, RowGroupReader, SerializedFileReader,
};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnDescriptor;

use rayon::prelude::*;

use super::dict_runs::DictRuns;
use super::row::{identifier, Field, RawRow, RowFilter, TsUnit};
use super::table::PlainRows;
use super::{check_position, Columns, Decoded, IngestError, PingTable, ReadOptions, RecordFault};
use crate::model::{is_plausible_ms, Crs, UnixMs};

/// Rows decoded per batch: large enough to amortise the calls, small enough to stay in cache.
const BATCH_ROWS: usize = 16 * 1024;

/// What values a column may hold, for the type check.
#[derive(Clone, Copy)]
enum Want {
    Text,
    Time,
    Number,
    Bool,
}

impl Want {
    fn accepts(self, t: PhysicalType) -> bool {
        use PhysicalType as P;
        match self {
            Want::Text => t == P::BYTE_ARRAY,
            Want::Time | Want::Number => matches!(
                t,
                P::BYTE_ARRAY | P::INT32 | P::INT64 | P::FLOAT | P::DOUBLE
            ),
            Want::Bool => matches!(t, P::BOOLEAN | P::INT32 | P::INT64 | P::BYTE_ARRAY),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Want::Text => "BYTE_ARRAY (UTF8 text)",
            Want::Time => "INT64 (TIMESTAMP or Unix ms), text, or a number of Unix s/ms",
            Want::Number => "DOUBLE, FLOAT, INT32, INT64 or text",
            Want::Bool => "BOOLEAN, INT32/INT64 (0/1) or text",
        }
    }
}

/// One column the reader uses: where it is and how to read it.
#[derive(Clone, Copy, Debug)]
struct Spec {
    leaf: usize,
    max_def: i16,
    /// Divisor that turns a typed INT64 timestamp into milliseconds (1 for other columns).
    ts_div: i64,
}

/// The columns of one file.
struct Specs {
    worker: Spec,
    ts: Spec,
    ts_unit: TsUnit,
    /// `ts` is INT64 milliseconds (after `ts_div`): its statistics can skip row groups.
    ts_typed: bool,
    lat: Spec,
    lon: Spec,
    acc: Option<Spec>,
    speed: Option<Spec>,
    bearing: Option<Spec>,
    alt: Option<Spec>,
    batt: Option<Spec>,
    mock: Option<Spec>,
    checkin: Option<Spec>,
}

/// The divisor from a typed INT64 timestamp column to milliseconds, if it is one.
fn timestamp_divisor(d: &ColumnDescriptor) -> Option<i64> {
    if d.physical_type() != PhysicalType::INT64 {
        return None;
    }
    match d.logical_type_ref() {
        Some(LogicalType::Timestamp(t)) => Some(match t.unit {
            TimeUnit::MILLIS => 1,
            TimeUnit::MICROS => 1_000,
            TimeUnit::NANOS => 1_000_000,
        }),
        _ => match d.converted_type() {
            ConvertedType::TIMESTAMP_MILLIS => Some(1),
            ConvertedType::TIMESTAMP_MICROS => Some(1_000),
            _ => None,
        },
    }
}

fn describe(d: &ColumnDescriptor) -> String {
    let mut t = d.physical_type().to_string();
    if let Some(l) = d.logical_type_ref() {
        t.push_str(&format!(" ({l:?})"));
    }
    if d.max_rep_level() > 0 {
        t = format!("a repeated {t}");
    }
    t
}

fn specs(reader: &SerializedFileReader<PosFile>, source_name: &str) -> Result<Specs, IngestError> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let leaves = schema.columns();
    let names: Vec<String> = leaves.iter().map(|c| c.path().string()).collect();
    let cols = Columns::resolve(&names).map_err(|m| IngestError::MissingColumn {
        source_name: source_name.to_string(),
        column: m.column,
        found: m.found,
    })?;
    let spec = |leaf: usize, want: Want| -> Result<Spec, IngestError> {
        let d = &leaves[leaf];
        if d.max_rep_level() > 0 || !want.accepts(d.physical_type()) {
            return Err(IngestError::ColumnType {
                source_name: source_name.to_string(),
                column: names[leaf].clone(),
                found: describe(d),
                expected: want.expected(),
            });
        }
        Ok(Spec {
            leaf,
            max_def: d.max_def_level(),
            ts_div: 1,
        })
    };
    let opt = |leaf: Option<usize>, want: Want| leaf.map(|l| spec(l, want)).transpose();
    let mut ts = spec(cols.ts, Want::Time)?;
    let (ts_unit, ts_typed) = match timestamp_divisor(&leaves[cols.ts]) {
        Some(div) => {
            ts.ts_div = div;
            (TsUnit::Millis, true)
        }
        None => (
            cols.ts_unit,
            cols.ts_unit == TsUnit::Millis
                && leaves[cols.ts].physical_type() == PhysicalType::INT64,
        ),
    };
    Ok(Specs {
        worker: spec(cols.worker, Want::Text)?,
        ts,
        ts_unit,
        ts_typed,
        lat: spec(cols.lat, Want::Number)?,
        lon: spec(cols.lon, Want::Number)?,
        acc: opt(cols.acc, Want::Number)?,
        speed: opt(cols.speed, Want::Number)?,
        bearing: opt(cols.bearing, Want::Number)?,
        alt: opt(cols.alt, Want::Number)?,
        batt: opt(cols.batt, Want::Number)?,
        mock: opt(cols.mock, Want::Bool)?,
        checkin: opt(cols.checkin, Want::Text)?,
    })
}

/// Whether every row of a row group lies outside `range` by its `ts` statistics, so that
/// reading it would skip every row and report none as bad.
fn outside(rg: &RowGroupMetaData, ts: &Spec, range: &Range<UnixMs>) -> bool {
    let Some(Statistics::Int64(s)) = rg.column(ts.leaf).statistics() else {
        return false;
    };
    let no_nulls = ts.max_def == 0 || s.null_count_opt() == Some(0);
    let (Some(&min), Some(&max)) = (s.min_opt(), s.max_opt()) else {
        return false;
    };
    let (min, max) = (min.div_euclid(ts.ts_div), max.div_euclid(ts.ts_div));
    let plausible = is_plausible_ms(min) && is_plausible_ms(max);
    no_nulls && plausible && (max < range.start || min >= range.end)
}

/// A column's decoded values for one batch.
enum Values {
    Bool(ColumnReaderImpl<BoolType>, Vec<bool>),
    I32(ColumnReaderImpl<Int32Type>, Vec<i32>),
    I64(ColumnReaderImpl<Int64Type>, Vec<i64>),
    F32(ColumnReaderImpl<FloatType>, Vec<f32>),
    F64(ColumnReaderImpl<DoubleType>, Vec<f64>),
    Bytes(ColumnReaderImpl<ByteArrayType>, Vec<ByteArray>),
}

/// One column of one row group being read batch by batch.
struct Col {
    spec: Spec,
    values: Values,
    defs: Vec<i16>,
    /// The next value to hand out (values skip the nulls).
    next: Cell<usize>,
}

impl Col {
    fn open(rg: &dyn RowGroupReader, spec: Spec) -> Result<Col, ParquetError> {
        let values = match rg.get_column_reader(spec.leaf)? {
            ColumnReader::BoolColumnReader(r) => Values::Bool(r, Vec::new()),
            ColumnReader::Int32ColumnReader(r) => Values::I32(r, Vec::new()),
            ColumnReader::Int64ColumnReader(r) => Values::I64(r, Vec::new()),
            ColumnReader::FloatColumnReader(r) => Values::F32(r, Vec::new()),
            ColumnReader::DoubleColumnReader(r) => Values::F64(r, Vec::new()),
            ColumnReader::ByteArrayColumnReader(r) => Values::Bytes(r, Vec::new()),
            _ => return Err(ParquetError::General("unsupported column type".into())),
        };
        Ok(Col {
            spec,
            values,
            defs: Vec::new(),
            next: Cell::new(0),
        })
    }

    /// Decodes the next `n` rows.
    fn fill(&mut self, n: usize) -> Result<(), ParquetError> {
        self.defs.clear();
        self.next.set(0);
        let defs = (self.spec.max_def > 0).then_some(&mut self.defs);
        let (rows, _, _) = match &mut self.values {
            Values::Bool(r, v) => {
                v.clear();
                r.read_records(n, defs, None, v)?
            }
            Values::I32(r, v) => {
                v.clear();
                r.read_records(n, defs, None, v)?
            }
            Values::I64(r, v) => {
                v.clear();
                r.read_records(n, defs, None, v)?
            }
            Values::F32(r, v) => {
                v.clear();
                r.read_records(n, defs, None, v)?
            }
            Values::F64(r, v) => {
                v.clear();
                r.read_records(n, defs, None, v)?
            }
            Values::Bytes(r, v) => {
                v.clear();
                r.read_records(n, defs, None, v)?
            }
        };
        if rows != n {
            return Err(ParquetError::General(format!(
                "column {} ended after {rows} of {n} rows",
                self.spec.leaf
            )));
        }
        Ok(())
    }

    /// The field of row `i` of the batch; rows must be asked for in order.
    #[inline]
    fn field(&self, i: usize) -> Field<'_> {
        let k = if self.spec.max_def > 0 {
            if self.defs.get(i) != Some(&self.spec.max_def) {
                return Field::Null;
            }
            let k = self.next.get();
            self.next.set(k + 1);
            k
        } else {
            i
        };
        let got = match &self.values {
            Values::Bool(_, v) => v.get(k).map(|&b| Field::Bool(b)),
            Values::I32(_, v) => v.get(k).map(|&x| Field::Int(i64::from(x))),
            Values::I64(_, v) => v
                .get(k)
                .map(|&x| Field::Int(x.div_euclid(self.spec.ts_div))),
            Values::F32(_, v) => v.get(k).map(|&x| Field::Float(f64::from(x))),
            Values::F64(_, v) => v.get(k).map(|&x| Field::Float(x)),
            Values::Bytes(_, v) => v.get(k).map(|b| Field::Text(b.data())),
        };
        got.unwrap_or(Field::Null)
    }
}

/// The worker column of one row group: runs of dictionary indices while its pages allow,
/// else the typed reader.
enum Worker {
    Runs {
        runs: DictRuns,
        /// The batch's runs: end row (exclusive) and dictionary index.
        batch: Vec<(usize, u32)>,
        /// The run of the row asked for last (rows are asked for in order).
        at: Cell<usize>,
    },
    /// Boxed: a typed reader is far larger than the runs.
    Col(Box<Col>),
}

impl Worker {
    /// The field of row `i` of the batch; rows must be asked for in order.
    #[inline]
    fn field(&self, i: usize) -> Field<'_> {
        match self {
            Worker::Col(col) => col.field(i),
            Worker::Runs { runs, batch, at } => {
                let mut k = at.get();
                while batch.get(k).is_some_and(|r| r.0 <= i) {
                    k += 1;
                }
                at.set(k);
                batch
                    .get(k)
                    .map_or(Field::Null, |r| Field::Text(runs.entry(r.1)))
            }
        }
    }
}

/// The columns of one row group.
struct Cols {
    worker: Worker,
    ts: Col,
    lat: Col,
    lon: Col,
    acc: Option<Col>,
    speed: Option<Col>,
    bearing: Option<Col>,
    alt: Option<Col>,
    batt: Option<Col>,
    mock: Option<Col>,
    checkin: Option<Col>,
}

impl Cols {
    /// Opens the row group's columns; with `runs`, the worker column as runs of dictionary
    /// indices (when it has at most one level of definition).
    fn open(rg: &dyn RowGroupReader, s: &Specs, runs: bool) -> Result<Cols, ParquetError> {
        let opt = |spec: Option<Spec>| spec.map(|sp| Col::open(rg, sp)).transpose();
        let worker = if runs && s.worker.max_def <= 1 {
            Worker::Runs {
                runs: DictRuns::new(rg.get_column_page_reader(s.worker.leaf)?, s.worker.max_def),
                batch: Vec::new(),
                at: Cell::new(0),
            }
        } else {
            Worker::Col(Box::new(Col::open(rg, s.worker)?))
        };
        Ok(Cols {
            worker,
            ts: Col::open(rg, s.ts)?,
            lat: Col::open(rg, s.lat)?,
            lon: Col::open(rg, s.lon)?,
            acc: opt(s.acc)?,
            speed: opt(s.speed)?,
            bearing: opt(s.bearing)?,
            alt: opt(s.alt)?,
            batt: opt(s.batt)?,
            mock: opt(s.mock)?,
            checkin: opt(s.checkin)?,
        })
    }

    /// Decodes the next `n` rows. `Ok(false)` when the worker column's runs cannot go on
    /// (then nothing is decoded: [`Cols::reopen_worker`], and fill again).
    fn fill(&mut self, n: usize) -> Result<bool, ParquetError> {
        match &mut self.worker {
            Worker::Col(col) => col.fill(n)?,
            Worker::Runs { runs, batch, at } => {
                at.set(0);
                if runs.next(n, batch).is_err() {
                    return Ok(false);
                }
            }
        }
        for c in [&mut self.ts, &mut self.lat, &mut self.lon] {
            c.fill(n)?;
        }
        for c in [
            &mut self.acc,
            &mut self.speed,
            &mut self.bearing,
            &mut self.alt,
            &mut self.batt,
            &mut self.mock,
            &mut self.checkin,
        ]
        .into_iter()
        .flatten()
        {
            c.fill(n)?;
        }
        Ok(true)
    }

    /// Reads the worker column of row group `g` with the typed reader from row `done` on.
    fn reopen_worker(
        &mut self,
        reader: &SerializedFileReader<PosFile>,
        g: usize,
        spec: Spec,
        done: usize,
    ) -> Result<(), ParquetError> {
        let rg = reader.get_row_group(g)?;
        let mut col = Col::open(rg.as_ref(), spec)?;
        let Values::Bytes(r, _) = &mut col.values else {
            return Err(ParquetError::General(
                "the worker column is not text".into(),
            ));
        };
        let skipped = r.skip_records(done)?;
        if skipped != done {
            return Err(ParquetError::General(format!(
                "column {} ended after {skipped} of {done} rows",
                spec.leaf
            )));
        }
        self.worker = Worker::Col(Box::new(col));
        Ok(())
    }
}

/// A batch's values without nulls, as a typed slice.
macro_rules! dense {
    ($name:ident, $variant:ident, $t:ty) => {
        impl Col {
            /// The batch's `n` values when the column is of this type and holds no null.
            fn $name(&self, n: usize) -> Option<&[$t]> {
                match &self.values {
                    Values::$variant(_, v) if v.len() == n => Some(v),
                    _ => None,
                }
            }
        }
    };
}
dense!(dense_i64, I64, i64);
dense!(dense_f64, F64, f64);
dense!(dense_f32, F32, f32);
dense!(dense_bool, Bool, bool);
dense!(dense_bytes, Bytes, ByteArray);

/// Buffers the column-at-a-time path reuses from batch to batch.
#[derive(Default)]
struct Scratch {
    ts: Vec<UnixMs>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    /// Accuracy, speed, bearing, altitude, battery.
    readings: [Vec<f32>; 5],
}

/// Reads a batch a column at a time when it can: the common column types (a text `worker`,
/// an INT64 or `TIMESTAMP` `ts`, `DOUBLE` positions, `DOUBLE` or `FLOAT` readings, a
/// `BOOLEAN` `mock`, a text `checkin`), no null where the row rules require a value, and no
/// row the rules would refuse or skip. Each column is checked whole by the rules' own
/// conditions for typed values (DESIGN.md §5.1; [`super::row`] steps 1–7), then the batch
/// goes into the table column by column, as [`super::row::read_row`] would have put each row.
/// `false`, with nothing put, when any of that does not hold: the row rules then read the
/// batch row by row, and name the faults.
fn put_plain(
    cols: &Cols,
    specs: &Specs,
    n: usize,
    filter: &RowFilter<'_>,
    scratch: &mut Scratch,
    table: &mut PingTable,
) -> bool {
    if filter.worker.is_some() || specs.ts_unit != TsUnit::Millis {
        return false;
    }
    let (Some(ts), Some(lat), Some(lon)) = (
        cols.ts.dense_i64(n),
        cols.lat.dense_f64(n),
        cols.lon.dense_f64(n),
    ) else {
        return false;
    };

    // Step 2: a plausible instant, within the period (a row outside it would be skipped).
    let div = cols.ts.spec.ts_div;
    scratch.ts.clear();
    if div == 1 {
        scratch.ts.extend_from_slice(ts);
    } else {
        scratch.ts.extend(ts.iter().map(|&x| x.div_euclid(div)));
    }
    let (from, to) = filter.range.map_or((0, UnixMs::MAX), |r| (r.start, r.end));
    if !scratch
        .ts
        .iter()
        .all(|&ms| is_plausible_ms(ms) && ms >= from && ms < to)
    {
        return false;
    }

    // Step 4: real positions.
    if !lon
        .iter()
        .zip(lat)
        .all(|(&x, &y)| check_position(x, y).is_ok())
    {
        return false;
    }
    let (lon, lat) = if filter.crs == Crs::Wgs84 {
        (lon, lat)
    } else {
        scratch.lon.clear();
        scratch.lat.clear();
        for (&x, &y) in lon.iter().zip(lat) {
            let (x, y) = crate::crs::to_wgs84(filter.crs, x, y);
            scratch.lon.push(x);
            scratch.lat.push(y);
        }
        (&scratch.lon[..], &scratch.lat[..])
    };

    // Step 5: each reading a finite `f32` where given; an accuracy not above 0 is unknown.
    let readings = [&cols.acc, &cols.speed, &cols.bearing, &cols.alt, &cols.batt];
    let mut present = [false; 5];
    for (k, col) in readings.into_iter().enumerate() {
        let Some(col) = col else { continue };
        let out = &mut scratch.readings[k];
        out.clear();
        if let Some(v) = col.dense_f64(n) {
            out.extend(v.iter().map(|&x| x as f32));
        } else if let Some(v) = col.dense_f32(n) {
            out.extend_from_slice(v);
        } else {
            return false;
        }
        if !out.iter().all(|x| x.is_finite()) {
            return false;
        }
        if k == 0 {
            for a in out.iter_mut().filter(|a| **a <= 0.0) {
                *a = f32::NAN;
            }
        }
        present[k] = true;
    }

    // Step 6: a boolean mock flag.
    let mock = match &cols.mock {
        None => None,
        Some(col) => match col.dense_bool(n) {
            Some(v) => Some(v),
            None => return false,
        },
    };

    // Steps 1, 3: the worker of each run of rows naming the same bytes, checked once a run.
    let mut workers: Vec<(usize, &str)> = Vec::new();
    match &cols.worker {
        Worker::Runs { runs, batch, .. } => {
            for &(end, entry) in batch {
                let Ok(Some(id)) = identifier(Field::Text(runs.entry(entry)), "worker") else {
                    return false;
                };
                workers.push((end, id));
            }
        }
        Worker::Col(col) => {
            let Some(worker) = col.dense_bytes(n) else {
                return false;
            };
            let mut last: &[u8] = &[];
            for (i, b) in worker.iter().enumerate() {
                let d = b.data();
                let same = i > 0 && (std::ptr::eq(d, last) || d == last);
                if !same {
                    let Ok(Some(id)) = identifier(Field::Text(d), "worker") else {
                        return false;
                    };
                    if let Some(run) = workers.last_mut() {
                        run.0 = i;
                    }
                    workers.push((n, id));
                    last = d;
                }
            }
        }
    }
    if workers.last().map(|w| w.0) != Some(n) {
        return false;
    }

    // Step 7: check-in codes where given.
    let mut checkins = Vec::new();
    if let Some(col) = &cols.checkin {
        let Values::Bytes(_, values) = &col.values else {
            return false;
        };
        // A value for every row, or for those whose definition level says so.
        let mut values = values.iter();
        for i in 0..n {
            if col.spec.max_def > 0 && col.defs.get(i) != Some(&col.spec.max_def) {
                continue;
            }
            let Some(b) = values.next() else {
                return false;
            };
            match identifier(Field::Text(b.data()), "checkin") {
                Ok(Some(code)) => checkins.push((i, code)),
                Ok(None) => {}
                Err(_) => return false,
            }
        }
        if values.next().is_some() {
            return false;
        }
    }

    let reading = |k: usize| present[k].then(|| &scratch.readings[k][..]);
    table.push_plain(&PlainRows {
        workers: &workers,
        ts: &scratch.ts,
        lon,
        lat,
        acc: reading(0),
        speed: reading(1),
        bearing: reading(2),
        alt: reading(3),
        batt: reading(4),
        mock,
        checkins: &checkins,
    })
}

fn opt_field(c: &Option<Col>, i: usize) -> Field<'_> {
    c.as_ref().map_or(Field::Null, |c| c.field(i))
}

/// Turns a panic of the decoder (a damaged file can trip one) into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, ParquetError>) -> Result<T, ParquetError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the decoder failed".into());
        Err(ParquetError::General(msg))
    })
}

/// A file read with positioned reads, so that row groups can be decoded on several threads
/// at once (`File`'s own `ChunkReader` shares one seek offset between its clones).
struct PosFile {
    file: Arc<File>,
    len: u64,
}

/// A reader at an offset of a [`PosFile`].
struct PosReader {
    file: Arc<File>,
    pos: u64,
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

impl Read for PosReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Length for PosFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for PosFile {
    type T = BufReader<PosReader>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let reader = PosReader {
            file: self.file.clone(),
            pos: start,
        };
        // Page headers are read through this: a small buffer saves a call per field.
        Ok(BufReader::with_capacity(4096, reader))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0; length];
        let mut done = 0;
        while done < length {
            match read_at(&self.file, &mut buf[done..], start + done as u64)? {
                0 => {
                    return Err(ParquetError::EOF(format!(
                        "expected {length} bytes at {start}, the file ends after {done}"
                    )))
                }
                n => done += n,
            }
        }
        Ok(Bytes::from(buf))
    }
}

/// One row group to read, and the file row number of its first row.
#[derive(Clone, Copy)]
struct Group {
    index: usize,
    first_row: u64,
    rows: usize,
}

/// Reads a Parquet file into `table`. Row groups are decoded in parallel, each into a table of
/// its own, and appended in file order, so the result is the same as a sequential read.
pub(crate) fn read_into(
    table: &mut PingTable,
    file: File,
    source_name: &str,
    opts: &ReadOptions,
) -> Result<(), IngestError> {
    read_with(table, file, source_name, opts, true).map(|_| ())
}

/// [`read_into`], with `plain`: whether batches may be read a column at a time
/// ([`put_plain`]); without, every row goes through the row rules (the tests' reference).
/// Answers how many batches were read a column at a time.
fn read_with(
    table: &mut PingTable,
    file: File,
    source_name: &str,
    opts: &ReadOptions,
    plain: bool,
) -> Result<usize, IngestError> {
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let file = PosFile {
        file: Arc::new(file),
        len,
    };
    let reader =
        guarded(|| SerializedFileReader::new(file)).map_err(|e| IngestError::NotParquet {
            source_name: source_name.to_string(),
            reason: e.to_string(),
        })?;
    let specs = specs(&reader, source_name)?;
    let source: Arc<str> = Arc::from(source_name);
    let filter = opts.filter();

    // Rows are numbered from 1 across the whole file, skipped row groups included.
    let mut groups = Vec::new();
    let mut first_row: u64 = 1;
    for (index, rg) in reader.metadata().row_groups().iter().enumerate() {
        let rows = usize::try_from(rg.num_rows()).unwrap_or(0);
        let wanted = match (&opts.range, specs.ts_typed) {
            (Some(range), true) => !outside(rg, &specs.ts, range),
            _ => true,
        };
        if wanted {
            groups.push(Group {
                index,
                first_row,
                rows,
            });
        }
        first_row += rows as u64;
    }
    table.reserve(groups.iter().map(|g| g.rows).sum());

    // A few row groups at a time, so that the groups' own tables stay small beside the result;
    // a window's tables are appended (in file order, on a thread of their own) while the next
    // window is decoded.
    let window = 2 * rayon::current_num_threads().max(1);
    let decode = |batch: &[Group]| -> Vec<Result<(PingTable, usize), IngestError>> {
        batch
            .par_iter()
            .map(|group| {
                let mut part = PingTable::new();
                let n = read_group(&reader, &specs, group, &filter, &source, plain, &mut part)?;
                Ok((part, n))
            })
            .collect()
    };
    let append = |table: &mut PingTable, parts: Parts| -> Result<usize, IngestError> {
        let mut plain_batches = 0;
        for part in parts {
            let (part, n) = part?;
            table.append(part, source_name)?;
            plain_batches += n;
        }
        Ok(plain_batches)
    };
    let mut plain_batches = 0;
    let mut decoded: Option<Parts> = None;
    for batch in groups.chunks(window) {
        let (appended, parts) = std::thread::scope(|s| {
            let appending = decoded.take().map(|parts| {
                let table = &mut *table;
                s.spawn(move || append(table, parts))
            });
            let parts = decode(batch);
            let appended = appending.map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (appended, parts)
        });
        plain_batches += appended.transpose()?.unwrap_or(0);
        decoded = Some(parts);
    }
    if let Some(parts) = decoded {
        plain_batches += append(table, parts)?;
    }
    Ok(plain_batches)
}

/// The tables of a window of row groups, with how many batches each read a column at a time.
type Parts = Vec<Result<(PingTable, usize), IngestError>>;

/// Reads one row group into `table`; damage is reported as an unreadable row, not an error.
/// Answers how many batches were read a column at a time.
fn read_group(
    reader: &SerializedFileReader<PosFile>,
    specs: &Specs,
    group: &Group,
    filter: &RowFilter<'_>,
    source: &Arc<str>,
    plain: bool,
    table: &mut PingTable,
) -> Result<usize, IngestError> {
    let Group {
        index: g,
        first_row,
        rows,
    } = *group;
    let group_rows = first_row..first_row + rows as u64;
    table.rows_scanned += rows;
    table.reserve(rows);
    let opened = guarded(|| {
        let rg = reader.get_row_group(g)?;
        Cols::open(rg.as_ref(), specs, plain)
    });
    let mut cols = match opened {
        Ok(cols) => cols,
        Err(e) => {
            unreadable(table, source, g, group_rows, first_row, &e);
            return Ok(0);
        }
    };
    let mut scratch = Scratch::default();
    let mut plain_batches = 0;
    let mut done = 0;
    while done < rows {
        let n = BATCH_ROWS.min(rows - done);
        let filled = guarded(|| {
            if !cols.fill(n)? {
                cols.reopen_worker(reader, g, specs.worker, done)?;
                cols.fill(n)?;
            }
            Ok(())
        });
        if let Err(e) = filled {
            let from = first_row + done as u64;
            unreadable(table, source, g, group_rows, from, &e);
            break;
        }
        if plain && put_plain(&cols, specs, n, filter, &mut scratch, table) {
            plain_batches += 1;
            done += n;
            continue;
        }
        for i in 0..n {
            let raw = RawRow {
                worker: cols.worker.field(i),
                ts: cols.ts.field(i),
                ts_unit: specs.ts_unit,
                lat: cols.lat.field(i),
                lon: cols.lon.field(i),
                acc: opt_field(&cols.acc, i),
                speed: opt_field(&cols.speed, i),
                bearing: opt_field(&cols.bearing, i),
                alt: opt_field(&cols.alt, i),
                batt: opt_field(&cols.batt, i),
                mock: opt_field(&cols.mock, i),
                checkin: opt_field(&cols.checkin, i),
                ..RawRow::default()
            };
            table.accept(&raw, filter, source, first_row + (done + i) as u64)?;
        }
        done += n;
    }
    Ok(plain_batches)
}

/// Reports the rows `from..group.end` of row group `g` as unreadable: the good rows before
/// the damage are kept.
fn unreadable(
    table: &mut PingTable,
    source: &Arc<str>,
    g: usize,
    group: Range<u64>,
    from: u64,
    e: &ParquetError,
) {
    let to = group.end.saturating_sub(1);
    let fault = RecordFault::UnreadableRow {
        reason: format!("{e} (rows {from}-{to} of row group {g} not read)"),
    };
    table.fault(source, from, fault, None);
}

/// Reads every row of a Parquet file as a ping in `crs`, converted to WGS84. Bad rows are
/// returned as errors (numbered from 1) beside the good pings. The whole file becomes
/// [`crate::model::Ping`]s: for large files read a [`PingTable`] with [`super::read_table`].
///
/// # Errors
/// [`IngestError`] when the file is not Parquet or lacks a required column.
pub fn read_pings(file: File, source_name: &str, crs: Crs) -> Result<Decoded, IngestError> {
    let mut table = PingTable::new();
    let opts = ReadOptions {
        crs,
        ..ReadOptions::default()
    };
    table.read_parquet(file, source_name, &opts)?;
    Ok(table.into_decoded())
}

#[cfg(test)]
mod tests {
    // Test code: a panic fails the test.
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use parquet::data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int64Type,
    };
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;

    /// 2026-10-08T01:30:00Z in Unix ms (20_734 days × 86_400_000 + 5_400_000).
    const T0: i64 = 1_791_423_000_000;

    /// One row group's rows: worker, ts (µs), lat, lon, acc, speed, mock, check-in.
    type Row = (
        &'static str,
        i64,
        f64,
        f64,
        f64,
        f32,
        bool,
        Option<&'static str>,
    );

    /// A row group of good rows: workers named with and without blanks around them, runs
    /// and alternations; accuracies of 0, below 0 and below `f32`'s least value (all unknown);
    /// instants in microseconds that are not whole milliseconds; empty and padded codes.
    fn good(first: i64) -> Vec<Row> {
        let workers = [" w1", "w1", "w1", "w2 ", "w2", "w1", "w3", "w3"];
        let accs = [5.0, 0.0, -3.0, 1e-50, 12.5, 65.0];
        let codes = [
            None,
            Some(""),
            Some("  "),
            Some(" cp1 "),
            Some("cp2"),
            None,
            None,
        ];
        (0..40)
            .map(|i| {
                (
                    workers[i as usize % workers.len()],
                    (T0 + first + i * 5_000) * 1_000 + 999,
                    30.25 + i as f64 * 1e-4,
                    120.1 + i as f64 * 1e-4,
                    accs[i as usize % accs.len()],
                    (i % 7) as f32 * 0.7,
                    i % 9 == 4,
                    codes[i as usize % codes.len()],
                )
            })
            .collect()
    }

    /// Writes the row groups, every column REQUIRED but the check-in code, `ts` a
    /// `TIMESTAMP(MICROS)`.
    fn write(path: &Path, groups: &[Vec<Row>]) {
        write_as(
            path,
            groups,
            "REQUIRED",
            WriterProperties::builder().build(),
        );
    }

    /// [`write`] with the worker column `REQUIRED` or `OPTIONAL`, and the writer's settings.
    fn write_as(path: &Path, groups: &[Vec<Row>], worker: &str, props: WriterProperties) {
        let schema = Arc::new(
            parse_message_type(&format!(
                "message pings {{
                    {worker} BYTE_ARRAY worker (UTF8);
                    REQUIRED INT64 ts (TIMESTAMP(MICROS,true));
                    REQUIRED DOUBLE lat;
                    REQUIRED DOUBLE lon;
                    REQUIRED DOUBLE acc;
                    REQUIRED FLOAT speed;
                    REQUIRED BOOLEAN mock;
                    OPTIONAL BYTE_ARRAY checkin (UTF8);
                }}",
            ))
            .unwrap(),
        );
        let props = Arc::new(props);
        let optional = worker == "OPTIONAL";
        let file = File::create(path).unwrap();
        let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
        for rows in groups {
            let mut rg = w.next_row_group().unwrap();
            let text = |f: fn(&Row) -> &str| -> Vec<ByteArray> {
                rows.iter().map(|r| ByteArray::from(f(r))).collect()
            };
            let mut c = rg.next_column().unwrap().unwrap();
            let defs = vec![1; rows.len()];
            c.typed::<ByteArrayType>()
                .write_batch(&text(|r| r.0), optional.then_some(&defs[..]), None)
                .unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            let ts: Vec<i64> = rows.iter().map(|r| r.1).collect();
            c.typed::<Int64Type>().write_batch(&ts, None, None).unwrap();
            c.close().unwrap();
            for f in [|r: &Row| r.2, |r: &Row| r.3, |r: &Row| r.4] {
                let mut c = rg.next_column().unwrap().unwrap();
                let v: Vec<f64> = rows.iter().map(f).collect();
                c.typed::<DoubleType>().write_batch(&v, None, None).unwrap();
                c.close().unwrap();
            }
            let mut c = rg.next_column().unwrap().unwrap();
            let v: Vec<f32> = rows.iter().map(|r| r.5).collect();
            c.typed::<FloatType>().write_batch(&v, None, None).unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            let v: Vec<bool> = rows.iter().map(|r| r.6).collect();
            c.typed::<BoolType>().write_batch(&v, None, None).unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            let defs: Vec<i16> = rows.iter().map(|r| i16::from(r.7.is_some())).collect();
            let v: Vec<ByteArray> = rows
                .iter()
                .filter_map(|r| r.7)
                .map(ByteArray::from)
                .collect();
            c.typed::<ByteArrayType>()
                .write_batch(&v, Some(&defs), None)
                .unwrap();
            c.close().unwrap();
            rg.close().unwrap();
        }
        w.close().unwrap();
    }

    /// The file read with and without the column-at-a-time path: the table, and how many
    /// batches took that path.
    fn both(path: &Path, opts: &ReadOptions) -> [(PingTable, usize); 2] {
        [true, false].map(|plain| {
            let mut t = PingTable::new();
            let n = read_with(&mut t, File::open(path).unwrap(), "p.parquet", opts, plain).unwrap();
            (t, n)
        })
    }

    fn assert_same(plain: &PingTable, rules: &PingTable) {
        assert_eq!(plain.workers, rules.workers);
        assert_eq!(plain.rows, rules.rows);
        assert_eq!(plain.errors, rules.errors);
        assert_eq!(plain.rows_scanned, rules.rows_scanned);
        let pings = |t: &PingTable| (0..t.len()).map(|r| t.ping(r)).collect::<Vec<_>>();
        assert_eq!(pings(plain), pings(rules));
    }

    #[test]
    fn batches_read_a_column_at_a_time_give_what_the_row_rules_give() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        let mut bad_lat = good(600_000);
        bad_lat[17].2 = 95.0;
        let mut bad_acc = good(1_200_000);
        bad_acc[3].4 = 1e300;
        let mut blank_worker = good(1_800_000);
        blank_worker[30].0 = "  ";
        write(&path, &[good(0), bad_lat, bad_acc, blank_worker]);

        let [(plain, batches), (rules, none)] = both(&path, &ReadOptions::default());
        assert_same(&plain, &rules);
        // The good group a column at a time; the others row by row, which name the faults.
        assert_eq!((batches, none), (1, 0));
        let codes: Vec<(u64, &str)> = plain.errors.iter().map(|e| (e.line, e.code())).collect();
        assert_eq!(
            codes,
            [
                (58, "bad_position"),
                (84, "bad_number"),
                (151, "missing_field")
            ]
        );
        // What the path itself must get right, beside the comparison.
        assert_eq!(plain.workers.len(), 3, "\" w1\" and \"w1\" are one worker");
        let first = plain.ping(0);
        assert_eq!((first.ts, first.acc_m), (T0, Some(5.0)));
        for r in 1..4 {
            assert_eq!(plain.ping(r).acc_m, None, "accuracy {r} is unknown");
        }
        assert_eq!(plain.ping(3).checkin.as_deref(), Some("cp1"));
        assert_eq!(plain.ping(1).checkin, None, "an empty code is none");

        // A period that cuts the first group, a worker filter: row by row; another datum:
        // a column at a time, converted.
        let cut = ReadOptions {
            range: Some(T0 + 100_000..T0 + 10_000_000),
            ..ReadOptions::default()
        };
        let one = ReadOptions {
            worker: Some("w2".into()),
            ..ReadOptions::default()
        };
        let gcj = ReadOptions {
            crs: Crs::Gcj02,
            ..ReadOptions::default()
        };
        for (opts, expected) in [(cut, 0), (one, 0), (gcj, 1)] {
            let [(plain, batches), (rules, _)] = both(&path, &opts);
            assert_same(&plain, &rules);
            assert_eq!(batches, expected, "{opts:?}");
        }
    }

    /// Long row groups of workers with long names, each for 1,000 rows: more than a batch.
    fn long(first: i64) -> Vec<Row> {
        let names: Vec<&'static str> = (0..40)
            .map(|k| &*format!("a worker with a long name, number {k:03}").leak())
            .collect();
        (0..40_000)
            .map(|i| {
                let mut row = good(first + i * 5_000)[0];
                row.0 = names[i as usize / 1_000];
                row
            })
            .collect()
    }

    #[test]
    fn the_worker_columns_runs_read_every_page_layout_as_the_typed_reader_does() {
        use parquet::file::properties::WriterVersion;
        let dir = tempfile::tempdir().unwrap();
        let v2 = || WriterProperties::builder().set_writer_version(WriterVersion::PARQUET_2_0);
        // A dictionary that fills its 1 KiB in the second batch: the writer goes on in plain
        // pages, and the reader from there with the typed reader.
        let small_dict = || {
            WriterProperties::builder()
                .set_dictionary_page_size_limit(1024)
                .set_data_page_row_count_limit(1000)
                .set_write_batch_size(1000)
        };
        let mut with_null = good(0);
        with_null[7].0 = "";
        let layouts = [
            (
                "v1 optional",
                "OPTIONAL",
                WriterProperties::builder().build(),
                vec![good(0), good(600_000)],
                2,
            ),
            (
                "v2 required",
                "REQUIRED",
                v2().build(),
                vec![good(0), good(600_000)],
                2,
            ),
            (
                "v2 optional",
                "OPTIONAL",
                v2().build(),
                vec![good(0), good(600_000)],
                2,
            ),
            (
                "plain pages after the dictionary",
                "REQUIRED",
                small_dict().build(),
                vec![long(0)],
                3,
            ),
            (
                "v2, plain pages",
                "REQUIRED",
                v2().set_dictionary_page_size_limit(1024)
                    .set_data_page_row_count_limit(1000)
                    .set_write_batch_size(1000)
                    .build(),
                vec![long(0)],
                3,
            ),
            (
                "an empty worker",
                "OPTIONAL",
                WriterProperties::builder().build(),
                vec![with_null, good(600_000)],
                1,
            ),
        ];
        for (k, (name, worker, props, groups, expected)) in layouts.into_iter().enumerate() {
            let path = dir.path().join(format!("{k}.parquet"));
            write_as(&path, &groups, worker, props);
            let [(plain, batches), (rules, _)] = both(&path, &ReadOptions::default());
            assert_same(&plain, &rules);
            assert_eq!(batches, expected, "{name}");
            assert_eq!(
                plain.len() + plain.errors.len(),
                groups.iter().map(Vec::len).sum::<usize>(),
                "{name}"
            );
        }
    }
}
