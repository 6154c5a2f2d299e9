//! The HTTP doors' decoders (DESIGN.md §5.4): what phones send over the wire, decoded and
//! validated into [`Fix`]es. Pure functions: no HTTP types, no I/O; the server passes in the
//! query string, the content type and the body, and maps the answers to responses.
//!
//! - [`decode_pings`]: `POST /api/v1/pings`, a JSON array or NDJSON of §5.1 pings.
//! - [`decode_osmand`]: the OsmAnd protocol of Traccar Client (query string, form body, or the
//!   JSON body of Traccar Client 9.x).
//! - [`decode_owntracks`]: OwnTracks HTTP mode.
//!
//! Every record goes through the one set of row rules ([`parse_row`]): each protocol only maps
//! its fields onto a [`RawRow`] (JSON numbers as [`Field::Int`]/[`Field::Float`], strings as
//! [`Field::Text`], booleans as [`Field::Bool`], null or absent as [`Field::Null`]), so a
//! record is good or bad, and its fault has the same [`RecordFault::code`], whichever door it
//! came through. Unit conversions (OsmAnd knots, OwnTracks km/h, Traccar battery fractions)
//! are applied to the values the rules accepted.
//!
//! Decisions:
//! - A §5.1 `worker` given as a JSON integer is taken as its decimal text (device and worker
//!   ids are often numeric); any other non-text worker is `wrong_type`.
//! - A field holding a JSON array or object is `wrong_type`, reported before the row rules
//!   run.
//! - The speed of the Traccar Client 9.x JSON body (`location.coords.speed`) is in **m/s**
//!   (the background-geolocation plugin reports m/s; Traccar's server converts it with
//!   `knotsFromMps`), while the query string's `speed` is in knots. In the protocols
//!   (OsmAnd, OwnTracks) a negative speed or bearing (`-1`) means unknown and becomes `None`.
//! - OsmAnd `timestamp`: an integer is Unix seconds below 2^31 − 1, else milliseconds (as
//!   Traccar reads it); `yyyy-MM-dd HH:mm:ss` (fractions allowed) is local time in the
//!   configured zone (a time skipped by a DST change is `bad_timestamp`, a repeated one takes
//!   the earlier instant); ISO 8601 with an offset (`Z`, `+08:00`, `+0800`) is read as such;
//!   anything else goes to the row rules (RFC 3339, fractional Unix seconds, else
//!   `bad_timestamp`).

use chrono::{DateTime, NaiveDateTime, TimeZone};
use serde_json::{Map, Value};

use super::row::{parse_row, Field, ParsedRow, RawRow, RecordFault, TsUnit};
use crate::model::{Crs, UnixMs};

/// Metres per second in one knot: 1852 m per hour.
const MPS_PER_KNOT: f64 = 1852.0 / 3600.0;
/// Metres per second in one km/h.
const MPS_PER_KMH: f64 = 1000.0 / 3600.0;

/// One position as a client sent it, decoded and validated, already WGS84.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    /// The worker id (gridbeat JSON) or the device id (OsmAnd `id`/`deviceid`/`device_id`,
    /// OwnTracks user) — the server maps devices to workers.
    pub id: String,
    /// When the fix was taken, UTC ms. `None`: the request had no timestamp; the server takes
    /// the receipt time.
    pub ts: Option<UnixMs>,
    /// Longitude, degrees (WGS84).
    pub lon: f64,
    /// Latitude, degrees (WGS84).
    pub lat: f64,
    /// Reported accuracy, metres; `None` when absent or 0 (unknown).
    pub acc_m: Option<f32>,
    /// Reported speed, m/s (converted from the protocol's unit).
    pub speed_mps: Option<f32>,
    /// Reported bearing, degrees clockwise from north.
    pub bearing_deg: Option<f32>,
    /// Reported altitude, metres.
    pub alt_m: Option<f32>,
    /// Reported battery level, percent.
    pub batt_pct: Option<f32>,
    /// The client flagged the fix as coming from a mock-location provider.
    pub mock: bool,
    /// The checkpoint code of a check-in carried by this fix.
    pub checkin: Option<String>,
}

impl Fix {
    /// The fix of a row the rules accepted; `ts` is the row's time, or `None` when the
    /// request carried none.
    fn from_row(row: &ParsedRow<'_>, ts: Option<UnixMs>) -> Fix {
        Fix {
            id: row.worker.to_string(),
            ts,
            lon: row.lon,
            lat: row.lat,
            acc_m: row.acc_m,
            speed_mps: row.speed_mps,
            bearing_deg: row.bearing_deg,
            alt_m: row.alt_m,
            batt_pct: row.batt_pct,
            mock: row.mock,
            checkin: row.checkin.map(str::to_string),
        }
    }
}

