//! Pings from GPX 1.0/1.1: every track point (and route point) of a file, all for one worker,
//! since GPX does not say whose phone recorded it. Each point goes through the one set of row
//! rules ([`super::row`]) with its position, `<time>`, `<ele>` (altitude) and `<speed>`; a
//! point without a time is a bad record (`missing_field`), numbered by its place among the
//! file's points (from 1).

use std::io::Read;
use std::sync::Arc;

use super::row::{Field, RawRow, TsUnit};
use super::{Decoded, IngestError, PingTable, ReadOptions};
use crate::model::{Crs, WorkerId};

/// Reads a GPX document into `table` as the pings of `worker`.
pub(crate) fn read_into<R: Read>(
    table: &mut PingTable,
    reader: R,
    source_name: &str,
    worker: &str,
    opts: &ReadOptions,
) -> Result<(), IngestError> {
    let doc = gpx::read(reader).map_err(|e| IngestError::NotGpx {
        source_name: source_name.to_string(),
        reason: e.to_string(),
    })?;
    let source: Arc<str> = Arc::from(source_name);
    let filter = opts.filter();
    let points = doc
        .tracks
        .iter()
        .flat_map(|t| t.segments.iter())
        .flat_map(|s| s.points.iter())
        .chain(doc.routes.iter().flat_map(|r| r.points.iter()));
    for (n, wpt) in points.enumerate() {
        table.rows_scanned += 1;
        let p = wpt.point();
        // A time the gpx crate cannot format is passed on as unreadable text.
        let time = wpt
            .time
            .map(|t| t.format().unwrap_or_else(|e| format!("unreadable: {e}")));
        let raw = RawRow {
            worker: Field::Text(worker.as_bytes()),
            ts: time
                .as_deref()
                .map_or(Field::Null, |t| Field::Text(t.as_bytes())),
            ts_unit: TsUnit::Auto,
            lat: Field::Float(p.y()),
            lon: Field::Float(p.x()),
            alt: wpt.elevation.map_or(Field::Null, Field::Float),
            speed: wpt.speed.map_or(Field::Null, Field::Float),
            // GPX carries no accuracy; horizontal dilution is not metres, so it stays unknown.
            ..RawRow::default()
        };
        table.accept(&raw, &filter, &source, n as u64 + 1)?;
    }
    Ok(())
}

/// Reads the track points of a GPX document as pings of `worker`, in `crs`. Points without a
/// time are reported as bad records (a patrol needs timestamps) and skipped.
///
/// # Errors
/// [`IngestError::NotGpx`] when the document is not GPX.
pub fn read_pings<R: Read>(
    reader: R,
    source_name: &str,
    worker: &WorkerId,
    crs: Crs,
) -> Result<Decoded, IngestError> {
    let mut table = PingTable::new();
    let opts = ReadOptions {
        crs,
        ..ReadOptions::default()
    };
    table.read_gpx(reader, source_name, worker.as_str(), &opts)?;
    Ok(table.into_decoded())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_points_with_time_and_reports_those_without() {
        let text = r#"<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><trkseg>
  <trkpt lat="28.2" lon="112.98"><ele>50</ele><time>2026-10-08T01:30:00Z</time></trkpt>
  <trkpt lat="28.2001" lon="112.9801"></trkpt>
  <trkpt lat="28.2002" lon="112.9802"><time>2026-10-08T01:30:20Z</time></trkpt>
 </trkseg></trk>
</gpx>"#;
        let w = WorkerId::new("w1");
        let d = read_pings(text.as_bytes(), "t.gpx", &w, Crs::Wgs84).unwrap();
        assert_eq!(d.pings.len(), 2);
        assert_eq!(d.pings[0].ts, 1_791_423_000_000);
        assert_eq!(d.pings[0].alt_m, Some(50.0));
        assert_eq!((d.pings[1].lon, d.pings[1].lat), (112.9802, 28.2002));
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].line, 2, "the second point");
        assert_eq!(d.errors[0].code(), "missing_field");
        assert!(d.errors[0].to_string().starts_with("t.gpx:2: the ts field"));
    }

    #[test]
    fn a_non_gpx_file_is_an_error() {
        let e = read_pings(
            "worker,ts".as_bytes(),
            "x.gpx",
            &WorkerId::new("w"),
            Crs::Wgs84,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("x.gpx: not a readable GPX file"));
    }
}
