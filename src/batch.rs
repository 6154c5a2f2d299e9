//! The batch door's reader: the pings of a period from CSV and Parquet files, with polars.
//!
//! Files are scanned lazily and only the columns the engine reads are loaded. Where the file
//! has a typed timestamp (a Parquet `TIMESTAMP`, or an integer `ts_ms` column of Unix
//! milliseconds, as `gridbeat simulate` writes) the period filter is pushed into the scan, so
//! row groups of other months are never decoded; text timestamps (RFC 3339 or Unix digits) are
//! parsed once per row and filtered after. The rows are then turned into column vectors and
//! grouped by worker, so each worker's pings can be built (and dropped) on their own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use polars::prelude::{
    col, lit, DataFrame, DataType, Float64Chunked, Int64Chunked, LazyCsvReader, LazyFileListReader,
    LazyFrame, PlRefPath, ScanArgsParquet, Schema, StringChunked,
};

use crate::crs;
use crate::ingest::{check_position, Columns, RecordError};
use crate::model::{parse_timestamp, Crs, Ping, UnixMs, WorkerId};

/// A half-open period [from, to) in UTC milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// First instant included.
    pub from: UnixMs,
    /// First instant after the period.
    pub to: UnixMs,
}

impl Period {
    /// Whether `ts` lies in the period.
    pub fn contains(&self, ts: UnixMs) -> bool {
        self.from <= ts && ts < self.to
    }
}

/// The pings of a period, as columns, grouped by worker.
#[derive(Default)]
pub struct PingTable {
    /// Worker ids, indexed by the numbers in `worker`.
    pub workers: Vec<WorkerId>,
    /// Row indices of each worker (same index as `workers`), in file order.
    pub rows: Vec<Vec<u32>>,
    ts: Vec<UnixMs>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    acc: Vec<f32>,
    mock: Vec<bool>,
    checkin: Vec<Option<Arc<str>>>,
    /// Rows that could not be read, with file and row number.
    pub errors: Vec<RecordError>,
    /// Rows read from the files before the period filter.
    pub rows_scanned: usize,
}

impl PingTable {
    /// How many pings the table holds.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether the table holds no ping.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The pings of worker number `w`, in file order.
    pub fn pings(&self, w: usize) -> Vec<Ping> {
        let worker = &self.workers[w];
        self.rows[w]
            .iter()
            .map(|&r| {
                let r = r as usize;
                let mut p = Ping::new(worker.clone(), self.ts[r], self.lon[r], self.lat[r]);
                p.acc_m = Some(self.acc[r]).filter(|a| a.is_finite() && *a > 0.0);
                p.mock = self.mock[r];
                p.checkin = self.checkin[r].clone();
                p
            })
            .collect()
    }
}

/// How a file names the columns the engine reads.
struct Layout {
    worker: String,
    ts: String,
    /// The timestamp column is typed (Parquet timestamp or integer ms): filter in the scan.
    ts_typed: bool,
    lat: String,
    lon: String,
    acc: Option<String>,
    mock: Option<String>,
    checkin: Option<String>,
}

fn layout(schema: &Schema, name: &str) -> anyhow::Result<Layout> {
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let cols = Columns::resolve(&names).map_err(|m| {
        anyhow::anyhow!(
            "{name}: no {:?} column (found: {}); required: worker (or worker_id), ts, lat, lon",
            m.column,
            m.found
        )
    })?;
    let at = |i: usize| names[i].clone();
    // A typed millisecond column beats the text one (the simulator writes both).
    let ts_ms = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case("ts_ms"))
        .filter(|n| {
            matches!(
                schema.get(n.as_str()),
                Some(DataType::Datetime(_, _)) | Some(DataType::Int64)
            )
        });
    let (ts, ts_typed) = match ts_ms {
        Some(c) => (c.clone(), true),
        None => {
            let c = at(cols.ts);
            let typed = matches!(schema.get(&c), Some(DataType::Datetime(_, _)));
            (c, typed)
        }
    };
    Ok(Layout {
        worker: at(cols.worker),
        ts,
        ts_typed,
        lat: at(cols.lat),
        lon: at(cols.lon),
        acc: cols.acc.map(at),
        mock: cols.mock.map(at),
        checkin: cols.checkin.map(at),
    })
}

/// Opens one file lazily, by its extension.
fn scan(path: &Path) -> anyhow::Result<LazyFrame> {
    let name = path.display().to_string();
    let pl_path = PlRefPath::try_from_path(path).with_context(|| format!("{name}: bad path"))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("parquet") | Some("pq") => {
            LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default())
                .with_context(|| format!("{name}: not a readable Parquet file"))
        }
        Some("csv") | Some("txt") => {
            // Every column as text: the engine's own parsers read timestamps in all their
            // forms and report bad rows with their line, which type inference would not.
            Ok(LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .finish()
                .with_context(|| format!("{name}: not a readable CSV file"))?)
        }
        _ => bail!("{name}: unknown file type; expected .csv or .parquet"),
    }
}

