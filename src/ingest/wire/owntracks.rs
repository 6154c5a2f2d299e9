//! OwnTracks HTTP mode: one JSON message per request; a `location` message is a fix.

use serde_json::Value;

use super::{field, kind, known, missing_device, scaled, Fix, WireError};
use crate::ingest::row::{parse_row, Field, RawRow, TsUnit};
use crate::model::Crs;

/// Metres per second in one km/h.
const MPS_PER_KMH: f64 = 1000.0 / 3600.0;

/// OwnTracks HTTP mode, `POST /owntracks`: one JSON message. `user`: the device id, from
/// `X-Limit-U` or the Basic-auth user.
///
/// A `location` message gives a fix: `tst` (Unix seconds, required), `lat`, `lon` (required),
/// `acc` m, `alt` m, `vel` km/h (to m/s), `cog` degrees (bearing), `batt` percent. Any other
/// `_type` is accepted and ignored: `Ok(None)`.
///
/// # Errors
/// `bad_json` when the body is not JSON; `bad_message` when it is not an object with a text
/// `_type`; `missing_device` without a user; for a location, the row rules' codes
/// (`missing_field` for a missing `tst`, `lat` or `lon`, `bad_position`, …).
pub fn decode_owntracks(body: &[u8], user: Option<&str>) -> Result<Option<Fix>, WireError> {
    let msg: Value = serde_json::from_slice(body).map_err(|e| {
        WireError::new(
            "bad_json",
            format!("the body is not an OwnTracks JSON message: {e}"),
        )
    })?;
    let bad_message = |what: String| {
        WireError::new(
            "bad_message",
            format!("an OwnTracks message is a JSON object with a text _type; {what}"),
        )
    };
    let Value::Object(msg) = msg else {
        return Err(bad_message(format!("got {}", kind(&msg))));
    };
    let user = user
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| missing_device("the device's user in X-Limit-U or Basic auth"))?;
    match msg.get("_type") {
        Some(Value::String(t)) if t == "location" => {}
        Some(Value::String(_)) => return Ok(None),
        None | Some(Value::Null) => return Err(bad_message("_type is missing".into())),
        Some(other) => return Err(bad_message(format!("_type is {}", kind(other)))),
    }
    let (ts, ts_unit) = match field(msg.get("tst"), "ts", "Unix seconds")? {
        Field::Int(s) => (Field::Int(s.saturating_mul(1000)), TsUnit::Millis),
        Field::Float(s) => (Field::Float(s * 1000.0), TsUnit::Millis),
        other => (other, TsUnit::Auto),
    };
    let raw = RawRow {
        worker: Field::Text(user.as_bytes()),
        ts,
        ts_unit,
        lat: field(msg.get("lat"), "lat", "a number")?,
        lon: field(msg.get("lon"), "lon", "a number")?,
        acc: field(msg.get("acc"), "acc", "a number")?,
        speed: field(msg.get("vel"), "speed", "a number")?,
        bearing: field(msg.get("cog"), "bearing", "a number")?,
        alt: field(msg.get("alt"), "alt", "a number")?,
        batt: field(msg.get("batt"), "batt", "a number")?,
        mock: Field::Null,
        checkin: Field::Null,
        ..RawRow::default()
    };
    let row = parse_row(&raw, Crs::Wgs84)?;
    let mut fix = Fix::from_row(&row, Some(row.ts));
    fix.speed_mps = scaled(fix.speed_mps, MPS_PER_KMH);
    fix.bearing_deg = known(fix.bearing_deg);
    Ok(Some(fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNTRACKS: &str =
        include_str!("../../../../shared/data/protocols/owntracks_messages.jsonl");

    fn close(a: Option<f32>, b: f64) -> bool {
        a.is_some_and(|a| (f64::from(a) - b).abs() < 1e-4)
    }

    #[test]
    fn every_owntracks_message_decodes() {
        let lines: Vec<&str> = OWNTRACKS.lines().filter(|l| !l.trim().is_empty()).collect();
        // (ts ms, lat, lon, vel km/h, acc m)
        let expected = [
            (1_551_874_878_000, 46.0681247, 11.1512805, 0.0, 15.0),
            (1_497_349_316_000, 48.85833, 2.29513, 61.0, 5.0),
        ];
        assert_eq!(lines.len(), expected.len());
        for (line, (ts, lat, lon, vel, acc)) in lines.iter().zip(expected) {
            let fix = decode_owntracks(line.as_bytes(), Some("phone-1"))
                .unwrap_or_else(|e| panic!("{line}: {e}"))
                .unwrap_or_else(|| panic!("{line}: not a location"));
            assert_eq!(
                (fix.id.as_str(), fix.ts, fix.lat, fix.lon, fix.acc_m),
                ("phone-1", Some(ts), lat, lon, Some(acc)),
                "{line}"
            );
            assert!(close(fix.speed_mps, vel / 3.6), "{line}");
        }
        let second = decode_owntracks(lines[1].as_bytes(), Some("u"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (second.bearing_deg, second.batt_pct, second.alt_m),
            (Some(271.0), Some(67.0), Some(167.0))
        );
    }

    #[test]
    fn owntracks_other_types_and_refusals() {
        let ok = |b: &str| decode_owntracks(b.as_bytes(), Some("u"));
        assert_eq!(ok(r#"{"_type":"transition","event":"enter"}"#), Ok(None));
        assert_eq!(
            ok(r#"{"lat":1,"lon":2,"tst":1}"#).unwrap_err().code,
            "bad_message"
        );
        assert_eq!(ok("not json").unwrap_err().code, "bad_json");
        assert_eq!(
            ok(r#"{"_type":"location","lat":1,"lon":2}"#)
                .unwrap_err()
                .code,
            "missing_field"
        );
        let e =
            decode_owntracks(br#"{"_type":"location","lat":1,"lon":2,"tst":1}"#, None).unwrap_err();
        assert_eq!(e.code, "missing_device");
    }
}
