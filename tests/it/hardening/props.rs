//! Property tests of the engine's invariants (issue 15) on random walks of one worker in the
//! sample city, starting late in the evening so that days cross local midnight: jumps, coarse
//! accuracies, conflicts and gaps included.
//! - per-day figures sum exactly to the period's, for any order of receipt;
//! - a worker-day summarised alone from its window equals the batch, for random late arrivals;
//! - coverage never decreases when pings of the same patrol are added;
//! - a repeat changes nothing (DESIGN.md §4.2 step 1).
//!
//! Expected values come from the track (its segments and cleaning counts), not from the day
//! rule under test.

use std::sync::OnceLock;

use gridbeat::assess::{period, Assessor};
use gridbeat::model::{Ping, WorkerId};
use gridbeat::track::{build, length_m_of, DropCounts};
use proptest::prelude::*;

use crate::util::{by_windows, sample_assessor, sample_pings};

/// 2026-10-07T22:00:00+08:00.
const BASE_MS: i64 = 1_791_381_600_000;
const M_PER_DEG_LAT: f64 = 110_800.0;
const M_PER_DEG_LON: f64 = 97_600.0;
const WORKER: &str = "w-0001";

/// The sample city's assessor, built once.
fn assessor() -> &'static Assessor {
    static A: OnceLock<Assessor> = OnceLock::new();
    A.get_or_init(sample_assessor)
}

/// Where the worker's sample patrol starts (inside the worker's grid).
fn start() -> (f64, f64) {
    static S: OnceLock<(f64, f64)> = OnceLock::new();
    *S.get_or_init(|| {
        let p = sample_pings()
            .into_iter()
            .find(|p| p.worker.as_str() == WORKER)
            .unwrap();
        (p.lon, p.lat)
    })
}

/// One step of the walk.
#[derive(Clone, Debug)]
struct Step {
    dt_ms: i64,
    turn: f64,
    speed_mps: f64,
    /// 0: a gap of 20 min first; 1: this ping alone is 2 km off (a jump); 2: same instant as
    /// the previous ping, 30 m away (a conflict); 3: accuracy far too coarse; else ordinary.
    kind: u8,
    acc: Option<f32>,
}

fn step(messy: bool) -> impl Strategy<Value = Step> {
    let kinds = if messy { 0u8..24 } else { 4u8..24 };
    (
        2_000i64..60_000,
        -0.8f64..0.8,
        0.2f64..2.5,
        kinds,
        prop::option::of(3.0f32..40.0),
    )
        .prop_map(|(dt_ms, turn, speed_mps, kind, acc)| Step {
            dt_ms,
            turn,
            speed_mps,
            kind,
            acc,
        })
}

/// A walk from the worker's start; `offset_ms` after 22:00 local.
fn walk(offset_ms: i64, steps: &[Step]) -> Vec<Ping> {
    let (lon0, lat0) = start();
    let (mut ts, mut east, mut north, mut heading) = (BASE_MS + offset_ms, 0.0f64, 0.0f64, 0.0f64);
    let mut out: Vec<Ping> = Vec::with_capacity(steps.len());
    let at = |ts: i64, e: f64, n: f64| {
        Ping::new(
            WorkerId::new(WORKER),
            ts,
            lon0 + e / M_PER_DEG_LON,
            lat0 + n / M_PER_DEG_LAT,
        )
    };
    for s in steps {
        if s.kind == 2 && !out.is_empty() {
            let mut p = at(ts, east + 30.0, north);
            p.acc_m = s.acc;
            out.push(p);
            continue;
        }
        if s.kind == 0 {
            ts += 1_200_000;
        }
        ts += s.dt_ms;
        heading += s.turn;
        let d = s.speed_mps * s.dt_ms as f64 / 1000.0;
        east += d * heading.cos();
        north += d * heading.sin();
        let mut p = if s.kind == 1 {
            at(ts, east + 2_000.0, north + 2_000.0)
        } else {
            at(ts, east, north)
        };
        p.acc_m = if s.kind == 3 { Some(500.0) } else { s.acc };
        out.push(p);
    }
    out
}

