//! The assessment (DESIGN.md §4.9): worker-day summaries, computed by the engine from one
//! worker-day of pings, and (with the `assess` feature) their monthly aggregation, scores,
//! ranks and roll-ups.
//!
//! A [`WorkerDay`] holds everything a monthly report needs about one worker and one local day:
//! the track's figures, in-grid time, out-of-grid episodes, the covered area as masks that
//! union across days and workers, checkpoint visits, data-quality counts and plausibility
//! flags. It is the unit of incremental work: the service stores one per worker-day and
//! recomputes only the days that received pings; the batch door computes them all.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

use crate::anomaly::{self, Anomaly, AnomalyParams, Finding, Fingerprint};
use crate::config::Config;
use crate::coverage::{CoverageIndex, CoverageParams, GridCoverage};
use crate::model::{format_timestamp, Ping, WorkerId};
use crate::registry::{GridId, Registry};
use crate::track::days::DayClock;
use crate::track::{self, CleanMode, DropCounts, TrackParams};
use crate::visits::{self, CheckpointIndex, OutOfGridEpisode, Visit, VisitParams};

#[cfg(feature = "assess")]
pub mod month;

/// Everything the engine needs to summarise worker-days: the registry, its coverage rasters
/// and checkpoint index (built once), and the parameters.
pub struct Assessor<'a> {
    /// The grid registry.
    pub registry: &'a Registry,
    /// Rasters of every grid, for coverage.
    pub coverage: CoverageIndex,
    /// The checkpoints, for visits.
    pub checkpoints: CheckpointIndex,
    /// Track parameters.
    pub track: TrackParams,
    /// Anomaly parameters.
    pub anomaly: AnomalyParams,
    /// Visit parameters.
    pub visit: VisitParams,
    /// The local time zone of days and months.
    pub tz: Tz,
    /// Out-of-grid episodes shorter than this are not reported, seconds.
    pub out_of_grid_min_s: f64,
    /// Episode time in a day that raises an `out_of_grid` flag, seconds.
    pub out_of_grid_flag_s: f64,
}

