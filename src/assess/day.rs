//! One worker's pings → worker-day summaries, by one day rule (DESIGN.md §3, §4.3):
//!
//! - the worker's pings are cleaned as **one stream**: the speed gate carries on across local
//!   midnight (and across gaps), from the last accepted fix;
//! - a **step** (consecutive fixes of a segment) belongs to the local day of its first fix: its
//!   length, duration, in-grid time and covered area count for that day only;
//! - a **stay**, a dwell **visit**, an **out-of-grid episode** and a **static-device** period
//!   belong to the day they start; a ping (received, dropped, mock, check-in, jump) to the day of
//!   its timestamp;
//! - a day's **replay** check compares its fingerprint with the earlier days of the same local
//!   month.
//!
//! So per-day figures sum exactly to a period's, and one day can be summarised on its own from
//! a bounded window of pings plus the [`Carry`] of the day before ([`super::window`]): every
//! rule above looks no further than the segment a fix is in, and segments never cross a gap
//! between raw pings longer than `max_gap_s`.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::Assessor;
use crate::anomaly::{self, Anomaly, Finding, Fingerprint};
use crate::coverage::GridCoverage;
use crate::model::{format_timestamp, Month, Ping, UnixMs, WorkerId};
use crate::registry::GridId;
use crate::track::days::DayClock;
use crate::track::{self, Carry, DropCounts, Fix, Track};
use crate::visits::{self, AssignedArea, OutOfGridEpisode, RejectedCheckin, Visit};

/// A stay as a summary keeps it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StayRecord {
    /// The anchor's timestamp, UTC ms.
    pub start: UnixMs,
    /// When the worker left the radius (or the segment ended), UTC ms.
    pub end: UnixMs,
    /// Mean longitude of its fixes.
    pub lon: f64,
    /// Mean latitude of its fixes.
    pub lat: f64,
    /// Fixes in the stay.
    pub pings: u32,
}

impl StayRecord {
    /// Its duration, seconds.
    pub fn duration_s(&self) -> f64 {
        (self.end - self.start) as f64 / 1000.0
    }
}

/// One worker's figures for one local day: what every door shows and every period aggregates.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WorkerDay {
    /// The worker.
    pub worker: WorkerId,
    /// The local day.
    pub day: NaiveDate,
    /// Pings received with a timestamp that day.
    pub pings: u32,
    /// Accepted fixes taken that day.
    pub accepted: u32,
    /// That day's pings dropped by cleaning, by reason.
    pub dropped: DropCounts,
    /// That day's pings the client flagged as mock locations.
    pub mock_pings: u32,
    /// Segments with at least one fix that day.
    pub segments: u32,
    /// Segments whose first fix is that day (they sum over days to the track's segments).
    pub segments_started: u32,
    /// Patrol time of the steps starting that day, seconds.
    pub patrol_s: f64,
    /// Length of the steps starting that day, metres.
    pub length_m: f64,
    /// The first accepted fix that day, UTC ms (0 when none).
    pub first_fix: UnixMs,
    /// The last accepted fix that day, UTC ms (0 when none).
    pub last_fix: UnixMs,
    /// Time between the day's first and last fix not covered by its steps, seconds.
    pub gap_s: f64,
    /// Stays starting that day.
    pub stays: Vec<StayRecord>,
    /// Step time per grid (half-half at boundaries, with the in-grid tolerance for the
    /// worker's own grids), seconds.
    pub grid_s: BTreeMap<GridId, f64>,
    /// Step time outside every grid, seconds.
    pub outside_s: f64,
    /// Step time inside the worker's assigned grids (or within the tolerance of them), seconds.
    pub in_assigned_s: f64,
    /// Step time outside the worker's assigned grids, seconds.
    pub outside_assigned_s: f64,
    /// Out-of-grid episodes starting that day (longer than `out_of_grid_min_s`).
    pub out_of_grid: Vec<OutOfGridEpisode>,
    /// Their total duration, seconds: what reports call out-of-grid time.
    pub out_of_grid_s: f64,
    /// Covered area per grid of the steps starting that day (union-able masks).
    #[serde(skip)]
    pub coverage: GridCoverage,
    /// Checkpoint visits established that day, before merging (dwell runs starting that day,
    /// check-ins stamped that day): periods merge them ([`super::period`]).
    pub visits: Vec<Visit>,
    /// Check-ins that day that did not count.
    pub rejected_checkins: Vec<RejectedCheckin>,
    /// Plausibility flags with their evidence.
    pub anomalies: Vec<Anomaly>,
    /// The day sampled once a minute, for the replay check of later days.
    #[serde(skip)]
    pub fingerprint: Option<Fingerprint>,
    /// The steps starting that day, simplified (`simplify_tolerance_m`) polylines of
    /// (lon, lat) rounded to 1e-7°; a one-fix segment is a one-position line.
    #[serde(skip)]
    pub path: Vec<Vec<(f64, f64)>>,
    /// The speed gate's state for the next day's window (see [`super::window`]).
    #[serde(skip)]
    pub carry: Option<Carry>,
}

