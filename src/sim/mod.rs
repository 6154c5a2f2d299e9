//! The synthetic city and its patrols (`gridbeat simulate`).
//!
//! - [`city`]: a jittered street lattice near Changsha (or the streets of a GeoJSON file), grids
//!   that tile it exactly, the hierarchy city → district → street → community → grid,
//!   workers and checkpoints.
//! - [`streets`]: the street graph of a grid, streets read from a GeoJSON file; `lattice`: the
//!   generated street lattice and its blocks; `names`: Chinese names for units, people and
//!   checkpoints.
//! - [`patrol`]: one worker-day: the plan and the day's schedule; `walk`: the true trajectory
//!   and what really happened; [`phone`]: what the phone reported of it.
//! - [`output`]: the files of DESIGN.md §5.2 plus `pings.csv`, `pings.parquet`, `truth.json`.
//! - [`fleet`]: city-management vehicles (`--vehicles N`): routes on the streets, schedules,
//!   terminals, injected faults; `vehicles.csv`, `routes.geojson`, `devices.csv`,
//!   `vehicle_pings.csv`, `vehicle_truth.json`.
//!
//! Generation is pure and deterministic: every worker-day draws from its own seed (seed,
//! worker, day), so the parallel generation of a day's workers never changes the output.
//! [`Simulation`] yields one day at a time, so memory does not grow with the number of days.

pub mod city;
pub mod fleet;
pub mod frame;
mod lattice;
mod names;
pub mod output;
pub mod patrol;
pub mod phone;
pub mod streets;
mod walk;

use std::path::PathBuf;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use city::{
    assign_modes, build_city, share_count, AppMode, Checkpoint, CheckpointKind, City, Grid, Label,
    Shift, Unit, Worker,
};
pub use frame::LocalFrame;
pub use output::{write_simulation, OutputError, SimSummary};
pub use phone::PingRow;
pub use streets::{StreetGraph, Streets, StreetsError};

use crate::model::format_timestamp;
use patrol::{DayOut, DayRaw, WorkerPlan};

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// The seed: the same options give byte-identical output.
    pub seed: u64,
    /// Number of grid workers (the city gets about one grid per 1.5 workers).
    pub workers: usize,
    /// Number of days.
    pub days: usize,
    /// The first (local) day.
    pub start: NaiveDate,
    /// The app's reporting interval, seconds.
    pub interval_s: u32,
    /// The local time zone of shifts and days.
    pub tz: Tz,
    /// A GeoJSON file of LineStrings to walk on instead of a generated street lattice.
    pub streets: Option<PathBuf>,
    /// Share (0..=1) of workers on night shifts across local midnight (see
    /// [`city::assign_modes`]).
    pub night_share: f64,
    /// Share (0..=1) of workers whose app only reports at checkpoint check-ins.
    pub sparse_share: f64,
    /// Number of city-management vehicles ([`fleet`]); 0 writes no fleet file.
    pub vehicles: usize,
    /// The faults injected into vehicle-days.
    pub vehicle_faults: fleet::FaultRates,
}

impl SimOptions {
    /// Checks the options a user can get wrong.
    ///
    /// # Errors
    /// A message naming the command-line option at fault.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("--night-share", self.night_share),
            ("--sparse-share", self.sparse_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be a share from 0 to 1, not {v}"));
            }
        }
        self.vehicle_faults
            .validate()
            .map_err(|e| format!("--vehicle-faults: {e}"))
    }

    /// Whether any worker may be on nights or on the sparse app: then `truth.json` names every
    /// worker's shift and app mode (without, it keeps the format of earlier runs).
    pub fn has_modes(&self) -> bool {
        self.night_share > 0.0 || self.sparse_share > 0.0
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 7,
            workers: 200,
            days: 30,
            start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default(),
            interval_s: 10,
            tz: chrono_tz::Asia::Shanghai,
            streets: None,
            night_share: 0.0,
            sparse_share: 0.0,
            vehicles: 0,
            vehicle_faults: fleet::FaultRates::default(),
        }
    }
}

