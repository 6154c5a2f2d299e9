//! Bulk point location throughput, one thread (DESIGN.md §4.5, §8).
//!
//! The grids are the reference workload's city (`gridbeat simulate --seed 7 --workers 200`:
//! 154 irregular grids) loaded through the registry as `gridbeat locate` loads them. Two
//! point sets of one million each: uniform random points over the city's box (some outside),
//! and the real pings of the reference workload's first day in file order (tracks, noise,
//! out-of-grid excursions and all).
//!
//! Run: `cargo bench --bench locate`.

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]
// `criterion_group!` declares a `pub fn` that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geo::{BoundingRect, Coord};
use gridbeat::registry::{LoadOptions, Registry, Source};
use gridbeat::sim::{self, output::write_grids, SimOptions, Simulation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const POINTS: usize = 1_000_000;

fn bench_locate(c: &mut Criterion) {
    let opts = SimOptions::default(); // seed 7, 200 workers: the reference city
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
    let index = &registry.index;
    eprintln!("{} grids", registry.grids.len());

    let bbox = registry
        .grids
        .iter()
        .filter_map(|g| g.polygon.bounding_rect())
        .reduce(|a, b| {
            geo::Rect::new(
                Coord {
                    x: a.min().x.min(b.min().x),
                    y: a.min().y.min(b.min().y),
                },
                Coord {
                    x: a.max().x.max(b.max().x),
                    y: a.max().y.max(b.max().y),
                },
            )
        })
        .expect("grids exist");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (w, h) = (bbox.width(), bbox.height());
    let uniform: Vec<Coord<f64>> = (0..POINTS)
        .map(|_| Coord {
            x: bbox.min().x + rng.random_range(-0.05..1.05) * w,
            y: bbox.min().y + rng.random_range(-0.05..1.05) * h,
        })
        .collect();

    let mut tracks: Vec<Coord<f64>> = Vec::with_capacity(POINTS);
    for day in Simulation::new(&city, &opts) {
        tracks.extend(day.rows.iter().map(|r| {
            let p = r.to_ping(&city);
            Coord { x: p.lon, y: p.lat }
        }));
        if tracks.len() >= POINTS {
            break;
        }
    }
    tracks.truncate(POINTS);

    let mut group = c.benchmark_group("locate");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.sample_size(10);
    group.bench_function("random/locate_many", |b| {
        b.iter(|| black_box(index.locate_many(black_box(&uniform))))
    });
    group.bench_function("random/locate", |b| {
        b.iter(|| {
            uniform
                .iter()
                .filter(|p| index.locate(p.x, p.y).is_some())
                .count()
        })
    });
    group.bench_function("pings/locate_many", |b| {
        b.iter(|| black_box(index.locate_many(black_box(&tracks))))
    });
    group.bench_function("pings/locate", |b| {
        b.iter(|| {
            tracks
                .iter()
                .filter(|p| index.locate(p.x, p.y).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_locate);
criterion_main!(benches);
