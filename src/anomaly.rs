//! Plausibility checks per worker-day (DESIGN.md §4.8): many speed-gate jumps, a static
//! device, a replayed track, client mock-location flags, timestamps ahead of receipt. Each
//! flag carries its evidence, so a person can check it.
//!
//! The checks read a [`Track`] (and the raw pings, for the client's flags); a replay needs the
//! worker's earlier days, which it sees through their [`Fingerprint`]s. Pure computation.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::geodesy::{distance_m, LocalFrame};
use crate::model::{format_timestamp, Ping, UnixMs};
use crate::track::days::DayClock;
use crate::track::{Fix, Track};

/// The parameters of the checks (a view of [`Config`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyParams {
    /// A day with at least this many speed-gate jumps is flagged.
    pub jump_flag_count: u32,
    /// Only jumps at least this long count towards that flag, metres: GPS outliers in urban
    /// canyons jump tens to a couple of hundred metres, a fake-location app kilometres.
    pub jump_flag_min_m: f64,
    /// Shortest "patrol" inside a small circle that flags a static device, seconds.
    pub static_min_s: f64,
    /// Radius of that circle, metres.
    pub static_radius_m: f64,
    /// Two days' positions at the same time into the day match when this close, metres.
    pub replay_radius_m: f64,
    /// The share of moving minutes that must match for a replay.
    pub replay_min_share: f64,
    /// The matched moving time that a replay needs at least, seconds.
    pub replay_min_s: f64,
}

impl AnomalyParams {
    /// The anomaly parameters of a config.
    pub fn from_config(c: &Config) -> AnomalyParams {
        AnomalyParams {
            jump_flag_count: c.jump_flag_count,
            jump_flag_min_m: c.jump_flag_min_m,
            static_min_s: c.static_min_s,
            static_radius_m: c.static_radius_m,
            replay_radius_m: c.replay_radius_m,
            replay_min_share: c.replay_min_share,
            replay_min_s: c.replay_min_s,
        }
    }
}

/// One flag on one worker-day, with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The local day.
    pub day: NaiveDate,
    /// What was found, and the evidence.
    #[serde(flatten)]
    pub finding: Finding,
}

impl Anomaly {
    /// The flag's name as reports show it (`static_device`, `replay`, …).
    pub fn kind(&self) -> &'static str {
        match self.finding {
            Finding::Jumps { .. } => "jumps",
            Finding::StaticDevice { .. } => "static_device",
            Finding::Replay { .. } => "replay",
            Finding::MockLocation { .. } => "mock_location",
            Finding::FutureTimestamps { .. } => "future_timestamps",
            Finding::OutOfGrid { .. } => "out_of_grid",
        }
    }
}

/// The kinds of flag, each with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "evidence", rename_all = "snake_case")]
pub enum Finding {
    /// Many pings implied impossible speeds (teleport-like jumps).
    Jumps {
        /// Jumps of at least `jump_flag_min_m` that day.
        count: u32,
        /// The fastest implied speed, m/s.
        max_speed_mps: f64,
        /// The longest jump, metres.
        max_distance_m: f64,
        /// When the first (up to ten) happened.
        times: Vec<String>,
    },
    /// The phone stayed inside a small circle for a long time while reporting a patrol.
    StaticDevice {
        /// Start of the period.
        start: String,
        /// End of the period.
        end: String,
        /// Its duration, minutes.
        minutes: f64,
        /// The circle's centre (mean of the fixes).
        lon: f64,
        /// The circle's centre (mean of the fixes).
        lat: f64,
        /// Fixes in the period.
        fixes: u32,
    },
    /// The day's track repeats an earlier day's, shifted in time.
    Replay {
        /// The earlier day it repeats.
        of_day: NaiveDate,
        /// Share of the moving minutes that coincide.
        matched_share: f64,
        /// Moving minutes that coincide.
        matched_minutes: u32,
        /// The time shift that aligns them, seconds (this day's start minus that day's).
        shift_s: i64,
    },
    /// The client flagged pings as coming from a mock-location provider.
    MockLocation {
        /// Flagged pings that day.
        pings: u32,
        /// The first flagged ping.
        first: String,
        /// The last flagged ping.
        last: String,
    },
    /// Pings stamped further ahead of their receipt than `max_future_s`.
    FutureTimestamps {
        /// Such pings that day.
        pings: u32,
    },
    /// Long patrol time outside the worker's assigned grids (raised by the assessment, which
    /// knows the assignment).
    OutOfGrid {
        /// Minutes outside the assigned grids that day.
        minutes: f64,
        /// The episodes longer than `out_of_grid_min_s`, as `start/end`.
        episodes: Vec<String>,
    },
}