/// Builds the city for `opts`, reading `opts.streets` when set.
///
/// # Errors
/// [`StreetsError`] when the streets file cannot be read or used; it names the file and the
/// feature at fault.
pub fn generate_city(opts: &SimOptions) -> Result<City, StreetsError> {
    match &opts.streets {
        Some(path) => {
            let streets = Streets::from_geojson_file(path)?;
            build_city(opts, Some(&streets))
        }
        None => build_city(opts, None),
    }
}

/// Mixes a seed with a path of integers into a new 64-bit seed (SplitMix64 steps).
pub(crate) fn mix_seed(seed: u64, parts: &[u64]) -> u64 {
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let mut h = splitmix(seed);
    for &p in parts {
        h = splitmix(h ^ splitmix(p.wrapping_add(0x5851_F42D_4C95_7F2D)));
    }
    h
}

/// The pings of one simulated day, all workers, in worker order (each worker's rows in the
/// order the phone delivered them: mostly by time, a few out of order, some duplicates).
#[derive(Clone, Debug)]
pub struct DayPings {
    /// Day index from the start (0-based).
    pub day: usize,
    /// The local calendar date.
    pub date: NaiveDate,
    /// The rows.
    pub rows: Vec<PingRow>,
}

/// What really happened: the answer key that `truth.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The seed used.
    pub seed: u64,
    /// The first day, `YYYY-MM-DD`.
    pub start: String,
    /// Number of days.
    pub days: usize,
    /// The app's reporting interval, seconds.
    pub interval_s: u32,
    /// The local time zone of the days.
    pub timezone: String,
    /// One entry per worker, in id order.
    pub workers: Vec<WorkerTruth>,
}

/// What one worker really did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerTruth {
    /// The worker id.
    pub worker: String,
    /// The behaviour the simulator gave the worker.
    pub label: Label,
    /// Day or night shifts; written only when a run has `--night-share` or `--sparse-share`
    /// above 0 (absent means day, as in earlier files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<Shift>,
    /// Continuous or sparse (check-in only) app; written like `shift` (absent means
    /// continuous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_mode: Option<AppMode>,
    /// Codes of the assigned grids.
    pub grids: Vec<String>,
    /// One entry per simulated day.
    pub days: Vec<DayTruth>,
    /// Every real checkpoint visit, in time order.
    pub visits: Vec<VisitTruth>,
}

/// What one worker really did on one local day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayTruth {
    /// The local date, `YYYY-MM-DD`.
    pub day: String,
    /// The app reported that day (a replayed day counts as worked: pings exist).
    pub worked: bool,
    /// The grid patrolled that day (workers with two grids alternate by day).
    pub grid: Option<String>,
    /// First ping, UTC RFC 3339.
    pub shift_start: Option<String>,
    /// Last ping, UTC RFC 3339.
    pub shift_end: Option<String>,
    /// Minutes really spent walking the streets or at checkpoints (0 on a replayed day).
    pub patrol_minutes: f64,
    /// Minutes the true position was outside all assigned grids.
    pub out_of_grid_minutes: f64,
    /// Minutes the phone lay still on a desk while the worker was "on patrol".
    pub static_minutes: f64,
    /// The earlier day this day's pings replay, if any.
    pub replay_of: Option<String>,
    /// Rows emitted with `mock = true` (duplicates included).
    pub mock_pings: u32,
    /// Teleports of the fake-location app: switches between faked and leaked real fixes.
    pub jumps: u32,
    /// Periods the phone lay on a desk (fixes within ~10 m of one spot).
    pub static_periods: Vec<PeriodTruth>,
    /// Excursions and fake-location episodes (the worker really away from the grid).
    pub out_of_grid_periods: Vec<PeriodTruth>,
}

/// A period, UTC RFC 3339.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodTruth {
    /// Start.
    pub start: String,
    /// End.
    pub end: String,
}