/// A messy walk, and the same pings in a random order of receipt.
fn received(len: std::ops::Range<usize>) -> impl Strategy<Value = (Vec<Ping>, Vec<Ping>)> {
    (0i64..14_400_000, prop::collection::vec(step(true), len))
        .prop_map(|(offset, steps)| walk(offset, &steps))
        .prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle()))
}

/// `a` and `b` agree to 1e-9 relative (1e-6 absolute).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-6
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Per-day figures sum exactly to the period's (the track's), whatever the order of
    /// receipt; and only the time order (ties in receipt order) matters.
    #[test]
    fn per_day_figures_sum_to_the_period_for_any_order((_, pings) in received(1..400)) {
        let a = assessor();
        let w = WorkerId::new(WORKER);
        let days = a.summarize_worker(&w, &pings);
        let t = build(&pings, &a.track);
        let fixes = t.fixes();

        let mut dropped = DropCounts::default();
        for d in &days {
            dropped.add(&d.dropped);
        }
        prop_assert_eq!(days.iter().map(|d| d.pings as usize).sum::<usize>(), t.pings);
        prop_assert_eq!(days.iter().map(|d| d.accepted as usize).sum::<usize>(), fixes.len());
        prop_assert_eq!(dropped, t.cleaned.dropped);
        prop_assert_eq!(
            days.iter().map(|d| d.segments_started as usize).sum::<usize>(),
            t.segments.len()
        );
        prop_assert_eq!(days.iter().map(|d| d.stays.len()).sum::<usize>(), t.stays.len());
        let length: f64 = t.segments.iter().map(|s| length_m_of(&fixes[s.clone()])).sum();
        let patrol: f64 = t
            .segments
            .iter()
            .map(|s| (fixes[s.end - 1].ts - fixes[s.start].ts) as f64 / 1000.0)
            .sum();
        let day_length: f64 = days.iter().map(|d| d.length_m).sum();
        let day_patrol: f64 = days.iter().map(|d| d.patrol_s).sum();
        prop_assert!(close(day_length, length), "{} vs {}", day_length, length);
        prop_assert!(close(day_patrol, patrol), "{} vs {}", day_patrol, patrol);

        // The period's totals are the days' sums.
        let totals = period::worker_totals(&days);
        if let Some(p) = totals.first() {
            prop_assert_eq!(p.pings as usize, t.pings);
            prop_assert_eq!(p.accepted as usize, fixes.len());
            prop_assert_eq!(p.dropped, t.cleaned.dropped);
            prop_assert!(close(p.length_m, length));
            prop_assert!(close(p.patrol_s, patrol));
        } else {
            prop_assert!(pings.is_empty());
        }

        // Only time order matters (ties keep their order of receipt).
        let mut in_time = pings.clone();
        in_time.sort_by_key(|p| p.ts);
        prop_assert_eq!(a.summarize_worker(&w, &in_time), days);
    }

    /// Each worker-day computed alone from its window and the carry equals the batch, when
    /// pings arrive late in any order.
    #[test]
    fn a_day_from_its_window_equals_the_batch_for_late_arrivals((_, pings) in received(1..400)) {
        let a = assessor();
        let w = WorkerId::new(WORKER);
        let batch = a.summarize_worker(&w, &pings);
        let windows = by_windows(a, &w, &pings);
        prop_assert_eq!(batch.len(), windows.len());
        for (b, x) in batch.iter().zip(&windows) {
            prop_assert_eq!(b, x, "{}", b.day);
        }
    }

    /// Pings of the same patrol added (half-way in time and place between two received
    /// pings) never decrease any grid's covered share.
    #[test]
    fn coverage_never_decreases_when_pings_are_added(
        offset in 0i64..14_400_000,
        steps in prop::collection::vec(step(false), 2..300),
        added in prop::collection::vec(any::<bool>(), 300),
    ) {
        let a = assessor();
        let w = WorkerId::new(WORKER);
        let pings = walk(offset, &steps);
        let mut more = pings.clone();
        for (k, pair) in pings.windows(2).enumerate() {
            if added[k] && pair[1].ts - pair[0].ts >= 2 {
                more.push(Ping::new(
                    w.clone(),
                    (pair[0].ts + pair[1].ts) / 2,
                    (pair[0].lon + pair[1].lon) / 2.0,
                    (pair[0].lat + pair[1].lat) / 2.0,
                ));
            }
        }
        let before = period::coverage_by_worker(&a.summarize_worker(&w, &pings));
        let after = period::coverage_by_worker(&a.summarize_worker(&w, &more));
        if let Some(cov) = before.get(&w) {
            for (g, mask) in cov.iter() {
                let now = after.get(&w).and_then(|c| c.get(g));
                let share = now.map_or(0.0, |m| a.coverage.share(g, m));
                prop_assert!(
                    share >= a.coverage.share(g, mask),
                    "grid {:?}: {} < {}", g, share, a.coverage.share(g, mask)
                );
            }
        }
    }

    /// Exact copies of random pings, received again later, change no figure at all.
    #[test]
    fn a_repeat_changes_nothing(
        (_, pings) in received(1..300),
        copies in prop::collection::vec(any::<prop::sample::Index>(), 1..60),
    ) {
        let a = assessor();
        let w = WorkerId::new(WORKER);
        // Received again later (a retry after a lost answer): after every original.
        let mut resent = pings.clone();
        for which in &copies {
            let i = which.index(pings.len());
            let mut copy = pings[i].clone();
            copy.received = Some(pings[i].ts + 60_000);
            resent.push(copy);
        }
        prop_assert_eq!(a.summarize_worker(&w, &resent), a.summarize_worker(&w, &pings));
        let (t0, t1) = (build(&pings, &a.track), build(&resent, &a.track));
        prop_assert_eq!(t1.pings, t0.pings);
        prop_assert_eq!(t1.cleaned.dropped, t0.cleaned.dropped);
        prop_assert_eq!((t1.cleaned.repeats - t0.cleaned.repeats) as usize, copies.len());
        prop_assert_eq!(t1.length_m, t0.length_m);
        prop_assert_eq!(t1.patrol_s, t0.patrol_s);
        prop_assert_eq!(&t1.days, &t0.days);
    }
}

