//! The one set of row rules: the raw field values of one ping record, as any decoder finds
//! them (CSV text, Parquet typed values, GPX points, later the HTTP JSON), to the values of a
//! [`Ping`] or a typed [`RecordFault`]. Every door reads pings through [`read_row`], so a row
//! is good or bad, and means the same, whichever file or protocol carried it.
//!
//! The rules, in the order they are applied (the first fault wins):
//! 1. `worker`: text, trimmed. With a worker filter, a row naming another worker is skipped.
//! 2. `ts` (required): RFC 3339 with an offset, or Unix seconds or milliseconds (seconds below
//!    1e11), as [`parse_timestamp`] reads text; an integer or floating-point value follows the
//!    same seconds/milliseconds rule; a column of milliseconds (`ts_ms`, a Parquet
//!    `TIMESTAMP`) is taken as milliseconds. Outside 1970–2200 is `timestamp_out_of_range`.
//!    Rows outside the requested period are skipped here, silently, before any other check,
//!    so a period never reports faults of rows it does not hold.
//! 3. `worker` is required (`missing_field`).
//! 4. `lat`, `lon` (required): finite numbers, checked by [`check_position`] (`bad_position`),
//!    then converted from the input CRS to WGS84.
//! 5. `acc`, `speed`, `bearing`, `alt`, `batt` (optional): empty or null means absent; any other
//!    value that is not a finite number (text such as `abc`, `NaN`, `inf`, or a value beyond
//!    the `f32` range) **rejects the row** with `bad_number` naming the field — a value the
//!    client sent but we cannot read is a fault, not silently "unknown". An accuracy of 0
//!    (or below) means unknown (DESIGN.md §4.2) and becomes `None`.
//! 6. `mock` (optional): a boolean, `1`/`0`, or text `true/false/1/0/yes/no/t/f/y/n` in any
//!    case; empty or null is `false`; anything else is `bad_bool`.
//! 7. `checkin` (optional): text, trimmed; empty or null is none.
//!
//! Text fields are trimmed of ASCII white space, and must be UTF-8 (`bad_encoding`). The
//! identifiers `worker` and `checkin` are at most [`MAX_ID_BYTES`] (128) bytes (`too_long`);
//! a value shown in a fault is cut to 64 characters.

use std::ops::Range;
use std::sync::Arc;

use super::{check_position, PositionError};
use crate::crs;
use crate::model::{
    check_timestamp_ms, parse_timestamp, timestamp_from_unix, Crs, Ping, TimestampError, UnixMs,
    WorkerId,
};

/// One raw field value as a decoder found it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Field<'a> {
    /// Absent: no such column, a short CSV row, or a Parquet null.
    #[default]
    Null,
    /// Text as bytes (CSV fields, Parquet `BYTE_ARRAY`), not yet checked to be UTF-8.
    Text(&'a [u8]),
    /// An integer (Parquet `INT32`/`INT64`, JSON integers).
    Int(i64),
    /// A floating-point number (Parquet `FLOAT`/`DOUBLE`, JSON numbers).
    Float(f64),
    /// A boolean (Parquet `BOOLEAN`, JSON `true`/`false`).
    Bool(bool),
}

impl Field<'_> {
    /// What kind of value it is, for messages.
    fn kind(&self) -> &'static str {
        match self {
            Field::Null => "null",
            Field::Text(_) => "text",
            Field::Int(_) => "an integer",
            Field::Float(_) => "a number",
            Field::Bool(_) => "a boolean",
        }
    }
}

/// How a timestamp field's numbers are to be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TsUnit {
    /// As DESIGN.md §5.1 allows: RFC 3339 text, or Unix seconds or milliseconds by magnitude.
    #[default]
    Auto,
    /// Unix milliseconds (a `ts_ms` column, or a typed timestamp already scaled to ms).
    Millis,
}