/// A real visit to a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitTruth {
    /// The checkpoint code.
    pub checkpoint: String,
    /// Arrival at the checkpoint, UTC RFC 3339 (whole seconds, rounded inwards).
    pub start: String,
    /// Departure, UTC RFC 3339 (whole seconds, rounded inwards).
    pub end: String,
    /// Whether a ping during the visit carries a check-in naming the checkpoint.
    pub checkin: bool,
}

/// Generates the days of a simulation one by one; the truth accumulates as days are taken.
pub struct Simulation<'a> {
    city: &'a City,
    opts: &'a SimOptions,
    plans: Vec<WorkerPlan>,
    next_day: usize,
    /// The source day's rows of each replay worker, kept until the run ends.
    replay_src: Vec<Option<Vec<PingRow>>>,
    truth: Truth,
}

impl<'a> Simulation<'a> {
    /// Prepares a simulation of `city` under `opts` (plans every worker's days).
    pub fn new(city: &'a City, opts: &'a SimOptions) -> Self {
        let plans: Vec<WorkerPlan> = (0..city.workers.len())
            .map(|w| patrol::plan_worker(city, opts, w))
            .collect();
        let workers = city
            .workers
            .iter()
            .map(|w| WorkerTruth {
                worker: w.id.to_string(),
                label: w.label,
                shift: opts.has_modes().then_some(w.shift),
                app_mode: opts.has_modes().then_some(w.app),
                grids: w
                    .grids
                    .iter()
                    .map(|&g| city.grids[g].code.to_string())
                    .collect(),
                days: Vec::with_capacity(opts.days),
                visits: Vec::new(),
            })
            .collect();
        Simulation {
            city,
            opts,
            replay_src: vec![None; city.workers.len()],
            plans,
            next_day: 0,
            truth: Truth {
                seed: opts.seed,
                start: opts.start.to_string(),
                days: opts.days,
                interval_s: opts.interval_s,
                timezone: opts.tz.name().to_string(),
                workers,
            },
        }
    }

    /// The truth of the days generated so far.
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    /// The local date of day `d`.
    fn date(&self, d: usize) -> NaiveDate {
        self.opts.start + chrono::Days::new(d as u64)
    }

    /// UTC seconds of the local midnight that starts day `d`.
    fn midnight_utc_s(&self, d: usize) -> i64 {
        let local = self.date(d).and_hms_opt(0, 0, 0).unwrap_or_default();
        self.opts
            .tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or_else(|| local.and_utc().timestamp())
    }

    /// Generates one worker-day.
    fn worker_day(&self, w: usize, d: usize) -> DayOut {
        let plan = &self.plans[w];
        if !plan.worked[d] {
            return DayOut::default();
        }
        if let Some((from, src)) = plan.replay {
            if d >= from {
                if let Some(rows) = &self.replay_src[w] {
                    let shift = self.midnight_utc_s(d) - self.midnight_utc_s(src);
                    return patrol::replay_day(self.opts, w, d, src, rows, shift);
                }
            }
        }
        patrol::real_day(self.city, self.opts, plan, w, d, self.midnight_utc_s(d))
    }

