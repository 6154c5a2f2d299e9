//! Pings from CSV: a header naming the columns, then one ping per row.
//!
//! Required columns: `worker` (alias `worker_id`), `ts` (or `ts_ms`, Unix milliseconds, which
//! wins when both are present), `lat`, `lon`. Optional: `acc` (alias `accuracy`), `speed`,
//! `bearing`, `alt` (alias `altitude_m`), `batt`, `mock`, `checkin`. Other columns are
//! ignored. Each row goes through the one set of row rules ([`super::row`]); a bad row is
//! reported with its line (the header is line 1) and skipped.
//!
//! Records are read into one reused [`csv::ByteRecord`]: nothing is allocated per row but the
//! interned worker ids and check-in codes.

use std::io::Read;
use std::sync::Arc;

use super::row::{Field, RawRow};
use super::{Columns, Decoded, IngestError, PingTable, ReadOptions, RecordFault};
use crate::model::Crs;

/// Reads CSV text into `table`.
pub(crate) fn read_into<R: Read>(
    table: &mut PingTable,
    reader: R,
    source_name: &str,
    opts: &ReadOptions,
) -> Result<(), IngestError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let io_error = |e: csv::Error| IngestError::Read {
        source_name: source_name.to_string(),
        reason: e.to_string(),
    };
    let header = rdr.byte_headers().map_err(io_error)?;
    if header.is_empty() || (header.len() == 1 && header[0].trim_ascii().is_empty()) {
        return Err(IngestError::Empty {
            source_name: source_name.to_string(),
        });
    }
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let cols = Columns::resolve(&names).map_err(|m| IngestError::MissingColumn {
        source_name: source_name.to_string(),
        column: m.column,
        found: m.found,
    })?;
    let source: Arc<str> = Arc::from(source_name);
    let filter = opts.filter();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                table.rows_scanned += 1;
                let line = record.position().map_or(line, |p| p.line());
                let at = |i: usize| record.get(i).map_or(Field::Null, Field::Text);
                let opt = |i: Option<usize>| i.map_or(Field::Null, at);
                let raw = RawRow {
                    worker: at(cols.worker),
                    ts: at(cols.ts),
                    ts_unit: cols.ts_unit,
                    lat: at(cols.lat),
                    lon: at(cols.lon),
                    acc: opt(cols.acc),
                    speed: opt(cols.speed),
                    bearing: opt(cols.bearing),
                    alt: opt(cols.alt),
                    batt: opt(cols.batt),
                    mock: opt(cols.mock),
                    checkin: opt(cols.checkin),
                    work: opt(cols.work),
                    pressure: opt(cols.pressure),
                    ignition: opt(cols.ignition),
                };
                table.accept(&raw, &filter, &source, line)?;
            }
            Err(e) if e.is_io_error() => return Err(io_error(e)),
            Err(e) => {
                table.rows_scanned += 1;
                let line = e.position().map_or(line, |p| p.line());
                let fault = RecordFault::UnreadableRow {
                    reason: e.to_string(),
                };
                table.fault(&source, line, fault, None);
            }
        }
    }
    Ok(())
}

/// Reads pings from CSV text in `crs`, converting them to WGS84; bad rows are returned as
/// errors beside the good pings. The whole file becomes [`crate::model::Ping`]s: for large
/// files read a [`PingTable`] with [`super::read_table`] instead.
///
/// # Errors
/// [`IngestError`] when the header is missing or lacks a required column.
pub fn read_pings<R: Read>(reader: R, source_name: &str, crs: Crs) -> Result<Decoded, IngestError> {
    let mut table = PingTable::new();
    let opts = ReadOptions {
        crs,
        ..ReadOptions::default()
    };
    table.read_csv(reader, source_name, &opts)?;
    Ok(table.into_decoded())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_required_and_optional_columns() {
        let text = "worker,ts,lat,lon,acc,speed,mock,checkin\n\
                    w1,2026-10-08T01:30:00Z,28.2,112.98,8.5,1.3,false,cp-1\n\
                    w1,1791423010,28.2001,112.9801,0,,true,\n";
        let d = read_pings(text.as_bytes(), "p.csv", Crs::Wgs84).unwrap();
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(d.pings.len(), 2);
        let (a, b) = (&d.pings[0], &d.pings[1]);
        assert_eq!(a.worker.as_str(), "w1");
        assert_eq!(a.ts, 1_791_423_000_000);
        assert_eq!(a.acc_m, Some(8.5));
        assert_eq!(a.checkin.as_deref(), Some("cp-1"));
        assert_eq!(b.ts, 1_791_423_010_000);
        assert_eq!(b.acc_m, None, "accuracy 0 means unknown");
        assert!(b.mock);
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_and_the_rest_kept() {
        let text = "worker_id,ts,lat,lon\n\
                    w1,2026-10-08T01:30:00Z,28.2,112.98\n\
                    w1,not-a-time,28.2,112.98\n\
                    w1,2026-10-08T01:30:20Z,abc,112.98\n\
                    w1,2026-10-08T01:30:30Z,112.98,28.2\n\
                    w1,2026-10-08T01:30:40Z,28.2,112.98\n";
        let d = read_pings(text.as_bytes(), "p.csv", Crs::Wgs84).unwrap();
        assert_eq!(d.pings.len(), 2);
        let lines: Vec<u64> = d.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(d.errors[0].to_string().starts_with("p.csv:3: "));
        assert!(d.errors[1].reason().contains("lat"));
        assert_eq!(
            d.errors.iter().map(|e| e.code()).collect::<Vec<_>>(),
            ["bad_timestamp", "bad_number", "bad_position"]
        );
        assert!(d.errors[2].reason().contains("swapped"), "{}", d.errors[2]);
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = read_pings("worker,ts,lat\nw,1,2\n".as_bytes(), "p.csv", Crs::Wgs84).unwrap_err();
        assert!(e.to_string().contains("\"lon\""), "{e}");
        assert!(read_pings("".as_bytes(), "p.csv", Crs::Wgs84).is_err());
    }

    #[test]
    fn gcj02_input_is_converted_to_wgs84() {
        let text = "worker,ts,lat,lon\nw,1791423000,39.91640428150164,116.41024449916938\n";
        let d = read_pings(text.as_bytes(), "p.csv", Crs::Gcj02).unwrap();
        assert!((d.pings[0].lon - 116.404).abs() < 1e-9 && (d.pings[0].lat - 39.915).abs() < 1e-9);
    }
}
