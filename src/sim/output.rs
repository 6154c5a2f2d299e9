//! The simulator's files: `grids.geojson`, `workers.csv`, `checkpoints.geojson` (DESIGN.md
//! §5.2), `pings.csv`, `pings.parquet` (one row group per day) and `truth.json`; with
//! `--vehicles N` also the fleet's `vehicles.csv`, `routes.geojson`, `devices.csv`,
//! `vehicle_pings.csv` and `vehicle_truth.json` (written by [`super::fleet`]).
//!
//! Every writer takes an `impl Write`; only [`write_simulation`] creates files. Pings are
//! formatted by hand into a reused buffer (no allocation per row).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use serde_json::{json, Value};

use super::frame::e7_to_deg;
use super::{fleet, City, DayPings, PingRow, SimOptions, Simulation, Truth};

/// Why the simulator's output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: io::Error,
    },
    /// The Parquet writer failed.
    #[error("cannot write {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet failure.
        source: parquet::errors::ParquetError,
    },
    /// The writer thread died.
    #[error("the pings writer thread failed")]
    Thread,
}

/// What a run wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct SimSummary {
    /// Number of grids.
    pub grids: usize,
    /// Number of workers.
    pub workers: usize,
    /// Number of checkpoints.
    pub checkpoints: usize,
    /// Number of ping rows written (to each of the CSV and the Parquet file).
    pub pings: u64,
    /// Number of vehicles (0: no fleet files).
    pub vehicles: usize,
    /// Number of rows in `vehicle_pings.csv`.
    pub vehicle_pings: u64,
}

/// Closed ring of 1e-7-degree integers as GeoJSON positions.
fn ring_json(ring: &[[i64; 2]]) -> Value {
    Value::Array(
        ring.iter()
            .map(|p| json!([e7_to_deg(p[0]), e7_to_deg(p[1])]))
            .collect(),
    )
}

/// Writes `grids.geojson`: every unit as a Feature with `code`, `name`, `level`, `parent`;
/// only grids have a (Polygon) geometry.
///
/// # Errors
/// When `out` fails.
pub fn write_grids(city: &City, out: impl Write) -> io::Result<()> {
    let mut features = Vec::with_capacity(city.units.len() + city.grids.len());
    for u in &city.units {
        features.push(json!({
            "type": "Feature",
            "properties": {
                "code": u.code.as_str(),
                "name": u.name,
                "level": u.level.as_str(),
                "parent": u.parent.as_ref().map(|p| p.as_str()),
            },
            "geometry": null,
        }));
    }
    for g in &city.grids {
        features.push(json!({
            "type": "Feature",
            "properties": {
                "code": g.code.as_str(),
                "name": g.name,
                "level": "grid",
                "parent": g.parent.as_str(),
                "area_m2": g.area_m2.round(),
            },
            "geometry": {"type": "Polygon", "coordinates": [ring_json(&g.ring_e7)]},
        }));
    }
    let fc = json!({"type": "FeatureCollection", "features": features});
    write_json_lines(out, &fc)
}

/// Writes a FeatureCollection with one Feature per line (readable diffs, still one JSON value).
fn write_json_lines(mut out: impl Write, fc: &Value) -> io::Result<()> {
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    let features = fc["features"].as_array().cloned().unwrap_or_default();
    for (i, f) in features.iter().enumerate() {
        serde_json::to_writer(&mut out, f)?;
        out.write_all(if i + 1 < features.len() {
            b",\n"
        } else {
            b"\n"
        })?;
    }
    out.write_all(b"]}\n")?;
    out.flush()
}

/// Writes `workers.csv`: `worker,name,grid`, one row per assignment.
///
/// # Errors
/// When `out` fails.
pub fn write_workers(city: &City, out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["worker", "name", "grid"])?;
    for worker in &city.workers {
        for &g in &worker.grids {
            w.write_record([
                worker.id.as_str(),
                worker.name.as_str(),
                city.grids[g].code.as_str(),
            ])?;
        }
    }
    w.flush()
}

