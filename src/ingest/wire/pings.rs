//! `POST /api/v1/pings`: a JSON array or NDJSON of DESIGN.md §5.1 pings, decoded one record at
//! a time so that the record limit bounds the memory a body can take.

use serde_json::Value;

use super::{field, kind, BatchError, Fix, WireError};
use crate::ingest::row::{parse_row, Field, RawRow, TsUnit};
use crate::model::Crs;

/// `POST /api/v1/pings`: a JSON array of DESIGN.md §5.1 objects, or NDJSON (one object per
/// line; blank lines ignored). `ndjson` says whether the Content-Type declared NDJSON; when it
/// is false but the body does not start with `[` (after white space and a BOM), the body is
/// read as NDJSON too (a single object is a one-line NDJSON body).
///
/// Entry `i` of the answer is record `i`: the array's element `i`, or the `i`-th **non-blank**
/// line of NDJSON (0-based; blank lines are not records and take no index). A record is
/// decoded with the row rules; its own `crs` (`wgs84|gcj02|bd09`) overrides `crs_default`.
///
/// # Errors
/// Only when the body as a whole cannot be read: not UTF-8, or an array that does not parse
/// (`bad_json`); empty or only white space (`empty_body`). A bad NDJSON line is that record's
/// `bad_json`, and the other lines still decode.
pub fn decode_pings(
    body: &[u8],
    ndjson: bool,
    crs_default: Crs,
) -> Result<Vec<Result<Fix, WireError>>, WireError> {
    decode_pings_max(body, ndjson, crs_default, usize::MAX).map_err(|e| match e {
        BatchError::Unreadable(e) => e,
        // Not reached: no body holds more than usize::MAX records.
        e @ BatchError::TooManyRecords { .. } => WireError::new(e.code(), e.to_string()),
    })
}

/// [`decode_pings`] of at most `max_records` records: the records are decoded one at a time
/// as the body is read (an array element, an NDJSON line), and the decoder stops at record
/// `max_records + 1` with `too_many_records`, so the memory a body can take is bounded by
/// `max_records`, not by how many records it holds.
///
/// # Errors
/// As [`decode_pings`] ([`BatchError::Unreadable`]), and [`BatchError::TooManyRecords`]
/// past `max_records` (before the rest of the body is even looked at).
pub fn decode_pings_max(
    body: &[u8],
    ndjson: bool,
    crs_default: Crs,
    max_records: usize,
) -> Result<Vec<Result<Fix, WireError>>, BatchError> {
    use serde::de::DeserializeSeed;
    let text = std::str::from_utf8(body).map_err(|e| {
        WireError::new(
            "bad_json",
            format!(
                "the body is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = text.trim_start();
    if start.is_empty() {
        return Err(WireError::new(
            "empty_body",
            "the body is empty: send a JSON array of pings or NDJSON, one ping per line",
        )
        .into());
    }
    let too_many = || BatchError::TooManyRecords { max: max_records };
    let mut out = Vec::new();
    if !ndjson && start.starts_with('[') {
        let mut over = false;
        let mut de = serde_json::Deserializer::from_str(start);
        let read = Records {
            crs: crs_default,
            max: max_records,
            out: &mut out,
            over: &mut over,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if over {
            return Err(too_many());
        }
        read.map_err(|e| {
            WireError::new(
                "bad_json",
                format!("the body is not a JSON array of pings: {e}"),
            )
        })?;
        return Ok(out);
    }
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if i >= max_records {
            return Err(too_many());
        }
        out.push(match serde_json::from_str::<Value>(line) {
            Ok(v) => ping(&v, crs_default),
            Err(e) => Err(WireError::new(
                "bad_json",
                format!("record {i} is not a JSON object: {e}"),
            )),
        });
    }
    Ok(out)
}

/// The elements of a JSON array of pings, decoded one by one as the parser reaches them.
struct Records<'o> {
    crs: Crs,
    max: usize,
    out: &'o mut Vec<Result<Fix, WireError>>,
    over: &'o mut bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for Records<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of pings")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            if self.out.len() >= self.max {
                *self.over = true;
                return Err(serde::de::Error::custom("too many records"));
            }
            self.out.push(ping(&v, self.crs));
        }
        Ok(())
    }
}