/// The sampling step of fingerprints, seconds.
const FINGERPRINT_STEP_S: i64 = 60;
/// Moving minutes after which a comparison whose share is under half the threshold stops.
const REPLAY_EARLY_EXIT_MINUTES: u32 = 30;
/// How many sampling steps either way a replay may be shifted against the original's start.
const REPLAY_MAX_LAG_STEPS: i64 = 5;

/// A day's track sampled once a minute from its first fix: what replay detection compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The local day.
    pub day: NaiveDate,
    /// The first fix's timestamp, UTC ms.
    pub start: UnixMs,
    /// Positions (lon, lat) each minute from `start`; `None` inside gaps.
    pub samples: Vec<Option<(f64, f64)>>,
}

/// Flags every day of one worker's track. `earlier` holds fingerprints of days before the
/// track's first day (from stored summaries); the track's own days are compared with each
/// other too. Returns the flags, and the fingerprint of each of the track's days.
///
/// This compares every day given, whatever its month; the figures every door reports come from
/// `assess::day`, which calls [`detect_flags`] and [`replay`] itself and compares a day only
/// with the earlier days of its own month.
pub fn detect(
    pings: &[Ping],
    track: &Track,
    earlier: &[Fingerprint],
    params: &AnomalyParams,
    tz: chrono_tz::Tz,
) -> (Vec<Anomaly>, Vec<Fingerprint>) {
    let mut out = detect_flags(pings, track, params, tz);
    let prints = fingerprints(track, tz);
    let mut seen: Vec<&Fingerprint> = earlier.iter().collect();
    for fp in &prints {
        if let Some(finding) = replay(fp, &seen, params) {
            out.push(Anomaly {
                day: fp.day,
                finding,
            });
        }
        seen.push(fp);
    }
    out.sort_by(|a, b| (a.day, a.kind()).cmp(&(b.day, b.kind())));
    (out, prints)
}

/// The flags that need no other day: jumps, static device, mock locations, timestamps ahead of
/// receipt, each on the local day it happened (a static period on the day it starts).
pub fn detect_flags(
    pings: &[Ping],
    track: &Track,
    params: &AnomalyParams,
    tz: chrono_tz::Tz,
) -> Vec<Anomaly> {
    let mut out = Vec::new();
    jumps(track, params, tz, &mut out);
    static_device(track, params, tz, &mut out);
    mock_location(pings, tz, &mut out);
    future_timestamps(track, tz, &mut out);
    out
}

fn jumps(track: &Track, params: &AnomalyParams, tz: chrono_tz::Tz, out: &mut Vec<Anomaly>) {
    let mut clock = DayClock::new(tz);
    let mut day_jumps: Vec<(NaiveDate, Vec<&crate::track::Jump>)> = Vec::new();
    for j in track
        .cleaned
        .jumps
        .iter()
        .filter(|j| j.distance_m >= params.jump_flag_min_m)
    {
        let day = clock.day(j.ts);
        match day_jumps.last_mut() {
            Some((d, list)) if *d == day => list.push(j),
            _ => day_jumps.push((day, vec![j])),
        }
    }
    for (day, list) in day_jumps {
        if (list.len() as u32) < params.jump_flag_count.max(1) {
            continue;
        }
        out.push(Anomaly {
            day,
            finding: Finding::Jumps {
                count: list.len() as u32,
                max_speed_mps: round1(list.iter().map(|j| j.speed_mps).fold(0.0, f64::max)),
                max_distance_m: round1(list.iter().map(|j| j.distance_m).fold(0.0, f64::max)),
                times: list
                    .iter()
                    .take(10)
                    .map(|j| format_timestamp(j.ts))
                    .collect(),
            },
        });
    }
}