impl WorkerDay {
    /// A day of the worker without a ping.
    pub(crate) fn empty(worker: &WorkerId, day: NaiveDate) -> WorkerDay {
        WorkerDay {
            worker: worker.clone(),
            day,
            pings: 0,
            accepted: 0,
            dropped: DropCounts::default(),
            mock_pings: 0,
            segments: 0,
            segments_started: 0,
            patrol_s: 0.0,
            length_m: 0.0,
            first_fix: 0,
            last_fix: 0,
            gap_s: 0.0,
            stays: Vec::new(),
            grid_s: BTreeMap::new(),
            outside_s: 0.0,
            in_assigned_s: 0.0,
            outside_assigned_s: 0.0,
            out_of_grid: Vec::new(),
            out_of_grid_s: 0.0,
            coverage: GridCoverage::new(),
            visits: Vec::new(),
            rejected_checkins: Vec::new(),
            anomalies: Vec::new(),
            fingerprint: None,
            path: Vec::new(),
            carry: None,
        }
    }

    /// Whether the day carries a flag that the score penalises: any plausibility flag, but
    /// never the client's mock flag alone (DESIGN.md §4.8).
    pub fn penalised(&self) -> bool {
        self.anomalies.iter().any(|a| a.kind() != "mock_location")
    }
}

/// Rounds degrees to 1e-7 (about 1 cm): the precision of stored paths and fingerprints.
pub(crate) fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

impl Assessor {
    /// Summarises every local day of one worker's pings (any order), cleaned as one stream.
    /// Replay checks compare each day with the earlier days of its month in the stream.
    pub fn summarize_worker(&self, worker: &WorkerId, pings: &[Ping]) -> Vec<WorkerDay> {
        self.summarize_stream(worker, pings, None, &|_| true, &[])
    }

