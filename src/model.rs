//! The vocabulary of DESIGN.md §2 and §5.1: pings, workers, unit codes, levels, coordinate
//! reference systems and timestamps.
//!
//! Coordinates are x = lon, y = lat everywhere. Timestamps are UTC milliseconds since the Unix
//! epoch ([`UnixMs`]); local days are derived with the configured time zone only where a figure
//! needs them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// UTC milliseconds since the Unix epoch.
pub type UnixMs = i64;

/// The identifier of a grid worker (网格员), e.g. `w-0042`; cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkerId(pub Arc<str>);

impl WorkerId {
    /// Wraps a worker id.
    pub fn new(id: &str) -> Self {
        WorkerId(Arc::from(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The code of an administrative unit: a string of digits of any length (national codes are
/// 12–20 digits; never assume one length). Codes order as strings, which is the order the
/// boundary rule of DESIGN.md §4.5 uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitCode(pub Arc<str>);

impl UnitCode {
    /// Wraps a unit code.
    pub fn new(code: &str) -> Self {
        UnitCode(Arc::from(code))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A level of the administrative hierarchy, ordered from the top (city) to the leaves (grid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// 市
    City,
    /// 区
    District,
    /// 街道 (street or township)
    Street,
    /// 社区
    Community,
    /// 网格: a leaf unit with a polygon.
    Grid,
}

impl Level {
    /// All levels from the top down.
    pub const ALL: [Level; 5] = [
        Level::City,
        Level::District,
        Level::Street,
        Level::Community,
        Level::Grid,
    ];

    /// The lowercase name used in files and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Grid => "grid",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown level {s:?}: expected city, district, street, community or grid")
            })
    }
}

/// A coordinate reference system that input may declare (DESIGN.md §4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS84 lon/lat, what gridbeat stores and computes in.
    #[default]
    Wgs84,
    /// GCJ-02, the obfuscated datum of AMap/Gaode, Tencent and Google China basemaps.
    Gcj02,
    /// BD-09, Baidu's further offset of GCJ-02.
    Bd09,
}

impl Crs {
    /// The lowercase name used in files and query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Crs {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "wgs84" | "epsg4326" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" => Ok(Crs::Bd09),
            _ => Err(format!("unknown crs {s:?}: expected wgs84, gcj02 or bd09")),
        }
    }
}

/// A worker's latest reported position: what the store keeps per worker and the positions
/// layer shows, in WGS84.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    /// The worker's id.
    pub worker: String,
    /// When the fix was taken, UTC ms.
    pub ts: UnixMs,
    /// Longitude, degrees (WGS84).
    pub lon: f64,
    /// Latitude, degrees (WGS84).
    pub lat: f64,
    /// Reported accuracy, metres.
    pub acc_m: Option<f32>,
    /// When it was received, UTC ms; `None` for file input, where it is unknown.
    pub received: Option<UnixMs>,
}

impl From<&Ping> for Position {
    fn from(p: &Ping) -> Position {
        Position {
            worker: p.worker.as_str().to_string(),
            ts: p.ts,
            lon: p.lon,
            lat: p.lat,
            acc_m: p.acc_m,
            received: p.received,
        }
    }
}