/// Runs of fixes within one segment that all lie inside `static_radius_m` of the run's
/// running mean, lasting at least `static_min_s`. A real phone on a person moves; a phone on
/// a desk stays inside its GPS noise.
fn static_device(track: &Track, params: &AnomalyParams, tz: chrono_tz::Tz, out: &mut Vec<Anomaly>) {
    let fixes = track.fixes();
    let min_ms = params.static_min_s * 1000.0;
    let r2 = params.static_radius_m * params.static_radius_m;
    let mut clock = DayClock::new(tz);
    for seg in &track.segments {
        let run = &fixes[seg.clone()];
        // One metric frame per segment (a walk of a few km: the scale error over it is far
        // below a millimetre on the 20 m radius); every fix projected once.
        let frame = LocalFrame::new(run[0].lon, run[0].lat);
        let xy: Vec<(f64, f64)> = run.iter().map(|f| frame.project(f.lon, f.lat)).collect();
        let mut i = 0;
        while i < run.len() {
            let (x0, y0) = xy[i];
            let (mut mx, mut my, mut n) = (0.0, 0.0, 1.0);
            let mut j = i + 1;
            while j < run.len() {
                let (x, y) = (xy[j].0 - x0, xy[j].1 - y0);
                let (nx, ny) = ((mx * n + x) / (n + 1.0), (my * n + y) / (n + 1.0));
                if (x - nx).powi(2) + (y - ny).powi(2) >= r2 {
                    break;
                }
                (mx, my, n) = (nx, ny, n + 1.0);
                j += 1;
            }
            let (first, last) = (&run[i], &run[j - 1]);
            if ((last.ts - first.ts) as f64) >= min_ms {
                let (lon, lat) = frame.unproject(x0 + mx, y0 + my);
                out.push(Anomaly {
                    day: clock.day(first.ts),
                    finding: Finding::StaticDevice {
                        start: format_timestamp(first.ts),
                        end: format_timestamp(last.ts),
                        minutes: round1((last.ts - first.ts) as f64 / 60_000.0),
                        lon: round7(lon),
                        lat: round7(lat),
                        fixes: (j - i) as u32,
                    },
                });
                i = j;
            } else {
                i += 1;
            }
        }
    }
}

fn mock_location(pings: &[Ping], tz: chrono_tz::Tz, out: &mut Vec<Anomaly>) {
    let mut clock = DayClock::new(tz);
    let mut by_day: Vec<(NaiveDate, u32, UnixMs, UnixMs)> = Vec::new();
    for p in pings.iter().filter(|p| p.mock) {
        let day = clock.day(p.ts);
        match by_day.iter_mut().find(|(d, ..)| *d == day) {
            Some((_, n, first, last)) => {
                *n += 1;
                *first = (*first).min(p.ts);
                *last = (*last).max(p.ts);
            }
            None => by_day.push((day, 1, p.ts, p.ts)),
        }
    }
    for (day, n, first, last) in by_day {
        out.push(Anomaly {
            day,
            finding: Finding::MockLocation {
                pings: n,
                first: format_timestamp(first),
                last: format_timestamp(last),
            },
        });
    }
}

fn future_timestamps(track: &Track, tz: chrono_tz::Tz, out: &mut Vec<Anomaly>) {
    let mut clock = DayClock::new(tz);
    let mut by_day: Vec<(NaiveDate, u32)> = Vec::new();
    for &ts in &track.cleaned.future {
        let day = clock.day(ts);
        match by_day.iter_mut().find(|(d, _)| *d == day) {
            Some((_, n)) => *n += 1,
            None => by_day.push((day, 1)),
        }
    }
    for (day, pings) in by_day {
        out.push(Anomaly {
            day,
            finding: Finding::FutureTimestamps { pings },
        });
    }
}

/// Samples each day of a track once a minute from the day's first fix, interpolating inside
/// segments and leaving gaps empty.
pub fn fingerprints(track: &Track, tz: chrono_tz::Tz) -> Vec<Fingerprint> {
    let fixes = track.fixes();
    let mut out: Vec<Fingerprint> = Vec::new();
    // The day being sampled; it joins `out` when a fix of another day comes, or at the end.
    let mut current: Option<Fingerprint> = None;
    let mut clock = DayClock::new(tz);
    for seg in &track.segments {
        let run = &fixes[seg.clone()];
        for (k, f) in run.iter().enumerate() {
            let day = clock.day(f.ts);
            if current.as_ref().is_some_and(|fp| fp.day != day) {
                out.extend(current.take());
            }
            let fp = current.get_or_insert_with(|| Fingerprint {
                day,
                start: f.ts,
                samples: Vec::new(),
            });
            let step_ms = FINGERPRINT_STEP_S * 1000;
            let slot = |ts: UnixMs| ((ts - fp.start) + step_ms - 1).div_euclid(step_ms) as usize;
            // Fill every sample instant in [f.ts, next.ts) by interpolation along the step.
            let next = run.get(k + 1);
            let end = next.map_or(f.ts + 1, |n| n.ts);
            let mut s = slot(f.ts);
            loop {
                let t = fp.start + s as i64 * step_ms;
                if t >= end {
                    break;
                }
                if fp.samples.len() <= s {
                    fp.samples.resize(s + 1, None);
                }
                // Rounded to 1e-7° (1 cm) so that a stored fingerprint compares as the fresh one.
                let (lon, lat) = interpolate(f, next, t);
                fp.samples[s] = Some((round7(lon), round7(lat)));
                s += 1;
            }
        }
    }
    out.extend(current);
    out
}

