//! [`PingTable`]: the pings of many files as columns, with interned worker ids and each
//! worker's rows, and [`read_table`], the one reader every door uses (CSV, Parquet, GPX).
//!
//! A month of the reference workload is 16 M pings; as [`Ping`] structs (~120 bytes each, plus
//! a shared worker id) that would be 2 GB. The table holds ~45 bytes a row, and
//! [`PingTable::pings`] builds one worker's pings at a time, to be dropped after use.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::row::{read_row, Outcome, ParsedRow, RawRow, RowFilter};
use super::{Decoded, FileFormat, IngestError, RecordError, RecordFault};
use crate::model::{Crs, Ping, UnixMs, WorkerId};

/// What [`read_table`] keeps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadOptions {
    /// The coordinate system of the input; pings are converted to WGS84.
    pub crs: Crs,
    /// Only pings at these UTC instants (`None`: all). Rows outside are skipped silently.
    pub range: Option<Range<UnixMs>>,
    /// Only this worker's pings; also the worker of GPX files (else the file's stem).
    pub worker: Option<String>,
}

impl ReadOptions {
    /// The row filter of these options.
    pub(crate) fn filter(&self) -> RowFilter<'_> {
        RowFilter {
            crs: self.crs,
            range: self.range.as_ref(),
            worker: self.worker.as_deref(),
        }
    }
}

/// An optional column stored only as far as it has values: rows past its end hold `empty`.
/// A file without the column costs nothing.
#[derive(Clone, Debug, Default)]
struct Sparse<T> {
    values: Vec<T>,
}

impl<T: Copy> Sparse<T> {
    /// Sets row `row` (the next one) to `value`; a column grows to `expected` rows at once
    /// rather than by doubling, which would copy it and touch new pages every time.
    #[inline]
    fn put(&mut self, row: usize, value: Option<T>, empty: T, expected: usize) {
        if let Some(v) = value {
            if self.values.len() == self.values.capacity() {
                self.grow_to(row + 1, expected);
            }
            if self.values.len() < row {
                self.values.resize(row, empty);
            }
            self.values.push(v);
        }
    }

    /// Makes room for `rows` rows: for `expected` at once when that is as many, else as
    /// `Vec` grows (doubling).
    fn grow_to(&mut self, rows: usize, expected: usize) {
        let len = self.values.len();
        if rows <= expected {
            self.values.reserve_exact(expected - len);
        } else {
            self.values.reserve(rows.saturating_sub(len));
        }
    }

    fn get(&self, row: usize) -> Option<T> {
        self.values.get(row).copied()
    }

    /// Appends `other`, a column of rows that start at row `base` here.
    fn append(
        &mut self,
        base: usize,
        other: &Sparse<T>,
        empty: T,
        expected: usize,
        map: impl Fn(T) -> T,
    ) {
        self.put_all(base, other.values.iter().map(|&v| map(v)), empty, expected);
    }

    /// Sets the rows from `base` on to `values` (nothing when there are none).
    fn put_all(
        &mut self,
        base: usize,
        values: impl ExactSizeIterator<Item = T>,
        empty: T,
        expected: usize,
    ) {
        if values.len() == 0 {
            return;
        }
        self.grow_to(base + values.len(), expected);
        self.values.resize(base, empty);
        self.values.extend(values);
    }
}

/// Reads a `bool` column stored as 0 (absent), 1 (false), 2 (true).
fn tri_at(col: &Sparse<u8>, row: usize) -> Option<bool> {
    col.get(row).filter(|&v| v > 0).map(|v| v == 2)
}

/// Reads an `f32` column where NaN stands for "absent" (the row rules never let NaN through).
fn f32_at(col: &Sparse<f32>, row: usize) -> Option<f32> {
    col.get(row).filter(|v| !v.is_nan())
}