    /// Records one worker-day's truth.
    fn record(&mut self, w: usize, d: usize, raw: &DayRaw) {
        let city = self.city;
        let midnight = self.midnight_utc_s(d);
        let local_ts = |t: f64, up: bool| {
            let s = if up { t.ceil() } else { t.floor() } as i64;
            format_timestamp((midnight + s) * 1000)
        };
        let period = |s: &walk::Span| PeriodTruth {
            start: local_ts(s.start, true),
            end: local_ts(s.end, false),
        };
        let minutes = |s: f64| (s / 6.0).round() / 10.0;
        let day = DayTruth {
            day: self.date(d).to_string(),
            worked: raw.worked,
            grid: raw.grid.map(|g| city.grids[g].code.to_string()),
            shift_start: raw.shift_start_ts.map(|t| format_timestamp(t * 1000)),
            shift_end: raw.shift_end_ts.map(|t| format_timestamp(t * 1000)),
            patrol_minutes: minutes(raw.patrol_s),
            out_of_grid_minutes: minutes(raw.out_of_grid_s),
            static_minutes: minutes(raw.static_s),
            replay_of: raw.replay_of.map(|s| self.date(s).to_string()),
            mock_pings: raw.mock_pings,
            jumps: raw.jumps,
            static_periods: raw.static_periods.iter().map(period).collect(),
            out_of_grid_periods: raw.out_of_grid_periods.iter().map(period).collect(),
        };
        let visits: Vec<VisitTruth> = raw
            .visits
            .iter()
            .map(|v| VisitTruth {
                checkpoint: city.checkpoints[v.checkpoint].code.clone(),
                start: local_ts(v.start, true),
                end: local_ts(v.end, false),
                checkin: v.checkin,
            })
            .collect();
        let wt = &mut self.truth.workers[w];
        wt.days.push(day);
        wt.visits.extend(visits);
    }
}

impl Iterator for Simulation<'_> {
    type Item = DayPings;

    /// Generates the next day (workers in parallel, output in worker order).
    fn next(&mut self) -> Option<DayPings> {
        let d = self.next_day;
        if d >= self.opts.days {
            return None;
        }
        self.next_day += 1;
        let outs: Vec<DayOut> = {
            let this = &*self;
            (0..this.city.workers.len())
                .into_par_iter()
                .map(|w| this.worker_day(w, d))
                .collect()
        };
        let total = outs.iter().map(|o| o.rows.len()).sum();
        let mut rows = Vec::with_capacity(total);
        for (w, out) in outs.into_iter().enumerate() {
            self.record(w, d, &out.raw);
            let keep = matches!(self.plans[w].replay, Some((_, src)) if src == d);
            if keep {
                self.replay_src[w] = Some(out.rows.clone());
            }
            rows.extend_from_slice(&out.rows);
        }
        Some(DayPings {
            day: d,
            date: self.date(d),
            rows,
        })
    }
}

impl PingRow {
    /// This row as a [`crate::model::Ping`] (the form the engine takes).
    pub fn to_ping(&self, city: &City) -> crate::model::Ping {
        let mut p = crate::model::Ping::new(
            city.workers[self.worker as usize].id.clone(),
            self.ts_s * 1000,
            frame::e7_to_deg(self.lon_e7),
            frame::e7_to_deg(self.lat_e7),
        );
        p.acc_m = Some(self.acc_dm as f32 / 10.0);
        p.speed_mps = Some(self.speed_dmps as f32 / 10.0);
        p.mock = self.mock;
        p.checkin = self
            .checkin
            .map(|c| std::sync::Arc::from(city.checkpoints[c as usize].code.as_str()));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_mix_into_distinct_streams() {
        let a = mix_seed(7, &[1, 2]);
        assert_eq!(a, mix_seed(7, &[1, 2]));
        assert_ne!(a, mix_seed(7, &[2, 1]));
        assert_ne!(a, mix_seed(8, &[1, 2]));
    }

    #[test]
    fn a_small_run_yields_every_day_and_its_truth() {
        let opts = SimOptions {
            workers: 6,
            days: 2,
            interval_s: 30,
            ..SimOptions::default()
        };
        let city = generate_city(&opts).unwrap();
        let mut sim = Simulation::new(&city, &opts);
        let days: Vec<DayPings> = sim.by_ref().collect();
        assert_eq!(days.len(), 2);
        assert!(days.iter().all(|d| !d.rows.is_empty()));
        let truth = sim.truth();
        assert!(truth.workers.iter().all(|w| w.days.len() == 2));
        let p = days[0].rows[0].to_ping(&city);
        assert!((p.lon - 112.98).abs() < 0.1 && (p.lat - 28.2).abs() < 0.1);
    }
}
