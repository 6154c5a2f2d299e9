//! The worker-month assessment (DESIGN.md §4.9) with polars: worker-day summaries are
//! aggregated per worker, scored by the configured formula, and ranked within community and
//! street; coverage is unioned over the month and across a grid's workers; units roll up.
//!
//! Scalar figures go through a polars frame (one row per worker-day → one per worker);
//! coverage masks and visits, which are not scalars, are combined in Rust beside it.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::{
    col, lit, when, Column, DataFrame, DataType, Expr, IntoLazy, JoinArgs, JoinType, RankMethod,
    RankOptions, SortMultipleOptions,
};

use super::{period, units, AssessError, Assessor, WorkerDay};
use crate::config::ScoreConfig;
use crate::coverage::{CoverageMask, GridCoverage};
use crate::model::{Level, Month, WorkerId};
use crate::registry::{GridId, Registry};
use crate::report::{GridRow, NamedValue, Report, UnitRow, Weight, WorkerRow};
use crate::visits::{self, Visit};

/// The plausibility flags a report counts per worker (days flagged), in column order.
const FLAG_KINDS: [&str; 7] = [
    "jumps",
    "static_device",
    "replay",
    "out_of_grid",
    "future_timestamps",
    "mock_location",
    "any_penalised",
];

/// How many weakest grids and workers a unit row lists.
const WEAKEST: usize = 3;

/// What the month's assessment needs besides the worker-days.
pub struct MonthInput<'a> {
    /// The engine context (registry, coverage rasters, parameters).
    pub assessor: &'a Assessor,
    /// The month.
    pub month: Month,
    /// Each grid's attainable coverage mask (the street network as a track), if known.
    pub attainable: Option<&'a GridCoverage>,
    /// Restrict the report to this unit's subtree.
    pub unit: Option<&'a str>,
    /// When the report is made (RFC 3339), given by the caller: the engine reads no clock.
    pub generated_at: String,
}

impl From<polars::error::PolarsError> for AssessError {
    fn from(e: polars::error::PolarsError) -> AssessError {
        AssessError::Aggregation {
            reason: e.to_string(),
        }
    }
}

/// The score formula as text, with the configured weights and targets.
pub fn formula_text(s: &ScoreConfig) -> String {
    format!(
        "score = 100 × Σ wᵢ·min(1, xᵢ/targetᵢ) / Σ wᵢ − min({cap}, {pen} × flagged_days), clamped to 0..100; \
         terms: days_active/{dt} (w {dw}), patrol_h/{ht} (w {hw}), coverage/{ct} (w {cw}), \
         checkpoint_compliance/{kt} (w {kw}), accepted_share/{qt} (w {qw}); \
         a term without a value (no checkpoints in the worker's grids) is left out of both sums; \
         flagged_days = days with a plausibility flag (jumps, static_device, replay, out_of_grid, future_timestamps) — \
         the client's mock_location flag alone is never penalised",
        cap = s.anomaly_penalty_cap,
        pen = s.anomaly_penalty,
        dt = s.days_target,
        dw = s.days_weight,
        ht = s.hours_target,
        hw = s.hours_weight,
        ct = s.coverage_target,
        cw = s.coverage_weight,
        kt = s.checkpoints_target,
        kw = s.checkpoints_weight,
        qt = s.quality_target,
        qw = s.quality_weight,
    )
}

fn weights(s: &ScoreConfig) -> Vec<Weight> {
    let describe = [
        ("days", "days with at least min_active_minutes of patrol"),
        ("hours", "patrol hours in the month"),
        (
            "coverage",
            "coverage of the assigned grids (area-weighted, union over the month)",
        ),
        (
            "checkpoints",
            "checkpoint compliance: mean over checkpoints of min(1, visits/required)",
        ),
        ("quality", "share of received pings accepted by cleaning"),
    ];
    s.terms()
        .iter()
        .zip(describe)
        .map(|(&(term, weight, target), (_, description))| Weight {
            term: term.to_string(),
            weight,
            target,
            description: description.to_string(),
        })
        .collect()
}

/// Per-worker figures computed in Rust (not scalars of the worker-days).
struct WorkerExtras {
    coverage: f64,
    attainable: Option<f64>,
    compliance: Option<f64>,
}

