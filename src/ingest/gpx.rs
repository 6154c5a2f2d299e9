//! Pings from GPX 1.0/1.1: every track point (and route or waypoint with a time) of a file,
//! all for one worker, since GPX does not say whose phone recorded it.

use std::io::Read;

use super::{check_position, Decoded, RecordError};
use crate::crs;
use crate::model::{parse_timestamp, Crs, Ping, WorkerId};

/// Why a GPX file could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: not a readable GPX file: {reason}")]
pub struct GpxError {
    /// The file.
    pub source_name: String,
    /// The parser's message.
    pub reason: String,
}

/// Reads the track points of a GPX document as pings of `worker`. Points without a time are
/// reported as bad records (a patrol needs timestamps) and skipped.
///
/// # Errors
/// [`GpxError`] when the document is not GPX.
pub fn read_pings<R: Read>(
    reader: R,
    source_name: &str,
    worker: &WorkerId,
    crs: Crs,
) -> Result<Decoded, GpxError> {
    let doc = gpx::read(reader).map_err(|e| GpxError {
        source_name: source_name.to_string(),
        reason: e.to_string(),
    })?;
    let mut out = Decoded::default();
    let points = doc
        .tracks
        .iter()
        .flat_map(|t| t.segments.iter())
        .flat_map(|s| s.points.iter())
        .chain(doc.routes.iter().flat_map(|r| r.points.iter()));
    for (n, wpt) in points.enumerate() {
        let record = n as u64 + 1;
        let bad = |reason: String| RecordError {
            source: source_name.to_string(),
            line: record,
            reason: format!("track point {record}: {reason}"),
            worker: Some(worker.to_string()),
        };
        let p = wpt.point();
        let (lon, lat) = (p.x(), p.y());
        if let Err(reason) = check_position(lon, lat) {
            out.errors.push(bad(reason));
            continue;
        }
        let Some(time) = wpt.time else {
            out.errors.push(bad("has no <time>".into()));
            continue;
        };
        let ts = match time
            .format()
            .map_err(|e| e.to_string())
            .and_then(|t| parse_timestamp(&t).map_err(|e| e.to_string()))
        {
            Ok(ts) => ts,
            Err(reason) => {
                out.errors.push(bad(reason));
                continue;
            }
        };
        let (lon, lat) = crs::to_wgs84(crs, lon, lat);
        let mut ping = Ping::new(worker.clone(), ts, lon, lat);
        ping.alt_m = wpt.elevation.map(|e| e as f32);
        ping.speed_mps = wpt.speed.map(|s| s as f32);
        // GPX carries no accuracy; horizontal dilution is not metres, so it stays unknown.
        out.pings.push(ping);
    }
    Ok(out)
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
        assert!(
            d.errors[0].to_string().contains("track point 2")
                && d.errors[0].reason.contains("<time>")
        );
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
