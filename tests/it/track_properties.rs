//! Invariants of the track engine (DESIGN.md §4.2–4.4) on random pings of one worker:
//! duplicates and out-of-order arrival, small moves with occasional big jumps, accuracies
//! that are unknown, good or far too coarse, and mock flags.
//!
//! The expected values here come from the definitions, recomputed independently from the
//! input pings (first-received per timestamp, gaps, segment durations), not from the engine.

use std::collections::BTreeMap;

use gridbeat::model::{Ping, WorkerId};
use gridbeat::track::{build, length_m_of, CleanMode, Track, TrackParams};
use proptest::prelude::*;

/// 2026-10-07T23:00:00+08:00: one hour before local midnight, so tracks often span two days.
const BASE_MS: i64 = 1_791_385_200_000;
const M_PER_DEG_LAT: f64 = 110_800.0;
/// Metres per degree of longitude near 28.2° N (close enough to place test pings).
const M_PER_DEG_LON: f64 = 97_600.0;

/// One generated step of the walk, before it becomes a ping.
#[derive(Clone, Debug)]
struct Step {
    /// 0: same timestamp as the previous ping (a repeat or conflict); 1: a gap longer
    /// than any default `max_gap_s`; otherwise an ordinary interval.
    time_kind: u8,
    dt_ms: i64,
    gap_ms: i64,
    /// The same position as the previous ping (a repeat when every other value is equal
    /// too, else a conflict).
    same_position: bool,
    east_m: f64,
    north_m: f64,
    /// 0: the worker relocates `jump_m` to the north-east (a bus ride); 1: only this ping
    /// is that far off (a spike); otherwise an ordinary move.
    jump_kind: u8,
    jump_m: f64,
    /// 0: unknown accuracy; 1: too coarse (> 100 m); otherwise good.
    acc_kind: u8,
    acc_m: f32,
    bad_acc_m: f32,
    mock: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        (
            0u8..12,
            1_000i64..90_000,
            301_000i64..30_000_000,
            any::<bool>(),
        ),
        (-25.0f64..25.0, -25.0f64..25.0, 0u8..20, 300.0f64..8_000.0),
        (
            0u8..5,
            1.0f32..99.0,
            100.5f32..2_000.0,
            prop::bool::weighted(0.1),
        ),
    )
        .prop_map(
            |(
                (time_kind, dt_ms, gap_ms, same_position),
                (east_m, north_m, jump_kind, jump_m),
                (acc_kind, acc_m, bad_acc_m, mock),
            )| Step {
                time_kind,
                dt_ms,
                gap_ms,
                same_position,
                east_m,
                north_m,
                jump_kind,
                jump_m,
                acc_kind,
                acc_m,
                bad_acc_m,
                mock,
            },
        )
}

/// Turns steps into pings in time order (equal timestamps in receipt order).
fn walk(steps: &[Step]) -> Vec<Ping> {
    let (mut ts, mut east, mut north) = (BASE_MS, 0.0f64, 0.0f64);
    let mut out: Vec<Ping> = Vec::with_capacity(steps.len());
    for (k, s) in steps.iter().enumerate() {
        let repeat = k > 0 && s.time_kind == 0;
        if !repeat {
            ts += if s.time_kind == 1 { s.gap_ms } else { s.dt_ms };
        }
        let mut spike = 0.0;
        if !(repeat && s.same_position) {
            match s.jump_kind {
                0 => {
                    east += s.jump_m;
                    north += s.jump_m;
                }
                1 => spike = s.jump_m,
                _ => {
                    east += s.east_m;
                    north += s.north_m;
                }
            }
        }
        let mut p = Ping::new(
            WorkerId::new("w-prop"),
            ts,
            112.98 + (east + spike) / M_PER_DEG_LON,
            28.2 + (north + spike) / M_PER_DEG_LAT,
        );
        p.acc_m = match s.acc_kind {
            0 => None,
            1 => Some(s.bad_acc_m),
            _ => Some(s.acc_m),
        };
        p.mock = s.mock;
        out.push(p);
    }
    out
}

/// Pings in time order with duplicates, then in a random order of receipt.
fn received_pings() -> impl Strategy<Value = Vec<Ping>> {
    prop::collection::vec(step(), 0..90)
        .prop_map(|steps| walk(&steps))
        .prop_shuffle()
}