/// Rows every one of which the row rules take as a good, wanted ping, as columns: what the
/// Parquet reader puts into a table a batch at a time ([`PingTable::push_plain`]) when its
/// checks of whole columns find no row the rules would refuse or skip. The values are those
/// [`read_row`] gives: positions in WGS84, optional readings as `f32` with NaN for absent.
pub(crate) struct PlainRows<'a> {
    /// Runs of one worker's rows: the end of the run (a row of the batch, exclusive) and the
    /// worker id, trimmed.
    pub workers: &'a [(usize, &'a str)],
    /// UTC milliseconds, one per row.
    pub ts: &'a [UnixMs],
    /// Longitudes, WGS84.
    pub lon: &'a [f64],
    /// Latitudes, WGS84.
    pub lat: &'a [f64],
    /// Accuracy, metres (NaN where absent or not above 0).
    pub acc: Option<&'a [f32]>,
    /// Speed, m/s.
    pub speed: Option<&'a [f32]>,
    /// Bearing, degrees.
    pub bearing: Option<&'a [f32]>,
    /// Altitude, metres.
    pub alt: Option<&'a [f32]>,
    /// Battery, percent.
    pub batt: Option<&'a [f32]>,
    /// Mock-location flags.
    pub mock: Option<&'a [bool]>,
    /// The rows with a check-in code (a row of the batch, the code trimmed), in order.
    pub checkins: &'a [(usize, &'a str)],
}

/// The pings of one or more files, as columns, grouped by worker.
#[derive(Debug, Default)]
pub struct PingTable {
    /// Worker ids, indexed by worker number.
    pub workers: Vec<WorkerId>,
    /// Row indices of each worker (same index as `workers`), in input order.
    pub rows: Vec<Vec<u32>>,
    /// Rows that could not be read, with file and line or row number, in input order.
    pub errors: Vec<RecordError>,
    /// Rows read from the files, before the period and worker filters (rows of Parquet row
    /// groups skipped by their statistics are not read, so not counted).
    pub rows_scanned: usize,
    worker: Vec<u32>,
    ts: Vec<UnixMs>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    acc: Sparse<f32>,
    speed: Sparse<f32>,
    bearing: Sparse<f32>,
    alt: Sparse<f32>,
    batt: Sparse<f32>,
    mock: Sparse<bool>,
    /// 1 + the index in `checkins`; 0 is none.
    checkin: Sparse<u32>,
    checkins: Vec<Arc<str>>,
    /// A vehicle's work state and ignition: 0 absent, 1 false, 2 true.
    work: Sparse<u8>,
    ignition: Sparse<u8>,
    pressure: Sparse<f32>,
    worker_index: HashMap<Arc<str>, u32>,
    checkin_index: HashMap<Arc<str>, u32>,
    last_worker: Option<u32>,
    /// The rows [`PingTable::reserve`] made room for: an optional column gets as many when
    /// its first value arrives.
    expected: usize,
}

impl PingTable {
    /// An empty table.
    pub fn new() -> PingTable {
        PingTable::default()
    }

    /// How many pings the table holds.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether the table holds no ping.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The ping of row `r` (rows count from 0 in input order).
    ///
    /// # Panics
    /// When `r >= self.len()`.
    pub fn ping(&self, r: usize) -> Ping {
        Ping {
            worker: self.workers[self.worker[r] as usize].clone(),
            ts: self.ts[r],
            lon: self.lon[r],
            lat: self.lat[r],
            acc_m: f32_at(&self.acc, r),
            speed_mps: f32_at(&self.speed, r),
            bearing_deg: f32_at(&self.bearing, r),
            alt_m: f32_at(&self.alt, r),
            batt_pct: f32_at(&self.batt, r),
            mock: self.mock.get(r).unwrap_or(false),
            checkin: match self.checkin.get(r) {
                Some(c) if c > 0 => Some(self.checkins[c as usize - 1].clone()),
                _ => None,
            },
            received: None,
            work: tri_at(&self.work, r),
            pressure_mpa: f32_at(&self.pressure, r),
            ignition: tri_at(&self.ignition, r),
        }
    }

    /// The pings of worker number `w`, in input order.
    ///
    /// # Panics
    /// When `w >= self.workers.len()`.
    pub fn pings(&self, w: usize) -> Vec<Ping> {
        self.rows[w]
            .iter()
            .map(|&r| self.ping(r as usize))
            .collect()
    }