/// The raw fields of one ping record; absent fields are [`Field::Null`] (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct RawRow<'a> {
    /// Worker id.
    pub worker: Field<'a>,
    /// Timestamp.
    pub ts: Field<'a>,
    /// How to read `ts`.
    pub ts_unit: TsUnit,
    /// Latitude, degrees, in the input CRS.
    pub lat: Field<'a>,
    /// Longitude, degrees, in the input CRS.
    pub lon: Field<'a>,
    /// Reported accuracy, metres.
    pub acc: Field<'a>,
    /// Reported speed, m/s.
    pub speed: Field<'a>,
    /// Reported bearing, degrees.
    pub bearing: Field<'a>,
    /// Reported altitude, metres.
    pub alt: Field<'a>,
    /// Reported battery, percent.
    pub batt: Field<'a>,
    /// Client mock-location flag.
    pub mock: Field<'a>,
    /// Check-in checkpoint code.
    pub checkin: Field<'a>,
    /// A vehicle's work state.
    pub work: Field<'a>,
    /// A washer's water pressure, MPa.
    pub pressure: Field<'a>,
    /// A vehicle's ignition (ACC).
    pub ignition: Field<'a>,
}

/// A good row: the values of a ping, borrowing its text from the input.
///
/// It is the borrowed form of [`Ping`] (as `&str` is of `String`): every door's row rules
/// produce it without allocating, so the file readers can put a row's values straight into
/// the columns of a [`PingTable`](super::table::PingTable) (interning the worker id once per
/// worker, not once per row). It becomes an owned [`Ping`] through [`ParsedRow::to_ping`]
/// (files read whole) or, at the HTTP doors, a [`Fix`](super::wire::Fix) (`Fix::from_row`),
/// a ping still to be admitted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParsedRow<'a> {
    /// Worker id (trimmed).
    pub worker: &'a str,
    /// UTC milliseconds.
    pub ts: UnixMs,
    /// Longitude, WGS84.
    pub lon: f64,
    /// Latitude, WGS84.
    pub lat: f64,
    /// Accuracy in metres; `None` when absent or 0 (unknown).
    pub acc_m: Option<f32>,
    /// Speed, m/s.
    pub speed_mps: Option<f32>,
    /// Bearing, degrees.
    pub bearing_deg: Option<f32>,
    /// Altitude, metres.
    pub alt_m: Option<f32>,
    /// Battery, percent.
    pub batt_pct: Option<f32>,
    /// Mock-location flag.
    pub mock: bool,
    /// Check-in checkpoint code.
    pub checkin: Option<&'a str>,
    /// A vehicle's work state.
    pub work: Option<bool>,
    /// A washer's water pressure, MPa.
    pub pressure_mpa: Option<f32>,
    /// A vehicle's ignition (ACC).
    pub ignition: Option<bool>,
}

impl ParsedRow<'_> {
    /// The row as an owned [`Ping`] (allocates the worker id and check-in code).
    pub fn to_ping(&self) -> Ping {
        Ping {
            worker: WorkerId::new(self.worker),
            ts: self.ts,
            lon: self.lon,
            lat: self.lat,
            acc_m: self.acc_m,
            speed_mps: self.speed_mps,
            bearing_deg: self.bearing_deg,
            alt_m: self.alt_m,
            batt_pct: self.batt_pct,
            mock: self.mock,
            checkin: self.checkin.map(Arc::from),
            received: None,
            work: self.work,
            pressure_mpa: self.pressure_mpa,
            ignition: self.ignition,
        }
    }
}

/// Why one record is not a ping. Each variant carries the offending value; [`RecordFault::code`]
/// is the stable identifier clients and tests match on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RecordFault {
    /// A required field (`worker`, `ts`, `lat`, `lon`) is absent, empty or null.
    #[error("the {field} field is empty")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// The timestamp is not one its column may hold: `ts` neither RFC 3339 with an offset nor
    /// a Unix time; `ts_ms` not an integer of Unix milliseconds.
    #[error("{field} {value:?} is not {expected}")]
    BadTimestamp {
        /// The column the value came from (`ts` or `ts_ms`).
        field: &'static str,
        /// The value as given.
        value: String,
        /// What the column may hold.
        expected: &'static str,
    },
    /// The timestamp reads, but lies outside 1970–2200.
    #[error("{field} {value:?} is outside the years 1970-2200")]
    TimestampOutOfRange {
        /// The column the value came from (`ts` or `ts_ms`).
        field: &'static str,
        /// The value as given.
        value: String,
    },
    /// A numeric field holds something that is not a finite number.
    #[error("{field} {value:?} is not a finite number")]
    BadNumber {
        /// The field.
        field: &'static str,
        /// The value as given.
        value: String,
    },
    /// The position is not a real WGS84 position (not finite, out of range, swapped).
    #[error("{0}")]
    BadPosition(PositionError),
    /// A boolean field holds something that is not a boolean.
    #[error("{field} {value:?} is not a boolean (true/false, 1/0, yes/no, t/f, y/n)")]
    BadBool {
        /// The field.
        field: &'static str,
        /// The value as given.
        value: String,
    },
    /// A text field is not UTF-8.
    #[error("the {field} field is not UTF-8 text")]
    BadEncoding {
        /// The field.
        field: &'static str,
    },
    /// A field holds a kind of value that field cannot have (e.g. a boolean timestamp).
    #[error("the {field} field holds {found}; expected {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it holds.
        found: &'static str,
        /// What it may hold.
        expected: &'static str,
    },
    /// An identifier (`worker`, `checkin`) is longer than [`MAX_ID_BYTES`].
    #[error("the {field} field is {len} bytes long; at most {max} (value {shown:?})", max = MAX_ID_BYTES)]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length, bytes.
        len: usize,
        /// Its beginning, cut.
        shown: String,
    },
    /// The record itself could not be read (a damaged Parquet page, an unreadable CSV record).
    #[error("unreadable row: {reason}")]
    UnreadableRow {
        /// The reader's message.
        reason: String,
    },
}