/// Pings with distinct timestamps only, in time order.
fn distinct_pings() -> impl Strategy<Value = Vec<Ping>> {
    prop::collection::vec(step(), 0..90).prop_map(|steps| {
        let mut pings = walk(&steps);
        pings.dedup_by_key(|p| p.ts);
        pings
    })
}

fn params_strategy() -> impl Strategy<Value = TrackParams> {
    (
        prop_oneof![Just(CleanMode::Full), Just(CleanMode::DedupeOnly)],
        prop_oneof![Just(120.0), Just(300.0), Just(600.0)],
        prop_oneof![Just(20.0), Just(50.0)],
        prop_oneof![Just(60.0), Just(300.0)],
        0usize..4,
    )
        .prop_map(
            |(clean, max_gap_s, stay_radius_m, stay_min_s, relocation_pings)| TrackParams {
                clean,
                max_gap_s,
                stay_radius_m,
                stay_min_s,
                relocation_pings,
                ..TrackParams::default()
            },
        )
}

/// `a` and `b` agree to `rel` relative (and 1e-9 absolute, for sums near zero).
fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + 1e-9
}

/// The first received ping of each timestamp, by the definition of DESIGN.md §4.2.1; how
/// many later ones are exact copies of an earlier one (repeats, no figure) or differ
/// (conflicts); and the mock-flagged pings that are no repeat.
fn first_received(pings: &[Ping]) -> (BTreeMap<i64, usize>, u32, u32, u32) {
    type Values = (
        u64,
        u64,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        bool,
        Option<String>,
    );
    let values = |p: &Ping| -> Values {
        let bits = |x: Option<f32>| x.map(f32::to_bits);
        (
            p.lon.to_bits(),
            p.lat.to_bits(),
            bits(p.acc_m),
            bits(p.speed_mps),
            bits(p.bearing_deg),
            bits(p.alt_m),
            bits(p.batt_pct),
            p.mock,
            p.checkin.as_deref().map(String::from),
        )
    };
    let mut first: BTreeMap<i64, usize> = BTreeMap::new();
    let mut seen: BTreeMap<i64, Vec<Values>> = BTreeMap::new();
    let (mut repeat, mut conflict, mut mock) = (0, 0, 0);
    for (i, p) in pings.iter().enumerate() {
        let v = values(p);
        let earlier = seen.entry(p.ts).or_default();
        if earlier.contains(&v) {
            repeat += 1;
            continue;
        }
        mock += u32::from(p.mock);
        if earlier.is_empty() {
            first.insert(p.ts, i);
        } else {
            conflict += 1;
        }
        earlier.push(v);
    }
    (first, repeat, conflict, mock)
}

