//! The HTTP doors' decoders (DESIGN.md §5.4): what phones send over the wire, decoded and
//! validated into [`Fix`]es. Pure functions: no HTTP types, no I/O; the server passes in the
//! query string, the content type and the body, and maps the answers to responses.
//!
//! - [`decode_pings`] (`pings.rs`): `POST /api/v1/pings`, a JSON array or NDJSON of §5.1 pings.
//! - [`decode_osmand`] (`osmand.rs`): the OsmAnd protocol of Traccar Client (query string, form
//!   body, or the JSON body of Traccar Client 9.x).
//! - [`decode_owntracks`] (`owntracks.rs`): OwnTracks HTTP mode.
//!
//! Every record goes through the one set of row rules
//! ([`parse_row`](super::row::parse_row)): each protocol only maps its fields onto a
//! [`RawRow`](super::row::RawRow) (JSON numbers as [`Field::Int`]/[`Field::Float`], strings as
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

mod osmand;
mod owntracks;
mod pings;

use serde_json::{Map, Value};

use super::row::{Field, ParsedRow, RecordFault};
use crate::model::{Ping, UnixMs, WorkerId};

pub use osmand::{decode_osmand, osmand_query};
pub use owntracks::decode_owntracks;
pub use pings::{decode_pings, decode_pings_max};

/// One position as a client sent it, decoded and validated, already WGS84: a ping not yet
/// admitted.
///
/// It is a type of its own, beside [`Ping`], because until the server admits it, it lacks
/// what makes a ping: `id` may name a device rather than a worker (only the server's device
/// map says whose it is), `ts` may be missing (OsmAnd without a timestamp: the server takes the
/// receipt time), and there is no receipt time yet. Its values come from the row rules'
/// [`ParsedRow`] (`Fix::from_row`, the one way in, owning what the row borrowed from the
/// request), and it becomes a [`Ping`] only through [`Fix::into_ping`], once the server knows
/// the worker and the receipt time.
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
    /// A vehicle's work state.
    pub work: Option<bool>,
    /// A washer's water pressure, MPa.
    pub pressure_mpa: Option<f32>,
    /// A vehicle's ignition (ACC).
    pub ignition: Option<bool>,
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
            work: row.work,
            pressure_mpa: row.pressure_mpa,
            ignition: row.ignition,
        }
    }

    /// The ping of the fix for `worker` (the device's worker, or the fix's own id), received
    /// at `received` (UTC ms): a fix without a timestamp takes the receipt time (DESIGN.md
    /// §5.4). Its `received` is left for [`super::admit()`] to set.
    pub fn into_ping(self, worker: WorkerId, received: UnixMs) -> Ping {
        Ping {
            worker,
            ts: self.ts.unwrap_or(received),
            lon: self.lon,
            lat: self.lat,
            acc_m: self.acc_m,
            speed_mps: self.speed_mps,
            bearing_deg: self.bearing_deg,
            alt_m: self.alt_m,
            batt_pct: self.batt_pct,
            mock: self.mock,
            checkin: self.checkin.map(Into::into),
            received: None,
            work: self.work,
            pressure_mpa: self.pressure_mpa,
            ignition: self.ignition,
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

/// The device id missing.
fn missing_device(how: &str) -> WireError {
    WireError::new(
        "missing_device",
        format!("the request names no device: send {how}"),
    )
}

/// A negative reading (`-1`) means unknown.
fn known(v: Option<f32>) -> Option<f32> {
    v.filter(|x| *x >= 0.0)
}

/// A speed in another unit as m/s; negative is unknown.
fn scaled(v: Option<f32>, mps_per_unit: f64) -> Option<f32> {
    known(v).map(|x| (f64::from(x) * mps_per_unit) as f32)
}
