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

use super::row::{Field, RawRow, RowFilter, TsUnit};
use super::{Columns, Decoded, IngestError, PingTable, ReadOptions, RecordFault};
use crate::model::{check_timestamp_ms, Crs, UnixMs};

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
    let plausible = check_timestamp_ms(min).is_ok() && check_timestamp_ms(max).is_ok();
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

/// The columns of one row group.
struct Cols {
    worker: Col,
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
    fn open(rg: &dyn RowGroupReader, s: &Specs) -> Result<Cols, ParquetError> {
        let opt = |spec: Option<Spec>| spec.map(|sp| Col::open(rg, sp)).transpose();
        Ok(Cols {
            worker: Col::open(rg, s.worker)?,
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

    fn fill(&mut self, n: usize) -> Result<(), ParquetError> {
        for c in [&mut self.worker, &mut self.ts, &mut self.lat, &mut self.lon] {
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
        Ok(())
    }
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

    // A few row groups at a time, so that the groups' own tables stay small beside the result.
    let window = 2 * rayon::current_num_threads().max(1);
    for batch in groups.chunks(window) {
        let parts: Vec<Result<PingTable, IngestError>> = batch
            .par_iter()
            .map(|group| {
                let mut part = PingTable::new();
                read_group(&reader, &specs, group, &filter, &source, &mut part)?;
                Ok(part)
            })
            .collect();
        for part in parts {
            table.append(part?, source_name)?;
        }
    }
    Ok(())
}

/// Reads one row group into `table`; damage is reported as an unreadable row, not an error.
fn read_group(
    reader: &SerializedFileReader<PosFile>,
    specs: &Specs,
    group: &Group,
    filter: &RowFilter<'_>,
    source: &Arc<str>,
    table: &mut PingTable,
) -> Result<(), IngestError> {
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
        Cols::open(rg.as_ref(), specs)
    });
    let mut cols = match opened {
        Ok(cols) => cols,
        Err(e) => {
            unreadable(table, source, g, group_rows, first_row, &e);
            return Ok(());
        }
    };
    let mut done = 0;
    while done < rows {
        let n = BATCH_ROWS.min(rows - done);
        if let Err(e) = guarded(|| cols.fill(n)) {
            let from = first_row + done as u64;
            unreadable(table, source, g, group_rows, from, &e);
            break;
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
    Ok(())
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
