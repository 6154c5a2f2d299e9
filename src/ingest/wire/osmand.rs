//! The OsmAnd protocol of Traccar Client: a query string, a form body, or the JSON body of
//! Traccar Client 9.x, with its timestamps, knots and conflicting parameters.

use chrono::{DateTime, NaiveDateTime, TimeZone};
use serde_json::Value;

use super::{field, kind, known, missing_device, object, scaled, Fix, WireError};
use crate::ingest::row::{parse_row, Field, RawRow, RecordFault, TsUnit};
use crate::model::Crs;

/// Metres per second in one knot: 1852 m per hour.
const MPS_PER_KNOT: f64 = 1852.0 / 3600.0;

/// The OsmAnd protocol (Traccar Client), `GET|POST /osmand`. `query`: the raw query string
/// (without `?`; may be `None` or empty); `content_type` and `body`: the request body; `tz`:
/// the configured time zone, for `yyyy-MM-dd HH:mm:ss` timestamps.
///
/// Fields come from the query string when it has any id or position field (`id`, `deviceid`,
/// `device_id`, `lat`, `lon`, `location`); else from the JSON body of Traccar Client 9.x when
/// the content type is JSON or the body starts with `{`; else from the body as a form
/// (`application/x-www-form-urlencoded`, percent-decoding with `+` as space).
///
/// Query and form fields: `id`|`deviceid`|`device_id`; `lat`/`lon` or `location=lat,lon`;
/// `timestamp` (see [`crate::ingest::wire`]); `speed` in knots; `bearing`|`heading`;
/// `altitude`; `accuracy`|`hacc` (0 is unknown); `batt` percent; `mock`. Empty values count as
/// absent. JSON body: `device_id`, `location.timestamp`, `location.coords.{latitude,
/// longitude, accuracy, speed (m/s), heading, altitude}`, `location.battery.level` (0..1, as
/// percent), `location.mock`; other fields (`is_moving`, `extras`, `_`, …) are ignored.
///
/// Returns the fix and the `token` parameter (from the query string, else the form body), which
/// protocol endpoints take as a parameter because the apps cannot set headers.
///
/// # Errors
/// `missing_device` without a device id; `no_position` when the request has no position (cell
/// or Wi-Fi only); `bad_json` for a JSON body that does not parse; otherwise the row rules'
/// codes (`bad_position`, `bad_number`, `bad_timestamp`, `timestamp_out_of_range`, …).
pub fn decode_osmand(
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    tz: chrono_tz::Tz,
) -> Result<(Fix, Option<String>), WireError> {
    let query = form_pairs(query.unwrap_or("").as_bytes());
    if query.iter().any(|(k, _)| is_fix_key(k)) {
        let fix = osmand_fields(&query, tz)?;
        return Ok((fix, token(&query)));
    }
    let ct = content_type.unwrap_or("").trim().to_ascii_lowercase();
    let is_form = ct.starts_with("application/x-www-form-urlencoded");
    let is_json = ct.starts_with("application/json") || ct.contains("+json");
    if !is_form && (is_json || body.trim_ascii_start().starts_with(b"{")) {
        let fix = osmand_json(body, tz)?;
        return Ok((fix, token(&query)));
    }
    let form = form_pairs(body);
    let fix = osmand_fields(&form, tz)?;
    Ok((fix, token(&query).or_else(|| token(&form))))
}

/// What an OsmAnd query string says before any body is read: its `token` parameter, and
/// whether it carries the fix itself (then the body is not read at all).
pub fn osmand_query(query: Option<&str>) -> (Option<String>, bool) {
    let pairs = form_pairs(query.unwrap_or("").as_bytes());
    (token(&pairs), pairs.iter().any(|(k, _)| is_fix_key(k)))
}

