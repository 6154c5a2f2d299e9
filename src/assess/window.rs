//! The bounded window a single worker-day is summarised from, so that the service can
//! recompute one dirty day and get exactly what the whole-stream batch gets.
//!
//! **The window of day D** (pings of one worker sorted by timestamp, ties in receipt order):
//! 1. D's own pings;
//! 2. extended backwards and forwards over every ping within `max_gap_s` of its neighbour: the
//!    whole run of pings without a raw gap longer than `max_gap_s` around each end of the day.
//!    Dropping pings only widens gaps, so such a raw gap is always a segment boundary, and no
//!    rule of [`super::day`] looks across one;
//! 3. plus, after that, the next `relocation_pings` pings that pass the one-ping gates (the
//!    speed gate's relocation rule looks that far ahead);
//! 4. with the **carry**: the last fix accepted before the window, which the day before
//!    hands on ([`super::WorkerDay::carry`]; `None` when nothing came before).
//!
//! Why it is exact: the speed gate's decision on a ping depends only on the last accepted fix
//! (the carry, at the window's start) and the next `relocation_pings` candidates (inside the
//! window by 3.); segments, stays, dwell visits, episodes, static-device runs and fingerprints
//! are all computed within a segment, and every segment touching D lies inside the window by 2.
//! The test `tests/it/day_windows.rs` checks it on night shifts and late pings.
//!
//! The window is usually D plus a few minutes; it grows only when the phone reports without a
//! pause across midnight (a night shift), by that continuous run.

use std::ops::Range;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::model::local_midnight_ms;
use crate::model::{Ping, UnixMs};
use crate::track::clean::is_candidate;
use crate::track::TrackParams;

/// The UTC instants of a local day, `[midnight, next midnight)`.
pub fn day_bounds(day: NaiveDate, tz: Tz) -> Range<UnixMs> {
    let start = local_midnight_ms(day, tz).unwrap_or(UnixMs::MIN);
    let end = day
        .succ_opt()
        .and_then(|d| local_midnight_ms(d, tz))
        .unwrap_or(UnixMs::MAX);
    start..end
}

/// The window of `day` in one worker's pings, which must be sorted by timestamp (stable, so
/// equal timestamps keep their order of receipt); `None` when the day has no ping.
pub fn day_window(
    pings: &[Ping],
    day: NaiveDate,
    tz: Tz,
    params: &TrackParams,
) -> Option<Range<usize>> {
    let bounds = day_bounds(day, tz);
    let lo0 = pings.partition_point(|p| p.ts < bounds.start);
    let hi0 = pings.partition_point(|p| p.ts < bounds.end);
    if lo0 == hi0 {
        return None;
    }
    let gap = max_gap_ms(params);
    let mut lo = lo0;
    while lo > 0 && pings[lo].ts - pings[lo - 1].ts <= gap {
        lo -= 1;
    }
    let mut hi = hi0;
    while hi < pings.len() && pings[hi].ts - pings[hi - 1].ts <= gap {
        hi += 1;
    }
    let mut needed = params.relocation_pings;
    while needed > 0 && hi < pings.len() {
        if is_candidate(Some(&pings[hi - 1]), &pings[hi], params) {
            needed -= 1;
        }
        hi += 1;
    }
    Some(lo..hi)
}

/// The longest gap that does not split a segment, ms.
fn max_gap_ms(params: &TrackParams) -> UnixMs {
    (params.max_gap_s * 1000.0) as UnixMs
}

/// Where the next window's carry is taken: the last accepted fix before the returned instant.
/// That is the start of the run of pings (no raw gap over `max_gap_ms`) that is open across
/// `end`, or `end` itself when none is. `raw_ts` are the stream's timestamps, sorted.
pub(crate) fn carry_before(raw_ts: &[UnixMs], end: UnixMs, max_gap_ms: UnixMs) -> UnixMs {
    let idx = raw_ts.partition_point(|&t| t < end);
    if idx == 0 || idx == raw_ts.len() || raw_ts[idx] - raw_ts[idx - 1] > max_gap_ms {
        return end;
    }
    let mut j = idx - 1;
    while j > 0 && raw_ts[j] - raw_ts[j - 1] <= max_gap_ms {
        j -= 1;
    }
    raw_ts[j]
}

