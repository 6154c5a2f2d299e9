//! The roll-up of grids and workers to units (communities, streets, districts, the city): the
//! one computation behind the monthly report's unit rows (`assess::month`) and the `units` map
//! layer (`layers/units.rs`), so the two cannot drift apart.
//!
//! A unit's figures are those of the selected grids in its subtree
//! ([`Registry::grids_by_unit`](crate::registry::Registry::grids_by_unit)) and of the registry's workers assigned to at least one of
//! them: how many of each, the grids' area, their area-weighted team coverage, and the mean
//! of the workers' scores. Which units are shown, how figures are rounded and what a unit
//! without scores shows are the callers' business.

use std::collections::BTreeMap;

use super::{period, Assessor};
use crate::coverage::CoverageMask;
use crate::registry::{GridId, Worker};

/// The figures of one unit over a period: its grids, the workers assigned to them, the grids'
/// area, their area-weighted team coverage and the workers' mean score.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitFigures<'a> {
    /// The unit's grids among those selected, as given (grid order from
    /// [`Registry::grids_by_unit`](crate::registry::Registry::grids_by_unit)).
    pub grids: &'a [GridId],
    /// The registry's workers assigned to at least one of those grids and admitted by the
    /// caller, each once, in registry order.
    pub workers: Vec<&'a Worker>,
    /// The grids' total area.
    ///
    /// # Units
    /// Square metres.
    pub area_m2: f64,
    /// The grids' team coverage (each grid's [`period::share`] of the team masks given),
    /// weighted by area: 0..1, and 0 when the grids have no area.
    pub team_coverage: f64,
    /// The mean score (0..100) of the workers that have one in the scores given; `None` when
    /// no scores were given or none of the workers has one.
    pub mean_score: Option<f64>,
}

/// A unit's figures from its grids and the workers assigned to them.
///
/// - `grids`: the unit's grids among those the caller selected (one entry of
///   [`Registry::grids_by_unit`](crate::registry::Registry::grids_by_unit)).
/// - `team`: the team coverage masks of the period the figures are for
///   ([`period::team_coverage`] or [`period::team_coverage_of_days`]). This is where the two
///   callers differ, and why it is a parameter: the report passes its month's masks (the
///   month's union per worker), the `units` layer those of its filter's period, which may be
///   a day, a week or any span. Over the same month both give the same masks, so the same
///   figures.
/// - `scores`: each worker's score by id. The report passes its own workers' scores; the
///   layer the monthly scores of the month its period lies in ([`Report::scores`], `None`
///   when the period spans months, see `layers::score_month`): a score is a month's figure
///   and is never averaged over another period.
/// - `admit`: which assigned workers count (the layer's caller scope; the report admits
///   every worker, as its grids are already those of its scope).
///
/// [`Report::scores`]: crate::report::Report::scores
pub fn unit_figures<'a>(
    assessor: &'a Assessor,
    grids: &'a [GridId],
    team: &BTreeMap<GridId, CoverageMask>,
    scores: Option<&BTreeMap<String, f64>>,
    admit: impl Fn(&Worker) -> bool,
) -> UnitFigures<'a> {
    let reg = &*assessor.registry;
    let area = |g: GridId| reg.grid(g).map_or(0.0, |x| x.area_m2);
    let area_m2: f64 = grids.iter().map(|&g| area(g)).sum();
    let team_coverage = if area_m2 > 0.0 {
        grids
            .iter()
            .map(|&g| period::share(assessor, team, g) * area(g))
            .sum::<f64>()
            / area_m2
    } else {
        0.0
    };
    // Membership by grid number: a city's unit holds every grid, and is asked of every worker.
    let mut selected = vec![false; reg.grids.len()];
    for &g in grids {
        if let Some(s) = selected.get_mut(g as usize) {
            *s = true;
        }
    }
    let workers: Vec<&Worker> = reg
        .workers
        .iter()
        .filter(|&w| {
            w.grids
                .iter()
                .any(|&g| selected.get(g as usize).copied().unwrap_or(false))
                && admit(w)
        })
        .collect();
    let mean_score = scores.and_then(|s| {
        let known: Vec<f64> = workers
            .iter()
            .filter_map(|w| s.get(w.id.as_str()).copied())
            .collect();
        (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
    });
    UnitFigures {
        grids,
        workers,
        area_m2,
        team_coverage,
        mean_score,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::assess::Params;
    use crate::cli::demo::sample;
    use crate::config::Config;
    use crate::model::Level;
    use crate::registry::{LoadOptions, Registry, Source};
    use crate::track::CleanMode;

    fn sample_assessor() -> Assessor {
        let registry = Registry::from_sources(
            Source::new("grids.geojson", sample::GRIDS),
            Some(Source::new("workers.csv", sample::WORKERS)),
            None,
            &LoadOptions::default(),
        )
        .unwrap();
        Assessor::new(
            Arc::new(registry),
            Params::new(Config::default(), CleanMode::Full),
        )
    }

    /// Every unit of the sample city against figures counted here from the registry alone:
    /// grid 0 fully covered and every other grid not at all, so a unit's team coverage is
    /// grid 0's share of its area.
    #[test]
    fn units_roll_up_their_grids_and_assigned_workers() {
        let a = sample_assessor();
        let reg = &*a.registry;
        let selected: Vec<GridId> = (0..reg.grids.len() as GridId).collect();
        let under = reg.grids_by_unit(&selected);
        let raster = a.coverage.raster(0).unwrap();
        let team: BTreeMap<GridId, CoverageMask> = [(
            0,
            CoverageMask::from_words(vec![u64::MAX; raster.len_words()]),
        )]
        .into();
        let scores: BTreeMap<String, f64> = reg
            .workers
            .iter()
            .enumerate()
            .map(|(i, w)| (w.id.to_string(), i as f64))
            .collect();
        let mut checked = 0;
        for (i, u) in reg.units.iter().enumerate() {
            if u.level == Level::Grid {
                continue;
            }
            let grids: Vec<GridId> = selected
                .iter()
                .copied()
                .filter(|&g| reg.is_within(reg.grids[g as usize].unit, i))
                .collect();
            assert_eq!(under[i], grids, "{}", u.code);
            let f = unit_figures(&a, &under[i], &team, Some(&scores), |_| true);
            let workers: Vec<usize> = (0..reg.workers.len())
                .filter(|&w| reg.workers[w].grids.iter().any(|g| grids.contains(g)))
                .collect();
            assert_eq!(f.workers.len(), workers.len(), "{}", u.code);
            let area: f64 = grids.iter().map(|&g| reg.grids[g as usize].area_m2).sum();
            assert!((f.area_m2 - area).abs() <= 1e-9 * area, "{}", u.code);
            let covered = if grids.contains(&0) {
                reg.grids[0].area_m2
            } else {
                0.0
            };
            assert!(
                (f.team_coverage - covered / area).abs() < 1e-12,
                "{}: {} vs {}",
                u.code,
                f.team_coverage,
                covered / area
            );
            let mean = workers.iter().map(|&w| w as f64).sum::<f64>() / workers.len() as f64;
            assert_eq!(f.mean_score, (!workers.is_empty()).then_some(mean));
            checked += 1;
        }
        assert!(checked >= 3, "the sample city has too few units");
        let city = reg
            .units
            .iter()
            .position(|u| u.level == Level::City)
            .unwrap();
        let none = unit_figures(&a, &under[city], &team, None, |w| w.id.as_str() == "nobody");
        assert!(none.workers.is_empty(), "no worker admitted");
        assert_eq!(none.mean_score, None, "no scores given");
    }
}