/// Keys that say a parameter list carries a fix.
fn is_fix_key(key: &str) -> bool {
    ["id", "deviceid", "device_id", "lat", "lon", "location"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
}

/// The `token` parameter, trimmed, when present and UTF-8.
fn token(pairs: &[(String, Vec<u8>)]) -> Option<String> {
    let v = get(pairs, &["token"])?;
    std::str::from_utf8(v).ok().map(|t| t.trim().to_string())
}

/// The first non-empty value (after trimming) of any of `keys` (ASCII case-insensitive).
fn get<'a>(pairs: &'a [(String, Vec<u8>)], keys: &[&str]) -> Option<&'a [u8]> {
    pairs
        .iter()
        .filter(|(k, _)| keys.iter().any(|key| key.eq_ignore_ascii_case(k)))
        .map(|(_, v)| v.trim_ascii())
        .find(|v| !v.is_empty())
}

/// Splits `a=1&b=2` into decoded pairs (`+` is a space, `%XX` a byte); the key is text (bad
/// UTF-8 replaced), the value bytes, so the row rules judge its encoding.
fn form_pairs(input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let input = input.strip_prefix(b"?").unwrap_or(input);
    input
        .split(|b| *b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            (
                String::from_utf8_lossy(&percent_decode(k)).into_owned(),
                percent_decode(v),
            )
        })
        .collect()
}