/// One worker-day computed on its own, as the service recomputes a dirty day.
#[derive(Clone, Debug)]
pub struct DaySummary {
    /// The summary.
    pub day: super::WorkerDay,
    /// The instants of the window's first and last ping; the end is `None` when the window
    /// ran to the end of the pings given (a later ping may extend it).
    pub window: (UnixMs, Option<UnixMs>),
}

impl super::Assessor {
    /// Summarises `day` of one worker from `pings` (sorted by timestamp, duplicates after
    /// their original in order of receipt), which must hold the day's whole window (see the
    /// module documentation); `carry` is the carry of the worker's previous day, `earlier`
    /// the fingerprints of the earlier days of the month. `None` when the day has no ping.
    /// `open_end`: the pings run to the worker's newest, so a window reaching their end is
    /// open.
    pub fn summarize_day(
        &self,
        worker: &crate::model::WorkerId,
        pings: &[Ping],
        day: NaiveDate,
        carry: Option<crate::track::Carry>,
        earlier: &[crate::anomaly::Fingerprint],
        open_end: bool,
    ) -> Option<DaySummary> {
        let range = day_window(pings, day, self.tz, &self.track)?;
        let window = &pings[range.clone()];
        let start = window.first()?.ts;
        let end = (!(open_end && range.end == pings.len())).then(|| window[window.len() - 1].ts);
        let mut days = self.summarize_stream(worker, window, carry, &|d| d == day, earlier);
        let summary = days.pop()?;
        Some(DaySummary {
            day: summary,
            window: (start, end),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_timestamp, WorkerId};

    fn ping(ts: &str) -> Ping {
        Ping::new(
            WorkerId::new("w"),
            parse_timestamp(ts).unwrap(),
            112.98,
            28.2,
        )
    }

    #[test]
    fn a_window_extends_over_runs_without_gaps_and_looks_ahead() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let pings = vec![
            ping("2026-10-07T20:00:00+08:00"), // 0: before a 6-minute gap
            ping("2026-10-07T23:50:00+08:00"), // 1: the night run starts
            ping("2026-10-07T23:55:00+08:00"), // 2
            ping("2026-10-08T00:00:00+08:00"), // 3: day 8
            ping("2026-10-08T08:00:00+08:00"), // 4
            ping("2026-10-08T23:59:00+08:00"), // 5
            ping("2026-10-09T00:04:00+08:00"), // 6: within 300 s of 5
            ping("2026-10-09T09:00:00+08:00"), // 7: lookahead 1
            ping("2026-10-09T09:00:00+08:00"), // 8: a duplicate is no candidate
            ping("2026-10-09T09:00:10+08:00"), // 9: lookahead 2
            ping("2026-10-09T09:00:20+08:00"), // 10: lookahead 3
            ping("2026-10-09T09:00:30+08:00"), // 11
        ];
        let day = NaiveDate::from_ymd_opt(2026, 10, 8).unwrap();
        let w = day_window(&pings, day, tz, &TrackParams::default()).unwrap();
        assert_eq!(w, 1..11);
        let none = NaiveDate::from_ymd_opt(2026, 10, 10).unwrap();
        assert_eq!(day_window(&pings, none, tz, &TrackParams::default()), None);
    }

    #[test]
    fn the_carry_is_taken_before_the_run_open_across_midnight() {
        let ts = [0, 100, 1000, 1200, 1250];
        // A run 1000..1250 is open across 1100: the carry comes before 1000.
        assert_eq!(carry_before(&ts, 1100, 300), 1000);
        // Nothing is open across 500: the carry comes before 500.
        assert_eq!(carry_before(&ts, 500, 300), 500);
        assert_eq!(carry_before(&ts, 5000, 300), 5000);
    }
}