impl RecordFault {
    /// The stable snake_case code of the fault (the `code` of the HTTP API's rejections).
    pub fn code(&self) -> &'static str {
        match self {
            RecordFault::MissingField { .. } => "missing_field",
            RecordFault::BadTimestamp { .. } => "bad_timestamp",
            RecordFault::TimestampOutOfRange { .. } => "timestamp_out_of_range",
            RecordFault::BadNumber { .. } => "bad_number",
            RecordFault::BadPosition(_) => "bad_position",
            RecordFault::BadBool { .. } => "bad_bool",
            RecordFault::BadEncoding { .. } => "bad_encoding",
            RecordFault::WrongType { .. } => "wrong_type",
            RecordFault::TooLong { .. } => "too_long",
            RecordFault::UnreadableRow { .. } => "unreadable_row",
        }
    }
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<'a> {
    /// A good ping.
    Ping(ParsedRow<'a>),
    /// Not asked for: outside the period, or another worker's.
    Skipped,
    /// A bad record, with the worker it names when that much could be read.
    Fault(RecordFault, Option<&'a str>),
}

/// What to keep while reading.
#[derive(Clone, Copy, Debug, Default)]
pub struct RowFilter<'f> {
    /// The coordinate system of the input.
    pub crs: Crs,
    /// Only pings at these UTC instants.
    pub range: Option<&'f Range<UnixMs>>,
    /// Only this worker's pings.
    pub worker: Option<&'f str>,
}

/// Applies the row rules (see the module documentation) to one record.
pub fn read_row<'a>(raw: &RawRow<'a>, filter: &RowFilter<'_>) -> Outcome<'a> {
    let worker = identifier(raw.worker, "worker");
    if let (Some(only), Ok(Some(w))) = (filter.worker, &worker) {
        if *w != only {
            return Outcome::Skipped;
        }
    }
    let named = worker.as_ref().ok().copied().flatten();
    let ts = match timestamp(raw.ts, raw.ts_unit) {
        Ok(ts) => ts,
        Err(fault) => return Outcome::Fault(fault, named),
    };
    if filter.range.is_some_and(|r| !r.contains(&ts)) {
        return Outcome::Skipped;
    }
    match rest(raw, filter.crs, worker, ts) {
        Ok(row) => Outcome::Ping(row),
        Err(fault) => Outcome::Fault(fault, named),
    }
}

/// Applies the row rules to one record without a filter: a ping or a fault.
///
/// # Errors
/// The first [`RecordFault`] of the record.
pub fn parse_row<'a>(raw: &RawRow<'a>, crs: Crs) -> Result<ParsedRow<'a>, RecordFault> {
    let filter = RowFilter {
        crs,
        ..RowFilter::default()
    };
    match read_row(raw, &filter) {
        Outcome::Ping(row) => Ok(row),
        Outcome::Fault(fault, _) => Err(fault),
        // Unreachable without a filter; answer as the rules would for an empty record.
        Outcome::Skipped => Err(RecordFault::MissingField { field: "ts" }),
    }
}