/// Why a record or a request is refused: a stable snake_case code (the HTTP `code`) and a
/// message saying what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct WireError {
    /// The stable snake_case code: a [`RecordFault::code`], or one of `bad_json`,
    /// `empty_body`, `not_an_object`, `bad_crs`, `missing_device`, `no_position`,
    /// `bad_message`, `duplicate_parameter`.
    pub code: &'static str,
    /// What is wrong and what to fix.
    pub message: String,
}

impl WireError {
    fn new(code: &'static str, message: impl Into<String>) -> WireError {
        WireError {
            code,
            message: message.into(),
        }
    }
}

/// Why a batch of pings is refused whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The body as a whole cannot be read (not UTF-8, a broken array, empty).
    #[error(transparent)]
    Unreadable(WireError),
    /// The body holds more records than one batch may.
    #[error("more than {max} records in one batch: split the batch")]
    TooManyRecords {
        /// The most records a batch may hold.
        max: usize,
    },
}

impl BatchError {
    /// The stable snake_case code: the unreadable body's, or `too_many_records`.
    pub fn code(&self) -> &'static str {
        match self {
            BatchError::Unreadable(e) => e.code,
            BatchError::TooManyRecords { .. } => "too_many_records",
        }
    }
}

impl From<WireError> for BatchError {
    fn from(e: WireError) -> BatchError {
        BatchError::Unreadable(e)
    }
}

impl From<RecordFault> for WireError {
    fn from(fault: RecordFault) -> WireError {
        WireError {
            code: fault.code(),
            message: fault.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/pings

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
        None => field(obj.get("worker"), "worker", "text")?,
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
    };
    let row = parse_row(&raw, crs)?;
    Ok(Fix::from_row(&row, Some(row.ts)))
}

/// A JSON value as a raw field; arrays and objects are `wrong_type`.
fn field<'a>(
    v: Option<&'a Value>,
    name: &'static str,
    expected: &'static str,
) -> Result<Field<'a>, RecordFault> {
    Ok(match v {
        None | Some(Value::Null) => Field::Null,
        Some(Value::Bool(b)) => Field::Bool(*b),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Field::Int(i),
            None => Field::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(Value::String(s)) => Field::Text(s.as_bytes()),
        Some(other) => {
            return Err(RecordFault::WrongType {
                field: name,
                found: kind(other),
                expected,
            })
        }
    })
}

/// What kind of JSON value it is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// OsmAnd

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
/// `timestamp` (see the module documentation); `speed` in knots; `bearing`|`heading`;
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

/// The device id missing.
fn missing_device(how: &str) -> WireError {
    WireError::new(
        "missing_device",
        format!("the request names no device: send {how}"),
    )
}

/// The position missing.
fn no_position(how: &str) -> WireError {
    WireError::new(
        "no_position",
        format!("the request carries no position (cell or Wi-Fi data are not stored): send {how}"),
    )
}

/// A fix from query-string or form fields.
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
                    value: super::row::shown(&String::from_utf8_lossy(loc)),
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

/// A negative reading (`-1`) means unknown.
fn known(v: Option<f32>) -> Option<f32> {
    v.filter(|x| *x >= 0.0)
}

/// A speed in another unit as m/s; negative is unknown.
fn scaled(v: Option<f32>, mps_per_unit: f64) -> Option<f32> {
    known(v).map(|x| (f64::from(x) * mps_per_unit) as f32)
}

/// Reads an OsmAnd timestamp (see the module documentation) into a field for the row rules.
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
    };
    let row = parse_row(&raw, Crs::Wgs84)?;
    let mut fix = Fix::from_row(&row, has_ts.then_some(row.ts));
    fix.speed_mps = known(fix.speed_mps);
    fix.bearing_deg = known(fix.bearing_deg);
    Ok(fix)
}

/// A JSON object member: `None` when absent or null, `wrong_type` when not an object.
fn object<'a>(
    v: Option<&'a Value>,
    name: &'static str,
) -> Result<Option<&'a Map<String, Value>>, RecordFault> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(RecordFault::WrongType {
            field: name,
            found: kind(other),
            expected: "an object",
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// OwnTracks

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
    };
    let row = parse_row(&raw, Crs::Wgs84)?;
    let mut fix = Fix::from_row(&row, Some(row.ts));
    fix.speed_mps = scaled(fix.speed_mps, MPS_PER_KMH);
    fix.bearing_deg = known(fix.bearing_deg);
    Ok(Some(fix))
}

#[cfg(test)]
mod tests {

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

    use super::*;

    const OSMAND: &str = include_str!("../../../shared/data/protocols/osmand_requests.txt");
    const OWNTRACKS: &str = include_str!("../../../shared/data/protocols/owntracks_messages.jsonl");
    const SHANGHAI: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

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

    const DESIGN_PING: &str = r#"{"worker": "w-0042", "ts": "2026-10-08T09:30:00+08:00", "lat": 28.2012, "lon": 112.9811,
 "acc": 8.5, "speed": 1.3, "bearing": 270, "alt": 51, "batt": 76,
 "crs": "wgs84", "mock": false, "checkin": "cp-113"}"#;

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
