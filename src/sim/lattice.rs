//! The jittered street lattice of a generated city: its vertices, the block rectangles cut
//! into grids (in Hilbert order), the streets left out, and each grid's lattice street graph.

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::streets::{largest_component, StreetGraph};

/// The jittered street lattice: `(nx + 1) × (ny + 1)` vertices, metres.
pub(super) struct Lattice {
    pub(super) nx: usize,
    pub(super) ny: usize,
    pub(super) verts_m: Vec<[f64; 2]>,
}

impl Lattice {
    pub(super) fn id(&self, i: usize, j: usize) -> usize {
        i + j * (self.nx + 1)
    }

    /// A lattice of `nx × ny` blocks starting at `origin_m`, with varied column widths and row
    /// heights around `spacing_m`, gently curved rows/columns and jittered vertices.
    pub(super) fn new(
        rng: &mut ChaCha8Rng,
        nx: usize,
        ny: usize,
        origin_m: [f64; 2],
        spacing_m: f64,
    ) -> Self {
        let mut xs = vec![origin_m[0]];
        for _ in 0..nx {
            let last = xs[xs.len() - 1];
            xs.push(last + spacing_m * rng.random_range(0.85..1.2));
        }
        let mut ys = vec![origin_m[1]];
        for _ in 0..ny {
            let last = ys[ys.len() - 1];
            ys.push(last + spacing_m * rng.random_range(0.85..1.2));
        }
        // A few rows and columns curve: a sine offset along their length.
        let wave = |rng: &mut ChaCha8Rng| -> (f64, f64, f64) {
            if rng.random_bool(0.3) {
                (
                    rng.random_range(6.0..15.0),
                    rng.random_range(400.0..900.0),
                    rng.random_range(0.0..std::f64::consts::TAU),
                )
            } else {
                (0.0, 1.0, 0.0)
            }
        };
        let row_waves: Vec<_> = (0..=ny).map(|_| wave(rng)).collect();
        let col_waves: Vec<_> = (0..=nx).map(|_| wave(rng)).collect();
        let jitter = 0.15 * spacing_m;
        let mut verts_m = Vec::with_capacity((nx + 1) * (ny + 1));
        for (j, &y) in ys.iter().enumerate() {
            for (i, &x) in xs.iter().enumerate() {
                let (ra, rl, rp) = row_waves[j];
                let (ca, cl, cp) = col_waves[i];
                let dx = ca * (std::f64::consts::TAU * y / cl + cp).sin()
                    + rng.random_range(-jitter..jitter);
                let dy = ra * (std::f64::consts::TAU * x / rl + rp).sin()
                    + rng.random_range(-jitter..jitter);
                verts_m.push([x + dx, y + dy]);
            }
        }
        Lattice { nx, ny, verts_m }
    }

    /// The counter-clockwise boundary of the block rectangle `[i0, i1] × [j0, j1]`, as vertex
    /// ids, every lattice vertex on it included (so neighbours share every vertex), closed.
    pub(super) fn rect_ring(&self, i0: usize, i1: usize, j0: usize, j1: usize) -> Vec<usize> {
        let mut ring = Vec::new();
        for i in i0..i1 {
            ring.push(self.id(i, j0));
        }
        for j in j0..j1 {
            ring.push(self.id(i1, j));
        }
        for i in (i0 + 1..=i1).rev() {
            ring.push(self.id(i, j1));
        }
        for j in (j0 + 1..=j1).rev() {
            ring.push(self.id(i0, j));
        }
        ring.push(ring[0]);
        ring
    }
}

/// A grid's rectangle of lattice blocks: i0, i1, j0, j1 (vertex indices).
pub(super) type Rect = [usize; 4];

/// Splits `n` into consecutive parts of `lo..=hi` (one part when `n < lo`), randomly.
pub(crate) fn partition(rng: &mut ChaCha8Rng, n: usize, lo: usize, hi: usize) -> Vec<usize> {
    let mut parts = Vec::new();
    let mut rem = n;
    while rem > hi {
        // Any size that leaves a remainder of 0 or at least `lo`.
        let ok: Vec<usize> = (lo..=hi)
            .filter(|&s| rem - s == 0 || rem - s >= lo)
            .collect();
        let s = if ok.is_empty() {
            lo
        } else {
            ok[rng.random_range(0..ok.len())]
        };
        parts.push(s);
        rem -= s;
    }
    if rem > 0 {
        parts.push(rem);
    }
    parts
}

