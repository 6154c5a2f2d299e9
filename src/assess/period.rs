//! Figures over a period, computed from worker-day summaries only: a worker's totals, coverage
//! unions per worker and per team, merged visits and checkpoint compliance over one or several
//! months. Every door reads these, so a figure never depends on the door.

use std::collections::{BTreeMap, BTreeSet};

use super::day::{StayRecord, WorkerDay};
use super::Assessor;
use crate::anomaly::Anomaly;
use crate::coverage::{CoverageMask, GridCoverage};
use crate::model::{Month, Period, WorkerId};
use crate::registry::GridId;
use crate::track::days::DayClock;
use crate::track::DropCounts;
use crate::visits::{self, Visit};

/// One worker's figures over the days given: sums of the days, stays and flags in order.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerTotals<'a> {
    /// The worker.
    pub worker: WorkerId,
    /// Pings received.
    pub pings: u64,
    /// Accepted fixes.
    pub accepted: u64,
    /// Dropped pings by reason.
    pub dropped: DropCounts,
    /// Segments (counted on the day they start).
    pub segments: u64,
    /// Track length, metres.
    pub length_m: f64,
    /// Patrol time, seconds.
    pub patrol_s: f64,
    /// Time in the assigned grids, seconds.
    pub in_assigned_s: f64,
    /// Time in out-of-grid episodes, seconds.
    pub out_of_grid_s: f64,
    /// Stays, in time order.
    pub stays: Vec<&'a StayRecord>,
    /// Flags, in day order.
    pub anomalies: Vec<&'a Anomaly>,
    /// The days, in order.
    pub days: Vec<&'a WorkerDay>,
}

impl WorkerTotals<'_> {
    /// The share of patrol time spent in the assigned grids (with the in-grid tolerance),
    /// 0–1; 0 without patrol time.
    pub fn in_grid_share(&self) -> f64 {
        if self.patrol_s > 0.0 {
            (self.in_assigned_s / self.patrol_s).min(1.0)
        } else {
            0.0
        }
    }
}

/// Groups worker-days by worker (in worker order, days in day order) and adds them up.
pub fn worker_totals(days: &[WorkerDay]) -> Vec<WorkerTotals<'_>> {
    let mut by_worker: BTreeMap<&WorkerId, Vec<&WorkerDay>> = BTreeMap::new();
    for d in days {
        by_worker.entry(&d.worker).or_default().push(d);
    }
    by_worker
        .into_iter()
        .map(|(worker, mut ds)| {
            ds.sort_by_key(|d| d.day);
            let mut dropped = DropCounts::default();
            for d in &ds {
                dropped.add(&d.dropped);
            }
            WorkerTotals {
                worker: worker.clone(),
                pings: ds.iter().map(|d| u64::from(d.pings)).sum(),
                accepted: ds.iter().map(|d| u64::from(d.accepted)).sum(),
                dropped,
                segments: ds.iter().map(|d| u64::from(d.segments_started)).sum(),
                // Folded from +0.0: `Sum` for f64 starts at -0.0.
                length_m: ds.iter().fold(0.0, |s, d| s + d.length_m),
                patrol_s: ds.iter().fold(0.0, |s, d| s + d.patrol_s),
                in_assigned_s: ds.iter().fold(0.0, |s, d| s + d.in_assigned_s),
                out_of_grid_s: ds.iter().fold(0.0, |s, d| s + d.out_of_grid_s),
                stays: ds.iter().flat_map(|d| &d.stays).collect(),
                anomalies: ds.iter().flat_map(|d| &d.anomalies).collect(),
                days: ds,
            }
        })
        .collect()
}

/// Each worker's coverage over the days given: the union of their days' masks.
pub fn coverage_by_worker(days: &[WorkerDay]) -> BTreeMap<WorkerId, GridCoverage> {
    let mut out: BTreeMap<WorkerId, GridCoverage> = BTreeMap::new();
    for d in days {
        out.entry(d.worker.clone())
            .or_default()
            .union_with(&d.coverage);
    }
    out
}

/// Moves each worker's coverage masks into the first of their days given; their other days
/// keep none. Every union of a worker's days' masks ([`coverage_by_worker`],
/// [`team_coverage_of_days`], a layer's coverage) is unchanged, while the days hold one mask
/// per worker and grid rather than one per day: what the service keeps of a city's month for
/// the layers that show figures, not tracks.
pub fn gather_coverage(days: &mut [WorkerDay]) {
    let mut first: std::collections::HashMap<WorkerId, usize> = std::collections::HashMap::new();
    for i in 0..days.len() {
        match first.get(&days[i].worker) {
            Some(&f) => {
                let moved = std::mem::take(&mut days[i].coverage);
                days[f].coverage.union_with(&moved);
            }
            None => {
                first.insert(days[i].worker.clone(), i);
            }
        }
    }
}

