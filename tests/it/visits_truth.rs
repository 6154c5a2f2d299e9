//! Checkpoint visits and out-of-grid episodes on the committed sample city (`data/sample/`),
//! checked against what the simulator says the workers really did (`truth.json`), an
//! independent reference: the simulator knows true positions, the engine sees noisy pings.
//!
//! Matching rule: a detected visit matches a truth visit of the same worker and checkpoint
//! whose [start, end] overlaps it. Precision = detected visits that match some truth visit /
//! detected visits; recall = truth visits matched by some detected visit / truth visits.

use std::collections::{BTreeMap, HashMap};

use gridbeat::model::{parse_timestamp, Ping, UnixMs, WorkerId};
use gridbeat::registry::Registry;
use gridbeat::track::{self, TrackParams};
use gridbeat::visits::{self, CheckpointIndex, OutOfGridEpisode, Via, Visit, VisitParams};
use serde_json::Value;

use crate::util::{read_json, sample, sample_pings, sample_registry};

struct TruthVisit {
    worker: String,
    checkpoint: String,
    start: UnixMs,
    end: UnixMs,
    checkin: bool,
}

pub(crate) struct Run {
    registry: Registry,
    truth: Value,
    /// Every dwell and check-in visit of the sample, found straight from tracks.
    pub(crate) visits: Vec<Visit>,
    episodes: HashMap<String, Vec<OutOfGridEpisode>>,
}

/// The sample's pings through the track and visit functions directly (not the worker-day
/// summaries the doors use).
pub(crate) fn run() -> Run {
    let registry = sample_registry();
    let truth = read_json(&sample("truth.json"));
    let mut by_worker: BTreeMap<WorkerId, Vec<Ping>> = BTreeMap::new();
    for p in sample_pings() {
        by_worker.entry(p.worker.clone()).or_default().push(p);
    }
    let index = CheckpointIndex::new(&registry.checkpoints);
    let params = VisitParams::default();
    let mut all = Vec::new();
    let mut episodes = HashMap::new();
    for (worker, pings) in &by_worker {
        let t = track::build(pings, &TrackParams::default());
        let (v, _) = visits::visits(worker, pings, &t, &index, &params);
        all.extend(v);
        let assigned = &registry.worker(worker.as_str()).expect("registered").grids;
        let located = visits::locate_fixes(&t, &registry.index);
        episodes.insert(
            worker.as_str().to_string(),
            visits::out_of_grid_episodes(&t, &located, assigned, params.out_of_grid_min_s),
        );
    }
    Run {
        registry,
        truth,
        visits: all,
        episodes,
    }
}

fn ts(v: &Value) -> UnixMs {
    parse_timestamp(v.as_str().expect("a timestamp")).expect("RFC 3339")
}

fn truth_visits(truth: &Value) -> Vec<TruthVisit> {
    let mut out = Vec::new();
    for w in truth["workers"].as_array().unwrap() {
        for v in w["visits"].as_array().unwrap() {
            out.push(TruthVisit {
                worker: w["worker"].as_str().unwrap().to_string(),
                checkpoint: v["checkpoint"].as_str().unwrap().to_string(),
                start: ts(&v["start"]),
                end: ts(&v["end"]),
                checkin: v["checkin"].as_bool().unwrap(),
            });
        }
    }
    out
}

fn overlaps(a: (UnixMs, UnixMs), b: (UnixMs, UnixMs)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// Recall must be high. Precision is bounded by the definition, not the detector: §4.7 makes a
/// visit of any ≥ 2 min stop within 30 m of a checkpoint, and the simulator puts breaks (10–20
/// min), lunch (40–55 min) and lazy workers' pauses (2–15 min) 3–8 m off streets, where
/// checkpoints also are; truth lists only deliberate visits. On the sample every unmatched
/// detection is such a dwell-only stop (about 77 of 348); every visit with a check-in matches.
/// So: recall ≥ 0.9, precision of visits carrying a check-in ≥ 0.95, overall precision ≥ 0.7.
#[test]
fn visits_match_the_truth_with_high_recall_and_checkin_visits_are_precise() {
    let r = run();
    let truth = truth_visits(&r.truth);
    assert!(truth.len() > 200, "{} truth visits", truth.len());
    let code = |v: &Visit| r.registry.checkpoints[v.checkpoint].code.as_str();
    let matches = |d: &Visit, t: &TruthVisit| {
        d.worker.as_str() == t.worker
            && code(d) == t.checkpoint
            && overlaps((d.start, d.end), (t.start, t.end))
    };
    let is_match: Vec<bool> = r
        .visits
        .iter()
        .map(|d| truth.iter().any(|t| matches(d, t)))
        .collect();
    let found: Vec<bool> = truth
        .iter()
        .map(|t| r.visits.iter().any(|d| matches(d, t)))
        .collect();
    let share = |flags: &[bool]| flags.iter().filter(|&&f| f).count() as f64 / flags.len() as f64;
    let precision = share(&is_match);
    let recall = share(&found);
    let with_checkin: Vec<bool> = r
        .visits
        .iter()
        .zip(&is_match)
        .filter(|(d, _)| d.via != Via::Dwell)
        .map(|(_, &m)| m)
        .collect();
    let checkin_precision = share(&with_checkin);
    let missed_checkin = truth
        .iter()
        .zip(&found)
        .filter(|(t, f)| !**f && t.checkin)
        .count();
    println!(
        "sample visits: detected {}, truth {}, precision {precision:.3}, recall {recall:.3}, \
         precision of visits with a check-in {checkin_precision:.3} ({} of them); \
         {} truth visits missed, {missed_checkin} of them with a check-in",
        r.visits.len(),
        truth.len(),
        with_checkin.len(),
        found.iter().filter(|&&f| !f).count()
    );
    assert!(recall >= 0.9, "recall {recall:.3}");
    assert!(
        with_checkin.len() > 100,
        "{} check-in visits",
        with_checkin.len()
    );
    assert!(
        checkin_precision >= 0.95,
        "check-in precision {checkin_precision:.3}"
    );
    assert!(precision >= 0.7, "precision {precision:.3}");
}

#[test]
fn out_of_grid_episodes_find_the_long_excursions_of_out_of_grid_workers() {
    let r = run();
    let mut periods = 0usize;
    let mut found = 0usize;
    for w in r.truth["workers"].as_array().unwrap() {
        if w["label"] != "out_of_grid" {
            continue;
        }
        let id = w["worker"].as_str().unwrap();
        let episodes = &r.episodes[id];
        for d in w["days"].as_array().unwrap() {
            for p in d["out_of_grid_periods"].as_array().unwrap() {
                let (start, end) = (ts(&p["start"]), ts(&p["end"]));
                if end - start < 20 * 60 * 1000 {
                    continue;
                }
                periods += 1;
                if episodes
                    .iter()
                    .any(|e| overlaps((e.start, e.end), (start, end)))
                {
                    found += 1;
                }
            }
        }
    }
    assert!(periods >= 3, "{periods} truth periods");
    let recall = found as f64 / periods as f64;
    println!("sample out-of-grid periods ≥ 20 min: {found}/{periods} found (recall {recall:.3})");
    assert!(recall >= 0.9, "recall {recall:.3}");
}