/// Writes `checkpoints.geojson`: Point Features with `code`, `name`, `grid`, `kind`,
/// `visits_per_month`.
///
/// # Errors
/// When `out` fails.
pub fn write_checkpoints(city: &City, out: impl Write) -> io::Result<()> {
    let features: Vec<Value> = city
        .checkpoints
        .iter()
        .map(|c| {
            let [lon, lat] = city.frame.to_lonlat_e7(c.pos_m[0], c.pos_m[1]);
            json!({
                "type": "Feature",
                "properties": {
                    "code": c.code,
                    "name": c.name,
                    "grid": city.grids[c.grid].code.as_str(),
                    "kind": c.kind.as_str(),
                    "visits_per_month": c.visits_per_month,
                },
                "geometry": {"type": "Point", "coordinates": [e7_to_deg(lon), e7_to_deg(lat)]},
            })
        })
        .collect();
    write_json_lines(
        out,
        &json!({"type": "FeatureCollection", "features": features}),
    )
}

/// Writes `truth.json` (pretty-printed).
///
/// # Errors
/// When `out` fails.
pub fn write_truth(truth: &Truth, mut out: impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, truth)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Appends the decimal digits of `v`.
fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends `v / 10^decimals` with exactly `decimals` decimals.
fn push_fixed(buf: &mut Vec<u8>, v: i64, decimals: u32) {
    if v < 0 {
        buf.push(b'-');
    }
    let a = v.unsigned_abs();
    let p = 10u64.pow(decimals);
    push_u64(buf, a / p);
    if decimals > 0 {
        buf.push(b'.');
        let frac = a % p;
        let mut tmp = [b'0'; 20];
        let mut f = frac;
        for k in (0..decimals as usize).rev() {
            tmp[k] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        buf.extend_from_slice(&tmp[..decimals as usize]);
    }
}

/// Appends two digits.
fn push2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Appends UTC seconds as RFC 3339 with `Z`, e.g. `2026-10-08T01:30:00Z` (20 bytes for years
/// 1000–9999, which is all a phone reports).
fn push_rfc3339(buf: &mut Vec<u8>, ts_s: i64) {
    let days = ts_s.div_euclid(86_400);
    let sod = ts_s.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    push_u64(buf, y.max(0) as u64);
    buf.push(b'-');
    push2(buf, m);
    buf.push(b'-');
    push2(buf, d);
    buf.push(b'T');
    push2(buf, sod / 3600);
    buf.push(b':');
    push2(buf, sod / 60 % 60);
    buf.push(b':');
    push2(buf, sod % 60);
    buf.push(b'Z');
}

/// Writes ping rows as CSV: `worker,ts,lat,lon,acc,speed,mock,checkin`.
pub struct CsvPingWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    workers: Vec<Vec<u8>>,
    checkpoints: Vec<Vec<u8>>,
    rows: u64,
}

impl<W: Write> CsvPingWriter<W> {
    /// Starts a CSV (writes the header) for the pings of `city`.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn new(city: &City, mut out: W) -> io::Result<Self> {
        out.write_all(b"worker,ts,lat,lon,acc,speed,mock,checkin\n")?;
        Ok(CsvPingWriter {
            out,
            buf: Vec::with_capacity(1 << 20),
            workers: city
                .workers
                .iter()
                .map(|w| w.id.as_str().as_bytes().to_vec())
                .collect(),
            checkpoints: city
                .checkpoints
                .iter()
                .map(|c| c.code.as_bytes().to_vec())
                .collect(),
            rows: 0,
        })
    }

    /// Appends rows.
    ///
    /// # Errors
    /// When the underlying writer fails.
    pub fn write_rows(&mut self, rows: &[PingRow]) -> io::Result<()> {
        for r in rows {
            let b = &mut self.buf;
            b.extend_from_slice(&self.workers[r.worker as usize]);
            b.push(b',');
            push_rfc3339(b, r.ts_s);
            b.push(b',');
            push_fixed(b, r.lat_e7, 7);
            b.push(b',');
            push_fixed(b, r.lon_e7, 7);
            b.push(b',');
            push_fixed(b, i64::from(r.acc_dm), 1);
            b.push(b',');
            push_fixed(b, i64::from(r.speed_dmps), 1);
            b.extend_from_slice(if r.mock { b",true," } else { b",false," });
            if let Some(c) = r.checkin {
                b.extend_from_slice(&self.checkpoints[c as usize]);
            }
            b.push(b'\n');
            if b.len() > (1 << 20) - 256 {
                self.out.write_all(b)?;
                b.clear();
            }
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Flushes and returns the writer and the number of rows written.
    ///
    /// # Errors
    /// When the underlying writer fails.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()?;
        Ok((self.out, self.rows))
    }
}

/// The Parquet schema of the pings: the CSV's columns plus `ts_ms`.
const PING_SCHEMA: &str = "message ping {
  REQUIRED BYTE_ARRAY worker (UTF8);
  REQUIRED BYTE_ARRAY ts (UTF8);
  REQUIRED DOUBLE lat;
  REQUIRED DOUBLE lon;
  REQUIRED DOUBLE acc;
  REQUIRED DOUBLE speed;
  REQUIRED BOOLEAN mock;
  OPTIONAL BYTE_ARRAY checkin (UTF8);
  REQUIRED INT64 ts_ms (TIMESTAMP(MILLIS,true));
}";