    /// The distinct pings of worker number `w` in time order and how many repeats were left
    /// out: what [`crate::track::distinct`] gives for [`PingTable::pings`], found from the
    /// table's timestamp column before a `Ping` is made. Only the pings of a timestamp shared
    /// by several rows are compared (a repeat has its original's timestamp), and no ping is
    /// made twice or moved.
    ///
    /// # Panics
    /// When `w >= self.workers.len()`.
    pub fn distinct_pings(&self, w: usize) -> (Vec<Ping>, usize) {
        // Stable: equal timestamps keep input order.
        let keyed =
            crate::track::clean::by_time(self.rows[w].iter().map(|&r| (self.ts[r as usize], r)));
        let mut out = Vec::with_capacity(keyed.len());
        let mut repeats = 0;
        for group in keyed.chunk_by(|x, y| x.0 == y.0) {
            if let [(_, r)] = group {
                out.push(self.ping(*r as usize));
            } else {
                let mut same: Vec<Ping> =
                    group.iter().map(|&(_, r)| self.ping(r as usize)).collect();
                repeats += crate::track::drop_repeats(&mut same);
                out.append(&mut same);
            }
        }
        (out, repeats)
    }

    /// The number of worker `id`, if the table holds any of its pings.
    pub fn worker_number(&self, id: &str) -> Option<usize> {
        self.worker_index.get(id).map(|&w| w as usize)
    }

    /// Every ping in input order, and the errors: the form of the older per-file decoders.
    pub fn into_decoded(self) -> Decoded {
        let pings = (0..self.len()).map(|r| self.ping(r)).collect();
        Decoded {
            pings,
            errors: self.errors,
        }
    }

    /// Reads one file into the table, choosing the decoder by its extension.
    ///
    /// # Errors
    /// [`IngestError`] when the file cannot be read at all; the table then holds what was
    /// read before (bad records are not errors: they go to [`PingTable::errors`]).
    pub fn read_path(&mut self, path: &Path, opts: &ReadOptions) -> Result<(), IngestError> {
        let name = path.display().to_string();
        let format = FileFormat::from_path(path).ok_or_else(|| IngestError::UnknownFormat {
            source_name: name.clone(),
        })?;
        let file = std::fs::File::open(path).map_err(|error| IngestError::Open {
            source_name: name.clone(),
            error,
        })?;
        match format {
            FileFormat::Csv => self.read_csv(file, &name, opts),
            FileFormat::Parquet => self.read_parquet(file, &name, opts),
            FileFormat::Gpx => {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("gpx");
                let worker = opts.worker.as_deref().unwrap_or(stem).to_string();
                self.read_gpx(std::io::BufReader::new(file), &name, &worker, opts)
            }
        }
    }

    /// Reads CSV text into the table (see [`super::csv`]).
    ///
    /// # Errors
    /// [`IngestError`] when the header is missing or lacks a required column, or reading fails.
    pub fn read_csv<R: std::io::Read>(
        &mut self,
        reader: R,
        source_name: &str,
        opts: &ReadOptions,
    ) -> Result<(), IngestError> {
        super::csv::read_into(self, reader, source_name, opts)
    }

    /// Reads a Parquet file into the table (see [`super::parquet`]).
    ///
    /// # Errors
    /// [`IngestError`] when the file is not Parquet, lacks a required column, or has a column
    /// of a type its values cannot be read from.
    pub fn read_parquet(
        &mut self,
        file: std::fs::File,
        source_name: &str,
        opts: &ReadOptions,
    ) -> Result<(), IngestError> {
        super::parquet::read_into(self, file, source_name, opts)
    }

    /// Reads a GPX document into the table as the pings of `worker` (see [`super::gpx`]).
    ///
    /// # Errors
    /// [`IngestError::NotGpx`] when the document is not GPX.
    pub fn read_gpx<R: std::io::Read>(
        &mut self,
        reader: R,
        source_name: &str,
        worker: &str,
        opts: &ReadOptions,
    ) -> Result<(), IngestError> {
        super::gpx::read_into(self, reader, source_name, worker, opts)
    }