/// Folds each worker's days into the first of them, for the layers that show a period's
/// figures per grid and unit (`grids`, `units`): that day keeps the worker's coverage union
/// ([`gather_coverage`]) and the time in each grid summed over the days in the order given;
/// the worker's other days are dropped, and so are the records no such layer reads (stays,
/// visits, flags, excursions, path). Its day scalars stay those of the first day: they mean
/// nothing for the period. What is kept of a period is then one day per worker, however many
/// days the period has.
pub fn fold_for_grids(days: Vec<WorkerDay>) -> Vec<WorkerDay> {
    let mut out: Vec<WorkerDay> = Vec::new();
    let mut at: std::collections::HashMap<WorkerId, usize> = std::collections::HashMap::new();
    for mut d in days {
        match at.get(&d.worker) {
            Some(&i) => {
                let f = &mut out[i];
                f.coverage.union_with(&d.coverage);
                for (g, s) in &d.grid_s {
                    *f.grid_s.entry(*g).or_insert(0.0) += s;
                }
            }
            None => {
                d.stays = Vec::new();
                d.visits = Vec::new();
                d.anomalies = Vec::new();
                d.out_of_grid = Vec::new();
                d.rejected_checkins = Vec::new();
                d.path = Vec::new();
                d.fingerprint = None;
                d.carry = None;
                at.insert(d.worker.clone(), out.len());
                out.push(d);
            }
        }
    }
    out
}

/// Team coverage (DESIGN.md §4.6): per grid, the union of the masks its **assigned** workers
/// drew on it, wherever they walked. Workers of other grids who passed through do not count.
/// A registry without workers assigns nobody: then every track counts for every grid.
pub fn team_coverage(
    assessor: &Assessor,
    by_worker: &BTreeMap<WorkerId, GridCoverage>,
) -> BTreeMap<GridId, CoverageMask> {
    let mut team: BTreeMap<GridId, CoverageMask> = BTreeMap::new();
    if assessor.registry.workers.is_empty() {
        for cov in by_worker.values() {
            for (g, m) in cov.iter() {
                team.entry(g)
                    .and_modify(|t| t.union_with(m))
                    .or_insert_with(|| m.clone());
            }
        }
        return team;
    }
    for w in &assessor.registry.workers {
        let Some(cov) = by_worker.get(&w.id) else {
            continue;
        };
        for &g in &w.grids {
            if let Some(m) = cov.get(g) {
                team.entry(g)
                    .and_modify(|t| t.union_with(m))
                    .or_insert_with(|| m.clone());
            }
        }
    }
    team
}

/// Team coverage straight from worker-days: the same masks as
/// `team_coverage(assessor, &coverage_by_worker(days))`, without building every worker's
/// coverage of every grid first (only the assigned grids' masks are unioned). The map layers
/// call it for a whole city's month per request.
pub fn team_coverage_of_days(
    assessor: &Assessor,
    days: &[WorkerDay],
) -> BTreeMap<GridId, CoverageMask> {
    let reg = &assessor.registry;
    if reg.workers.is_empty() {
        return team_coverage(assessor, &coverage_by_worker(days));
    }
    let mut team: BTreeMap<GridId, CoverageMask> = BTreeMap::new();
    for d in days {
        let Some(w) = reg.worker(d.worker.as_str()) else {
            continue;
        };
        for &g in &w.grids {
            if let Some(m) = d.coverage.get(g) {
                team.entry(g)
                    .and_modify(|t| t.union_with(m))
                    .or_insert_with(|| m.clone());
            }
        }
    }
    team
}

/// The workers who are not assigned to a grid but covered some of it, in worker order (none
/// when the registry assigns nobody).
pub fn visitors(
    assessor: &Assessor,
    by_worker: &BTreeMap<WorkerId, GridCoverage>,
    grid: GridId,
) -> Vec<WorkerId> {
    if assessor.registry.workers.is_empty() {
        return Vec::new();
    }
    by_worker
        .iter()
        .filter(|(w, cov)| {
            !assessor.assigned(w).contains(&grid) && cov.get(grid).is_some_and(|m| !m.is_empty())
        })
        .map(|(w, _)| w.clone())
        .collect()
}

/// The covered share of a grid in a mask map (0 when nothing was drawn on it).
pub fn share(assessor: &Assessor, masks: &BTreeMap<GridId, CoverageMask>, grid: GridId) -> f64 {
    masks
        .get(&grid)
        .map_or(0.0, |m| assessor.coverage.share(grid, m))
}