/// Reads the pings of `period` (all of them when `None`) from every file, in `crs`.
///
/// # Errors
/// When a file cannot be opened or lacks a required column; bad rows are not errors, they
/// are in [`PingTable::errors`].
pub fn read_pings(
    paths: &[PathBuf],
    period: Option<Period>,
    crs: Crs,
) -> anyhow::Result<PingTable> {
    let mut table = PingTable::default();
    let mut worker_index: HashMap<String, u32> = HashMap::new();
    for path in paths {
        let name = path.display().to_string();
        let mut lf = scan(path)?;
        let schema = lf
            .collect_schema()
            .with_context(|| format!("{name}: cannot read the schema"))?;
        let lay = layout(&schema, &name)?;
        let mut columns = vec![
            col(lay.worker.as_str()),
            col(lay.ts.as_str()),
            col(lay.lat.as_str()),
            col(lay.lon.as_str()),
        ];
        for c in [&lay.acc, &lay.mock, &lay.checkin].into_iter().flatten() {
            columns.push(col(c.as_str()));
        }
        let mut lf = lf.select(columns);
        if let (Some(p), true) = (period, lay.ts_typed) {
            let ts = col(lay.ts.as_str()).cast(DataType::Int64);
            lf = lf.filter(ts.clone().gt_eq(lit(p.from)).and(ts.lt(lit(p.to))));
        }
        let df = lf
            .collect()
            .with_context(|| format!("{name}: cannot read"))?;
        table.rows_scanned += df.height();
        append(&mut table, &mut worker_index, df, &lay, &name, period, crs)?;
    }
    Ok(table)
}

/// Appends one file's rows to the table, parsing and validating each.
fn append(
    table: &mut PingTable,
    worker_index: &mut HashMap<String, u32>,
    df: DataFrame,
    lay: &Layout,
    name: &str,
    period: Option<Period>,
    crs: Crs,
) -> anyhow::Result<()> {
    let n = df.height();
    let text = |c: &str| -> anyhow::Result<StringChunked> {
        Ok(df.column(c)?.cast(&DataType::String)?.str()?.clone())
    };
    let number = |c: &str| -> anyhow::Result<Float64Chunked> {
        Ok(df.column(c)?.cast(&DataType::Float64)?.f64()?.clone())
    };
    let workers = text(&lay.worker)?;
    let lat = number(&lay.lat)?;
    let lon = number(&lay.lon)?;
    let acc = lay.acc.as_deref().map(number).transpose()?;
    let mock = lay.mock.as_deref().map(text).transpose()?;
    let checkin = lay.checkin.as_deref().map(text).transpose()?;
    let ts_col = df.column(&lay.ts)?;
    let ts_ms: Option<Int64Chunked> = if lay.ts_typed {
        Some(ts_col.cast(&DataType::Int64)?.i64()?.clone())
    } else {
        None
    };
    let ts_text = if lay.ts_typed {
        None
    } else {
        Some(ts_col.cast(&DataType::String)?.str()?.clone())
    };
    // CSV rows are numbered as lines (the header is line 1); Parquet rows from 1.
    let line_of = |i: usize| {
        if name.to_ascii_lowercase().ends_with(".csv") {
            i as u64 + 2
        } else {
            i as u64 + 1
        }
    };
    for i in 0..n {
        let fail = |reason: String, worker: Option<&str>| RecordError {
            source: name.to_string(),
            line: line_of(i),
            reason,
            worker: worker.map(String::from),
        };
        let Some(worker) = workers.get(i).map(str::trim).filter(|w| !w.is_empty()) else {
            table
                .errors
                .push(fail("the worker field is empty".into(), None));
            continue;
        };
        let ts = match (&ts_ms, &ts_text) {
            (Some(ms), _) => ms.get(i).ok_or_else(|| "the ts field is empty".to_string()),
            (_, Some(t)) => match t.get(i) {
                Some(t) => parse_timestamp(t).map_err(|e| e.to_string()),
                None => Err("the ts field is empty".to_string()),
            },
            _ => Err("no ts column".to_string()),
        };
        let ts = match ts {
            Ok(ts) => ts,
            Err(reason) => {
                table.errors.push(fail(reason, Some(worker)));
                continue;
            }
        };
        if period.is_some_and(|p| !p.contains(ts)) {
            continue;
        }
        let (Some(y), Some(x)) = (lat.get(i), lon.get(i)) else {
            table.errors.push(fail(
                "lat or lon is empty or not a number".into(),
                Some(worker),
            ));
            continue;
        };
        if let Err(reason) = check_position(x, y) {
            table.errors.push(fail(reason, Some(worker)));
            continue;
        }
        let (x, y) = crs::to_wgs84(crs, x, y);
        let mock_flag = match mock.as_ref().and_then(|m| m.get(i)).map(str::trim) {
            None | Some("") | Some("false") | Some("False") | Some("0") => false,
            Some("true") | Some("True") | Some("1") => true,
            Some(other) => {
                table.errors.push(fail(
                    format!("mock {other:?} is not true/false"),
                    Some(worker),
                ));
                continue;
            }
        };
        let next = worker_index.len() as u32;
        let w = *worker_index.entry(worker.to_string()).or_insert_with(|| {
            table.workers.push(WorkerId::new(worker));
            table.rows.push(Vec::new());
            next
        });
        let row = table.ts.len() as u32;
        table.rows[w as usize].push(row);
        table.ts.push(ts);
        table.lon.push(x);
        table.lat.push(y);
        table.acc.push(
            acc.as_ref()
                .and_then(|a| a.get(i))
                .map_or(f32::NAN, |a| a as f32),
        );
        table.mock.push(mock_flag);
        table.checkin.push(
            checkin
                .as_ref()
                .and_then(|c| c.get(i))
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(Arc::from),
        );
    }
    Ok(())
}