    /// Makes room for `additional` more rows in the dense columns.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.expected = self.expected.max(self.len() + additional);
        self.worker.reserve(additional);
        self.ts.reserve(additional);
        self.lon.reserve(additional);
        self.lat.reserve(additional);
    }

    /// Applies the row rules to one raw record found at `line` of `source` and keeps the
    /// ping, or the error.
    ///
    /// # Errors
    /// [`IngestError::TooManyRows`] when the table is full.
    #[inline]
    pub(crate) fn accept(
        &mut self,
        raw: &RawRow<'_>,
        filter: &RowFilter<'_>,
        source: &Arc<str>,
        line: u64,
    ) -> Result<(), IngestError> {
        match read_row(raw, filter) {
            Outcome::Ping(row) => self.push(&row, source),
            Outcome::Skipped => Ok(()),
            Outcome::Fault(fault, worker) => {
                self.fault(source, line, fault, worker);
                Ok(())
            }
        }
    }

    /// Records a bad record.
    pub(crate) fn fault(
        &mut self,
        source: &Arc<str>,
        line: u64,
        fault: RecordFault,
        worker: Option<&str>,
    ) {
        self.errors.push(RecordError {
            source: source.clone(),
            line,
            fault,
            worker: worker.map(String::from),
        });
    }

    /// Appends one good row.
    fn push(&mut self, row: &ParsedRow<'_>, source: &Arc<str>) -> Result<(), IngestError> {
        let r = self.ts.len();
        if r >= u32::MAX as usize {
            return Err(IngestError::TooManyRows {
                source_name: source.to_string(),
            });
        }
        let w = self.intern_worker(row.worker);
        let e = self.expected;
        self.rows[w as usize].push(r as u32);
        self.worker.push(w);
        self.ts.push(row.ts);
        self.lon.push(row.lon);
        self.lat.push(row.lat);
        self.acc.put(r, row.acc_m, f32::NAN, e);
        self.speed.put(r, row.speed_mps, f32::NAN, e);
        self.bearing.put(r, row.bearing_deg, f32::NAN, e);
        self.alt.put(r, row.alt_m, f32::NAN, e);
        self.batt.put(r, row.batt_pct, f32::NAN, e);
        self.mock.put(r, Some(true).filter(|_| row.mock), false, e);
        let checkin = row.checkin.map(|c| self.intern_checkin(c) + 1);
        self.checkin.put(r, checkin, 0, e);
        self.work.put(r, row.work.map(|b| 1 + u8::from(b)), 0, e);
        self.ignition
            .put(r, row.ignition.map(|b| 1 + u8::from(b)), 0, e);
        self.pressure.put(r, row.pressure_mpa, f32::NAN, e);
        Ok(())
    }

    /// Appends a batch of good rows column by column; `false` (and nothing appended) when
    /// they would not fit, for the caller to take them row by row, which reports where.
    pub(crate) fn push_plain(&mut self, rows: &PlainRows<'_>) -> bool {
        let base = self.len();
        let n = rows.ts.len();
        if base + n >= u32::MAX as usize {
            return false;
        }
        let mut start = 0;
        for &(end, id) in rows.workers {
            let w = self.intern_worker(id);
            let r0 = (base + start) as u32;
            self.rows[w as usize].extend(r0..r0 + (end - start) as u32);
            self.worker.resize(base + end, w);
            start = end;
        }
        self.ts.extend_from_slice(rows.ts);
        self.lon.extend_from_slice(rows.lon);
        self.lat.extend_from_slice(rows.lat);
        let e = self.expected;
        for (col, values) in [
            (&mut self.acc, rows.acc),
            (&mut self.speed, rows.speed),
            (&mut self.bearing, rows.bearing),
            (&mut self.alt, rows.alt),
            (&mut self.batt, rows.batt),
        ] {
            if let Some(v) = values {
                col.put_all(base, v.iter().copied(), f32::NAN, e);
            }
        }
        if let Some(mock) = rows.mock.filter(|m| m.contains(&true)) {
            self.mock.put_all(base, mock.iter().copied(), false, e);
        }
        for &(r, code) in rows.checkins {
            let c = self.intern_checkin(code) + 1;
            self.checkin.put(base + r, Some(c), 0, e);
        }
        true
    }

    /// Appends the rows and errors of `other` (read from later input) after these, keeping
    /// one worker number per worker.
    ///
    /// # Errors
    /// [`IngestError::TooManyRows`] (naming `source_name`) when the rows would not fit.
    pub fn append(&mut self, other: PingTable, source_name: &str) -> Result<(), IngestError> {
        let base = self.len();
        if base + other.len() >= u32::MAX as usize {
            return Err(IngestError::TooManyRows {
                source_name: source_name.to_string(),
            });
        }
        let e = self.expected;
        let workers: Vec<u32> = other
            .workers
            .iter()
            .map(|w| self.intern_worker(w.as_str()))
            .collect();
        for (w, rows) in other.rows.iter().enumerate() {
            let to = &mut self.rows[workers[w] as usize];
            to.extend(rows.iter().map(|&r| r + base as u32));
        }
        self.worker
            .extend(other.worker.iter().map(|&w| workers[w as usize]));
        self.ts.extend_from_slice(&other.ts);
        self.lon.extend_from_slice(&other.lon);
        self.lat.extend_from_slice(&other.lat);
        let same = |v: f32| v;
        self.acc.append(base, &other.acc, f32::NAN, e, same);
        self.speed.append(base, &other.speed, f32::NAN, e, same);
        self.bearing.append(base, &other.bearing, f32::NAN, e, same);
        self.alt.append(base, &other.alt, f32::NAN, e, same);
        self.batt.append(base, &other.batt, f32::NAN, e, same);
        self.mock.append(base, &other.mock, false, e, |v| v);
        self.work.append(base, &other.work, 0, e, |v| v);
        self.ignition.append(base, &other.ignition, 0, e, |v| v);
        self.pressure
            .append(base, &other.pressure, f32::NAN, e, same);
        let checkins: Vec<u32> = other
            .checkins
            .iter()
            .map(|c| self.intern_checkin(c) + 1)
            .collect();
        self.checkin
            .append(base, &other.checkin, 0, e, |c| match c {
                0 => 0,
                c => checkins[c as usize - 1],
            });
        self.errors.extend(other.errors);
        self.rows_scanned += other.rows_scanned;
        Ok(())
    }

    fn intern_worker(&mut self, id: &str) -> u32 {
        // Files hold runs of one worker's rows: try the last one before hashing.
        if let Some(w) = self.last_worker {
            if self.workers[w as usize].as_str() == id {
                return w;
            }
        }
        let w = match self.worker_index.get(id) {
            Some(&w) => w,
            None => {
                let w = self.workers.len() as u32;
                let id = WorkerId::new(id);
                self.worker_index.insert(id.0.clone(), w);
                self.workers.push(id);
                self.rows.push(Vec::new());
                w
            }
        };
        self.last_worker = Some(w);
        w
    }

    fn intern_checkin(&mut self, code: &str) -> u32 {
        match self.checkin_index.get(code) {
            Some(&c) => c,
            None => {
                let c = self.checkins.len() as u32;
                let code: Arc<str> = Arc::from(code);
                self.checkin_index.insert(code.clone(), c);
                self.checkins.push(code);
                c
            }
        }
    }
}

/// Reads the pings of every file into one table: CSV, Parquet or GPX by extension, in `crs`,
/// keeping only `range` and `worker` when given. Bad rows are kept in [`PingTable::errors`]
/// with their file and line (CSV, header = line 1) or row (Parquet, from 1), numbered before
/// any filtering.
///
/// # Errors
/// [`IngestError`] for the first file that cannot be read at all.
pub fn read_table(paths: &[PathBuf], opts: &ReadOptions) -> Result<PingTable, IngestError> {
    let mut table = PingTable::new();
    for path in paths {
        table.read_path(path, opts)?;
    }
    Ok(table)
}
