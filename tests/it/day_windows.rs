//! The day rule's proof by test (src/assess/window.rs): summarising each worker-day alone, from
//! its bounded window of pings and the carry of the day before, gives exactly the summaries of
//! the whole-stream batch — on night shifts across local midnight and with late pings.

use gridbeat::assess::WorkerDay;
use gridbeat::model::{Ping, WorkerId};

use crate::util::{by_windows, sample_assessor, sample_pings};

fn assert_same(batch: &[WorkerDay], windows: &[WorkerDay]) {
    assert!(!batch.is_empty(), "no worker-days to compare");
    assert_eq!(batch.len(), windows.len());
    for (b, w) in batch.iter().zip(windows) {
        assert_eq!(b.day, w.day);
        // Field by field first, for a readable failure; then the whole summary.
        assert_eq!(
            b.length_m,
            w.length_m,
            "{} {}: length",
            b.worker.as_str(),
            b.day
        );
        assert_eq!(
            b.patrol_s,
            w.patrol_s,
            "{} {}: patrol",
            b.worker.as_str(),
            b.day
        );
        assert_eq!(b.stays, w.stays, "{} {}: stays", b.worker.as_str(), b.day);
        assert_eq!(
            b.dropped,
            w.dropped,
            "{} {}: drops",
            b.worker.as_str(),
            b.day
        );
        assert_eq!(
            b.visits,
            w.visits,
            "{} {}: visits",
            b.worker.as_str(),
            b.day
        );
        assert_eq!(
            b.anomalies,
            w.anomalies,
            "{} {}: flags",
            b.worker.as_str(),
            b.day
        );
        assert_eq!(
            b.coverage,
            w.coverage,
            "{} {}: coverage",
            b.worker.as_str(),
            b.day
        );
        assert_eq!(b, w, "{} {}", b.worker.as_str(), b.day);
    }
}

/// Shifts pings by whole hours: a day patrol becomes a night shift across local midnight.
fn shifted(pings: &[Ping], hours: i64) -> Vec<Ping> {
    pings
        .iter()
        .map(|p| {
            let mut q = p.clone();
            q.ts += hours * 3_600_000;
            q
        })
        .collect()
}

#[test]
fn every_sample_worker_day_alone_equals_the_batch_on_night_shifts() {
    let a = sample_assessor();
    // +15 h turns the sample's 08:00–18:00 patrols into 23:00–09:00 night shifts.
    let pings = shifted(&sample_pings(), 15);
    let mut by_worker: std::collections::BTreeMap<WorkerId, Vec<Ping>> = Default::default();
    for p in pings {
        by_worker.entry(p.worker.clone()).or_default().push(p);
    }
    let mut crossing_steps = 0;
    for (worker, pings) in &by_worker {
        let batch = a.summarize_worker(worker, pings);
        let windows = by_windows(&a, worker, pings);
        assert_same(&batch, &windows);
        // The shift really crosses midnight: a day's last fix and the next day's first are one
        // step apart.
        crossing_steps += batch
            .windows(2)
            .filter(|w| w[0].last_fix > 0 && w[1].first_fix - w[0].last_fix <= 300_000)
            .count();
    }
    assert!(
        crossing_steps > 20,
        "only {crossing_steps} days end with a step across midnight"
    );
}

#[test]
fn a_late_ping_and_a_day_posted_backwards_end_in_the_same_summaries() {
    let a = sample_assessor();
    let pings = shifted(&sample_pings(), 15);
    let worker = pings[0].worker.clone();
    let mut own: Vec<Ping> = pings.into_iter().filter(|p| p.worker == worker).collect();
    // A ping of the first day arrives last; the third day arrives in reverse order.
    let late = own.remove(40);
    own.push(late);
    let third = gridbeat::track::local_day(own[0].ts, a.tz) + chrono::Days::new(2);
    let (mut day3, rest): (Vec<Ping>, Vec<Ping>) = own
        .into_iter()
        .partition(|p| gridbeat::track::local_day(p.ts, a.tz) == third);
    day3.reverse();
    let mut input = rest;
    input.extend(day3);

    let batch = a.summarize_worker(&worker, &input);
    assert_same(&batch, &by_windows(&a, &worker, &input));
    // And the order of arrival changes nothing.
    let mut in_order = input.clone();
    in_order.sort_by_key(|p| p.ts);
    assert_eq!(batch, a.summarize_worker(&worker, &in_order));
}

#[test]
fn per_day_figures_sum_to_the_whole_streams_track() {
    let a = sample_assessor();
    let pings = shifted(&sample_pings(), 15);
    let worker = pings[0].worker.clone();
    let own: Vec<Ping> = pings.into_iter().filter(|p| p.worker == worker).collect();
    let days = a.summarize_worker(&worker, &own);
    let t = gridbeat::track::build(&own, &a.track);
    let length: f64 = days.iter().map(|d| d.length_m).sum();
    let patrol: f64 = days.iter().map(|d| d.patrol_s).sum();
    assert!(
        (length - t.length_m).abs() < 1e-6,
        "{length} vs {}",
        t.length_m
    );
    assert!((patrol - t.patrol_s).abs() < 1e-6);
    assert_eq!(
        days.iter().map(|d| d.stays.len()).sum::<usize>(),
        t.stays.len()
    );
    assert_eq!(
        days.iter()
            .map(|d| d.segments_started as usize)
            .sum::<usize>(),
        t.segments.len()
    );
}
