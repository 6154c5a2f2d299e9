//! Coverage throughput, one thread (DESIGN.md §4.6, §8): covering clean tracks of the reference
//! workload (`gridbeat simulate --seed 7 --workers 200 --days 30`) on the reference city's
//! grids at the default settings (radius 30 m, cells of 10 m sampled at 2.5 m), measured in
//! track steps per second.
//!
//! The grids are loaded through the registry as the CLI loads them; the tracks are built with
//! `track::build` per worker before timing. A slice of the month (the first 40 workers, all 30
//! days) keeps a sample short; each worker's month is covered into a fresh coverage map, as a
//! worker-month summary would be.
//!
//! Run: `cargo bench --bench coverage`. Generating the workload in memory takes ~20 s first.

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]
// `criterion_group!` declares a `pub fn` that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gridbeat::coverage::{CoverageIndex, CoverageParams, GridCoverage};
use gridbeat::model::Ping;
use gridbeat::registry::{LoadOptions, Registry, Source};
use gridbeat::sim::{self, output::write_grids, SimOptions, Simulation};
use gridbeat::track::{self, Track, TrackParams};

/// Workers of the slice.
const WORKERS: usize = 40;

fn bench_coverage(c: &mut Criterion) {
    let opts = SimOptions::default(); // seed 7, 200 workers, 30 days: the reference workload
    let city = sim::generate_city(&opts).expect("the reference city generates");
    let mut geojson = Vec::new();
    write_grids(&city, &mut geojson).expect("grids serialise");
    let text = String::from_utf8(geojson).expect("utf-8");
    let registry = Registry::from_sources(
        Source::new("grids.geojson", &text),
        None,
        None,
        &LoadOptions::default(),
    )
    .expect("the reference city loads");

    let mut by_worker: Vec<Vec<Ping>> = vec![Vec::new(); city.workers.len().min(WORKERS)];
    for day in Simulation::new(&city, &opts) {
        for row in &day.rows {
            if let Some(pings) = by_worker.get_mut(row.worker as usize) {
                pings.push(row.to_ping(&city));
            }
        }
    }
    let params = TrackParams::default();
    let tracks: Vec<Track> = by_worker.iter().map(|p| track::build(p, &params)).collect();
    drop(by_worker);
    let steps: usize = tracks
        .iter()
        .flat_map(|t| &t.segments)
        .map(|s| s.len().saturating_sub(1).max(1))
        .sum();
    let index = CoverageIndex::new(&registry, CoverageParams::default());
    eprintln!(
        "{} grids, {} workers × {} days, {steps} steps",
        registry.grids.len(),
        tracks.len(),
        opts.days
    );

    let mut group = c.benchmark_group("coverage");
    group.throughput(Throughput::Elements(steps as u64));
    group.sample_size(10);
    group.bench_function("cover_track/40_workers_month", |b| {
        b.iter(|| {
            let mut grids = 0;
            for t in &tracks {
                let mut cov = GridCoverage::new();
                index.cover_track(black_box(t), &mut cov);
                grids += black_box(&cov).len();
            }
            grids
        })
    });
    group.finish();
}

criterion_group!(benches, bench_coverage);
criterion_main!(benches);
