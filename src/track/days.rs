//! The per-day split: a step belongs to the local day of its first fix, a stay to the day it
//! starts, so per-day figures sum exactly to the worker's totals.

use std::ops::Range;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

use super::{Fix, Stay};
use crate::model::{local_midnight_ms, UnixMs};

/// One worker's figures for one local calendar day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DaySummary {
    /// The local calendar day.
    pub day: NaiveDate,
    /// Accepted fixes taken that day.
    pub fixes: u32,
    /// Length of the steps that start that day, metres.
    pub length_m: f64,
    /// Duration of the steps that start that day, seconds.
    pub patrol_s: f64,
    /// Segments with at least one fix that day.
    pub segments: u32,
    /// Stays that start that day.
    pub stays: u32,
    /// The first fix's timestamp that day, UTC ms.
    pub first: UnixMs,
    /// The last fix's timestamp that day, UTC ms.
    pub last: UnixMs,
}

/// Finds the local day of instants that mostly arrive in time order, recomputing the day's
/// bounds only when an instant leaves them.
pub struct DayClock {
    tz: Tz,
    day: NaiveDate,
    start: UnixMs,
    end: UnixMs,
}

impl DayClock {
    /// A clock for `tz` (no day known yet).
    pub fn new(tz: Tz) -> DayClock {
        DayClock {
            tz,
            day: NaiveDate::MIN,
            start: UnixMs::MAX,
            end: UnixMs::MIN,
        }
    }

    /// The local day of `ts`.
    #[inline]
    pub fn day(&mut self, ts: UnixMs) -> NaiveDate {
        if ts < self.start || ts >= self.end {
            self.reset(ts);
        }
        self.day
    }

    fn reset(&mut self, ts: UnixMs) {
        self.day = super::local_day(ts, self.tz);
        self.start = local_midnight_ms(self.day, self.tz).unwrap_or(ts);
        self.end = self
            .day
            .succ_opt()
            .and_then(|next| local_midnight_ms(next, self.tz))
            .unwrap_or(ts + 1);
    }
}

/// Splits a worker's figures by local day. `fixes` are as cleaning produced them: each
/// fix's `step_m` is its distance from the previous one.
pub fn split_days(
    fixes: &[Fix],
    segments: &[Range<usize>],
    stays: &[Stay],
    tz: Tz,
) -> Vec<DaySummary> {
    let mut clock = DayClock::new(tz);
    let mut days: Vec<DaySummary> = Vec::new();
    for seg in segments {
        let run = &fixes[seg.clone()];
        let mut counted_in: Option<usize> = None;
        for (k, f) in run.iter().enumerate() {
            let d = day_index(&mut clock, &mut days, f.ts);
            let summary = &mut days[d];
            summary.fixes += 1;
            summary.last = f.ts;
            if counted_in != Some(d) {
                summary.segments += 1;
                counted_in = Some(d);
            }
            if let Some(next) = run.get(k + 1) {
                // Cleaning measured each step already: `next.step_m` is the distance from `f`.
                summary.length_m += next.step_m;
                summary.patrol_s += (next.ts - f.ts) as f64 / 1000.0;
            }
        }
    }
    for stay in stays {
        let day = clock.day(stay.start);
        if let Some(d) = days.iter_mut().find(|d| d.day == day) {
            d.stays += 1;
        }
    }
    days
}

/// Calls `f` with each day's share of each segment: the maximal runs of fixes whose steps
/// start on one local day, each run ending with the end fix of its last step (so a step that
/// crosses midnight is drawn, covered and measured once, for the day of its first fix). A
/// segment of one fix is a run of one; a segment's last fix alone on a new day starts no step
/// and is no run.
pub fn for_each_day_run(
    fixes: &[Fix],
    segments: &[Range<usize>],
    tz: Tz,
    mut f: impl FnMut(NaiveDate, &[Fix]),
) {
    let mut clock = DayClock::new(tz);
    for seg in segments {
        let run = &fixes[seg.clone()];
        if run.len() == 1 {
            f(clock.day(run[0].ts), run);
            continue;
        }
        let mut a = 0;
        // Steps are run[k]→run[k+1] for k < len-1.
        while a + 1 < run.len() {
            let day = clock.day(run[a].ts);
            let mut b = a;
            while b + 2 < run.len() && clock.day(run[b + 1].ts) == day {
                b += 1;
            }
            f(day, &run[a..b + 2]);
            a = b + 1;
        }
    }
}

/// The index in `days` of the day of `ts`, appending the day if it is new. Fixes arrive in
/// time order, so a day is either the last one or a new one.
fn day_index(clock: &mut DayClock, days: &mut Vec<DaySummary>, ts: UnixMs) -> usize {
    let day = clock.day(ts);
    if days.last().is_none_or(|d| d.day != day) {
        days.push(DaySummary {
            day,
            fixes: 0,
            length_m: 0.0,
            patrol_s: 0.0,
            segments: 0,
            stays: 0,
            first: ts,
            last: ts,
        });
    }
    days.len() - 1
}

#[cfg(test)]
mod tests {
    use crate::model::{parse_timestamp, Ping, WorkerId};
    use crate::track::{build, TrackParams};

    fn ping(ts: &str, north_m: f64) -> Ping {
        Ping::new(
            WorkerId::new("w"),
            parse_timestamp(ts).unwrap(),
            112.98,
            28.2 + north_m / 110_800.0,
        )
    }

    #[test]
    fn a_step_across_local_midnight_belongs_to_the_day_of_its_first_fix() {
        // 23:59:50 and 00:00:00 Beijing time, 10 m apart, in one segment.
        let pings = vec![
            ping("2026-10-07T23:59:40+08:00", 0.0),
            ping("2026-10-07T23:59:50+08:00", 10.0),
            ping("2026-10-08T00:00:00+08:00", 20.0),
            ping("2026-10-08T00:00:10+08:00", 30.0),
        ];
        let t = build(&pings, &TrackParams::default());
        assert_eq!(t.days.len(), 2);
        let (a, b) = (&t.days[0], &t.days[1]);
        assert_eq!(a.day.to_string(), "2026-10-07");
        assert_eq!((a.fixes, b.fixes), (2, 2));
        assert_eq!((a.patrol_s, b.patrol_s), (20.0, 10.0));
        assert_eq!(
            (a.segments, b.segments),
            (1, 1),
            "the segment touches both days"
        );
        let sum: f64 = t.days.iter().map(|d| d.length_m).sum();
        assert!((sum - t.length_m).abs() < 1e-9);
        assert!((a.length_m - 2.0 * b.length_m).abs() < 0.01);
    }

    #[test]
    fn the_day_is_local_not_utc() {
        // 01:00 UTC is 09:00 in Shanghai the same day; 17:00 UTC is 01:00 the next day.
        let pings = vec![
            ping("2026-10-08T01:00:00Z", 0.0),
            ping("2026-10-08T17:00:00Z", 0.0),
        ];
        let t = build(&pings, &TrackParams::default());
        let days: Vec<String> = t.days.iter().map(|d| d.day.to_string()).collect();
        assert_eq!(days, vec!["2026-10-08", "2026-10-09"]);
    }
}