/// Every invariant of one built track.
fn check_track(pings: &[Ping], params: &TrackParams, t: &Track) -> Result<(), TestCaseError> {
    let fixes = t.fixes();
    let dropped = t.cleaned.dropped;

    // Counting: every ping is a repeat (no figure), accepted, or dropped for exactly one reason.
    let (first, repeat, conflict, mock) = first_received(pings);
    prop_assert_eq!(t.cleaned.repeats, repeat);
    prop_assert_eq!(t.pings, pings.len() - repeat as usize);
    prop_assert_eq!(t.pings, fixes.len() + dropped.total() as usize);
    prop_assert_eq!(t.cleaned.mock, mock);

    // Time order, strictly: one fix per instant.
    for w in fixes.windows(2) {
        prop_assert!(w[0].ts < w[1].ts, "fixes out of order: {:?}", w);
    }

    // Cleaning never invents: each fix is exactly the ping it names.
    for f in fixes {
        let p = &pings[f.ping as usize];
        prop_assert_eq!((f.ts, f.lon, f.lat), (p.ts, p.lon, p.lat));
    }

    // Conflicts against the independent reference; the kept ping is the
    // first received of its timestamp.
    prop_assert_eq!(dropped.conflict, conflict);
    for f in fixes {
        prop_assert_eq!(first[&f.ts], f.ping as usize, "not the first received");
    }
    prop_assert_eq!(dropped.future, 0, "file input has no receipt time");

    match params.clean {
        CleanMode::Full => {
            for f in fixes {
                let acc = pings[f.ping as usize].acc_m;
                prop_assert!(
                    acc.is_none_or(|a| f64::from(a) <= params.max_accuracy_m),
                    "a ping with accuracy {:?} survived",
                    acc
                );
            }
            // Within a segment every step passed the speed gate.
            for seg in &t.segments {
                for w in fixes[seg.clone()].windows(2) {
                    let v = w[0].distance_m(&w[1]) / ((w[1].ts - w[0].ts) as f64 / 1000.0);
                    prop_assert!(v <= params.max_speed_mps, "{} m/s inside a segment", v);
                }
            }
        }
        CleanMode::DedupeOnly => {
            prop_assert_eq!(dropped.accuracy + dropped.speed + dropped.future, 0);
            prop_assert_eq!(fixes.len(), first.len(), "one fix per distinct timestamp");
            prop_assert!(t.cleaned.relocations.is_empty());
        }
    }

    // Segments partition 0..fixes.len() in order; a split is a gap or a relocation.
    let max_gap_ms = params.max_gap_s * 1000.0;
    let mut next = 0;
    for seg in &t.segments {
        prop_assert_eq!(seg.start, next, "segments are not contiguous");
        prop_assert!(seg.start < seg.end, "empty segment {:?}", seg);
        for w in fixes[seg.clone()].windows(2) {
            prop_assert!(
                (w[1].ts - w[0].ts) as f64 <= max_gap_ms,
                "gap inside a segment"
            );
        }
        if seg.start > 0 {
            let gap = (fixes[seg.start].ts - fixes[seg.start - 1].ts) as f64;
            prop_assert!(
                gap > max_gap_ms || t.cleaned.relocations.contains(&seg.start),
                "segment split at {} without a gap or a relocation",
                seg.start
            );
        }
        next = seg.end;
    }
    prop_assert_eq!(next, fixes.len());

    // Totals: non-negative, and equal to the per-segment figures recomputed here.
    prop_assert!(t.length_m >= 0.0 && t.patrol_s >= 0.0);
    let seg_length: f64 = t
        .segments
        .iter()
        .map(|s| length_m_of(&fixes[s.clone()]))
        .sum();
    let seg_patrol: f64 = t
        .segments
        .iter()
        .map(|s| (fixes[s.end - 1].ts - fixes[s.start].ts) as f64 / 1000.0)
        .sum();
    prop_assert!(
        close(t.length_m, seg_length, 1e-9),
        "{} vs {}",
        t.length_m,
        seg_length
    );
    prop_assert!(
        close(t.patrol_s, seg_patrol, 1e-9),
        "{} vs {}",
        t.patrol_s,
        seg_patrol
    );

    // Days add up to the totals, and are in order.
    let day_length: f64 = t.days.iter().map(|d| d.length_m).sum();
    let day_patrol: f64 = t.days.iter().map(|d| d.patrol_s).sum();
    prop_assert!(close(day_length, t.length_m, 1e-6));
    prop_assert!(close(day_patrol, t.patrol_s, 1e-6));
    prop_assert_eq!(
        t.days.iter().map(|d| d.fixes as usize).sum::<usize>(),
        fixes.len()
    );
    prop_assert_eq!(
        t.days.iter().map(|d| d.stays as usize).sum::<usize>(),
        t.stays.len()
    );
    for w in t.days.windows(2) {
        prop_assert!(w[0].day < w[1].day);
    }
    for d in &t.days {
        prop_assert!(d.length_m >= 0.0 && d.patrol_s >= 0.0 && d.fixes >= 1);
    }

    // Stays: inside one segment, long enough, ordered and not overlapping.
    let min_ms = params.stay_min_s * 1000.0;
    for (k, s) in t.stays.iter().enumerate() {
        prop_assert!(s.start < s.end, "stay {:?}", s);
        prop_assert!(s.pings >= 1);
        prop_assert!((s.end - s.start) as f64 >= min_ms, "short stay {:?}", s);
        let last = s.first + s.pings as usize - 1;
        let seg = t.segments.iter().find(|g| g.contains(&s.first));
        prop_assert!(seg.is_some(), "stay outside every segment {:?}", s);
        let seg = seg.unwrap();
        prop_assert!(
            last < seg.end,
            "stay {:?} runs past its segment {:?}",
            s,
            seg
        );
        prop_assert_eq!(s.start, fixes[s.first].ts);
        prop_assert!(s.end <= fixes[seg.end - 1].ts);
        prop_assert!(s.end >= fixes[last].ts);
        if k > 0 {
            let prev = &t.stays[k - 1];
            prop_assert!(prev.end <= s.start, "stays overlap: {:?} {:?}", prev, s);
            prop_assert!(prev.first + prev.pings as usize <= s.first);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn built_tracks_keep_every_invariant(pings in received_pings(), params in params_strategy()) {
        let t = build(&pings, &params);
        check_track(&pings, &params, &t)?;
    }

    #[test]
    fn the_order_of_receipt_does_not_matter_when_timestamps_differ(
        (pings, shuffled) in distinct_pings().prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
        params in params_strategy(),
    ) {
        let a = build(&pings, &params);
        let b = build(&shuffled, &params);
        check_track(&shuffled, &params, &b)?;
        let key = |t: &Track, src: &[Ping]| -> Vec<(i64, f64, f64, bool)> {
            t.fixes()
                .iter()
                .map(|f| {
                    let p = &src[f.ping as usize];
                    (p.ts, p.lon, p.lat, p.mock)
                })
                .collect()
        };
        prop_assert_eq!(key(&a, &pings), key(&b, &shuffled));
        prop_assert_eq!(&a.segments, &b.segments);
        prop_assert_eq!(&a.stays, &b.stays);
        prop_assert_eq!(&a.days, &b.days);
        prop_assert_eq!(a.cleaned.dropped, b.cleaned.dropped);
        prop_assert_eq!(&a.cleaned.relocations, &b.cleaned.relocations);
        prop_assert_eq!(&a.cleaned.jumps, &b.cleaned.jumps);
        prop_assert_eq!(a.length_m, b.length_m);
        prop_assert_eq!(a.patrol_s, b.patrol_s);
    }
}

/// Hand-made input where the gates must act, so the generators above are known to reach them.
#[test]
fn the_generators_exercise_every_gate() {
    let steps: Vec<Step> = (0..40)
        .map(|k| Step {
            time_kind: match k {
                5 | 6 => 0,
                20 => 1,
                _ => 2,
            },
            dt_ms: 30_000,
            gap_ms: 900_000,
            same_position: k == 5,
            east_m: if k > 30 { 0.5 } else { 40.0 },
            north_m: 0.0,
            jump_kind: match k {
                12 => 1,
                25 => 0,
                _ => 2,
            },
            jump_m: 3_000.0,
            acc_kind: if k == 3 { 1 } else { 2 },
            acc_m: 10.0,
            bad_acc_m: 500.0,
            mock: k == 7,
        })
        .collect();
    let pings = walk(&steps);
    let params = TrackParams {
        stay_min_s: 120.0,
        ..TrackParams::default()
    };
    let t = build(&pings, &params);
    let d = t.cleaned.dropped;
    assert_eq!(
        (t.cleaned.repeats, d.conflict, d.accuracy),
        (1, 1, 1),
        "{d:?}"
    );
    assert_eq!(d.speed, 1, "the 3 km spike is dropped: {d:?}");
    assert_eq!(
        t.cleaned.relocations.len(),
        1,
        "the 3 km move is a relocation"
    );
    assert_eq!(
        t.segments.len(),
        3,
        "the 15-minute gap and the relocation split"
    );
    assert_eq!(t.stays.len(), 1, "the slow tail is a stay: {:?}", t.stays);
    assert_eq!(t.stays[0].end, pings.last().unwrap().ts);
    assert_eq!(t.cleaned.mock, 1);
    check_track(&pings, &params, &t).unwrap();
}

/// A worker with no valid pings reports plain zeros: an empty `f64` sum is −0.0 in Rust, which
/// reports would print as `-0.0`.
#[test]
fn no_pings_give_positive_zeros() {
    let t = build(&[], &TrackParams::default());
    assert_eq!((t.pings, t.fixes().len(), t.segments.len()), (0, 0, 0));
    assert!(t.days.is_empty() && t.stays.is_empty());
    assert_eq!(t.length_m.to_bits(), 0.0f64.to_bits(), "{:?}", t.length_m);
    assert_eq!(t.patrol_s.to_bits(), 0.0f64.to_bits(), "{:?}", t.patrol_s);
}