fn interpolate(a: &Fix, b: Option<&Fix>, t: UnixMs) -> (f64, f64) {
    match b {
        Some(b) if b.ts > a.ts => {
            let w = (t - a.ts) as f64 / (b.ts - a.ts) as f64;
            (a.lon + w * (b.lon - a.lon), a.lat + w * (b.lat - a.lat))
        }
        _ => (a.lon, a.lat),
    }
}

/// Compares a day's fingerprint with earlier days': the earliest day whose samples coincide
/// (within `replay_radius_m`) on at least `replay_min_share` of the minutes in which that day
/// moved, for at least `replay_min_s`, at the best of a few small time shifts.
pub fn replay(
    fp: &Fingerprint,
    earlier: &[&Fingerprint],
    params: &AnomalyParams,
) -> Option<Finding> {
    let mut best: Option<(f64, u32, &Fingerprint, i64)> = None;
    for e in earlier.iter().filter(|e| e.day < fp.day) {
        for lag in -REPLAY_MAX_LAG_STEPS..=REPLAY_MAX_LAG_STEPS {
            let (mut moving, mut matched) = (0u32, 0u32);
            for (k, s) in fp.samples.iter().enumerate() {
                // Two unrelated days part ways within minutes: once enough moving minutes are
                // seen, a share far below the threshold cannot recover, so stop early.
                if moving >= REPLAY_EARLY_EXIT_MINUTES
                    && f64::from(matched) < 0.5 * params.replay_min_share * f64::from(moving)
                {
                    break;
                }
                let idx = k as i64 + lag;
                if idx < 0 {
                    continue;
                }
                let idx = idx as usize;
                let (Some(a), Some(b), Some(Some(b_next))) = (
                    s,
                    e.samples.get(idx).copied().flatten(),
                    e.samples.get(idx + 1),
                ) else {
                    continue;
                };
                // Only minutes in which the original moved count: two days at the same desk
                // coincide without being a replay.
                if distance_m(b.0, b.1, b_next.0, b_next.1) < params.replay_radius_m {
                    continue;
                }
                moving += 1;
                if distance_m(a.0, a.1, b.0, b.1) < params.replay_radius_m {
                    matched += 1;
                }
            }
            if moving == 0 {
                continue;
            }
            let share = f64::from(matched) / f64::from(moving);
            if share >= params.replay_min_share
                && f64::from(matched) * FINGERPRINT_STEP_S as f64 >= params.replay_min_s
                && best.is_none_or(|(s, ..)| share > s)
            {
                best = Some((share, matched, e, lag));
            }
        }
    }
    best.map(|(share, matched, e, lag)| Finding::Replay {
        of_day: e.day,
        matched_share: (share * 1000.0).round() / 1000.0,
        matched_minutes: matched,
        shift_s: (fp.start - e.start) / 1000 - lag * FINGERPRINT_STEP_S,
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_timestamp, WorkerId};
    use crate::track::{build, TrackParams};

    /// A ping `east_m`/`north_m` metres from a base point in Changsha.
    fn ping(ts: UnixMs, east_m: f64, north_m: f64) -> Ping {
        let (lon, lat) = LocalFrame::new(112.98, 28.2).unproject(east_m, north_m);
        Ping::new(WorkerId::new("w"), ts, lon, lat)
    }

    fn morning(day: u32) -> UnixMs {
        parse_timestamp(&format!("2026-10-{day:02}T09:00:00+08:00")).unwrap()
    }

    /// A walk of `minutes` at 1.2 m/s along a zigzag whose shape depends on `route`.
    fn walk(start: UnixMs, minutes: i64, route: f64) -> Vec<Ping> {
        (0..minutes * 6)
            .map(|k| {
                let d = k as f64 * 12.0;
                let (e, n) = (d % 400.0, (d / 400.0).floor() * 60.0 * route);
                ping(start + k * 10_000, e, n)
            })
            .collect()
    }

    fn run(pings: &[Ping]) -> Vec<Anomaly> {
        let params = AnomalyParams::from_config(&Config::default());
        let track = build(pings, &TrackParams::default());
        detect(pings, &track, &[], &params, chrono_tz::Asia::Shanghai).0
    }

    fn kinds(a: &[Anomaly]) -> Vec<&'static str> {
        a.iter().map(Anomaly::kind).collect()
    }

    #[test]
    fn a_phone_on_a_desk_for_over_an_hour_is_a_static_device() {
        let t0 = morning(8);
        // 70 minutes jittering within 4 m, then a walk.
        let mut pings: Vec<Ping> = (0..420)
            .map(|k| ping(t0 + k * 10_000, (k % 3) as f64 * 2.0, (k % 5) as f64 * 1.0))
            .collect();
        pings.extend(walk(t0 + 4_200_000, 30, 1.0));
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["static_device"]);
        let Finding::StaticDevice { minutes, fixes, .. } = &a[0].finding else {
            unreachable!()
        };
        assert!(
            *minutes >= 69.8 && *fixes >= 420,
            "{minutes} min, {fixes} fixes"
        );
    }

    #[test]
    fn fifty_minutes_on_a_desk_or_a_walk_is_not_flagged() {
        let t0 = morning(8);
        let mut pings: Vec<Ping> = (0..300)
            .map(|k| ping(t0 + k * 10_000, 0.0, (k % 4) as f64))
            .collect();
        pings.extend(walk(t0 + 3_000_000, 120, 1.0));
        assert!(run(&pings).is_empty(), "{:?}", run(&pings));
    }

    #[test]
    fn a_track_replayed_on_a_later_day_is_flagged_with_the_original_day() {
        let day1 = walk(morning(8), 90, 1.0);
        // The same positions two days later, started 7 minutes later in the day.
        let shift = morning(10) - morning(8) + 420_000;
        let mut pings = day1.clone();
        pings.extend(day1.iter().map(|p| Ping {
            ts: p.ts + shift,
            ..p.clone()
        }));
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["replay"]);
        let Finding::Replay {
            of_day,
            matched_share,
            shift_s,
            ..
        } = &a[0].finding
        else {
            unreachable!()
        };
        assert_eq!(of_day.to_string(), "2026-10-08");
        assert!(*matched_share > 0.95, "{matched_share}");
        assert_eq!(*shift_s, shift / 1000);
        assert_eq!(a[0].day.to_string(), "2026-10-10");
    }

    #[test]
    fn a_different_walk_on_a_later_day_is_not_a_replay() {
        let mut pings = walk(morning(8), 90, 1.0);
        pings.extend(walk(morning(9), 90, -1.0));
        assert!(run(&pings).is_empty());
    }

    #[test]
    fn three_long_jumps_flag_a_day_and_short_outliers_do_not_count() {
        let t0 = morning(8);
        let mut pings = walk(t0, 60, 1.0);
        // Three 5 km teleports and four 150 m urban-canyon outliers, each a single ping.
        for (k, off) in [
            (50, 5000.0),
            (120, 5000.0),
            (200, 5000.0),
            (80, 150.0),
            (150, 150.0),
            (250, 150.0),
            (300, 150.0),
        ] {
            let p = &pings[k];
            let (e, n) = LocalFrame::new(112.98, 28.2).project(p.lon, p.lat);
            pings[k] = ping(p.ts, e + off, n);
        }
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["jumps"]);
        let Finding::Jumps {
            count,
            max_distance_m,
            ..
        } = &a[0].finding
        else {
            unreachable!()
        };
        assert_eq!(*count, 3);
        assert!(*max_distance_m > 4900.0);
        // Two teleports are not enough.
        let mut fewer = walk(t0, 60, 1.0);
        for k in [50, 120] {
            let p = &fewer[k];
            fewer[k] = ping(p.ts, 5000.0, 0.0);
        }
        assert!(run(&fewer).is_empty());
    }

    #[test]
    fn mock_flags_are_counted_per_day() {
        let mut pings = walk(morning(8), 30, 1.0);
        pings.extend(walk(morning(9), 30, 1.0).into_iter().map(|p| Ping {
            ts: p.ts + 1000,
            ..p
        }));
        for k in [3, 4, 5] {
            pings[k].mock = true;
        }
        let a: Vec<Anomaly> = run(&pings)
            .into_iter()
            .filter(|a| a.kind() == "mock_location")
            .collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].day.to_string(), "2026-10-08");
        assert!(matches!(
            a[0].finding,
            Finding::MockLocation { pings: 3, .. }
        ));
    }

    #[test]
    fn timestamps_ahead_of_receipt_are_flagged() {
        let mut pings = walk(morning(8), 10, 1.0);
        for p in pings.iter_mut().take(4) {
            p.received = Some(p.ts - 600_000);
        }
        let a = run(&pings);
        assert_eq!(kinds(&a), vec!["future_timestamps"]);
        assert!(matches!(
            a[0].finding,
            Finding::FutureTimestamps { pings: 4 }
        ));
    }
}
