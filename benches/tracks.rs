//! Track engine throughput, one thread: cleaning + segments + length + stays + the per-day
//! split (`track::build`) over every ping of the reference workload
//! (`gridbeat simulate --seed 7 --workers 200 --days 30`, about 16 M pings), worker by worker
//! as the batch door and the service call it.
//!
//! Run: `cargo bench --bench tracks`. Generating the workload in memory takes ~20 s first.

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]
// `criterion_group!` declares a `pub fn` that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gridbeat::model::Ping;
use gridbeat::sim::{self, SimOptions, Simulation};
use gridbeat::track::{self, TrackParams};

/// Every ping of the reference workload, grouped by worker in delivery order.
fn reference_pings() -> Vec<Vec<Ping>> {
    let opts = SimOptions::default();
    let city = sim::generate_city(&opts).expect("the reference city generates");
    let mut by_worker: Vec<Vec<Ping>> = vec![Vec::new(); city.workers.len()];
    for day in Simulation::new(&city, &opts) {
        for row in &day.rows {
            by_worker[row.worker as usize].push(row.to_ping(&city));
        }
    }
    by_worker
}

fn bench_tracks(c: &mut Criterion) {
    let workers = reference_pings();
    let total: usize = workers.iter().map(Vec::len).sum();
    eprintln!("{} workers, {total} pings", workers.len());
    let params = TrackParams::default();

    let mut group = c.benchmark_group("tracks");
    group.throughput(Throughput::Elements(total as u64));
    group.sample_size(10);
    group.bench_function("build/reference_month", |b| {
        b.iter(|| {
            let mut fixes = 0;
            for pings in &workers {
                fixes += black_box(track::build(black_box(pings), &params))
                    .fixes()
                    .len();
            }
            fixes
        })
    });
    group.finish();
}

criterion_group!(benches, bench_tracks);
criterion_main!(benches);