/// The generators reach what the properties are about: grids, local midnight, every gate.
#[test]
fn the_walks_cross_midnight_in_grids_and_reach_every_gate() {
    let a = assessor();
    let w = WorkerId::new(WORKER);
    let steps: Vec<Step> = (0..200)
        .map(|k| Step {
            dt_ms: 30_000,
            turn: if k % 2 == 0 { 0.3 } else { -0.3 },
            speed_mps: 1.2,
            kind: match k {
                50 => 0,
                60 => 1,
                70 => 2,
                80 => 3,
                _ => 10,
            },
            acc: Some(8.0),
        })
        .collect();
    // 23:30 local: the walk runs past midnight.
    let pings = walk(5_400_000, &steps);
    let days = a.summarize_worker(&w, &pings);
    assert_eq!(days.len(), 2, "the walk crosses local midnight");
    let covered = period::coverage_by_worker(&days);
    let cov = covered.get(&w).expect("some coverage");
    assert!(cov.iter().any(|(g, m)| a.coverage.share(g, m) > 0.0));
    let t = build(&pings, &a.track);
    let d = t.cleaned.dropped;
    assert_eq!((d.speed, d.conflict, d.accuracy), (1, 1, 1), "{d:?}");
    assert!(t.segments.len() >= 2, "the 20-minute gap splits the track");
}
