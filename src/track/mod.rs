//! The track engine (DESIGN.md §4.2–4.4): from the raw pings of one worker to clean fixes,
//! segments, lengths, patrol time, stays, and the same figures split by local day.
//!
//! Pure computation: no I/O, no async, no global state. One call per worker; callers run
//! workers in parallel. The hot loops touch each fix a constant number of times and allocate
//! per worker, never per ping.

use std::ops::Range;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::Config;
use crate::geodesy::{distance_scaled_m, Scale};
use crate::model::{Ping, UnixMs};

pub mod clean;
pub mod days;
pub mod simplify;
pub mod stays;

pub use clean::{
    clean, clean_from, distinct, drop_repeats, same_values, Carry, Cleaned, DropCounts, DropReason,
    Jump,
};
pub use days::{for_each_day_run, split_days, DaySummary};
pub use simplify::simplify;
pub use stays::{stays, Stay};

/// Which cleaning gates run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanMode {
    /// Every gate of DESIGN.md §4.2.
    #[default]
    Full,
    /// Only duplicates (and timestamps ahead of receipt): `--no-clean`.
    DedupeOnly,
}

/// The parameters the track engine reads (a view of [`Config`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackParams {
    /// Which gates run.
    pub clean: CleanMode,
    /// Accuracy gate, metres.
    pub max_accuracy_m: f64,
    /// Speed gate, m/s.
    pub max_speed_mps: f64,
    /// Consistent followers that turn a jump into a relocation.
    pub relocation_pings: usize,
    /// Receipt gate, seconds.
    pub max_future_s: f64,
    /// Gaps strictly longer than this split segments, seconds.
    pub max_gap_s: f64,
    /// Anchor radius of the stay rule, metres.
    pub stay_radius_m: f64,
    /// Shortest stay, seconds.
    pub stay_min_s: f64,
    /// The time zone whose local days split the track.
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: Tz,
}

fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

impl Default for TrackParams {
    fn default() -> Self {
        TrackParams::from_config(&Config::default(), CleanMode::Full)
    }
}

impl TrackParams {
    /// The track parameters of a config.
    pub fn from_config(config: &Config, clean: CleanMode) -> TrackParams {
        TrackParams {
            clean,
            max_accuracy_m: config.max_accuracy_m,
            max_speed_mps: config.max_speed_mps,
            relocation_pings: config.relocation_pings as usize,
            max_future_s: config.max_future_s,
            max_gap_s: config.max_gap_s,
            stay_radius_m: config.stay_radius_m,
            stay_min_s: config.stay_min_s,
            timezone: config.tz(),
        }
    }
}

/// An accepted position: what every later computation reads. 48 bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fix {
    /// UTC ms.
    pub ts: UnixMs,
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// The ellipsoid's local scale at this latitude, for fast distances.
    pub scale: Scale,
    /// The distance from the previous accepted fix, metres (0 for the first). Within a
    /// segment this is the step's length; at a segment's start it spans the gap and is unused.
    pub step_m: f64,
    /// The index of the input ping it came from.
    pub ping: u32,
}

impl Fix {
    /// The ellipsoidal distance to another fix, metres.
    #[inline]
    pub fn distance_m(&self, other: &Fix) -> f64 {
        distance_scaled_m(
            self.lon,
            self.lat,
            self.scale,
            other.lon,
            other.lat,
            other.scale,
        )
    }
}

/// One worker's patrol: the result of [`build`].
#[derive(Clone, Debug, Default)]
pub struct Track {
    /// Pings received (repeats left out: DESIGN.md §4.2 step 1).
    pub pings: usize,
    /// Cleaning's output: accepted fixes, drops by reason, jumps.
    pub cleaned: Cleaned,
    /// Segments as index ranges into `cleaned.fixes`.
    pub segments: Vec<Range<usize>>,
    /// Stays, in time order.
    pub stays: Vec<Stay>,
    /// Total length, metres.
    pub length_m: f64,
    /// Total patrol time (sum of segment durations), seconds.
    pub patrol_s: f64,
    /// The same figures per local day.
    pub days: Vec<DaySummary>,
}

impl Track {
    /// The accepted fixes.
    pub fn fixes(&self) -> &[Fix] {
        &self.cleaned.fixes
    }
}

/// Builds one worker's track from their pings (any order): cleaning, segments, length,
/// patrol time, stays, and the per-day split.
pub fn build(pings: &[Ping], params: &TrackParams) -> Track {
    build_from(pings, params, None)
}