/// One reported position of one worker at one instant (DESIGN.md §5.1), already in WGS84:
/// what the store keeps and the engine reads.
///
/// The row rules' [`ParsedRow`](crate::ingest::row::ParsedRow) is its borrowed form
/// (`ParsedRow::to_ping`), and [`PingTable`](crate::ingest::table::PingTable) holds many of
/// them as columns (`PingTable::ping`). An HTTP client's position is first a
/// [`Fix`](crate::ingest::wire::Fix), which may name a device and lack a time, and becomes a
/// ping when the server admits it (`Fix::into_ping`).
#[derive(Clone, Debug, PartialEq)]
pub struct Ping {
    /// Whose phone reported it.
    pub worker: WorkerId,
    /// When the fix was taken, UTC milliseconds.
    pub ts: UnixMs,
    /// Longitude, degrees (WGS84).
    pub lon: f64,
    /// Latitude, degrees (WGS84).
    pub lat: f64,
    /// Reported horizontal accuracy in metres; `None` (or 0 in the input) means unknown.
    pub acc_m: Option<f32>,
    /// Reported speed in m/s.
    pub speed_mps: Option<f32>,
    /// Reported bearing in degrees clockwise from north.
    pub bearing_deg: Option<f32>,
    /// Reported altitude in metres.
    pub alt_m: Option<f32>,
    /// Reported battery level in percent.
    pub batt_pct: Option<f32>,
    /// The client flagged the fix as coming from a mock-location provider.
    pub mock: bool,
    /// A check-in event carried by this ping: the code of the checkpoint it names.
    pub checkin: Option<Arc<str>>,
    /// When the server received it, UTC ms; `None` for file input, where it is unknown.
    pub received: Option<UnixMs>,
    /// A vehicle's work state (brushes or spray on) where its terminal reports one.
    pub work: Option<bool>,
    /// A washer's water pressure, MPa, where its terminal reports one.
    pub pressure_mpa: Option<f32>,
    /// A vehicle's ignition (JT/T 808 ACC) where its terminal reports it.
    pub ignition: Option<bool>,
}

impl Ping {
    /// A ping with only the required fields set.
    pub fn new(worker: WorkerId, ts: UnixMs, lon: f64, lat: f64) -> Self {
        Ping {
            worker,
            ts,
            lon,
            lat,
            acc_m: None,
            speed_mps: None,
            bearing_deg: None,
            alt_m: None,
            batt_pct: None,
            mock: false,
            checkin: None,
            received: None,
            work: None,
            pressure_mpa: None,
            ignition: None,
        }
    }
}

/// A local calendar month, e.g. 2026-10: what reports assess.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    /// The year.
    pub year: i32,
    /// The month, 1–12.
    pub month: u32,
}