/// Steps 3–7 of the rules, once the row is known to be wanted.
fn rest<'a>(
    raw: &RawRow<'a>,
    crs: Crs,
    worker: Result<Option<&'a str>, RecordFault>,
    ts: UnixMs,
) -> Result<ParsedRow<'a>, RecordFault> {
    let worker = worker?.ok_or(RecordFault::MissingField { field: "worker" })?;
    let lat = number(raw.lat, "lat")?.ok_or(RecordFault::MissingField { field: "lat" })?;
    let lon = number(raw.lon, "lon")?.ok_or(RecordFault::MissingField { field: "lon" })?;
    check_position(lon, lat).map_err(RecordFault::BadPosition)?;
    let (lon, lat) = crs::to_wgs84(crs, lon, lat);
    Ok(ParsedRow {
        worker,
        ts,
        lon,
        lat,
        acc_m: small(raw.acc, "acc")?.filter(|a| *a > 0.0),
        speed_mps: small(raw.speed, "speed")?,
        bearing_deg: small(raw.bearing, "bearing")?,
        alt_m: small(raw.alt, "alt")?,
        batt_pct: small(raw.batt, "batt")?,
        mock: boolean(raw.mock, "mock")?,
        checkin: identifier(raw.checkin, "checkin")?,
        work: maybe_boolean(raw.work, "work")?,
        pressure_mpa: small(raw.pressure, "pressure")?,
        ignition: maybe_boolean(raw.ignition, "ignition")?,
    })
}

/// Text, trimmed; `None` when absent or empty.
#[inline]
fn text<'a>(f: Field<'a>, field: &'static str) -> Result<Option<&'a str>, RecordFault> {
    match f {
        Field::Null => Ok(None),
        Field::Text(b) => {
            let t = std::str::from_utf8(b.trim_ascii())
                .map_err(|_| RecordFault::BadEncoding { field })?;
            Ok(Some(t).filter(|t| !t.is_empty()))
        }
        other => Err(RecordFault::WrongType {
            field,
            found: other.kind(),
            expected: "text",
        }),
    }
}

/// An identifier (`worker`, `checkin`) as rules 1 and 7 read it: text, trimmed, at most
/// [`MAX_ID_BYTES`]; `None` when absent or empty.
#[inline]
pub(crate) fn identifier<'a>(
    f: Field<'a>,
    field: &'static str,
) -> Result<Option<&'a str>, RecordFault> {
    bounded(text(f, field)?, field)
}

/// The longest identifier (worker, device, check-in, unit or checkpoint code), bytes.
pub const MAX_ID_BYTES: usize = 128;

/// An identifier, refused (`too_long`) above [`MAX_ID_BYTES`].
#[inline]
fn bounded<'a>(t: Option<&'a str>, field: &'static str) -> Result<Option<&'a str>, RecordFault> {
    match t {
        Some(v) if v.len() > MAX_ID_BYTES => Err(RecordFault::TooLong {
            field,
            len: v.len(),
            shown: shown(v),
        }),
        other => Ok(other),
    }
}