/// One §5.1 record.
fn ping(v: &Value, crs_default: Crs) -> Result<Fix, WireError> {
    let Value::Object(obj) = v else {
        return Err(WireError::new(
            "not_an_object",
            format!(
                "a ping is a JSON object with worker, ts, lat and lon; got {}",
                kind(v)
            ),
        ));
    };
    let crs = match obj.get("crs") {
        None | Some(Value::Null) => crs_default,
        Some(Value::String(s)) => s
            .parse::<Crs>()
            .map_err(|message| WireError::new("bad_crs", message))?,
        Some(other) => {
            return Err(WireError::new(
                "bad_crs",
                format!(
                    "crs must be text (wgs84, gcj02 or bd09), got {}",
                    kind(other)
                ),
            ))
        }
    };
    // An integer worker id is taken as its decimal text.
    let worker_text = match obj.get("worker") {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    };
    let worker = match &worker_text {
        Some(t) => Field::Text(t.as_bytes()),
        // A vehicle's ping names its vehicle instead of a worker.
        None => field(
            obj.get("worker").or_else(|| obj.get("vehicle")),
            "worker",
            "text",
        )?,
    };
    let raw = RawRow {
        worker,
        ts: field(obj.get("ts"), "ts", "a timestamp")?,
        ts_unit: TsUnit::Auto,
        lat: field(obj.get("lat"), "lat", "a number")?,
        lon: field(obj.get("lon"), "lon", "a number")?,
        acc: field(obj.get("acc"), "acc", "a number")?,
        speed: field(obj.get("speed"), "speed", "a number")?,
        bearing: field(obj.get("bearing"), "bearing", "a number")?,
        alt: field(obj.get("alt"), "alt", "a number")?,
        batt: field(obj.get("batt"), "batt", "a number")?,
        mock: field(obj.get("mock"), "mock", "a boolean")?,
        checkin: field(obj.get("checkin"), "checkin", "text")?,
        work: field(obj.get("work"), "work", "a boolean")?,
        pressure: field(obj.get("pressure"), "pressure", "a number")?,
        ignition: field(obj.get("ignition"), "ignition", "a boolean")?,
    };
    let row = parse_row(&raw, crs)?;
    Ok(Fix::from_row(&row, Some(row.ts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_PING: &str = r#"{"worker": "w-0042", "ts": "2026-10-08T09:30:00+08:00", "lat": 28.2012, "lon": 112.9811,
 "acc": 8.5, "speed": 1.3, "bearing": 270, "alt": 51, "batt": 76,
 "crs": "wgs84", "mock": false, "checkin": "cp-113"}"#;

    #[test]
    fn a_vehicle_ping_names_its_vehicle_and_carries_work_pressure_and_ignition() {
        let body = r#"[{"vehicle": "v-01", "ts": 1791423000, "lat": 28.2, "lon": 112.98,
            "work": true, "pressure": 0.3, "ignition": 1}]"#;
        let out = decode_pings(body.as_bytes(), false, Crs::Wgs84).unwrap();
        let fix = out[0].as_ref().unwrap();
        assert_eq!(fix.id, "v-01");
        assert_eq!(
            (fix.work, fix.pressure_mpa, fix.ignition),
            (Some(true), Some(0.3), Some(true))
        );
        let bad = r#"[{"vehicle": "v-01", "ts": 1791423000, "lat": 28.2, "lon": 112.98, "pressure": "high"}]"#;
        let out = decode_pings(bad.as_bytes(), false, Crs::Wgs84).unwrap();
        assert!(out[0].is_err(), "{out:?}");
    }

    #[test]
    fn the_design_ping_decodes() {
        let body = format!("[{DESIGN_PING}]");
        let out = decode_pings(body.as_bytes(), false, Crs::Wgs84).unwrap();
        let want = Fix {
            id: "w-0042".into(),
            ts: Some(1_791_423_000_000),
            lon: 112.9811,
            lat: 28.2012,
            acc_m: Some(8.5),
            speed_mps: Some(1.3),
            bearing_deg: Some(270.0),
            alt_m: Some(51.0),
            batt_pct: Some(76.0),
            mock: false,
            checkin: Some("cp-113".into()),
            work: None,
            pressure_mpa: None,
            ignition: None,
        };
        assert_eq!(out, vec![Ok(want.clone())]);
        // The same object alone, without the NDJSON flag, is a one-line NDJSON body
        // (white space inside the object spans lines, so flatten it first).
        let one = DESIGN_PING.replace('\n', " ");
        assert_eq!(
            decode_pings(one.as_bytes(), false, Crs::Wgs84).unwrap(),
            vec![Ok(want)]
        );
    }

    fn codes(out: &[Result<Fix, WireError>]) -> Vec<&'static str> {
        out.iter()
            .map(|r| r.as_ref().map_or_else(|e| e.code, |_| "ok"))
            .collect()
    }

    #[test]
    fn an_array_keeps_its_good_records() {
        let body = r#"[
            {"worker":"w1","ts":1791423000,"lat":28.2,"lon":112.98},
            {"worker":"w1","ts":1791423001,"lat":112.98,"lon":28.2},
            {"ts":1791423002,"lat":28.2,"lon":112.98},
            {"worker":"w1","ts":-86400,"lat":28.2,"lon":112.98},
            {"worker":"w1","ts":1791423003,"lat":"NaN","lon":112.98},
            17,
            {"worker":42,"ts":1791423004000,"lat":28.2,"lon":112.98},
            {"worker":"w1","ts":1791423005,"lat":28.2,"lon":112.98,"crs":"mars"},
            {"worker":"w1","ts":1791423006,"lat":28.2,"lon":112.98,"acc":[1]},
            {"worker":true,"ts":1791423007,"lat":28.2,"lon":112.98}
        ]"#;
        let out = decode_pings(body.as_bytes(), false, Crs::Wgs84).unwrap();
        assert_eq!(
            codes(&out),
            [
                "ok",
                "bad_position",
                "missing_field",
                "timestamp_out_of_range",
                "bad_number",
                "not_an_object",
                "ok",
                "bad_crs",
                "wrong_type",
                "wrong_type",
            ]
        );
        let numeric = out[6].as_ref().unwrap();
        assert_eq!(
            (numeric.id.as_str(), numeric.ts),
            ("42", Some(1_791_423_004_000))
        );
        // Pre-1970 as text is refused the same way.
        let body = br#"[{"worker":"w","ts":"1969-12-31T23:59:59Z","lat":28.2,"lon":112.98}]"#;
        let out = decode_pings(body, false, Crs::Wgs84).unwrap();
        assert_eq!(codes(&out), ["timestamp_out_of_range"]);
    }

    #[test]
    fn ndjson_keeps_the_good_lines() {
        let body = "{\"worker\":\"w1\",\"ts\":1791423000,\"lat\":28.2,\"lon\":112.98}\r\n\
                    \n\
                    {\"worker\":\"w1\",\"ts\":1791423001,\"lat\":NaN,\"lon\":112.98}\n\
                    {\"worker\":\"w1\",\"ts\":1791423002,\"lat\":28.2,\"lon\":112.98,\"crs\":\"gcj02\"}\n";
        let out = decode_pings(body.as_bytes(), true, Crs::Wgs84).unwrap();
        // Three records: the blank line takes no index.
        assert_eq!(codes(&out), ["ok", "bad_json", "ok"]);
        let gcj = out[2].as_ref().unwrap();
        assert!(
            gcj.lon < 112.98 && gcj.lat > 28.2,
            "converted from GCJ-02: {gcj:?}"
        );
        // A default CRS applies when the record names none.
        let out = decode_pings(body.as_bytes(), true, Crs::Gcj02).unwrap();
        assert_ne!(out[0].as_ref().unwrap().lon, 112.98);
    }

    #[test]
    fn bodies_that_cannot_be_read() {
        let code = |b: &[u8], nd| decode_pings(b, nd, Crs::Wgs84).unwrap_err().code;
        assert_eq!(code(b"", false), "empty_body");
        assert_eq!(code(b" \n\r\n ", true), "empty_body");
        assert_eq!(code(b"[{\"worker\":", false), "bad_json");
        assert_eq!(code(b"[{\"lat\": NaN}]", false), "bad_json");
        assert_eq!(code(b"\xff\xfe", true), "bad_json");
        assert_eq!(decode_pings(b"[]", false, Crs::Wgs84).unwrap(), vec![]);
    }

    #[test]
    fn the_decoder_stops_at_the_record_past_the_limit() {
        // Four records then a syntax error: a decoder that read the whole array first would
        // answer bad_json; one that counts while reading stops at record 4 of at most 3.
        let code = |b: &[u8], nd| decode_pings_max(b, nd, Crs::Wgs84, 3).unwrap_err().code();
        assert_eq!(code(b"[0,0,0,0 garbage", false), "too_many_records");
        assert_eq!(
            code(b"{}\n{}\n\n{}\n{}\n{ garbage", true),
            "too_many_records"
        );
        // At the limit the records are all there.
        let three = decode_pings_max(b"[0,0,0]", false, Crs::Wgs84, 3).unwrap();
        assert_eq!(three.len(), 3);
        assert_eq!(three[2].as_ref().unwrap_err().code, "not_an_object");
        // 8 million zeros (16 MB) stop at the 50,001st.
        let mut bomb = b"[0".to_vec();
        bomb.extend(std::iter::repeat_n(&b",0"[..], 8_000_000 - 1).flatten());
        bomb.push(b']');
        assert_eq!(
            decode_pings_max(&bomb, false, Crs::Wgs84, 50_000)
                .unwrap_err()
                .code(),
            "too_many_records"
        );
    }

    #[test]
    fn a_long_worker_id_is_too_long_and_not_echoed_whole() {
        let long = "w".repeat(10 * 1024 * 1024);
        let body = format!(r#"[{{"worker":"{long}","ts":1791423000000,"lat":28.2,"lon":112.98}}]"#);
        let out = decode_pings(body.as_bytes(), false, Crs::Wgs84).unwrap();
        let e = out[0].as_ref().unwrap_err();
        assert_eq!(e.code, "too_long");
        assert!(e.message.len() < 300, "{} bytes", e.message.len());
        let ok = format!(
            r#"[{{"worker":"{}","ts":1791423000000,"lat":28.2,"lon":112.98}}]"#,
            "w".repeat(128)
        );
        assert!(decode_pings(ok.as_bytes(), false, Crs::Wgs84).unwrap()[0].is_ok());
    }
}
