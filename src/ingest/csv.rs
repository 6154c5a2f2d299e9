//! Pings from CSV: a header naming the columns, then one ping per row.
//!
//! Required columns: `worker` (alias `worker_id`), `ts`, `lat`, `lon`. Optional: `acc`
//! (alias `accuracy`), `speed`, `bearing`, `alt` (alias `altitude_m`), `batt`, `mock`,
//! `checkin`. Other columns are ignored. `ts` is RFC 3339 with an offset or Unix seconds or
//! milliseconds; an accuracy of 0 means unknown (DESIGN.md §4.2).

use std::io::Read;
use std::sync::Arc;

use super::{check_position, Columns, Decoded, RecordError};
use crate::crs;
use crate::model::{parse_timestamp, Crs, Ping, WorkerId};

/// Why a CSV file could not be read at all (as opposed to a bad row, which is skipped).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The header lacks a required column.
    #[error("{source_name}: the header has no {column:?} column (found: {found}); required: worker (or worker_id), ts, lat, lon")]
    MissingColumn {
        /// The file.
        source_name: String,
        /// The missing column.
        column: &'static str,
        /// The columns the header does have.
        found: String,
    },
    /// The file is empty or its header cannot be read.
    #[error("{source_name}: {reason}")]
    Header {
        /// The file.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Reads pings from CSV text in `crs`, converting them to WGS84. Bad rows are returned as
/// errors beside the good pings.
///
/// # Errors
/// [`CsvError`] when the header is missing or lacks a required column.
pub fn read_pings<R: Read>(reader: R, source_name: &str, crs: Crs) -> Result<Decoded, CsvError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = rdr.headers().map_err(|e| CsvError::Header {
        source_name: source_name.to_string(),
        reason: format!("cannot read the header: {e}"),
    })?;
    if header.is_empty() {
        return Err(CsvError::Header {
            source_name: source_name.to_string(),
            reason: "the file is empty; expected a header such as worker,ts,lat,lon".into(),
        });
    }
    let cols = Columns::resolve(&header.iter().collect::<Vec<_>>()).map_err(|m| {
        CsvError::MissingColumn {
            source_name: source_name.to_string(),
            column: m.column,
            found: m.found,
        }
    })?;
    let mut out = Decoded::default();
    // Worker ids repeat on every row: intern them so a file allocates one id per worker.
    let mut last_worker: Option<WorkerId> = None;
    let mut record = csv::StringRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => match parse_row(&record, &cols, crs, &mut last_worker) {
                Ok(ping) => out.pings.push(ping),
                Err(reason) => out.errors.push(RecordError {
                    source: source_name.to_string(),
                    line: record.position().map_or(line, |p| p.line()),
                    reason,
                    worker: record
                        .get(cols.worker)
                        .map(str::trim)
                        .filter(|w| !w.is_empty())
                        .map(String::from),
                }),
            },
            Err(e) => out.errors.push(RecordError {
                source: source_name.to_string(),
                line: e.position().map_or(line, |p| p.line()),
                reason: format!("unreadable row: {e}"),
                worker: None,
            }),
        }
    }
    Ok(out)
}

fn parse_row(
    record: &csv::StringRecord,
    cols: &Columns,
    crs: Crs,
    last_worker: &mut Option<WorkerId>,
) -> Result<Ping, String> {
    let field = |i: usize, name: &str| {
        record
            .get(i)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("the {name} field is empty"))
    };
    let worker_text = field(cols.worker, "worker")?;
    let worker = match last_worker {
        Some(w) if w.as_str() == worker_text => w.clone(),
        _ => {
            let w = WorkerId::new(worker_text);
            *last_worker = Some(w.clone());
            w
        }
    };
    let ts = parse_timestamp(field(cols.ts, "ts")?).map_err(|e| e.to_string())?;
    let number = |i: usize, name: &str| -> Result<f64, String> {
        let text = field(i, name)?;
        text.parse::<f64>()
            .map_err(|_| format!("{name} {text:?} is not a number"))
    };
    let (lat, lon) = (number(cols.lat, "lat")?, number(cols.lon, "lon")?);
    check_position(lon, lat)?;
    let (lon, lat) = crs::to_wgs84(crs, lon, lat);
    let optional = |i: Option<usize>, name: &str| -> Result<Option<f32>, String> {
        match i.and_then(|i| record.get(i)).map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => match text.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(format!("{name} {text:?} is not a number")),
            },
        }
    };
    let acc_m = optional(cols.acc, "acc")?.filter(|a| *a > 0.0);
    let mock = match cols.mock.and_then(|i| record.get(i)).map(str::trim) {
        None | Some("") => false,
        Some(t) => parse_bool(t).ok_or_else(|| format!("mock {t:?} is not true/false"))?,
    };
    let checkin = cols
        .checkin
        .and_then(|i| record.get(i))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Arc::from);
    Ok(Ping {
        worker,
        ts,
        lon,
        lat,
        acc_m,
        speed_mps: optional(cols.speed, "speed")?,
        bearing_deg: optional(cols.bearing, "bearing")?,
        alt_m: optional(cols.alt, "alt")?,
        batt_pct: optional(cols.batt, "batt")?,
        mock,
        checkin,
        received: None,
    })
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "f" | "n" => Some(false),
        _ => None,
    }
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
        assert!(d.errors[1].reason.contains("lat"));
        assert!(d.errors[2].reason.contains("swapped"), "{}", d.errors[2]);
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