/// What the month's assessment reads of one worker-day: its scalars and which plausibility
/// flags it raised (a hundred bytes; the day's records are not kept).
#[derive(Debug)]
struct DayFigures {
    worker: WorkerId,
    patrol_s: f64,
    length_m: f64,
    stays: u32,
    pings: u64,
    accepted: u64,
    gap_s: f64,
    out_of_grid_s: f64,
    /// One per [`FLAG_KINDS`], in order.
    flags: [bool; FLAG_KINDS.len()],
}

impl DayFigures {
    fn of(d: &WorkerDay) -> DayFigures {
        DayFigures {
            worker: d.worker.clone(),
            patrol_s: d.patrol_s,
            length_m: d.length_m,
            stays: d.stays.len() as u32,
            pings: u64::from(d.pings),
            accepted: u64::from(d.accepted),
            gap_s: d.gap_s,
            out_of_grid_s: d.out_of_grid_s,
            flags: FLAG_KINDS.map(|kind| {
                if kind == "any_penalised" {
                    d.penalised()
                } else {
                    d.anomalies.iter().any(|a| a.kind() == kind)
                }
            }),
        }
    }
}

/// A month's worker-days folded in one at a time: each day's figures ([`DayFigures`]), its
/// checkpoint visits, and each worker's coverage union over the month. What the assessment
/// keeps of a city's month is then about a hundred bytes a worker-day (plus its visits) and
/// one mask per worker and grid, however the days arrive; the service folds stored summaries
/// in one worker at a time and never holds the month's decoded days whole.
#[derive(Debug)]
pub struct MonthDays {
    month: Month,
    days: Vec<DayFigures>,
    visits: Vec<Visit>,
    coverage: BTreeMap<WorkerId, GridCoverage>,
}

impl MonthDays {
    /// No days yet.
    pub fn new(month: Month) -> MonthDays {
        MonthDays {
            month,
            days: Vec::new(),
            visits: Vec::new(),
            coverage: BTreeMap::new(),
        }
    }

    /// Folds in one worker-day (a day outside the month is ignored).
    pub fn add(&mut self, day: &WorkerDay) {
        if !self.month.period().contains(day.day) {
            return;
        }
        self.coverage
            .entry(day.worker.clone())
            .or_default()
            .union_with(&day.coverage);
        self.days.push(DayFigures::of(day));
        self.visits.extend(day.visits.iter().cloned());
    }

