//! Bulk point location throughput, one thread (DESIGN.md §4.5, §8).
//!
//! The city is generated here until the simulator's reference city lands: a 12 × 11 lattice of
//! jittered cells, 132 grids, whose shared edges are subdivided into 5–15 jittered segments
//! (20–60 vertices per grid) so that neighbours tile exactly. One million points each:
//! uniform random over the city's box (some outside), and track-like random walks with
//! 10 m steps.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use gridbeat::registry::GridIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const COLS: usize = 12;
const ROWS: usize = 11;
const CELL_DEG: f64 = 0.004;
const ORIGIN: Coord<f64> = Coord {
    x: 112.95,
    y: 28.18,
};
const POINTS: usize = 1_000_000;
/// 10 m in degrees of latitude.
const STEP_DEG: f64 = 10.0 / 111_320.0;

/// The jittered lattice city: (code, polygon) per cell.
fn city(rng: &mut ChaCha8Rng) -> Vec<(String, MultiPolygon<f64>)> {
    let vertex: Vec<Vec<Coord<f64>>> = (0..=ROWS)
        .map(|j| {
            (0..=COLS)
                .map(|i| {
                    let inner = |k: usize, n: usize| k > 0 && k < n;
                    let jitter = |rng: &mut ChaCha8Rng, on: bool| {
                        if on {
                            rng.random_range(-0.25..0.25) * CELL_DEG
                        } else {
                            0.0
                        }
                    };
                    Coord {
                        x: ORIGIN.x + i as f64 * CELL_DEG + jitter(rng, inner(i, COLS)),
                        y: ORIGIN.y + j as f64 * CELL_DEG + jitter(rng, inner(j, ROWS)),
                    }
                })
                .collect()
        })
        .collect();
    // Each lattice edge is a polyline shared by both neighbours: subdivided, with small
    // perpendicular jitter that keeps it monotone along the edge.
    let mut subdivide = |a: Coord<f64>, b: Coord<f64>| -> Vec<Coord<f64>> {
        let k = rng.random_range(4..=14);
        let (d, n) = (
            b - a,
            Coord {
                x: a.y - b.y,
                y: b.x - a.x,
            },
        );
        (1..=k)
            .map(|s| {
                let t = s as f64 / (k + 1) as f64;
                let off = rng.random_range(-0.04..0.04);
                a + d * t + n * off
            })
            .collect()
    };
    let horizontal: Vec<Vec<Vec<Coord<f64>>>> = (0..=ROWS)
        .map(|j| {
            (0..COLS)
                .map(|i| subdivide(vertex[j][i], vertex[j][i + 1]))
                .collect()
        })
        .collect();
    let vertical: Vec<Vec<Vec<Coord<f64>>>> = (0..ROWS)
        .map(|j| {
            (0..=COLS)
                .map(|i| subdivide(vertex[j][i], vertex[j + 1][i]))
                .collect()
        })
        .collect();
    let mut cells = Vec::new();
    for j in 0..ROWS {
        for i in 0..COLS {
            let mut ring = vec![vertex[j][i]];
            ring.extend(&horizontal[j][i]);
            ring.push(vertex[j][i + 1]);
            ring.extend(&vertical[j][i + 1]);
            ring.push(vertex[j + 1][i + 1]);
            ring.extend(horizontal[j + 1][i].iter().rev());
            ring.push(vertex[j + 1][i]);
            ring.extend(vertical[j][i].iter().rev());
            ring.push(vertex[j][i]);
            let code = format!("430102001{:03}{:03}", j, i);
            cells.push((
                code,
                MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
            ));
        }
    }
    cells
}

fn uniform_points(rng: &mut ChaCha8Rng) -> Vec<Coord<f64>> {
    (0..POINTS)
        .map(|_| Coord {
            x: ORIGIN.x + rng.random_range(-0.5..COLS as f64 + 0.5) * CELL_DEG,
            y: ORIGIN.y + rng.random_range(-0.5..ROWS as f64 + 0.5) * CELL_DEG,
        })
        .collect()
}

/// 1,000 walks of 1,000 steps of 10 m in a slowly turning direction.
fn track_points(rng: &mut ChaCha8Rng) -> Vec<Coord<f64>> {
    let mut points = Vec::with_capacity(POINTS);
    let (w, h) = (COLS as f64 * CELL_DEG, ROWS as f64 * CELL_DEG);
    while points.len() < POINTS {
        let mut p = Coord {
            x: ORIGIN.x + rng.random_range(0.0..w),
            y: ORIGIN.y + rng.random_range(0.0..h),
        };
        let mut heading: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        for _ in 0..1000 {
            heading += rng.random_range(-0.3..0.3);
            p.x += STEP_DEG * heading.cos() / ORIGIN.y.to_radians().cos();
            p.y += STEP_DEG * heading.sin();
            points.push(p);
        }
    }
    points.truncate(POINTS);
    points
}

fn bench_locate(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cells = city(&mut rng);
    let vertices: Vec<usize> = cells
        .iter()
        .map(|(_, p)| p.0[0].exterior().0.len() - 1)
        .collect();
    eprintln!(
        "{} grids, {}..{} vertices",
        cells.len(),
        vertices.iter().min().unwrap_or(&0),
        vertices.iter().max().unwrap_or(&0)
    );
    let index = GridIndex::new(cells.iter().map(|(code, p)| (code.as_str(), p)));
    let uniform = uniform_points(&mut rng);
    let tracks = track_points(&mut rng);

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
    group.bench_function("track/locate_many", |b| {
        b.iter(|| black_box(index.locate_many(black_box(&tracks))))
    });
    group.bench_function("track/locate", |b| {
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