    /// Summarises the days of a stream of one worker's pings (any order) for which `wanted`
    /// holds, in day order. `carry` is the last fix accepted before the stream; `earlier`
    /// holds fingerprints of days before the stream's, for the replay check (only those of
    /// the same month count). The fingerprints of wanted days of the stream join them as the
    /// days go by.
    pub fn summarize_stream(
        &self,
        worker: &WorkerId,
        pings: &[Ping],
        carry: Option<Carry>,
        wanted: &dyn Fn(NaiveDate) -> bool,
        earlier: &[Fingerprint],
    ) -> Vec<WorkerDay> {
        let tz = self.tz;
        // Repeats are the same fix received again: no figure sees them (DESIGN.md §4.2.1).
        let (pings, _) = track::distinct(pings);
        let pings: &[Ping] = &pings;
        let t = track::build_from(pings, &self.track, carry);
        let mut clock = DayClock::new(tz);

        // The days: every local day with a ping that is wanted, with its pings counted, the
        // timestamps for the carries below and the marked pings; one pass over the pings (each
        // is a cache line or two, and a worker's month does not fit in the cache).
        let mut raw_ts: Vec<UnixMs> = Vec::with_capacity(pings.len());
        // The few pings the check-in and mock-location rules read, so that those rules do not
        // pass over every ping again.
        let mut marked: Vec<&Ping> = Vec::new();
        let mut days: Vec<WorkerDay> = Vec::new();
        {
            // A handful of days among many pings: each new day inserted in order, the day of
            // the ping before remembered.
            let mut seen: Vec<(NaiveDate, u32, u32)> = Vec::new();
            let mut last: Option<(NaiveDate, usize)> = None;
            for p in pings {
                raw_ts.push(p.ts);
                let d = clock.day(p.ts);
                let at = match last {
                    Some((day, at)) if day == d => at,
                    _ => {
                        let at = seen.binary_search_by_key(&d, |s| s.0).unwrap_or_else(|at| {
                            seen.insert(at, (d, 0, 0));
                            at
                        });
                        last = Some((d, at));
                        at
                    }
                };
                seen[at].1 += 1;
                seen[at].2 += u32::from(p.mock);
                if p.mock || p.checkin.is_some() {
                    marked.push(p);
                }
            }
            days.extend(
                seen.into_iter()
                    .filter(|s| wanted(s.0))
                    .map(|(d, n, mock)| {
                        let mut w = WorkerDay::empty(worker, d);
                        w.pings = n;
                        w.mock_pings = mock;
                        w
                    }),
            );
        }
        if days.is_empty() {
            return days;
        }
        let index_of =
            |days: &[WorkerDay], d: NaiveDate| days.binary_search_by_key(&d, |w| w.day).ok();

        for &(ts, reason) in &t.cleaned.drops {
            if let Some(i) = index_of(&days, clock.day(ts)) {
                days[i].dropped.count(reason);
            }
        }
        for d in &t.days {
            if let Some(i) = index_of(&days, d.day) {
                let w = &mut days[i];
                w.accepted = d.fixes;
                w.segments = d.segments;
                w.patrol_s = d.patrol_s;
                w.length_m = d.length_m;
                w.first_fix = d.first;
                w.last_fix = d.last;
                w.gap_s = (((d.last - d.first) as f64 / 1000.0) - d.patrol_s).max(0.0);
            }
        }
        let fixes = t.fixes();
        for seg in &t.segments {
            if let Some(i) = index_of(&days, clock.day(fixes[seg.start].ts)) {
                days[i].segments_started += 1;
            }
        }
        for s in &t.stays {
            if let Some(i) = index_of(&days, clock.day(s.start)) {
                days[i].stays.push(StayRecord {
                    start: s.start,
                    end: s.end,
                    lon: s.lon,
                    lat: s.lat,
                    pings: s.pings,
                });
            }
        }

        self.place_figures(worker, &t, &mut days, &mut clock);
        self.runs(&t, &mut days);

        // Visits, unmerged: dwell runs by their start, check-ins by their ping.
        let dwell = visits::dwell_visits(&t, worker, &self.checkpoints, &self.visit);
        let (checkins, rejected) =
            visits::checkin_visits(marked.iter().copied(), &self.checkpoints, &self.visit);
        for v in dwell.into_iter().chain(checkins) {
            if let Some(i) = index_of(&days, clock.day(v.start)) {
                days[i].visits.push(v);
            }
        }
        for r in rejected {
            if let Some(i) = index_of(&days, clock.day(r.ts)) {
                days[i].rejected_checkins.push(r);
            }
        }
        for w in &mut days {
            w.visits.sort_by_key(|v| (v.start, v.end, v.checkpoint));
            w.rejected_checkins.sort_by_key(|r| r.ts);
        }

        // Flags: those of one day, then out-of-grid time, then replays in day order.
        for a in anomaly::detect_flags(marked.iter().copied(), &t, &self.anomaly, tz) {
            if let Some(i) = index_of(&days, a.day) {
                days[i].anomalies.push(a);
            }
        }
        let assigned = self.assigned(worker);
        let flag_s = self.config().out_of_grid_flag_s;
        for w in &mut days {
            if !assigned.is_empty() && w.out_of_grid_s >= flag_s {
                w.anomalies.push(Anomaly {
                    day: w.day,
                    finding: Finding::OutOfGrid {
                        minutes: (w.out_of_grid_s / 6.0).round() / 10.0,
                        episodes: w
                            .out_of_grid
                            .iter()
                            .map(|e| {
                                format!("{}/{}", format_timestamp(e.start), format_timestamp(e.end))
                            })
                            .collect(),
                    },
                });
            }
        }
        // Each wanted day is compared with the earlier days of its month, given and wanted;
        // what the comparisons compute at a day's samples is kept for the later days.
        let prints: Vec<(usize, Fingerprint)> = anomaly::fingerprints(&t, tz)
            .into_iter()
            .filter_map(|fp| Some((index_of(&days, fp.day)?, fp)))
            .collect();
        let same_month = |day: &Fingerprint, e: &Fingerprint| {
            e.day < day.day && Month::of(e.day) == Month::of(day.day)
        };
        let prints_only = prints.iter().map(|(_, fp)| fp);
        for (k, finding) in anomaly::replays(earlier, prints_only, &self.anomaly, same_month) {
            let (i, fp) = &prints[k];
            days[*i].anomalies.push(Anomaly {
                day: fp.day,
                finding,
            });
        }
        for (i, fp) in prints {
            days[i].fingerprint = Some(fp);
        }
        for w in &mut days {
            w.anomalies
                .sort_by(|a, b| (a.day, a.kind()).cmp(&(b.day, b.kind())));
        }

        // The carry each day hands to the next day's window.
        raw_ts.sort_unstable();
        let max_gap_ms = (self.track.max_gap_s * 1000.0) as UnixMs;
        for w in &mut days {
            let end = crate::model::local_midnight_ms(w.day.succ_opt().unwrap_or(w.day), tz)
                .unwrap_or(UnixMs::MAX);
            let before = super::window::carry_before(&raw_ts, end, max_gap_ms);
            w.carry = last_accepted_before(fixes, before).or(carry);
        }
        days
    }