/// Builds a track from pings whose speed gate starts at `carry`, the last fix accepted before
/// them (see [`clean_from`]).
pub fn build_from(pings: &[Ping], params: &TrackParams, carry: Option<Carry>) -> Track {
    let cleaned = clean_from(pings, params, carry);
    let segs = segments(&cleaned.fixes, &cleaned.relocations, params.max_gap_s);
    let mut all_stays = Vec::new();
    for seg in &segs {
        all_stays.extend(stays(&cleaned.fixes[seg.clone()], seg.start, params));
    }
    // The day split walks every step once; the totals are its sums, so days always add up.
    // Folded from +0.0: `Sum` for f64 starts at -0.0, which a worker with no days would print.
    let days = split_days(&cleaned.fixes, &segs, &all_stays, params.timezone);
    Track {
        pings: pings.len() - cleaned.repeats as usize,
        length_m: days.iter().fold(0.0, |sum, d| sum + d.length_m),
        patrol_s: days.iter().fold(0.0, |sum, d| sum + d.patrol_s),
        cleaned,
        segments: segs,
        stays: all_stays,
        days,
    }
}

/// Splits fixes into segments (DESIGN.md §4.3): a new segment starts where consecutive fixes
/// are strictly more than `max_gap_s` apart, and at every relocation. Empty input gives no
/// segment; a lone fix is a segment of one.
pub fn segments(fixes: &[Fix], relocations: &[usize], max_gap_s: f64) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    if fixes.is_empty() {
        return out;
    }
    let max_gap_ms = max_gap_s * 1000.0;
    let mut relocations = relocations.iter().copied().peekable();
    let mut start = 0;
    for i in 1..fixes.len() {
        let gap = (fixes[i].ts - fixes[i - 1].ts) as f64 > max_gap_ms;
        let relocated = relocations.next_if_eq(&i).is_some();
        if gap || relocated {
            out.push(start..i);
            start = i;
        }
    }
    out.push(start..fixes.len());
    out
}

/// The length of a run of fixes, metres: the sum of ellipsoidal step distances.
pub fn length_m_of(fixes: &[Fix]) -> f64 {
    fixes.windows(2).map(|w| w[0].distance_m(&w[1])).sum()
}

/// The local calendar day of an instant.
pub fn local_day(ts: UnixMs, tz: Tz) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.with_timezone(&tz).date_naive())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkerId;

    const M_PER_DEG_LAT: f64 = 110_800.0;

    fn fix(t_s: i64, north_m: f64) -> Fix {
        Fix::new(t_s * 1000, 112.98, 28.2 + north_m / M_PER_DEG_LAT, 0)
    }

    #[test]
    fn a_gap_of_exactly_max_gap_does_not_split() {
        let fixes = [fix(0, 0.0), fix(300, 1.0), fix(601, 2.0), fix(602, 3.0)];
        assert_eq!(segments(&fixes, &[], 300.0), vec![0..2, 2..4]);
    }

    #[test]
    fn one_fix_segments_are_kept_and_have_no_length() {
        let fixes = [fix(0, 0.0), fix(1000, 10.0), fix(2000, 20.0)];
        let segs = segments(&fixes, &[], 300.0);
        assert_eq!(segs, vec![0..1, 1..2, 2..3]);
        let pings: Vec<Ping> = fixes
            .iter()
            .map(|f| Ping::new(WorkerId::new("w"), f.ts, f.lon, f.lat))
            .collect();
        let t = build(&pings, &TrackParams::default());
        assert_eq!(t.segments.len(), 3);
        assert_eq!(t.length_m, 0.0);
        assert_eq!(t.patrol_s, 0.0);
    }

    #[test]
    fn relocations_split_segments() {
        let fixes = [fix(0, 0.0), fix(10, 1.0), fix(20, 2.0)];
        assert_eq!(segments(&fixes, &[2], 300.0), vec![0..2, 2..3]);
        assert!(segments(&[], &[], 300.0).is_empty());
    }

    #[test]
    fn length_and_patrol_time_sum_within_segments_only() {
        // 10 m steps, a 10-minute gap, then 10 m steps again: the gap is never bridged.
        let mut pings = Vec::new();
        for k in 0..5 {
            pings.push(Ping::new(
                WorkerId::new("w"),
                k * 10_000,
                112.98,
                28.2 + k as f64 * 10.0 / M_PER_DEG_LAT,
            ));
        }
        for k in 0..5 {
            let north = 1000.0 + k as f64 * 10.0;
            pings.push(Ping::new(
                WorkerId::new("w"),
                640_000 + k * 10_000,
                112.98,
                28.2 + north / M_PER_DEG_LAT,
            ));
        }
        let t = build(&pings, &TrackParams::default());
        assert_eq!(t.segments.len(), 2);
        assert!((t.length_m - 80.0).abs() < 0.2, "{}", t.length_m);
        assert_eq!(t.patrol_s, 80.0);
    }
}