/// Decodes `application/x-www-form-urlencoded` bytes; a `%` not followed by two hex digits is
/// kept as it is.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let pair = s
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .zip(s.get(i + 2).copied().and_then(hex));
                if let Some((hi, lo)) = pair {
                    out.push(hi * 16 + lo);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The position missing.
fn no_position(how: &str) -> WireError {
    WireError::new(
        "no_position",
        format!("the request carries no position (cell or Wi-Fi data are not stored): send {how}"),
    )
}

/// The OsmAnd fields, each with its aliases: a field given twice with different values is
/// ambiguous (which latitude is the fix's?), so the request is refused rather than guessed.
const OSMAND_FIELDS: &[&[&str]] = &[
    &["id", "deviceid", "device_id"],
    &["lat"],
    &["lon"],
    &["location"],
    &["timestamp"],
    &["speed"],
    &["bearing", "heading"],
    &["altitude"],
    &["accuracy", "hacc"],
    &["batt"],
    &["mock"],
    &["token"],
];

/// Refuses a field given twice (or under two aliases) with different values.
fn no_conflicting_fields(pairs: &[(String, Vec<u8>)]) -> Result<(), WireError> {
    for keys in OSMAND_FIELDS {
        let mut values = pairs
            .iter()
            .filter(|(k, _)| keys.iter().any(|key| key.eq_ignore_ascii_case(k)))
            .map(|(_, v)| v.trim_ascii())
            .filter(|v| !v.is_empty());
        if let Some(first) = values.next() {
            if values.any(|v| v != first) {
                return Err(WireError {
                    code: "duplicate_parameter",
                    message: format!(
                        "{} is given more than once with different values: send it once",
                        keys.join("|")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// A fix from query-string or form fields.
fn osmand_fields(pairs: &[(String, Vec<u8>)], tz: chrono_tz::Tz) -> Result<Fix, WireError> {
    no_conflicting_fields(pairs)?;
    let id = get(pairs, &["id", "deviceid", "device_id"])
        .ok_or_else(|| missing_device("id=<device id> (or deviceid)"))?;
    let (lat, lon) = match (get(pairs, &["lat"]), get(pairs, &["lon"])) {
        (None, None) => {
            let loc = get(pairs, &["location"])
                .ok_or_else(|| no_position("lat and lon, or location=lat,lon"))?;
            let i = loc
                .iter()
                .position(|b| *b == b',')
                .ok_or_else(|| RecordFault::BadNumber {
                    field: "location",
                    value: crate::ingest::row::shown(&String::from_utf8_lossy(loc)),
                })?;
            (Field::Text(&loc[..i]), Field::Text(&loc[i + 1..]))
        }
        (lat, lon) => (text_field(lat), text_field(lon)),
    };
    let (ts, ts_unit) = match get(pairs, &["timestamp"]) {
        Some(t) => osmand_timestamp(Field::Text(t), tz),
        None => (Field::Null, TsUnit::Millis),
    };
    let has_ts = ts != Field::Null;
    let raw = RawRow {
        worker: Field::Text(id),
        // Without a timestamp the rules still need one; the fix says `None`.
        ts: if has_ts { ts } else { Field::Int(0) },
        ts_unit,
        lat,
        lon,
        acc: text_field(get(pairs, &["accuracy", "hacc"])),
        speed: text_field(get(pairs, &["speed"])),
        bearing: text_field(get(pairs, &["bearing", "heading"])),
        alt: text_field(get(pairs, &["altitude"])),
        batt: text_field(get(pairs, &["batt"])),
        mock: text_field(get(pairs, &["mock"])),
        checkin: Field::Null,
        // A sanitation vehicle's tracker (Traccar's `ignition`, and gridbeat's `work` and
        // `pressure` in MPa).
        work: text_field(get(pairs, &["work"])),
        pressure: text_field(get(pairs, &["pressure"])),
        ignition: text_field(get(pairs, &["ignition"])),
    };
    let row = parse_row(&raw, Crs::Wgs84)?;
    let mut fix = Fix::from_row(&row, has_ts.then_some(row.ts));
    fix.speed_mps = scaled(fix.speed_mps, MPS_PER_KNOT);
    fix.bearing_deg = known(fix.bearing_deg);
    Ok(fix)
}

/// A present value as text, an absent one as null.
fn text_field(v: Option<&[u8]>) -> Field<'_> {
    v.map_or(Field::Null, Field::Text)
}

/// Reads an OsmAnd timestamp (see [`crate::ingest::wire`]) into a field for the row rules.
fn osmand_timestamp(f: Field<'_>, tz: chrono_tz::Tz) -> (Field<'_>, TsUnit) {
    let seconds_or_ms = |n: i64| {
        if n < i64::from(i32::MAX) {
            n.saturating_mul(1000)
        } else {
            n
        }
    };
    let t = match f {
        Field::Int(n) => return (Field::Int(seconds_or_ms(n)), TsUnit::Millis),
        Field::Text(b) => match std::str::from_utf8(b) {
            Ok(t) => t.trim(),
            Err(_) => return (f, TsUnit::Auto),
        },
        other => return (other, TsUnit::Auto),
    };
    if let Ok(n) = t.parse::<i64>() {
        return (Field::Int(seconds_or_ms(n)), TsUnit::Millis);
    }
    if DateTime::parse_from_rfc3339(t).is_err() {
        if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z") {
            return (Field::Int(dt.timestamp_millis()), TsUnit::Millis);
        }
        if let Ok(local) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f") {
            if let Some(dt) = tz.from_local_datetime(&local).earliest() {
                return (Field::Int(dt.timestamp_millis()), TsUnit::Millis);
            }
        }
    }
    (f, TsUnit::Auto)
}

/// A fix from the JSON body of Traccar Client 9.x.
fn osmand_json(body: &[u8], tz: chrono_tz::Tz) -> Result<Fix, WireError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| {
        WireError::new(
            "bad_json",
            format!("the body is not the JSON of Traccar Client: {e}"),
        )
    })?;
    let Value::Object(root) = root else {
        return Err(WireError::new(
            "not_an_object",
            format!(
                "the body must be a JSON object with device_id and location; got {}",
                kind(&root)
            ),
        ));
    };
    let id_text = match root.get("device_id") {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    let id = id_text.ok_or_else(|| missing_device("\"device_id\" in the JSON body"))?;
    let location = object(root.get("location"), "location")?
        .ok_or_else(|| no_position("location.coords with latitude and longitude"))?;
    let coords = object(location.get("coords"), "coords")?
        .ok_or_else(|| no_position("location.coords with latitude and longitude"))?;
    let (ts, ts_unit) =
        osmand_timestamp(field(location.get("timestamp"), "ts", "a timestamp")?, tz);
    let has_ts = ts != Field::Null;
    let batt = match object(location.get("battery"), "battery")?.map(|b| b.get("level")) {
        None | Some(None) | Some(Some(Value::Null)) => Field::Null,
        Some(Some(Value::Number(n))) => match n.as_f64() {
            Some(level) if level >= 0.0 => Field::Float(level * 100.0),
            _ => Field::Null,
        },
        Some(Some(other)) => {
            return Err(RecordFault::WrongType {
                field: "batt",
                found: kind(other),
                expected: "a number (0..1)",
            }
            .into())
        }
    };
    let raw = RawRow {
        worker: Field::Text(id.as_bytes()),
        ts: if has_ts { ts } else { Field::Int(0) },
        ts_unit,
        lat: field(coords.get("latitude"), "lat", "a number")?,
        lon: field(coords.get("longitude"), "lon", "a number")?,
        acc: field(coords.get("accuracy"), "acc", "a number")?,
        speed: field(coords.get("speed"), "speed", "a number")?,
        bearing: field(coords.get("heading"), "bearing", "a number")?,
        alt: field(coords.get("altitude"), "alt", "a number")?,
        batt,
        mock: field(location.get("mock"), "mock", "a boolean")?,
        checkin: Field::Null,
        ..RawRow::default()
    };
    let row = parse_row(&raw, Crs::Wgs84)?;
    let mut fix = Fix::from_row(&row, has_ts.then_some(row.ts));
    fix.speed_mps = known(fix.speed_mps);
    fix.bearing_deg = known(fix.bearing_deg);
    Ok(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OSMAND: &str = include_str!("../../../../shared/data/protocols/osmand_requests.txt");
    const SHANGHAI: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn a_vehicle_tracker_sends_work_pressure_and_ignition() {
        let tz = chrono_tz::Asia::Shanghai;
        let q = "id=013900000001&lat=28.19&lon=112.97&timestamp=1759282200&work=1&pressure=0.25&ignition=false";
        let (fix, _) = decode_osmand(Some(q), None, b"", tz).unwrap();
        assert_eq!(
            (fix.work, fix.pressure_mpa, fix.ignition),
            (Some(true), Some(0.25), Some(false))
        );
        let (plain, _) = decode_osmand(Some("id=a&lat=28.19&lon=112.97"), None, b"", tz).unwrap();
        assert_eq!(
            (plain.work, plain.pressure_mpa, plain.ignition),
            (None, None, None)
        );
        let e =
            decode_osmand(Some("id=a&lat=28.19&lon=112.97&work=maybe"), None, b"", tz).unwrap_err();
        assert_eq!(e.code, "bad_bool", "{e}");
    }

    #[test]
    fn an_osmand_field_given_twice_with_different_values_is_refused() {
        let tz = chrono_tz::Asia::Shanghai;
        let base = "id=w-0001&lat=28.19&lon=112.97&timestamp=1759282200";
        for extra in [
            "&id=w-0002",
            "&lat=10",
            "&deviceid=w-0009",
            "&heading=3&bearing=4",
        ] {
            let e = decode_osmand(Some(&format!("{base}{extra}")), None, b"", tz).unwrap_err();
            assert_eq!(e.code, "duplicate_parameter", "{extra}: {e}");
        }
        // The same value twice, or an empty one, is not ambiguous.
        for extra in ["&lat=28.19", "&id=", "&deviceid=w-0001"] {
            let (fix, _) = decode_osmand(Some(&format!("{base}{extra}")), None, b"", tz).unwrap();
            assert_eq!(fix.id, "w-0001", "{extra}");
        }
    }

    /// Splits a line of `osmand_requests.txt` into (query, body): `/?q`, `http://host:port?q`
    /// or a JSON body.
    fn split_request(line: &str) -> (Option<&str>, &[u8]) {
        let line = line.trim();
        if line.starts_with('{') {
            return (None, line.as_bytes());
        }
        match line.split_once('?') {
            Some((_, q)) => (Some(q), b""),
            None => (None, b""),
        }
    }

    fn osmand(line: &str) -> Result<Fix, WireError> {
        let (query, body) = split_request(line);
        let ct = (!body.is_empty()).then_some("application/json");
        decode_osmand(query, ct, body, SHANGHAI).map(|(fix, _)| fix)
    }

    fn osmand_query(q: &str) -> Result<Fix, WireError> {
        decode_osmand(Some(q), None, b"", SHANGHAI).map(|(fix, _)| fix)
    }

    fn close(a: Option<f32>, b: f64) -> bool {
        a.is_some_and(|a| (f64::from(a) - b).abs() < 1e-4)
    }

    #[test]
    fn every_osmand_request_decodes() {
        type Expected = (&'static str, i64, f64, f64, Option<f64>, Option<f32>);
        // (id, ts ms, lat, lon, speed m/s, accuracy m); None: no id → missing_device.
        let expected: [Option<Expected>; 9] = [
            // 2025-06-15T13:45:12.862Z; JSON speed is m/s, heading -1 unknown, level 1 = 100 %.
            Some((
                "48241179",
                1_749_995_112_862,
                37.4219983,
                -122.084,
                Some(0.0),
                Some(5.0),
            )),
            Some((
                "48241179",
                1_749_995_112_862,
                37.4219983,
                -122.084,
                Some(0.0),
                Some(5.0),
            )),
            None,
            // 2016-01-27T18:55:47Z; hdop is not an accuracy.
            Some((
                "902064",
                1_453_920_947_000,
                42.06288,
                -88.23412,
                Some(0.0),
                None,
            )),
            Some((
                "902064",
                1_442_068_686_579,
                42.06288,
                -88.23412,
                Some(0.0),
                None,
            )),
            Some(("123456", 1_377_177_267_000, 60.0, 30.0, Some(0.0), None)),
            Some(("123456", 1_377_177_267_000, 60.0, 30.0, None, None)),
            Some(("123456", 1_377_177_267_000, 60.0, 30.0, None, None)),
            // accuracy=0.0 is unknown.
            Some((
                "123456789012345",
                619_315_200_000,
                0.0,
                0.0,
                Some(0.0),
                None,
            )),
        ];
        let lines: Vec<&str> = OSMAND.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), expected.len());
        for (line, want) in lines.iter().zip(expected) {
            let got = osmand(line);
            match want {
                None => assert_eq!(got.unwrap_err().code, "missing_device", "{line}"),
                Some((id, ts, lat, lon, speed, acc)) => {
                    let fix = got.unwrap_or_else(|e| panic!("{line}: {e}"));
                    assert_eq!(
                        (fix.id.as_str(), fix.ts, fix.lat, fix.lon, fix.acc_m),
                        (id, Some(ts), lat, lon, acc),
                        "{line}"
                    );
                    match speed {
                        Some(s) => assert!(close(fix.speed_mps, s), "{line}"),
                        None => assert_eq!(fix.speed_mps, None, "{line}"),
                    }
                }
            }
        }
        let json = osmand(lines[0]).unwrap();
        assert_eq!(
            (json.bearing_deg, json.alt_m, json.batt_pct, json.mock),
            (None, Some(5.0), Some(100.0), false)
        );
        let last = osmand(lines[8]).unwrap();
        assert_eq!((last.batt_pct, last.bearing_deg), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn osmand_speed_is_knots_and_location_is_lat_lon() {
        let fix = osmand_query("id=7&lat=28.2&lon=112.98&speed=10&bearing=-1&accuracy=12").unwrap();
        assert!(close(fix.speed_mps, 10.0 * 1852.0 / 3600.0));
        assert_eq!(
            (fix.bearing_deg, fix.acc_m, fix.ts),
            (None, Some(12.0), None)
        );
        let fix = osmand_query("id=7&location=60.0,30.0&hacc=4").unwrap();
        assert_eq!((fix.lat, fix.lon, fix.acc_m), (60.0, 30.0, Some(4.0)));
        assert_eq!(
            osmand_query("id=7&location=60.0").unwrap_err().code,
            "bad_number"
        );
        assert_eq!(
            osmand_query("deviceid=7&lat=28.2&lon=112.98&speed=fast")
                .unwrap_err()
                .code,
            "bad_number"
        );
        let fix = osmand_query("deviceid=7&lat=28.2&lon=112.98&mock=1&batt=55").unwrap();
        assert_eq!(
            (fix.id.as_str(), fix.mock, fix.batt_pct),
            ("7", true, Some(55.0))
        );
        assert_eq!(
            osmand_query("id=7&lat=28.2&lon=112.98&mock=maybe")
                .unwrap_err()
                .code,
            "bad_bool"
        );
    }

    #[test]
    fn osmand_local_and_iso_timestamps() {
        // 2026-10-08 09:30:00 in Asia/Shanghai = 2026-10-08T01:30:00Z.
        for ts in ["2026-10-08%2009:30:00", "2026-10-08+09:30:00"] {
            let fix = osmand_query(&format!("id=7&lat=28.2&lon=112.98&timestamp={ts}")).unwrap();
            assert_eq!(fix.ts, Some(1_791_423_000_000), "{ts}");
        }
        let fix =
            osmand_query("id=7&lat=28.2&lon=112.98&timestamp=2026-10-08T09:30:00%2B0800").unwrap();
        assert_eq!(fix.ts, Some(1_791_423_000_000));
        let fix =
            osmand_query("id=7&lat=28.2&lon=112.98&timestamp=2026-10-08T01%3A30%3A00Z").unwrap();
        assert_eq!(fix.ts, Some(1_791_423_000_000));
        // Seconds up to 2^31 - 1, milliseconds above.
        let fix = osmand_query("id=7&lat=28.2&lon=112.98&timestamp=1791423000").unwrap();
        assert_eq!(fix.ts, Some(1_791_423_000_000));
        let e = osmand_query("id=7&lat=28.2&lon=112.98&timestamp=yesterday").unwrap_err();
        assert_eq!(e.code, "bad_timestamp");
        let e = osmand_query("id=7&lat=28.2&lon=112.98&timestamp=-5").unwrap_err();
        assert_eq!(e.code, "timestamp_out_of_range");
    }

    #[test]
    fn osmand_refusals() {
        let e = osmand_query("id=1&cid=1234&lac=5678&mcc=250&mnc=1").unwrap_err();
        assert_eq!(e.code, "no_position");
        let e = osmand_query("id=1&lat=112.98&lon=28.2").unwrap_err();
        assert_eq!(e.code, "bad_position");
        let e = osmand_query("lat=28.2&lon=112.98").unwrap_err();
        assert_eq!(e.code, "missing_device");
        let e = decode_osmand(None, Some("application/json"), b"{oops", SHANGHAI).unwrap_err();
        assert_eq!(e.code, "bad_json");
    }

    #[test]
    fn osmand_form_body_and_token() {
        let body = b"id=9&lat=28.2&lon=112.98&timestamp=1791423000&token=abc";
        let (fix, token) = decode_osmand(
            None,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            body,
            SHANGHAI,
        )
        .unwrap();
        assert_eq!((fix.id.as_str(), fix.ts), ("9", Some(1_791_423_000_000)));
        assert_eq!(token.as_deref(), Some("abc"));
        // The token may sit in the query string while the fix is in the body.
        let (_, token) = decode_osmand(Some("token=t%2B1"), None, body, SHANGHAI).unwrap();
        assert_eq!(token.as_deref(), Some("t+1"));
    }

    #[test]
    fn the_osmand_query_says_its_token_and_whether_it_has_the_fix() {
        assert_eq!(
            super::osmand_query(Some("id=a&lat=1&lon=2&token=t")),
            (Some("t".into()), true)
        );
        assert_eq!(
            super::osmand_query(Some("token=t")),
            (Some("t".into()), false)
        );
        assert_eq!(super::osmand_query(None), (None, false));
    }
}