impl<'a> Assessor<'a> {
    /// Builds the indexes for a registry and a config.
    pub fn new(registry: &'a Registry, config: &Config, clean: CleanMode) -> Assessor<'a> {
        Assessor {
            registry,
            coverage: CoverageIndex::new(registry, CoverageParams::from_config(config)),
            checkpoints: CheckpointIndex::new(&registry.checkpoints),
            track: TrackParams::from_config(config, clean),
            anomaly: AnomalyParams::from_config(config),
            visit: VisitParams::from_config(config),
            tz: config.tz(),
            out_of_grid_min_s: config.out_of_grid_min_s,
            out_of_grid_flag_s: config.out_of_grid_flag_s,
        }
    }

    /// Summarises one worker-day. `pings` are the worker's pings of that local day (any
    /// order); `earlier` are fingerprints of the worker's earlier days, for replay detection.
    pub fn summarize_day(
        &self,
        worker: &WorkerId,
        day: NaiveDate,
        pings: &[Ping],
        earlier: &[Fingerprint],
    ) -> WorkerDay {
        let t = track::build(pings, &self.track);
        let assigned: &[GridId] = self
            .registry
            .worker(worker.as_str())
            .map_or(&[], |w| w.grids.as_slice());
        let located = visits::locate_fixes(&t, &self.registry.index);
        let (mut in_assigned_s, mut outside_assigned_s) = (0.0, 0.0);
        for gd in visits::grid_time(&t, &located, assigned, self.tz) {
            outside_assigned_s += gd.outside_assigned_s;
            in_assigned_s += assigned
                .iter()
                .filter_map(|g| gd.grid_s.get(g))
                .sum::<f64>();
        }
        let out_of_grid =
            visits::out_of_grid_episodes(&t, &located, assigned, self.out_of_grid_min_s);
        let mut coverage = GridCoverage::new();
        self.coverage.cover_track(&t, &mut coverage);
        let (visits, _rejected) = visits::visits(worker, pings, &t, &self.checkpoints, &self.visit);
        let (mut anomalies, prints) = anomaly::detect(pings, &t, earlier, &self.anomaly, self.tz);
        // Out-of-grid time is the time in episodes: a worker walking a boundary street flips in
        // and out of the grid with every noisy fix, which is not being elsewhere.
        let out_of_grid_s: f64 = out_of_grid.iter().map(OutOfGridEpisode::duration_s).sum();
        if !assigned.is_empty() && out_of_grid_s >= self.out_of_grid_flag_s {
            anomalies.push(Anomaly {
                day,
                finding: Finding::OutOfGrid {
                    minutes: (out_of_grid_s / 6.0).round() / 10.0,
                    episodes: out_of_grid
                        .iter()
                        .map(|e| {
                            format!("{}/{}", format_timestamp(e.start), format_timestamp(e.end))
                        })
                        .collect(),
                },
            });
        }
        // A day's pings may straddle its bounds by a step; the day's own figures are those of
        // the summary whose local day it is.
        let summary = t.days.iter().find(|d| d.day == day);
        let (first, last) = summary.map_or((0, 0), |d| (d.first, d.last));
        let patrol_s = t.patrol_s;
        WorkerDay {
            worker: worker.clone(),
            day,
            pings: t.pings as u32,
            accepted: t.fixes().len() as u32,
            dropped: t.cleaned.dropped,
            mock_pings: t.cleaned.mock,
            segments: t.segments.len() as u32,
            patrol_s,
            length_m: t.length_m,
            stays: t.stays.len() as u32,
            gap_s: (((last - first) as f64 / 1000.0) - patrol_s).max(0.0),
            in_assigned_s,
            outside_assigned_s,
            out_of_grid_s,
            out_of_grid,
            coverage,
            visits,
            anomalies,
            fingerprint: prints.into_iter().find(|p| p.day == day),
        }
    }

    /// Summarises every local day of one worker's pings (any order), in day order, passing
    /// each day the fingerprints of the days before it.
    pub fn summarize_worker(&self, worker: &WorkerId, pings: &[Ping]) -> Vec<WorkerDay> {
        let mut by_day: BTreeMap<NaiveDate, Vec<Ping>> = BTreeMap::new();
        let mut clock = DayClock::new(self.tz);
        for p in pings {
            by_day.entry(clock.day(p.ts)).or_default().push(p.clone());
        }
        let mut earlier: Vec<Fingerprint> = Vec::new();
        let mut out = Vec::with_capacity(by_day.len());
        for (day, day_pings) in by_day {
            let wd = self.summarize_day(worker, day, &day_pings, &earlier);
            if let Some(fp) = &wd.fingerprint {
                earlier.push(fp.clone());
            }
            out.push(wd);
        }
        out
    }
}

/// One worker's figures for one local day: what the monthly assessment aggregates.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerDay {
    /// The worker.
    pub worker: WorkerId,
    /// The local day.
    pub day: NaiveDate,
    /// Pings received.
    pub pings: u32,
    /// Pings accepted by cleaning.
    pub accepted: u32,
    /// Pings dropped, by reason.
    pub dropped: DropCounts,
    /// Pings the client flagged as mock locations.
    pub mock_pings: u32,
    /// Segments.
    pub segments: u32,
    /// Patrol time, seconds.
    pub patrol_s: f64,
    /// Track length, metres.
    pub length_m: f64,
    /// Stays.
    pub stays: u32,
    /// Time between the day's first and last fix not covered by segments, seconds.
    pub gap_s: f64,
    /// Patrol time inside the worker's assigned grids, seconds.
    pub in_assigned_s: f64,
    /// Patrol time outside the worker's assigned grids, seconds (every step, half-half at
    /// boundaries, DESIGN.md §4.5).
    pub outside_assigned_s: f64,
    /// Time in out-of-grid episodes (runs outside the assigned grids longer than
    /// `out_of_grid_min_s`), seconds: what reports call out-of-grid time.
    pub out_of_grid_s: f64,
    /// Out-of-grid episodes longer than `out_of_grid_min_s`.
    pub out_of_grid: Vec<OutOfGridEpisode>,
    /// Covered area per grid (union-able masks).
    #[serde(skip)]
    pub coverage: GridCoverage,
    /// Checkpoint visits.
    pub visits: Vec<Visit>,
    /// Plausibility flags with their evidence.
    pub anomalies: Vec<Anomaly>,
    /// The day sampled once a minute, for replay detection on later days.
    #[serde(skip)]
    pub fingerprint: Option<Fingerprint>,
}

impl WorkerDay {
    /// Whether the day carries a flag that the score penalises: any plausibility flag, but
    /// never the client's mock flag alone (DESIGN.md §4.8).
    pub fn penalised(&self) -> bool {
        self.anomalies.iter().any(|a| a.kind() != "mock_location")
    }
}