    /// The grids a worker is assigned to (none for an unknown worker).
    pub fn assigned(&self, worker: &WorkerId) -> &[GridId] {
        self.registry
            .worker(worker.as_str())
            .map_or(&[], |w| w.grids.as_slice())
    }

    /// In-grid time and out-of-grid episodes (§4.5) per day.
    fn place_figures(
        &self,
        worker: &WorkerId,
        t: &Track,
        days: &mut [WorkerDay],
        clock: &mut DayClock,
    ) {
        let assigned = self.assigned(worker);
        let area = AssignedArea::new(&self.registry, assigned, self.config().in_grid_tolerance_m);
        let located = visits::locate_fixes(t, &self.registry.index);
        let places = visits::places_for_worker(t, &located, &area);
        for gd in visits::grid_time(t, &places, assigned, self.tz) {
            if let Ok(i) = days.binary_search_by_key(&gd.day, |w| w.day) {
                let w = &mut days[i];
                w.in_assigned_s = assigned
                    .iter()
                    .filter_map(|g| gd.grid_s.get(g))
                    .sum::<f64>();
                w.outside_assigned_s = gd.outside_assigned_s;
                w.outside_s = gd.outside_s;
                w.grid_s = gd.grid_s;
            }
        }
        let min_s = self.config().out_of_grid_min_s;
        for e in visits::out_of_grid_episodes(t, &places, assigned, min_s) {
            if let Ok(i) = days.binary_search_by_key(&clock.day(e.start), |w| w.day) {
                days[i].out_of_grid_s += e.duration_s();
                days[i].out_of_grid.push(e);
            }
        }
    }

    /// Coverage masks and (when [`Assessor::paths`]) simplified paths of each day's runs of
    /// steps.
    fn runs(&self, t: &Track, days: &mut [WorkerDay]) {
        let tolerance_m = self.config().simplify_tolerance_m;
        track::for_each_day_run(t.fixes(), &t.segments, self.tz, |day, run: &[Fix]| {
            let Ok(i) = days.binary_search_by_key(&day, |w| w.day) else {
                return;
            };
            self.coverage.cover_fixes(run, &mut days[i].coverage);
            if !self.paths {
                return;
            }
            let kept = track::simplify(run, tolerance_m);
            days[i].path.push(
                kept.iter()
                    .map(|&k| (round7(run[k].lon), round7(run[k].lat)))
                    .collect(),
            );
        });
    }
}

/// The last accepted fix strictly before `ts`, as a carry.
fn last_accepted_before(fixes: &[Fix], ts: UnixMs) -> Option<Carry> {
    let n = fixes.partition_point(|f| f.ts < ts);
    (n > 0).then(|| Carry {
        ts: fixes[n - 1].ts,
        lon: fixes[n - 1].lon,
        lat: fixes[n - 1].lat,
    })
}