impl Month {
    /// The month of a local day.
    pub fn of(day: chrono::NaiveDate) -> Month {
        use chrono::Datelike;
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    /// Its first day.
    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// Its last day.
    pub fn last_day(self) -> chrono::NaiveDate {
        self.next().first_day().pred_opt().unwrap_or_default()
    }

    /// The month after it.
    pub fn next(self) -> Month {
        if self.month >= 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Its days as a [`Period`].
    pub fn period(self) -> Period {
        Period {
            first: self.first_day(),
            last: self.last_day(),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;

    /// Parses `YYYY-MM`.
    fn from_str(text: &str) -> Result<Month, String> {
        chrono::NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
            .map(Month::of)
            .map_err(|_| format!("{text:?} is not a month; expected YYYY-MM, e.g. 2026-10"))
    }
}

/// A period of local calendar days, `first..=last`: the one period type of every figure
/// (a day, a month, several months). Its instants are derived with a time zone only where a
/// reader filters pings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    /// The first local day.
    pub first: chrono::NaiveDate,
    /// The last local day (inclusive).
    pub last: chrono::NaiveDate,
}

impl Period {
    /// The period of the days `first..=last`.
    ///
    /// # Errors
    /// When `last` is before `first`.
    pub fn new(first: chrono::NaiveDate, last: chrono::NaiveDate) -> Result<Period, String> {
        if last < first {
            return Err(format!(
                "the period ends ({last}) before it starts ({first})"
            ));
        }
        Ok(Period { first, last })
    }

    /// One day.
    pub fn day(day: chrono::NaiveDate) -> Period {
        Period {
            first: day,
            last: day,
        }
    }

    /// The months `first..=last`.
    pub fn months(first: Month, last: Month) -> Period {
        Period {
            first: first.first_day(),
            last: last.last_day(),
        }
    }

    /// Whether a local day lies in the period.
    pub fn contains(&self, day: chrono::NaiveDate) -> bool {
        self.first <= day && day <= self.last
    }

    /// The months the period touches, in order.
    pub fn month_list(&self) -> Vec<Month> {
        let mut out = Vec::new();
        let (mut m, last) = (Month::of(self.first), Month::of(self.last));
        while m <= last {
            out.push(m);
            m = m.next();
        }
        out
    }

    /// The UTC instants of the period in a time zone: from the first day's local midnight
    /// (inclusive) to the midnight after the last day (exclusive).
    pub fn instants(&self, tz: chrono_tz::Tz) -> std::ops::Range<UnixMs> {
        let from = local_midnight_ms(self.first, tz).unwrap_or(UnixMs::MIN);
        let to = self
            .last
            .succ_opt()
            .and_then(|d| local_midnight_ms(d, tz))
            .unwrap_or(UnixMs::MAX);
        from..to
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// The UTC instant at which local day `day` begins in `tz` (the earliest, should a
/// daylight-saving change make midnight ambiguous; the first valid instant if it skips it).
pub fn local_midnight_ms(day: chrono::NaiveDate, tz: chrono_tz::Tz) -> Option<UnixMs> {
    let mut t = day.and_hms_opt(0, 0, 0)?;
    for _ in 0..4 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return Some(dt.timestamp_millis());
        }
        t += chrono::Duration::minutes(30);
    }
    None
}

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimestampError {
    /// The text is neither RFC 3339 with an offset nor a Unix time in seconds or milliseconds.
    #[error("timestamp {0:?} is neither RFC 3339 with an offset (2026-10-08T09:30:00+08:00) nor Unix seconds/milliseconds")]
    Unparseable(String),
    /// The value parses but lies outside 1970–2200, which no phone reports.
    #[error("timestamp {0:?} is outside the years 1970-2200")]
    OutOfRange(String),
}

/// Milliseconds of 2200-01-01T00:00:00Z: later timestamps are rejected as impossible.
const MAX_PLAUSIBLE_MS: UnixMs = 7_258_118_400_000;

/// Reads a timestamp as DESIGN.md §5.1 allows: RFC 3339 with an offset, or a Unix time in
/// seconds (up to 11 digits, fractions allowed) or milliseconds (12 digits or more).
///
/// # Errors
/// [`TimestampError`] when the text is neither, or names an instant outside 1970–2200.
pub fn parse_timestamp(text: &str) -> Result<UnixMs, TimestampError> {
    let t = text.trim();
    let ms = if let Some(dt) = parse_iso(t) {
        dt.timestamp_millis()
    } else if let Ok(n) = t.parse::<i64>() {
        unix_number_to_ms(n as f64)
    } else if let Ok(x) = t.parse::<f64>() {
        if !x.is_finite() {
            return Err(TimestampError::Unparseable(text.to_string()));
        }
        unix_number_to_ms(x)
    } else {
        return Err(TimestampError::Unparseable(text.to_string()));
    };
    if !is_plausible_ms(ms) {
        return Err(TimestampError::OutOfRange(text.to_string()));
    }
    Ok(ms)
}

/// RFC 3339, or ISO 8601 with an offset written without a colon (`+0800`, `+0000`, as
/// pandas' `%z` and Java's `Z` pattern write it), with a `T` or a space between date and time.
fn parse_iso(t: &str) -> Option<DateTime<chrono::FixedOffset>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt);
    }
    // Only a `+hhmm`/`-hhmm` tail: chrono's `%z` would also take other forms.
    let b = t.as_bytes();
    let n = b.len();
    let tail = b.get(n.checked_sub(5)?..)?;
    if !(matches!(tail[0], b'+' | b'-') && tail[1..].iter().all(u8::is_ascii_digit)) {
        return None;
    }
    ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"]
        .iter()
        .find_map(|f| DateTime::parse_from_str(t, f).ok())
}

/// Reads a Unix time given as a number (not text) the way [`parse_timestamp`] reads digits:
/// seconds below 1e11, else milliseconds.
///
/// # Errors
/// [`TimestampError`] when it is not finite or names an instant outside 1970–2200.
pub fn timestamp_from_unix(x: f64) -> Result<UnixMs, TimestampError> {
    if !x.is_finite() {
        return Err(TimestampError::Unparseable(x.to_string()));
    }
    check_timestamp_ms(unix_number_to_ms(x)).map_err(|_| TimestampError::OutOfRange(x.to_string()))
}