/// Writes ping rows as Parquet (snappy), one row group per [`ParquetPingWriter::write_day`].
pub struct ParquetPingWriter<W: Write + Send> {
    inner: SerializedFileWriter<W>,
    workers: Vec<ByteArray>,
    checkpoints: Vec<ByteArray>,
    rows: u64,
}

impl<W: Write + Send> ParquetPingWriter<W> {
    /// Starts a Parquet file for the pings of `city`.
    ///
    /// # Errors
    /// When the writer cannot be set up.
    pub fn new(city: &City, out: W) -> parquet::errors::Result<Self> {
        let schema = Arc::new(parse_message_type(PING_SCHEMA)?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(false)
            .set_column_dictionary_enabled(ColumnPath::from("worker"), true)
            .set_column_dictionary_enabled(ColumnPath::from("checkin"), true)
            // Timestamps share prefixes and step evenly; coordinates share their high bytes.
            .set_column_encoding(ColumnPath::from("ts"), Encoding::DELTA_BYTE_ARRAY)
            .set_column_encoding(ColumnPath::from("ts_ms"), Encoding::DELTA_BINARY_PACKED)
            .set_column_encoding(ColumnPath::from("lat"), Encoding::BYTE_STREAM_SPLIT)
            .set_column_encoding(ColumnPath::from("lon"), Encoding::BYTE_STREAM_SPLIT)
            .set_created_by("gridbeat simulate".into())
            .build();
        Ok(ParquetPingWriter {
            inner: SerializedFileWriter::new(out, schema, Arc::new(props))?,
            workers: city
                .workers
                .iter()
                .map(|w| ByteArray::from(Bytes::from(w.id.as_str().as_bytes().to_vec())))
                .collect(),
            checkpoints: city
                .checkpoints
                .iter()
                .map(|c| ByteArray::from(Bytes::from(c.code.as_bytes().to_vec())))
                .collect(),
            rows: 0,
        })
    }

    /// Writes one row group.
    ///
    /// # Errors
    /// When the Parquet writer fails.
    pub fn write_day(&mut self, rows: &[PingRow]) -> parquet::errors::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut ts_buf = Vec::with_capacity(rows.len() * 20);
        let mut ends = Vec::with_capacity(rows.len());
        for r in rows {
            push_rfc3339(&mut ts_buf, r.ts_s);
            ends.push(ts_buf.len());
        }
        let ts_bytes = Bytes::from(ts_buf);
        let mut start = 0;
        let ts: Vec<ByteArray> = ends
            .iter()
            .map(|&e| {
                let b = ByteArray::from(ts_bytes.slice(start..e));
                start = e;
                b
            })
            .collect();
        let worker: Vec<ByteArray> = rows
            .iter()
            .map(|r| self.workers[r.worker as usize].clone())
            .collect();
        let f64s = |f: fn(&PingRow) -> f64| -> Vec<f64> { rows.iter().map(f).collect() };
        let lat = f64s(|r| e7_to_deg(r.lat_e7));
        let lon = f64s(|r| e7_to_deg(r.lon_e7));
        let acc = f64s(|r| f64::from(r.acc_dm) / 10.0);
        let speed = f64s(|r| f64::from(r.speed_dmps) / 10.0);
        let mock: Vec<bool> = rows.iter().map(|r| r.mock).collect();
        let checkin: Vec<ByteArray> = rows
            .iter()
            .filter_map(|r| r.checkin.map(|c| self.checkpoints[c as usize].clone()))
            .collect();
        let checkin_def: Vec<i16> = rows
            .iter()
            .map(|r| i16::from(r.checkin.is_some()))
            .collect();
        let ts_ms: Vec<i64> = rows.iter().map(|r| r.ts_s * 1000).collect();

        let mut rg = self.inner.next_row_group()?;
        let mut col = 0;
        while let Some(mut c) = rg.next_column()? {
            match col {
                0 => {
                    c.typed::<ByteArrayType>()
                        .write_batch(&worker, None, None)?;
                }
                1 => {
                    c.typed::<ByteArrayType>().write_batch(&ts, None, None)?;
                }
                2..=5 => {
                    let v = [&lat, &lon, &acc, &speed][col - 2];
                    c.typed::<DoubleType>().write_batch(v, None, None)?;
                }
                6 => {
                    c.typed::<BoolType>().write_batch(&mock, None, None)?;
                }
                7 => {
                    c.typed::<ByteArrayType>()
                        .write_batch(&checkin, Some(&checkin_def), None)?;
                }
                _ => {
                    c.typed::<Int64Type>().write_batch(&ts_ms, None, None)?;
                }
            }
            c.close()?;
            col += 1;
        }
        rg.close()?;
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Writes the footer and returns the number of rows written.
    ///
    /// # Errors
    /// When the Parquet writer fails.
    pub fn finish(self) -> parquet::errors::Result<u64> {
        self.inner.close()?;
        Ok(self.rows)
    }
}

/// Creates a file for writing, buffered; errors name it.
fn create(dir: &Path, name: &str) -> Result<(BufWriter<File>, PathBuf), OutputError> {
    let path = dir.join(name);
    let f = File::create(&path).map_err(|source| OutputError::Io {
        path: path.clone(),
        source,
    })?;
    Ok((BufWriter::with_capacity(1 << 20, f), path))
}

/// Runs the whole simulation for `city` and writes every file into `dir` (which must exist):
/// the registry files first, then the pings day by day (generation of the next day overlaps
/// the writing of the last), then `truth.json`.
///
/// # Errors
/// [`OutputError`] naming the file that could not be written.
pub fn write_simulation(
    city: &City,
    opts: &SimOptions,
    dir: &Path,
) -> Result<SimSummary, OutputError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Io { path, source }
    };
    let (f, p) = create(dir, "grids.geojson")?;
    write_grids(city, f).map_err(io_err(&p))?;
    let (f, p) = create(dir, "workers.csv")?;
    write_workers(city, f).map_err(io_err(&p))?;
    let (f, p) = create(dir, "checkpoints.geojson")?;
    write_checkpoints(city, f).map_err(io_err(&p))?;

    let (csv_file, csv_path) = create(dir, "pings.csv")?;
    let (pq_file, pq_path) = create(dir, "pings.parquet")?;
    let mut csv = CsvPingWriter::new(city, csv_file).map_err(io_err(&csv_path))?;
    let pq_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Parquet { path, source }
    };
    let mut pq = ParquetPingWriter::new(city, pq_file).map_err(pq_err(&pq_path))?;

    let mut sim = Simulation::new(city, opts);
    // Three stages overlap: generation here, CSV and Parquet each on their own thread.
    let pings = std::thread::scope(|s| -> Result<u64, OutputError> {
        let (csv_tx, csv_rx) = std::sync::mpsc::sync_channel::<Arc<DayPings>>(1);
        let (pq_tx, pq_rx) = std::sync::mpsc::sync_channel::<Arc<DayPings>>(1);
        let csv_thread = s.spawn(move || -> Result<u64, OutputError> {
            for day in csv_rx {
                csv.write_rows(&day.rows).map_err(io_err(&csv_path))?;
            }
            let (_, n) = csv.finish().map_err(io_err(&csv_path))?;
            Ok(n)
        });
        let pq_thread = s.spawn(move || -> Result<u64, OutputError> {
            for day in pq_rx {
                pq.write_day(&day.rows).map_err(pq_err(&pq_path))?;
            }
            pq.finish().map_err(pq_err(&pq_path))
        });
        for day in sim.by_ref() {
            let day = Arc::new(day);
            // A send fails only when a writer stopped early; its error is reported below.
            if csv_tx.send(Arc::clone(&day)).is_err() || pq_tx.send(day).is_err() {
                break;
            }
        }
        drop(csv_tx);
        drop(pq_tx);
        let n_csv = csv_thread.join().map_err(|_| OutputError::Thread)??;
        let n_pq = pq_thread.join().map_err(|_| OutputError::Thread)??;
        debug_assert_eq!(n_csv, n_pq);
        Ok(n_csv)
    })?;

    let (f, p) = create(dir, "truth.json")?;
    write_truth(sim.truth(), f).map_err(io_err(&p))?;
    let vehicle_pings = if opts.vehicles > 0 {
        write_fleet(city, opts, dir)?
    } else {
        0
    };
    Ok(SimSummary {
        grids: city.grids.len(),
        workers: city.workers.len(),
        checkpoints: city.checkpoints.len(),
        pings,
        vehicles: opts.vehicles,
        vehicle_pings,
    })
}