/// Position of (x, y) along a Hilbert curve over a `2^order` square (x, y < 2^order).
pub(super) fn hilbert_d(order: u32, mut x: u64, mut y: u64) -> u64 {
    let n = 1u64 << order;
    let mut d = 0;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// Interior lattice edges left out (missing streets): about one in eight, never leaving a
/// vertex with fewer than two streets. Edges on a grid boundary always stay.
pub(super) fn removed_lattice_edges(
    rng: &mut ChaCha8Rng,
    lat: &Lattice,
    rects: &[Rect],
) -> std::collections::HashSet<(usize, usize)> {
    let mut removed = std::collections::HashSet::new();
    let mut degree = vec![0u8; lat.verts_m.len()];
    for j in 0..=lat.ny {
        for i in 0..=lat.nx {
            let v = lat.id(i, j);
            degree[v] =
                u8::from(i > 0) + u8::from(i < lat.nx) + u8::from(j > 0) + u8::from(j < lat.ny);
        }
    }
    for r in rects {
        let mut interior = Vec::new();
        for j in r[2] + 1..r[3] {
            for i in r[0]..r[1] {
                interior.push((lat.id(i, j), lat.id(i + 1, j)));
            }
        }
        for i in r[0] + 1..r[1] {
            for j in r[2]..r[3] {
                interior.push((lat.id(i, j), lat.id(i, j + 1)));
            }
        }
        for (a, b) in interior {
            if rng.random_bool(0.12) && degree[a] > 2 && degree[b] > 2 {
                degree[a] -= 1;
                degree[b] -= 1;
                removed.insert((a, b));
            }
        }
    }
    removed
}

/// The lattice streets of one grid rectangle, minus the removed ones.
pub(super) fn lattice_graph(
    lat: &Lattice,
    r: &Rect,
    removed: &std::collections::HashSet<(usize, usize)>,
) -> StreetGraph {
    let mut ids = Vec::new();
    let mut local = HashMap::new();
    for j in r[2]..=r[3] {
        for i in r[0]..=r[1] {
            local.insert(lat.id(i, j), ids.len() as u32);
            ids.push(lat.id(i, j));
        }
    }
    let mut edges = Vec::new();
    for j in r[2]..=r[3] {
        for i in r[0]..=r[1] {
            let a = lat.id(i, j);
            if i < r[1] {
                edges.push((a, lat.id(i + 1, j)));
            }
            if j < r[3] {
                edges.push((a, lat.id(i, j + 1)));
            }
        }
    }
    edges.retain(|e| !removed.contains(e));
    let nodes: Vec<[f64; 2]> = ids.iter().map(|&v| lat.verts_m[v]).collect();
    let local_edges: Vec<(u32, u32)> = edges
        .iter()
        .filter_map(|(a, b)| Some((*local.get(a)?, *local.get(b)?)))
        .collect();
    largest_component(&nodes, &local_edges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Coord, LineString, Polygon};
    use rand::SeedableRng;

    #[test]
    fn partitions_respect_their_bounds_and_sum() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n in 3..60 {
            let p = partition(&mut rng, n, 3, 5);
            assert_eq!(p.iter().sum::<usize>(), n);
            assert!(p.iter().all(|&s| (3..=5).contains(&s)), "{n}: {p:?}");
        }
        assert_eq!(partition(&mut rng, 2, 4, 6), vec![2]);
    }

    #[test]
    fn hilbert_visits_every_cell_once() {
        let mut seen = std::collections::HashSet::new();
        for x in 0..8 {
            for y in 0..8 {
                assert!(seen.insert(hilbert_d(3, x, y)));
            }
        }
        assert_eq!(seen.len(), 64);
        assert!(seen.iter().all(|&d| d < 64));
    }

    #[test]
    fn rect_ring_is_closed_and_counter_clockwise() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let lat = Lattice::new(&mut rng, 6, 6, [0.0, 0.0], 100.0);
        let ring = lat.rect_ring(1, 4, 2, 5);
        assert_eq!(ring.first(), ring.last());
        assert_eq!(ring.len(), 2 * (3 + 3) + 1);
        let ls: LineString<f64> = ring
            .iter()
            .map(|&v| Coord {
                x: lat.verts_m[v][0],
                y: lat.verts_m[v][1],
            })
            .collect();
        assert!(geo::Area::signed_area(&Polygon::new(ls, vec![])) > 0.0);
    }
}