/// Shows a value in a message, cut to 64 characters and `…`, so one bad value cannot make a
/// megabyte of answer or log.
pub fn shown(t: &str) -> String {
    match t.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

/// What a `ts` column may hold, for messages.
const TS_EXPECTED: &str =
    "a timestamp: RFC 3339 with an offset (2026-10-08T09:30:00+08:00) or Unix seconds or milliseconds";
/// What a `ts_ms` column may hold, for messages.
const TS_MS_EXPECTED: &str =
    "an integer of Unix milliseconds (a ts_ms column holds numbers; put RFC 3339 text in a ts column)";

/// Reads the timestamp field. Text in a milliseconds column comes only from a `ts_ms` column
/// of a file, so its faults name `ts_ms`. Such text must be an integer: an RFC 3339 text in
/// `ts_ms` is refused (`bad_timestamp` naming `ts_ms`), not guessed at, because a column
/// named for milliseconds that holds something else is a fault of the exporter the user
/// should see (README, "Bad input").
#[inline]
fn timestamp(f: Field<'_>, unit: TsUnit) -> Result<UnixMs, RecordFault> {
    let field = match (f, unit) {
        (Field::Text(_), TsUnit::Millis) => "ts_ms",
        _ => "ts",
    };
    let from_model = |e: TimestampError| match e {
        TimestampError::Unparseable(value) => RecordFault::BadTimestamp {
            field,
            value: shown(&value),
            expected: TS_EXPECTED,
        },
        TimestampError::OutOfRange(value) => RecordFault::TimestampOutOfRange {
            field,
            value: shown(&value),
        },
    };
    let missing = RecordFault::MissingField { field };
    match (f, unit) {
        (Field::Null, _) => Err(missing),
        (Field::Text(_), _) => {
            let t = text(f, field)?.ok_or(missing)?;
            match unit {
                TsUnit::Auto => parse_timestamp(t).map_err(from_model),
                TsUnit::Millis => match t.parse::<i64>() {
                    Ok(ms) => check_timestamp_ms(ms).map_err(from_model),
                    Err(_) => Err(RecordFault::BadTimestamp {
                        field,
                        value: shown(t),
                        expected: TS_MS_EXPECTED,
                    }),
                },
            }
        }
        (Field::Int(n), TsUnit::Auto) => timestamp_from_unix(n as f64).map_err(from_model),
        (Field::Int(ms), TsUnit::Millis) => check_timestamp_ms(ms).map_err(from_model),
        (Field::Float(x), TsUnit::Auto) => timestamp_from_unix(x).map_err(from_model),
        (Field::Float(x), TsUnit::Millis) if x.is_finite() => {
            check_timestamp_ms(x.round() as i64).map_err(from_model)
        }
        (Field::Float(x), TsUnit::Millis) => Err(RecordFault::BadTimestamp {
            field,
            value: x.to_string(),
            expected: TS_MS_EXPECTED,
        }),
        (Field::Bool(_), _) => Err(RecordFault::WrongType {
            field,
            found: "a boolean",
            expected: "a timestamp",
        }),
    }
}

/// A finite number; `None` when absent or empty.
#[inline(always)]
fn number(f: Field<'_>, field: &'static str) -> Result<Option<f64>, RecordFault> {
    // The common cases inline; text and faults out of line.
    match f {
        Field::Float(x) if x.is_finite() => Ok(Some(x)),
        Field::Null => Ok(None),
        _ => number_slow(f, field),
    }
}

#[inline(never)]
fn number_slow(f: Field<'_>, field: &'static str) -> Result<Option<f64>, RecordFault> {
    let x = match f {
        Field::Null => return Ok(None),
        Field::Text(_) => {
            let Some(t) = text(f, field)? else {
                return Ok(None);
            };
            match t.parse::<f64>() {
                Ok(x) if x.is_finite() => x,
                _ => {
                    return Err(RecordFault::BadNumber {
                        field,
                        value: shown(t),
                    })
                }
            }
        }
        Field::Int(n) => n as f64,
        Field::Float(x) => x,
        Field::Bool(_) => {
            return Err(RecordFault::WrongType {
                field,
                found: "a boolean",
                expected: "a number",
            })
        }
    };
    if x.is_finite() {
        Ok(Some(x))
    } else {
        Err(RecordFault::BadNumber {
            field,
            value: x.to_string(),
        })
    }
}

/// An optional reading stored as `f32` (read as `f64` first, so text and binary doubles
/// round the same way); a value beyond the `f32` range is not a finite number.
#[inline(always)]
fn small(f: Field<'_>, field: &'static str) -> Result<Option<f32>, RecordFault> {
    match f {
        Field::Float(x) if (x as f32).is_finite() => Ok(Some(x as f32)),
        Field::Null => Ok(None),
        _ => small_slow(f, field),
    }
}

#[inline(never)]
fn small_slow(f: Field<'_>, field: &'static str) -> Result<Option<f32>, RecordFault> {
    match number(f, field)? {
        None => Ok(None),
        Some(x) => {
            let v = x as f32;
            if v.is_finite() {
                Ok(Some(v))
            } else {
                Err(RecordFault::BadNumber {
                    field,
                    value: x.to_string(),
                })
            }
        }
    }
}

#[inline]
fn boolean(f: Field<'_>, field: &'static str) -> Result<bool, RecordFault> {
    match f {
        Field::Bool(b) => Ok(b),
        Field::Null => Ok(false),
        _ => boolean_slow(f, field),
    }
}

/// A boolean that may be absent: `None` for a missing or empty field.
#[inline]
fn maybe_boolean(f: Field<'_>, field: &'static str) -> Result<Option<bool>, RecordFault> {
    match f {
        Field::Null => Ok(None),
        Field::Bool(b) => Ok(Some(b)),
        Field::Text(t) if t.trim_ascii().is_empty() => Ok(None),
        _ => boolean_slow(f, field).map(Some),
    }
}

#[inline(never)]
fn boolean_slow(f: Field<'_>, field: &'static str) -> Result<bool, RecordFault> {
    match f {
        Field::Null => Ok(false),
        Field::Bool(b) => Ok(b),
        Field::Int(0) => Ok(false),
        Field::Int(1) => Ok(true),
        Field::Int(n) => Err(RecordFault::BadBool {
            field,
            value: n.to_string(),
        }),
        Field::Text(_) => match text(f, field)? {
            None => Ok(false),
            Some(t) => parse_bool(t).ok_or_else(|| RecordFault::BadBool {
                field,
                value: shown(t),
            }),
        },
        Field::Float(_) => Err(RecordFault::WrongType {
            field,
            found: "a number",
            expected: "a boolean",
        }),
    }
}

/// Reads a boolean as the rules allow: true/false, 1/0, yes/no, t/f, y/n, in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["true", "1", "yes", "t", "y"];
    const FALSE: [&str; 5] = ["false", "0", "no", "f", "n"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(worker: &'a str, ts: &'a str, lat: &'a str, lon: &'a str) -> RawRow<'a> {
        RawRow {
            worker: Field::Text(worker.as_bytes()),
            ts: Field::Text(ts.as_bytes()),
            lat: Field::Text(lat.as_bytes()),
            lon: Field::Text(lon.as_bytes()),
            ..RawRow::default()
        }
    }

    fn code(raw: &RawRow<'_>) -> &'static str {
        parse_row(raw, Crs::Wgs84).unwrap_err().code()
    }

    #[test]
    fn text_and_typed_values_give_the_same_ping() {
        // 2026-10-08T01:30:00Z = 1_791_423_000_000 ms (computed by hand: 20_734 days + 5_400 s).
        let mut text = row(" w1 ", "2026-10-08T09:30:00+08:00", "28.2", "112.98");
        text.acc = Field::Text(b"8.5");
        text.mock = Field::Text(b"YES");
        text.checkin = Field::Text(b" cp-1 ");
        let typed = RawRow {
            worker: Field::Text(b"w1"),
            ts: Field::Int(1_791_423_000_000),
            ts_unit: TsUnit::Millis,
            lat: Field::Float(28.2),
            lon: Field::Float(112.98),
            acc: Field::Float(8.5),
            mock: Field::Bool(true),
            checkin: Field::Text(b"cp-1"),
            ..RawRow::default()
        };
        let a = parse_row(&text, Crs::Wgs84).unwrap();
        assert_eq!(a, parse_row(&typed, Crs::Wgs84).unwrap());
        assert_eq!(
            (a.worker, a.ts, a.acc_m, a.mock, a.checkin),
            ("w1", 1_791_423_000_000, Some(8.5), true, Some("cp-1"))
        );
    }

    #[test]
    fn every_fault_has_its_code() {
        let ok = row("w", "1791423000", "28.2", "112.98");
        assert!(parse_row(&ok, Crs::Wgs84).is_ok());
        assert_eq!(
            code(&row("", "1791423000", "28.2", "112.98")),
            "missing_field"
        );
        assert_eq!(code(&row("w", "", "28.2", "112.98")), "missing_field");
        assert_eq!(
            code(&row("w", "yesterday", "28.2", "112.98")),
            "bad_timestamp"
        );
        assert_eq!(
            code(&row("w", "99999999999999", "28.2", "112.98")),
            "timestamp_out_of_range"
        );
        assert_eq!(code(&row("w", "1791423000", "abc", "112.98")), "bad_number");
        assert_eq!(
            code(&row("w", "1791423000", "112.98", "28.2")),
            "bad_position"
        );
        let mut bad = ok;
        bad.acc = Field::Text(b"n/a");
        let e = parse_row(&bad, Crs::Wgs84).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().starts_with("acc ")),
            ("bad_number", true)
        );
        bad.acc = Field::Float(f64::NAN);
        assert_eq!(code(&bad), "bad_number");
        bad.acc = Field::Float(1e300);
        assert_eq!(code(&bad), "bad_number", "beyond f32 is not finite");
        let mut bad = ok;
        bad.mock = Field::Text(b"maybe");
        assert_eq!(code(&bad), "bad_bool");
        bad.mock = Field::Int(2);
        assert_eq!(code(&bad), "bad_bool");
        let mut bad = ok;
        bad.worker = Field::Text(b"w\xff");
        assert_eq!(code(&bad), "bad_encoding");
        let mut bad = ok;
        bad.ts = Field::Bool(true);
        assert_eq!(code(&bad), "wrong_type");
    }

    #[test]
    fn accuracy_zero_or_empty_is_unknown_and_mock_defaults_to_false() {
        let mut r = row("w", "1791423000", "28.2", "112.98");
        r.acc = Field::Text(b"0");
        r.mock = Field::Text(b"");
        let p = parse_row(&r, Crs::Wgs84).unwrap();
        assert_eq!((p.acc_m, p.mock), (None, false));
        r.acc = Field::Text(b"  ");
        r.mock = Field::Text(b"f");
        let p = parse_row(&r, Crs::Wgs84).unwrap();
        assert_eq!((p.acc_m, p.mock), (None, false));
        for t in ["true", "TRUE", "1", "yes", "Y", "t"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for t in ["false", "False", "0", "no", "N", "f"] {
            assert_eq!(parse_bool(t), Some(false), "{t}");
        }
    }

    #[test]
    fn the_filter_skips_before_it_checks() {
        let range = 1_791_423_000_000..1_791_423_010_000;
        let filter = RowFilter {
            crs: Crs::Wgs84,
            range: Some(&range),
            worker: Some("w1"),
        };
        // Outside the period: skipped even though lat is bad.
        let r = row("w1", "1791423010", "abc", "112.98");
        assert_eq!(read_row(&r, &filter), Outcome::Skipped);
        // Another worker: skipped even though ts is bad.
        let r = row("w2", "never", "28.2", "112.98");
        assert_eq!(read_row(&r, &filter), Outcome::Skipped);
        // In the period and this worker: the fault names the worker.
        let r = row("w1", "1791423005", "abc", "112.98");
        match read_row(&r, &filter) {
            Outcome::Fault(f, Some("w1")) => assert_eq!(f.code(), "bad_number"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn seconds_and_milliseconds_as_numbers_follow_the_text_rule() {
        let mut r = row("w", "", "28.2", "112.98");
        r.ts = Field::Int(1_791_423_000);
        assert_eq!(parse_row(&r, Crs::Wgs84).unwrap().ts, 1_791_423_000_000);
        r.ts = Field::Float(1_791_423_000.5);
        assert_eq!(parse_row(&r, Crs::Wgs84).unwrap().ts, 1_791_423_000_500);
        r.ts = Field::Text(b"1791423000000");
        r.ts_unit = TsUnit::Millis;
        assert_eq!(parse_row(&r, Crs::Wgs84).unwrap().ts, 1_791_423_000_000);
        r.ts = Field::Text(b"2026-10-08T01:30:00Z");
        assert_eq!(code(&r), "bad_timestamp", "a ts_ms column holds integers");
    }

    #[test]
    fn a_text_ts_ms_is_refused_naming_ts_ms_and_offsets_without_a_colon_are_read() {
        let mut r = row("w", "", "28.2", "112.98");
        r.ts = Field::Text(b"2026-10-01T00:32:33.000+0000");
        r.ts_unit = TsUnit::Millis;
        let fault = parse_row(&r, Crs::Wgs84).unwrap_err();
        assert_eq!(fault.code(), "bad_timestamp");
        let msg = fault.to_string();
        assert!(
            msg.starts_with("ts_ms \"2026-10-01T00:32:33.000+0000\""),
            "{msg}"
        );
        assert!(msg.contains("Unix milliseconds"), "{msg}");
        r.ts_unit = TsUnit::Auto;
        assert_eq!(parse_row(&r, Crs::Wgs84).unwrap().ts, 1_790_814_753_000);
        r.ts = Field::Text(b"2026-10-01T08:32:33+0800");
        assert_eq!(parse_row(&r, Crs::Wgs84).unwrap().ts, 1_790_814_753_000);
        r.ts = Field::Text(b"nonsense");
        assert!(parse_row(&r, Crs::Wgs84)
            .unwrap_err()
            .to_string()
            .starts_with("ts \"nonsense\""));
    }
}
