//! Admission: the rule a decoded ping passes on its way into the store, whichever door it came
//! through (`POST /api/v1/pings`, OsmAnd, OwnTracks, `gridbeat import`): a timestamp more than
//! `max_future_s` after the receipt time is refused (a phone with a wrong clock), the ping
//! carries its receipt time, and it marks the local day of its timestamp.
//!
//! Who may post for whom is not decided here: that is the caller's authorization, the
//! service's concern.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::model::{Ping, UnixMs};

/// A ping admitted for the store, with the local day it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Admitted {
    /// The ping, its `received` set to the receipt time.
    pub ping: Ping,
    /// The local calendar day of its timestamp (the worker-day it marks dirty).
    pub day: NaiveDate,
}

/// Why a ping is not admitted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AdmitError {
    /// The timestamp is more than `max_future_s` after the receipt time.
    #[error("ts {ts} is {ahead_s:.0} s after it was received (at most {max_s} s)")]
    Future {
        /// The timestamp, UTC ms.
        ts: UnixMs,
        /// How far after the receipt time, seconds.
        ahead_s: f64,
        /// `max_future_s`.
        max_s: f64,
    },
    /// No calendar holds the timestamp, so it has no local day.
    #[error("ts {0} is out of range")]
    OutOfRange(UnixMs),
}

impl AdmitError {
    /// The stable snake_case code (the service's `{"code"}`).
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Future { .. } => "future_timestamp",
            AdmitError::OutOfRange(_) => "timestamp_out_of_range",
        }
    }
}

/// Admits a ping received at `received` (UTC ms): refused when its timestamp is more than
/// `max_future_s` after `received`; otherwise stamped with `received` and given the local day
/// of its timestamp in `tz`. A ping that came without a timestamp takes the receipt time
/// before it gets here ([`super::wire::Fix::into_ping`]).
///
/// # Errors
/// [`AdmitError::Future`], then [`AdmitError::OutOfRange`].
pub fn admit(
    mut ping: Ping,
    received: UnixMs,
    max_future_s: f64,
    tz: Tz,
) -> Result<Admitted, AdmitError> {
    let future_ms = (max_future_s * 1000.0) as UnixMs;
    if ping.ts > received.saturating_add(future_ms) {
        return Err(AdmitError::Future {
            ts: ping.ts,
            ahead_s: (ping.ts - received) as f64 / 1000.0,
            max_s: max_future_s,
        });
    }
    let day = chrono::DateTime::from_timestamp_millis(ping.ts)
        .map(|t| t.with_timezone(&tz).date_naive())
        .ok_or(AdmitError::OutOfRange(ping.ts))?;
    ping.received = Some(received);
    Ok(Admitted { ping, day })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkerId;

    /// 2026-10-08T00:00:00Z, UTC ms (20734 days after 1970-01-01 × 86 400 000).
    const OCT_8_UTC: UnixMs = 1_791_417_600_000;

    fn ping(ts: UnixMs) -> Ping {
        Ping::new(WorkerId::new("w-0042"), ts, 112.9811, 28.2012)
    }

    #[test]
    fn the_local_day_is_the_time_zones() {
        // 2026-10-07T16:30Z is 00:30 on 8 October in Shanghai (UTC+8), still 7 October in UTC.
        let ts = OCT_8_UTC - 27_000_000; // 7.5 h before midnight UTC
        let shanghai = admit(ping(ts), ts, 300.0, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(shanghai.day, NaiveDate::from_ymd_opt(2026, 10, 8).unwrap());
        let utc = admit(ping(ts), ts, 300.0, chrono_tz::UTC).unwrap();
        assert_eq!(utc.day, NaiveDate::from_ymd_opt(2026, 10, 7).unwrap());
    }

    #[test]
    fn a_ping_carries_its_receipt_time_and_its_values() {
        let received = OCT_8_UTC + 60_000;
        let a = admit(ping(OCT_8_UTC), received, 300.0, chrono_tz::UTC).unwrap();
        assert_eq!(a.ping.received, Some(received));
        assert_eq!(a.ping.ts, OCT_8_UTC);
        assert_eq!((a.ping.lon, a.ping.lat), (112.9811, 28.2012));
        assert_eq!(a.ping.worker.as_str(), "w-0042");
    }

    #[test]
    fn max_future_s_after_the_receipt_is_the_last_instant_admitted() {
        let received = OCT_8_UTC;
        // 300 s ahead: admitted (the bound is inclusive); 300.001 s: refused.
        assert!(admit(ping(received + 300_000), received, 300.0, chrono_tz::UTC).is_ok());
        let e = admit(ping(received + 300_001), received, 300.0, chrono_tz::UTC).unwrap_err();
        assert_eq!(
            e,
            AdmitError::Future {
                ts: received + 300_001,
                ahead_s: 300.001,
                max_s: 300.0,
            }
        );
        assert_eq!(e.code(), "future_timestamp");
        // The past is always admitted (late delivery is normal).
        assert!(admit(ping(received - 86_400_000), received, 300.0, chrono_tz::UTC).is_ok());
    }

    fn fix(ts: Option<UnixMs>) -> crate::ingest::wire::Fix {
        crate::ingest::wire::Fix {
            id: "phone-7".into(),
            ts,
            lon: 112.9811,
            lat: 28.2012,
            acc_m: Some(8.5),
            speed_mps: None,
            bearing_deg: None,
            alt_m: None,
            batt_pct: None,
            mock: false,
            checkin: Some("cp-113".into()),
            work: None,
            pressure_mpa: None,
            ignition: None,
        }
    }

    #[test]
    fn a_fix_without_a_timestamp_takes_the_receipt_time() {
        let received = OCT_8_UTC + 1_000;
        let p = fix(None).into_ping(WorkerId::new("w-0042"), received);
        assert_eq!(
            (p.worker.as_str(), p.ts, p.acc_m),
            ("w-0042", received, Some(8.5))
        );
        assert_eq!(p.checkin.as_deref(), Some("cp-113"));
        let given = fix(Some(OCT_8_UTC)).into_ping(WorkerId::new("w-0042"), received);
        assert_eq!(given.ts, OCT_8_UTC);
        // The receipt time is never in its own future, even with max_future_s = 0.
        let a = admit(p, received, 0.0, chrono_tz::UTC);
        assert!(a.is_ok(), "{a:?}");
    }

    #[test]
    fn a_timestamp_no_calendar_holds_is_refused() {
        // chrono's dates end in the year 262143: i64::MIN ms is far before its first.
        let e = admit(ping(i64::MIN), OCT_8_UTC, 300.0, chrono_tz::UTC).unwrap_err();
        assert_eq!(e, AdmitError::OutOfRange(i64::MIN));
        assert_eq!(e.code(), "timestamp_out_of_range");
    }
}