    /// How many worker-days were folded in.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether no worker-day was folded in.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

/// Assesses one month: the report of every worker, grid and unit (restricted to
/// `input.unit`'s subtree when given).
///
/// The worker-days given are those of the month (others are ignored). Equal to
/// [`assess_folded`] over the same days folded into [`MonthDays`].
///
/// # Errors
/// [`AssessError::UnknownUnit`] when the unit is not in the registry;
/// [`AssessError::Aggregation`] when polars fails (a bug, not bad input).
pub fn assess_month(days: &[WorkerDay], input: &MonthInput<'_>) -> Result<Report, AssessError> {
    let mut folded = MonthDays::new(input.month);
    for d in days {
        folded.add(d);
    }
    assess_folded(&folded, input)
}

/// Assesses one month from its folded worker-days (see [`assess_month`]).
///
/// # Errors
/// As [`assess_month`]; [`AssessError::Aggregation`] also when the days were folded for
/// another month than `input.month`.
pub fn assess_folded(folded: &MonthDays, input: &MonthInput<'_>) -> Result<Report, AssessError> {
    let a = input.assessor;
    let reg: &Registry = &a.registry;
    let month = input.month;
    if folded.month != month {
        return Err(AssessError::Aggregation {
            reason: format!("days folded for {} assessed as {month}", folded.month),
        });
    }
    let days = folded.days.as_slice();

    // Coverage: each worker's month union per grid, and each grid's team union.
    let per_worker = &folded.coverage;
    let team = period::team_coverage(a, per_worker);
    let grid_share = |g: GridId| period::share(a, &team, g);
    let attainable_share = |g: GridId| {
        input
            .attainable
            .map(|att| att.get(g).map_or(0.0, |m| a.coverage.share(g, m)))
    };
    let area = |g: GridId| reg.grid(g).map_or(0.0, |x| x.area_m2);
    let weighted = |grids: &[GridId], f: &dyn Fn(GridId) -> f64| {
        let total: f64 = grids.iter().map(|&g| area(g)).sum();
        if total > 0.0 {
            grids.iter().map(|&g| f(g) * area(g)).sum::<f64>() / total
        } else {
            0.0
        }
    };

    // Visits merged over the month, for compliance.
    let merged = visits::merge_visits(folded.visits.clone(), a.visit.visit_merge_s);
    let extras: Vec<WorkerExtras> = reg
        .workers
        .iter()
        .map(|w| {
            let cov = per_worker.get(&w.id);
            let own = |g: GridId| {
                cov.and_then(|c| c.get(g))
                    .map_or(0.0, |m| a.coverage.share(g, m))
            };
            WorkerExtras {
                coverage: weighted(&w.grids, &own),
                attainable: input
                    .attainable
                    .map(|_| weighted(&w.grids, &|g| attainable_share(g).unwrap_or(0.0))),
                compliance: period::worker_compliance(a, &w.id, &merged, month),
            }
        })
        .collect();

    let scored = score_workers(days, input, &extras)?;
    let mut workers = scored;

    // Scope: the unit's subtree (ranks stay those of the whole community and street).
    let in_scope_grids: Option<Vec<GridId>> = match input.unit {
        Some(code) => {
            reg.unit(code).ok_or_else(|| AssessError::UnknownUnit {
                code: code.to_string(),
            })?;
            Some(reg.grids_in_subtree(code))
        }
        None => None,
    };
    let grid_in_scope = |g: GridId| in_scope_grids.as_ref().is_none_or(|s| s.contains(&g));
    let worker_grids: HashMap<&str, &[GridId]> = reg
        .workers
        .iter()
        .map(|w| (w.id.as_str(), w.grids.as_slice()))
        .collect();
    workers.retain(|row| {
        worker_grids
            .get(row.worker.as_str())
            .is_some_and(|gs| gs.iter().any(|&g| grid_in_scope(g)))
    });
    let config = a.config();
    mark_weakest(&mut workers, config.score.weak_share);

    // Grids: those of the scope, in grid order.
    let selected: Vec<GridId> = (0..reg.grids.len() as GridId)
        .filter(|&g| grid_in_scope(g))
        .collect();
    let mut grids: Vec<GridRow> = selected
        .iter()
        .filter_map(|&g| {
            let grid = reg.grid(g)?;
            let share = grid_share(g);
            Some(GridRow {
                code: grid.code.to_string(),
                name: grid.name.clone(),
                community: reg
                    .ancestor(g, Level::Community)
                    .map_or(String::new(), |u| u.code.to_string()),
                area_m2: grid.area_m2,
                workers: reg
                    .workers
                    .iter()
                    .filter(|w| w.grids.contains(&g))
                    .map(|w| w.id.to_string())
                    .collect(),
                team_coverage: share,
                covered_m2: share * grid.area_m2,
                attainable: attainable_share(g),
                weak: false,
            })
        })
        .collect();
    {
        let mut order: Vec<usize> = (0..grids.len()).collect();
        order.sort_by(|&x, &y| grids[x].team_coverage.total_cmp(&grids[y].team_coverage));
        let n_weak = weak_count(grids.len(), config.score.weak_share);
        for &i in order.iter().take(n_weak) {
            grids[i].weak = true;
        }
    }

    let units = roll_up(a, &team, &selected, &workers, input.unit);
    Ok(Report {
        month: month.to_string(),
        unit: input.unit.map(String::from),
        generated_at: input.generated_at.clone(),
        freshness: None,
        days_without_context: Vec::new(),
        params: a.params.to_json(),
        formula: formula_text(&config.score),
        weights: weights(&config.score),
        workers,
        grids,
        units,
        vehicles: None,
    })
}

/// How many rows `share` of `n` marks as weakest (at least one when there are rows and the
/// share is positive).
fn weak_count(n: usize, share: f64) -> usize {
    if n == 0 || share <= 0.0 {
        0
    } else {
        ((n as f64 * share).ceil() as usize).clamp(1, n)
    }
}

fn mark_weakest(workers: &mut [WorkerRow], share: f64) {
    let mut order: Vec<usize> = (0..workers.len()).collect();
    order.sort_by(|&x, &y| workers[x].score.total_cmp(&workers[y].score));
    for &i in order.iter().take(weak_count(workers.len(), share)) {
        workers[i].weak = true;
    }
}

/// Aggregates the worker-days per worker, scores and ranks them with polars.
fn score_workers(
    days: &[DayFigures],
    input: &MonthInput<'_>,
    extras: &[WorkerExtras],
) -> Result<Vec<WorkerRow>, AssessError> {
    let reg: &Registry = &input.assessor.registry;
    let config = input.assessor.config();
    let s = &config.score;
    let mut day_columns = vec![
        Column::new(
            "worker".into(),
            days.iter().map(|d| d.worker.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "patrol_s".into(),
            days.iter().map(|d| d.patrol_s).collect::<Vec<_>>(),
        ),
        Column::new(
            "length_m".into(),
            days.iter().map(|d| d.length_m).collect::<Vec<_>>(),
        ),
        Column::new(
            "stays".into(),
            days.iter().map(|d| d.stays).collect::<Vec<_>>(),
        ),
        Column::new(
            "pings".into(),
            days.iter().map(|d| d.pings).collect::<Vec<_>>(),
        ),
        Column::new(
            "accepted".into(),
            days.iter().map(|d| d.accepted).collect::<Vec<_>>(),
        ),
        Column::new(
            "gap_s".into(),
            days.iter().map(|d| d.gap_s).collect::<Vec<_>>(),
        ),
        Column::new(
            "outside_s".into(),
            days.iter().map(|d| d.out_of_grid_s).collect::<Vec<_>>(),
        ),
    ];
    for (i, kind) in FLAG_KINDS.iter().enumerate() {
        day_columns.push(Column::new(
            format!("f_{kind}").into(),
            days.iter()
                .map(|d| u32::from(d.flags[i]))
                .collect::<Vec<_>>(),
        ));
    }
    let day_frame = DataFrame::new_infer_height(day_columns)?;

    let min_active_s = config.min_active_minutes * 60.0;
    let mut aggs = vec![
        col("patrol_s")
            .gt_eq(lit(min_active_s))
            .cast(DataType::UInt32)
            .sum()
            .alias("days_active"),
        (col("patrol_s").sum() / lit(3600.0)).alias("patrol_h"),
        (col("length_m").sum() / lit(1000.0)).alias("distance_km"),
        col("stays").sum().alias("stays"),
        col("pings").sum().alias("pings"),
        col("accepted").sum().alias("accepted"),
        (col("gap_s").sum() / lit(3600.0)).alias("gap_h"),
        (col("outside_s").sum() / lit(3600.0)).alias("out_of_grid_h"),
    ];
    for kind in FLAG_KINDS {
        aggs.push(
            col(format!("f_{kind}").as_str())
                .sum()
                .alias(format!("n_{kind}").as_str()),
        );
    }
    let per_worker = day_frame.lazy().group_by([col("worker")]).agg(aggs);

    // Every registered worker appears, with zeros when they sent nothing.
    let ancestor = |w: &crate::registry::Worker, level: Level| {
        w.grids
            .first()
            .and_then(|&g| reg.ancestor(g, level))
            .map(|u| (u.code.to_string(), u.name.clone()))
            .unwrap_or_default()
    };
    let communities: Vec<(String, String)> = reg
        .workers
        .iter()
        .map(|w| ancestor(w, Level::Community))
        .collect();
    let streets: Vec<(String, String)> = reg
        .workers
        .iter()
        .map(|w| ancestor(w, Level::Street))
        .collect();
    let roster = DataFrame::new_infer_height(vec![
        Column::new(
            "worker".into(),
            reg.workers
                .iter()
                .map(|w| w.id.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "order".into(),
            (0..reg.workers.len() as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "community".into(),
            communities.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "street".into(),
            streets.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "coverage".into(),
            extras.iter().map(|e| e.coverage).collect::<Vec<_>>(),
        ),
        Column::new(
            "compliance".into(),
            extras.iter().map(|e| e.compliance).collect::<Vec<_>>(),
        ),
    ])?;

    let capped = |x: Expr, target: f64| {
        let r = x / lit(target);
        when(r.clone().gt(lit(1.0))).then(lit(1.0)).otherwise(r)
    };
    let zero = |c: &str| col(c).fill_null(lit(0));
    let accepted_share = when(zero("pings").gt(lit(0)))
        .then(zero("accepted").cast(DataType::Float64) / zero("pings").cast(DataType::Float64))
        .otherwise(lit(0.0));
    let has_cp = col("compliance").is_not_null();
    let numerator = lit(s.days_weight)
        * capped(zero("days_active").cast(DataType::Float64), s.days_target)
        + lit(s.hours_weight) * capped(zero("patrol_h"), s.hours_target)
        + lit(s.coverage_weight) * capped(col("coverage"), s.coverage_target)
        + when(has_cp.clone())
            .then(lit(s.checkpoints_weight) * capped(col("compliance"), s.checkpoints_target))
            .otherwise(lit(0.0))
        + lit(s.quality_weight) * capped(col("accepted_share"), s.quality_target);
    let denominator = lit(s.days_weight + s.hours_weight + s.coverage_weight + s.quality_weight)
        + when(has_cp)
            .then(lit(s.checkpoints_weight))
            .otherwise(lit(0.0));
    let penalty = {
        let p = lit(s.anomaly_penalty) * zero("n_any_penalised").cast(DataType::Float64);
        when(p.clone().gt(lit(s.anomaly_penalty_cap)))
            .then(lit(s.anomaly_penalty_cap))
            .otherwise(p)
    };
    let raw = lit(100.0) * numerator / denominator - penalty;
    let score = when(raw.clone().lt(lit(0.0))).then(lit(0.0)).otherwise(
        when(raw.clone().gt(lit(100.0)))
            .then(lit(100.0))
            .otherwise(raw),
    );
    // Ties share the better rank ("min"), as a league table does.
    let rank = |by: &str| -> Result<Expr, AssessError> {
        Ok(col("score")
            .rank(
                RankOptions {
                    method: RankMethod::Min,
                    descending: true,
                },
                None,
            )
            .over([col(by)])?
            .cast(DataType::UInt32))
    };
    let frame = roster
        .lazy()
        .join(
            per_worker,
            [col("worker")],
            [col("worker")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(accepted_share.alias("accepted_share"))
        .with_column(score.alias("score"))
        .with_columns([
            rank("community")?.alias("rank_community"),
            rank("street")?.alias("rank_street"),
        ])
        .sort(["order"], SortMultipleOptions::default())
        .collect()?;

    let f64s = |c: &str| -> Result<Vec<f64>, AssessError> {
        let column = frame.column(c)?.cast(&DataType::Float64)?;
        let values = column.f64()?;
        Ok((0..values.len())
            .map(|i| values.get(i).unwrap_or(0.0))
            .collect())
    };
    let u64s = |c: &str| -> Result<Vec<u64>, AssessError> {
        let column = frame.column(c)?.cast(&DataType::UInt64)?;
        let values = column.u64()?;
        Ok((0..values.len())
            .map(|i| values.get(i).unwrap_or(0))
            .collect())
    };
    let (days_active, patrol_h, distance_km) = (
        u64s("days_active")?,
        f64s("patrol_h")?,
        f64s("distance_km")?,
    );
    let (stays, pings, accepted_share) = (u64s("stays")?, u64s("pings")?, f64s("accepted_share")?);
    let (gap_h, out_h, score) = (f64s("gap_h")?, f64s("out_of_grid_h")?, f64s("score")?);
    let (rank_c, rank_s) = (u64s("rank_community")?, u64s("rank_street")?);
    let flags: Vec<Vec<u64>> = FLAG_KINDS[..FLAG_KINDS.len() - 1]
        .iter()
        .map(|k| u64s(&format!("n_{k}")))
        .collect::<Result<_, AssessError>>()?;

    let rows = reg
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| WorkerRow {
            worker: w.id.to_string(),
            name: w.name.clone(),
            grid: w
                .grids
                .iter()
                .filter_map(|&g| reg.grid(g))
                .map(|g| g.code.as_str())
                .collect::<Vec<_>>()
                .join("+"),
            community: communities[i].0.clone(),
            community_name: communities[i].1.clone(),
            street: streets[i].0.clone(),
            street_name: streets[i].1.clone(),
            days_active: days_active[i] as u32,
            patrol_h: patrol_h[i],
            distance_km: distance_km[i],
            coverage: extras[i].coverage,
            attainable_coverage: extras[i].attainable,
            checkpoint_compliance: extras[i].compliance,
            stays: stays[i] as u32,
            out_of_grid_h: out_h[i],
            pings: pings[i],
            accepted_share: accepted_share[i],
            gap_h: gap_h[i],
            anomalies: FLAG_KINDS[..FLAG_KINDS.len() - 1]
                .iter()
                .zip(&flags)
                .filter(|(_, n)| n[i] > 0)
                .map(|(k, n)| (k.to_string(), n[i] as u32))
                .collect(),
            score: score[i],
            rank_community: rank_c[i] as u32,
            rank_street: rank_s[i] as u32,
            weak: false,
        })
        .collect();
    Ok(rows)
}

/// Rolls workers and grids up to communities, streets, districts and the city: each unit's
/// figures are [`units::unit_figures`] of its grids in the report (those of the scope) over
/// the month (`team`, the month's team masks) with the report's scores. Units of the scope's
/// subtree are listed, level by level, with zeros when they hold no grid; a unit without
/// workers has a mean score of 0 (the column is a number).
fn roll_up(
    a: &Assessor,
    team: &BTreeMap<GridId, CoverageMask>,
    grids: &[GridId],
    workers: &[WorkerRow],
    scope: Option<&str>,
) -> Vec<UnitRow> {
    let reg: &Registry = &a.registry;
    let root = scope.and_then(|code| reg.unit_index(code));
    let in_scope = |i: usize| scope.is_none() || root.is_some_and(|r| reg.is_within(i, r));
    let grids_under = reg.grids_by_unit(grids);
    let scores: BTreeMap<String, f64> = workers
        .iter()
        .map(|w| (w.worker.clone(), w.score))
        .collect();
    let mut out = Vec::new();
    for level in [
        Level::Community,
        Level::Street,
        Level::District,
        Level::City,
    ] {
        for (i, u) in reg.units.iter().enumerate() {
            if u.level != level || !in_scope(i) {
                continue;
            }
            let figures = units::unit_figures(a, &grids_under[i], team, Some(&scores), |_| true);
            let mut weakest_grids: Vec<NamedValue> = figures
                .grids
                .iter()
                .filter_map(|&g| reg.grid(g).map(|grid| (g, grid)))
                .map(|(g, grid)| NamedValue {
                    code: grid.code.to_string(),
                    name: grid.name.clone(),
                    value: period::share(a, team, g),
                })
                .collect();
            weakest_grids.sort_by(|a, b| a.value.total_cmp(&b.value));
            weakest_grids.truncate(WEAKEST);
            let mut weakest_workers: Vec<NamedValue> = figures
                .workers
                .iter()
                .map(|w| NamedValue {
                    code: w.id.to_string(),
                    name: w.name.clone(),
                    value: scores.get(w.id.as_str()).copied().unwrap_or(0.0),
                })
                .collect();
            weakest_workers.sort_by(|a, b| a.value.total_cmp(&b.value));
            weakest_workers.truncate(WEAKEST);
            out.push(UnitRow {
                code: u.code.to_string(),
                name: u.name.clone(),
                level: level.as_str().to_string(),
                parent: u.parent.map(|p| reg.units[p].code.to_string()),
                workers: figures.workers.len() as u32,
                grids: figures.grids.len() as u32,
                team_coverage: figures.team_coverage,
                mean_score: figures.mean_score.unwrap_or(0.0),
                weakest_grids,
                weakest_workers,
            });
        }
    }
    out
}