/// The visits of the days given, merged per worker and checkpoint (`visit_merge_s`) across
/// the whole period, sorted by worker, checkpoint and start.
pub fn merged_visits(assessor: &Assessor, days: &[WorkerDay]) -> Vec<Visit> {
    let all: Vec<Visit> = days.iter().flat_map(|d| d.visits.iter().cloned()).collect();
    visits::merge_visits(all, assessor.visit.visit_merge_s)
}

/// One checkpoint's figures over a period.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointFigures {
    /// Index into the registry's checkpoints.
    pub checkpoint: usize,
    /// The merged visits (any worker) that start in the period.
    pub visits: Vec<Visit>,
    /// Visits per month of the period.
    pub per_month: BTreeMap<Month, usize>,
    /// The mean over the period's months of min(1, visits that month / required).
    pub compliance: f64,
}

/// Every checkpoint's visits and compliance over a period (one or several months): visits of
/// every worker count; each month's compliance is min(1, visits / required) and the period's
/// is their mean over the months the period touches.
pub fn checkpoint_figures(
    assessor: &Assessor,
    merged: &[Visit],
    period: Period,
) -> Vec<CheckpointFigures> {
    let mut clock = DayClock::new(assessor.tz);
    let months = period.month_list();
    let mut out: Vec<CheckpointFigures> = (0..assessor.registry.checkpoints.len())
        .map(|checkpoint| CheckpointFigures {
            checkpoint,
            visits: Vec::new(),
            per_month: BTreeMap::new(),
            compliance: 0.0,
        })
        .collect();
    for v in merged {
        let day = clock.day(v.start);
        if !period.contains(day) {
            continue;
        }
        if let Some(c) = out.get_mut(v.checkpoint) {
            c.visits.push(v.clone());
            *c.per_month.entry(Month::of(day)).or_insert(0) += 1;
        }
    }
    for c in &mut out {
        c.visits.sort_by_key(|v| (v.start, v.end));
        let required = assessor.registry.checkpoints[c.checkpoint].visits_per_month;
        c.compliance = if months.is_empty() {
            1.0
        } else {
            months
                .iter()
                .map(|m| visits::compliance(c.per_month.get(m).copied().unwrap_or(0), required))
                .sum::<f64>()
                / months.len() as f64
        };
    }
    out
}

/// A worker's compliance in a month (DESIGN.md §4.9): the mean over the checkpoints of their
/// assigned grids of min(1, their own merged visits that month / required); `None` when their
/// grids hold no checkpoint.
pub fn worker_compliance(
    assessor: &Assessor,
    worker: &WorkerId,
    merged: &[Visit],
    month: Month,
) -> Option<f64> {
    let own: Vec<Visit> = merged
        .iter()
        .filter(|v| &v.worker == worker)
        .cloned()
        .collect();
    visits::worker_compliance(
        &own,
        &assessor.registry.checkpoints,
        assessor.assigned(worker),
        month,
        assessor.tz,
    )
}

/// A worker's compliance over a period of one or several months: the mean over the months of
/// [`worker_compliance`]; `None` when their grids hold no checkpoint.
pub fn worker_compliance_over(
    assessor: &Assessor,
    worker: &WorkerId,
    merged: &[Visit],
    period: Period,
) -> Option<f64> {
    let months = period.month_list();
    let per_month: Vec<f64> = months
        .iter()
        .map(|&m| worker_compliance(assessor, worker, merged, m))
        .collect::<Option<Vec<f64>>>()?;
    (!per_month.is_empty()).then(|| per_month.iter().sum::<f64>() / per_month.len() as f64)
}

/// The days of a period among worker-days.
pub fn in_period(days: &[WorkerDay], period: Period) -> Vec<WorkerDay> {
    days.iter()
        .filter(|d| period.contains(d.day))
        .cloned()
        .collect()
}

/// The distinct local days of the worker-days, in order.
pub fn day_span(days: &[WorkerDay]) -> Option<Period> {
    let set: BTreeSet<chrono::NaiveDate> = days.iter().map(|d| d.day).collect();
    Some(Period {
        first: *set.first()?,
        last: *set.last()?,
    })
}

/// Where a door's figures are, which decides the period of a query that asks for none or
/// leaves an end open ([`resolve_period`]). The doors differ by design: files hold exactly
/// the days they were read for, a store holds every month it was ever sent.
#[derive(Clone, Copy, Debug)]
pub enum Extent<'a> {
    /// Worker-days summarised from files (`gridbeat visits`, `gridbeat layers`): the default
    /// is the local days they span.
    Days(&'a [WorkerDay]),
    /// The service's store: the default is the newest month with figures, else the month of
    /// `today` (a store without figures still answers a period, an empty one).
    Months {
        /// The newest local month the store holds worker-day summaries of.
        newest: Option<Month>,
        /// Today's local date.
        today: chrono::NaiveDate,
    },
}