/// Writes the fleet's files into `dir` (which must exist): `vehicles.csv`, `routes.geojson`,
/// `devices.csv` (the vehicles' terminals only: the workers' phones need none), then
/// `vehicle_pings.csv` vehicle by vehicle, then `vehicle_truth.json`; returns the number of
/// ping rows. Nothing here draws from the workers' random streams.
///
/// # Errors
/// [`OutputError`] naming the file that could not be written.
pub fn write_fleet(city: &City, opts: &SimOptions, dir: &Path) -> Result<u64, OutputError> {
    use rayon::prelude::*;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Io { path, source }
    };
    let plan = fleet::plan_fleet(city, opts);
    let (f, p) = create(dir, "vehicles.csv")?;
    fleet::write_vehicles(&plan, f).map_err(io_err(&p))?;
    let (f, p) = create(dir, "routes.geojson")?;
    fleet::write_routes(&plan, city, f).map_err(io_err(&p))?;
    let (f, p) = create(dir, "devices.csv")?;
    fleet::write_devices(&plan, f).map_err(io_err(&p))?;

    let (mut f, p) = create(dir, "vehicle_pings.csv")?;
    f.write_all(fleet::VEHICLE_PINGS_HEADER.as_bytes())
        .map_err(io_err(&p))?;
    let mut truth = fleet::truth_header(&plan, city, opts);
    let mut rows = 0u64;
    // Vehicles in parallel, a few at a time, written in id order.
    let ids: Vec<usize> = (0..plan.len()).collect();
    for chunk in ids.chunks(32) {
        let done: Vec<_> = chunk
            .par_iter()
            .map(|&v| fleet::simulate_vehicle(&plan, city, opts, v))
            .collect();
        for (vrows, vtruth) in done {
            fleet::write_vehicle_rows(&plan, opts.tz, &vrows, &mut f).map_err(io_err(&p))?;
            rows += vrows.len() as u64;
            truth.vehicles.push(vtruth);
        }
    }
    f.flush().map_err(io_err(&p))?;
    let (f, p) = create(dir, "vehicle_truth.json")?;
    fleet::write_fleet_truth(&truth, f).map_err(io_err(&p))?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_like_chrono() {
        for ts in [
            0i64,
            1_791_423_000,
            951_782_400,
            4_102_444_799,
            1_709_164_800,
        ] {
            let mut b = Vec::new();
            push_rfc3339(&mut b, ts);
            assert_eq!(
                String::from_utf8(b).unwrap(),
                crate::model::format_timestamp(ts * 1000)
            );
        }
    }

    #[test]
    fn fixed_point_numbers_format_exactly() {
        let mut b = Vec::new();
        push_fixed(&mut b, 282_012_345, 7);
        b.push(b' ');
        push_fixed(&mut b, -5, 7);
        b.push(b' ');
        push_fixed(&mut b, 85, 1);
        b.push(b' ');
        push_fixed(&mut b, 0, 1);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "28.2012345 -0.0000005 8.5 0.0"
        );
    }
}