/// Checks that UTC milliseconds (e.g. from a typed timestamp column) lie in 1970–2200.
///
/// # Errors
/// [`TimestampError::OutOfRange`] otherwise.
pub fn check_timestamp_ms(ms: UnixMs) -> Result<UnixMs, TimestampError> {
    if is_plausible_ms(ms) {
        Ok(ms)
    } else {
        Err(TimestampError::OutOfRange(ms.to_string()))
    }
}

/// Whether `ms` lies within 1970–2200, the instants [`check_timestamp_ms`] accepts.
#[inline]
pub fn is_plausible_ms(ms: UnixMs) -> bool {
    (0..MAX_PLAUSIBLE_MS).contains(&ms)
}

/// Interprets a bare Unix number: below 1e11 it is seconds (that is the year 5138), else
/// milliseconds.
fn unix_number_to_ms(x: f64) -> UnixMs {
    if x.abs() < 1e11 {
        (x * 1000.0).round() as UnixMs
    } else {
        x.round() as UnixMs
    }
}

/// Formats UTC milliseconds as RFC 3339 with a `Z` suffix, to the second when whole.
pub fn format_timestamp(ms: UnixMs) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(dt) if ms % 1000 == 0 => dt.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_all_three_forms_agree() {
        let rfc = parse_timestamp("2026-10-08T09:30:00+08:00").unwrap();
        assert_eq!(rfc, 1_791_423_000_000);
        assert_eq!(parse_timestamp("1791423000").unwrap(), rfc);
        assert_eq!(parse_timestamp("1791423000000").unwrap(), rfc);
        assert_eq!(parse_timestamp("1791423000.5").unwrap(), rfc + 500);
        assert_eq!(parse_timestamp("2026-10-08T01:30:00Z").unwrap(), rfc);
    }

    #[test]
    fn bad_timestamps_are_refused_with_the_text() {
        let e = parse_timestamp("yesterday").unwrap_err();
        assert!(e.to_string().contains("yesterday"));
        assert!(matches!(
            parse_timestamp("2026-10-08T09:30:00"),
            Err(TimestampError::Unparseable(_))
        ));
        assert!(matches!(
            parse_timestamp("99999999999999"),
            Err(TimestampError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_timestamp("-5"),
            Err(TimestampError::OutOfRange(_))
        ));
    }

    #[test]
    fn offsets_without_a_colon_are_read() {
        let want = parse_timestamp("2026-10-01T00:32:33Z").unwrap();
        for text in [
            "2026-10-01T00:32:33.000+0000",
            "2026-10-01T00:32:33+0000",
            "2026-10-01T08:32:33+0800",
            "2026-10-01 08:32:33.000+0800",
            "2026-09-30T19:32:33-0500",
        ] {
            assert_eq!(parse_timestamp(text), Ok(want), "{text}");
        }
        for text in [
            "2026-10-01T00:32:33+08",
            "2026-10-01T00:32:33+08000",
            "2026-10-01T00:32:33",
        ] {
            assert!(parse_timestamp(text).is_err(), "{text}");
        }
    }

    #[test]
    fn timestamps_format_back_to_utc() {
        assert_eq!(format_timestamp(1_791_423_000_000), "2026-10-08T01:30:00Z");
        assert_eq!(
            format_timestamp(1_791_423_000_250),
            "2026-10-08T01:30:00.250Z"
        );
    }

    #[test]
    fn levels_and_crs_parse_from_their_names() {
        assert_eq!("Community".parse::<Level>().unwrap(), Level::Community);
        assert!(Level::City < Level::Grid);
        assert!("block".parse::<Level>().is_err());
        assert_eq!("GCJ-02".parse::<Crs>().unwrap(), Crs::Gcj02);
        assert_eq!("bd09".parse::<Crs>().unwrap(), Crs::Bd09);
        assert!("utm".parse::<Crs>().is_err());
    }

    #[test]
    fn midnight_exists_even_when_daylight_saving_skips_it() {
        // America/Santiago skipped 2022-09-11T00:00 local.
        let day = chrono::NaiveDate::from_ymd_opt(2022, 9, 11).unwrap();
        assert!(local_midnight_ms(day, chrono_tz::America::Santiago).is_some());
    }
}