/// The period of a layer or visits query, the one rule every door follows: the period asked
/// for (a day, a month, or first and last days); an end left open (`NaiveDate::MIN` as the
/// first day, `NaiveDate::MAX` as the last, as `--from` or `--to` alone leave it) is closed
/// by the default period's; with nothing asked, the default period of the [`Extent`].
///
/// The extent is asked for only when a closed period was not given (the service reads its
/// months from the store only then). `None` only from files with no day to take a period
/// from (and no closed period asked).
///
/// # Errors
/// Those of `extent`.
pub fn resolve_period<'a, E>(
    asked: Option<Period>,
    extent: impl FnOnce() -> Result<Extent<'a>, E>,
) -> Result<Option<Period>, E> {
    use chrono::NaiveDate;
    let open_first = asked.is_some_and(|p| p.first == NaiveDate::MIN);
    let open_last = asked.is_some_and(|p| p.last == NaiveDate::MAX);
    if let Some(p) = asked {
        if !open_first && !open_last {
            return Ok(Some(p));
        }
    }
    let default = match extent()? {
        Extent::Days(days) => day_span(days),
        Extent::Months { newest, today } => Some(newest.unwrap_or(Month::of(today)).period()),
    };
    Ok(match (asked, default) {
        (None, default) => default,
        (Some(_), None) => None,
        (Some(p), Some(d)) => Some(Period {
            first: if open_first { d.first } else { p.first },
            last: if open_last { d.last } else { p.last },
        }),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::assess::{Assessor, Params};
    use crate::cli::demo::sample;
    use crate::config::Config;
    use crate::model::{Crs, Ping};
    use crate::registry::{LoadOptions, Registry, Source};
    use crate::track::CleanMode;

    /// The embedded sample city's worker-days, through the engine.
    fn sample_days() -> (Assessor, Vec<WorkerDay>) {
        let registry = Registry::from_sources(
            Source::new("grids.geojson", sample::GRIDS),
            Some(Source::new("workers.csv", sample::WORKERS)),
            Some(Source::new("checkpoints.geojson", sample::CHECKPOINTS)),
            &LoadOptions::default(),
        )
        .unwrap();
        let a = Assessor::new(
            Arc::new(registry),
            Params::new(Config::default(), CleanMode::Full),
        );
        let decoded =
            crate::ingest::csv::read_pings(sample::PINGS.as_bytes(), "pings.csv", Crs::Wgs84)
                .unwrap();
        let mut by_worker: BTreeMap<WorkerId, Vec<Ping>> = BTreeMap::new();
        for p in decoded.pings {
            by_worker.entry(p.worker.clone()).or_default().push(p);
        }
        let days = by_worker
            .iter()
            .flat_map(|(w, pings)| a.summarize_worker(w, pings))
            .collect();
        (a, days)
    }

    #[test]
    fn gathering_masks_keeps_every_union_and_one_mask_per_worker_and_grid() {
        let (a, days) = sample_days();
        let workers: BTreeSet<&WorkerId> = days.iter().map(|d| &d.worker).collect();
        assert!(days.len() > 2 * workers.len(), "several days a worker");
        let mut gathered = days.clone();
        gather_coverage(&mut gathered);
        assert_eq!(coverage_by_worker(&gathered), coverage_by_worker(&days));
        assert_eq!(
            team_coverage_of_days(&a, &gathered),
            team_coverage_of_days(&a, &days)
        );
        let with_masks = gathered.iter().filter(|d| !d.coverage.is_empty()).count();
        assert!(with_masks <= workers.len(), "{with_masks} days keep masks");
        let masks = |ds: &[WorkerDay]| ds.iter().map(|d| d.coverage.len()).sum::<usize>();
        assert!(masks(&gathered) * 3 < masks(&days));
    }

    #[cfg(feature = "assess")]
    #[test]
    fn a_month_folded_worker_by_worker_gives_the_same_report() {
        use crate::assess::month::{assess_folded, assess_month, MonthDays, MonthInput};
        let (a, days) = sample_days();
        let month = Month::of(days[0].day);
        let mut folded = MonthDays::new(month);
        for d in &days {
            folded.add(d);
        }
        let in_month = days.iter().filter(|d| Month::of(d.day) == month).count();
        assert!(in_month > 0);
        assert_eq!(folded.len(), in_month);
        let input = MonthInput {
            assessor: &a,
            month,
            attainable: None,
            unit: None,
            generated_at: "2026-12-04T00:00:00Z".into(),
        };
        // Workers folded in another order (each worker's days in day order, as the store
        // gives them: a float sum depends on its order) give the same report.
        let mut shuffled = days.clone();
        shuffled.sort_by(|x, y| y.worker.cmp(&x.worker).then(x.day.cmp(&y.day)));
        assert_ne!(shuffled[0].worker, days[0].worker);
        let mut refolded = MonthDays::new(month);
        for d in &shuffled {
            refolded.add(d);
        }
        let report = assess_month(&days, &input).unwrap();
        let json = |r: &crate::report::Report| serde_json::to_value(r).unwrap();
        assert_eq!(
            json(&assess_folded(&refolded, &input).unwrap()),
            json(&report)
        );
        assert!(report.workers.iter().any(|w| w.coverage > 0.0));
        let other = MonthInput {
            month: month.next(),
            ..input
        };
        assert!(assess_folded(&folded, &other).is_err());
    }

    /// A local date (the test's own calendar).
    fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn period(first: chrono::NaiveDate, last: chrono::NaiveDate) -> Period {
        Period { first, last }
    }

    /// The period files resolve to (their extent cannot fail).
    fn of_files(asked: Option<Period>, days: &[WorkerDay]) -> Option<Period> {
        let Ok(p) = resolve_period(asked, || {
            Ok::<_, std::convert::Infallible>(Extent::Days(days))
        });
        p
    }

    #[test]
    fn files_default_to_the_days_they_span_and_close_open_ends_with_them() {
        let w = WorkerId::new("w1");
        let v = WorkerId::new("w2");
        // Days 3, 9 and 5 October of two workers, out of order: the span is 3..=9 October.
        let days = [
            WorkerDay::empty(&w, date(2026, 10, 3)),
            WorkerDay::empty(&v, date(2026, 10, 9)),
            WorkerDay::empty(&w, date(2026, 10, 5)),
        ];
        let span = period(date(2026, 10, 3), date(2026, 10, 9));
        assert_eq!(of_files(None, &days), Some(span));
        // --from 4 October alone: closed by the span's last day.
        let from = period(date(2026, 10, 4), chrono::NaiveDate::MAX);
        assert_eq!(
            of_files(Some(from), &days),
            Some(period(date(2026, 10, 4), date(2026, 10, 9)))
        );
        // --to 6 October alone: closed by the span's first day.
        let to = period(chrono::NaiveDate::MIN, date(2026, 10, 6));
        assert_eq!(
            of_files(Some(to), &days),
            Some(period(date(2026, 10, 3), date(2026, 10, 6)))
        );
        // A closed period is kept as asked, even beyond the files' days.
        let september = period(date(2026, 9, 1), date(2026, 9, 30));
        assert_eq!(of_files(Some(september), &days), Some(september));
        // No day: a closed period still stands; nothing else does.
        assert_eq!(of_files(Some(september), &[]), Some(september));
        assert_eq!(of_files(Some(from), &[]), None);
        assert_eq!(of_files(None, &[]), None);
    }

    #[test]
    fn a_store_defaults_to_its_newest_month_else_the_current_one() {
        let today = date(2026, 12, 4);
        let store =
            |newest| move || Ok::<_, std::convert::Infallible>(Extent::Months { newest, today });
        let october: Month = "2026-10".parse().unwrap();
        let Ok(p) = resolve_period(None, store(Some(october)));
        assert_eq!(p, Some(period(date(2026, 10, 1), date(2026, 10, 31))));
        let Ok(p) = resolve_period(None, store(None));
        assert_eq!(p, Some(period(date(2026, 12, 1), date(2026, 12, 31))));
        // A day asked for is the period, whatever the store holds.
        let day = period(date(2026, 11, 15), date(2026, 11, 15));
        let Ok(p) = resolve_period(Some(day), store(Some(october)));
        assert_eq!(p, Some(day));
    }

    #[test]
    fn the_extent_is_read_only_when_the_asked_period_leaves_something_open() {
        let closed = period(date(2026, 10, 1), date(2026, 10, 31));
        let unread = || Err::<Extent<'static>, &str>("the store was read");
        assert_eq!(resolve_period(Some(closed), unread), Ok(Some(closed)));
        assert_eq!(resolve_period(None, unread), Err("the store was read"));
        let open = period(date(2026, 10, 1), chrono::NaiveDate::MAX);
        assert_eq!(
            resolve_period(Some(open), unread),
            Err("the store was read")
        );
    }
}
