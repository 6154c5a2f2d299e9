//! The true trajectory of a worker-day: timed waypoints ([`Traj`]) read back at any instant
//! ([`Cursor`]), the walker on a grid's street graph, and the ledger of what really happened
//! (patrol spans, visits, static and away periods, fake-location episodes).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::city::City;
use super::streets::{offset_towards, StreetGraph};

/// A period of a day, seconds after local midnight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Span {
    pub start: f64,
    pub end: f64,
}

/// A checkpoint visit as it really happened, seconds after local midnight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct VisitRaw {
    pub checkpoint: usize,
    pub start: f64,
    pub end: f64,
    pub checkin: bool,
}

/// Timed waypoints of a trajectory: `[t_s, x_m, y_m]`, linear in between.
#[derive(Clone, Debug)]
pub(super) struct Traj {
    wp: Vec<[f64; 3]>,
}

impl Traj {
    pub(super) fn new(t: f64, p: [f64; 2]) -> Self {
        Traj {
            wp: vec![[t, p[0], p[1]]],
        }
    }
    pub(super) fn now(&self) -> f64 {
        self.wp[self.wp.len() - 1][0]
    }
    pub(super) fn pos(&self) -> [f64; 2] {
        let l = self.wp[self.wp.len() - 1];
        [l[1], l[2]]
    }
    pub(super) fn go_to(&mut self, p: [f64; 2], speed_mps: f64) {
        let c = self.pos();
        let d = (p[0] - c[0]).hypot(p[1] - c[1]);
        let t = self.now() + d / speed_mps.max(0.1);
        self.wp.push([t, p[0], p[1]]);
    }
    pub(super) fn stay(&mut self, dur_s: f64) {
        let c = self.pos();
        let t = self.now() + dur_s.max(0.0);
        self.wp.push([t, c[0], c[1]]);
    }
}

/// Reads a trajectory at increasing times.
pub(super) struct Cursor<'a> {
    wp: &'a [[f64; 3]],
    k: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(traj: &'a Traj) -> Self {
        Cursor { wp: &traj.wp, k: 0 }
    }
    /// Position and speed at `t` (clamped to the trajectory's ends).
    pub(super) fn at(&mut self, t: f64) -> ([f64; 2], f64) {
        while self.k + 1 < self.wp.len() && self.wp[self.k + 1][0] <= t {
            self.k += 1;
        }
        let a = self.wp[self.k];
        if self.k + 1 >= self.wp.len() || t <= a[0] {
            return ([a[1], a[2]], 0.0);
        }
        let b = self.wp[self.k + 1];
        let dt = b[0] - a[0];
        if dt <= 0.0 {
            return ([b[1], b[2]], 0.0);
        }
        let f = (t - a[0]) / dt;
        let d = (b[1] - a[1]).hypot(b[2] - a[2]);
        ([a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])], d / dt)
    }
}

/// Shortest path (node list, excluding `from`) on a street graph.
fn shortest_path(g: &StreetGraph, from: usize, to: usize) -> Vec<usize> {
    let n = g.nodes_m.len();
    let mut dist = vec![f64::MAX; n];
    let mut prev = vec![usize::MAX; n];
    let mut heap = BinaryHeap::new();
    dist[from] = 0.0;
    heap.push(Reverse(((0.0f64).to_bits(), from)));
    while let Some(Reverse((db, u))) = heap.pop() {
        let du = f64::from_bits(db);
        if u == to {
            break;
        }
        if du > dist[u] {
            continue;
        }
        for &(v, _) in &g.adj[u] {
            let v = v as usize;
            let (a, b) = (g.nodes_m[u], g.nodes_m[v]);
            let nd = du + (a[0] - b[0]).hypot(a[1] - b[1]);
            if nd < dist[v] {
                dist[v] = nd;
                prev[v] = u;
                // Non-negative floats order like their bit patterns.
                heap.push(Reverse((nd.to_bits(), v)));
            }
        }
    }
    let mut path = Vec::new();
    let mut v = to;
    while v != from && v != usize::MAX {
        path.push(v);
        v = prev[v];
    }
    if v == usize::MAX {
        return Vec::new();
    }
    path.reverse();
    path
}

/// A random point of the city at least `min_m` from `from`, or one at `min_m` in a random
/// direction when the city is too small.
pub(super) fn far_point(rng: &mut ChaCha8Rng, city: &City, from: [f64; 2], min_m: f64) -> [f64; 2] {
    let b = city.bbox_m;
    for _ in 0..40 {
        let p = [rng.random_range(b[0]..b[2]), rng.random_range(b[1]..b[3])];
        if (p[0] - from[0]).hypot(p[1] - from[1]) >= min_m {
            return p;
        }
    }
    let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
    [from[0] + min_m * a.cos(), from[1] + min_m * a.sin()]
}

/// The walker: a trajectory on one grid's street graph plus what it did.
pub(super) struct Walker<'a> {
    pub(super) g: &'a StreetGraph,
    pub(super) traj: Traj,
    pub(super) node: usize,
    pub(super) prev: usize,
    edge_uses: Vec<u16>,
    pub(super) speed_mps: f64,
    /// Lazy walkers stay within this radius of `home_m`.
    pub(super) leash: Option<([f64; 2], f64)>,
}

impl<'a> Walker<'a> {
    pub(super) fn new(g: &'a StreetGraph, t: f64, node: usize, speed_mps: f64) -> Self {
        Walker {
            g,
            traj: Traj::new(t, g.nodes_m[node]),
            node,
            prev: usize::MAX,
            edge_uses: vec![0; g.n_edges],
            speed_mps,
            leash: None,
        }
    }

    /// Walks `k` edges, preferring streets walked least today and not turning back.
    pub(super) fn random_walk(&mut self, rng: &mut ChaCha8Rng, k: usize) {
        let mut cands: Vec<(u32, u32)> = Vec::with_capacity(8);
        for _ in 0..k {
            let nbrs = &self.g.adj[self.node];
            if nbrs.is_empty() {
                self.traj.stay(60.0);
                return;
            }
            cands.clear();
            cands.extend(nbrs.iter().filter(|&&(v, _)| {
                v as usize != self.prev
                    && self.leash.is_none_or(|(c, r)| {
                        let p = self.g.nodes_m[v as usize];
                        (p[0] - c[0]).hypot(p[1] - c[1]) <= r
                    })
            }));
            if cands.is_empty() {
                cands.extend(nbrs.iter());
            }
            let min = cands
                .iter()
                .map(|&(_, e)| self.edge_uses[e as usize])
                .min()
                .unwrap_or(0);
            // Mostly the least-walked street; sometimes any, as people do.
            if !rng.random_bool(0.2) {
                cands.retain(|&(_, e)| self.edge_uses[e as usize] == min);
            }
            let (v, e) = cands[rng.random_range(0..cands.len())];
            self.edge_uses[e as usize] = self.edge_uses[e as usize].saturating_add(1);
            self.traj.go_to(self.g.nodes_m[v as usize], self.speed_mps);
            self.prev = self.node;
            self.node = v as usize;
        }
    }

    /// Walks the shortest way to node `to`.
    pub(super) fn walk_to(&mut self, to: usize) {
        for v in shortest_path(self.g, self.node, to) {
            self.traj.go_to(self.g.nodes_m[v], self.speed_mps);
            self.prev = self.node;
            self.node = v;
        }
    }

    /// Steps off the street towards the grid's inside, stays `dur_s`, steps back; returns
    /// the span of the stay.
    pub(super) fn stay_off_street(&mut self, dist_m: f64, dur_s: f64) -> Span {
        let here = self.g.nodes_m[self.node];
        let spot = offset_towards(here, self.g.centroid_m, dist_m);
        self.traj.go_to(spot, self.speed_mps);
        let start = self.traj.now();
        self.traj.stay(dur_s);
        let end = self.traj.now();
        self.traj.go_to(here, self.speed_mps);
        Span { start, end }
    }
}

/// A fake-location episode: what the fake app showed, and when real fixes leaked through.
pub(super) struct MockEp {
    pub(super) span: Span,
    pub(super) fake: Traj,
    pub(super) leaks: Vec<f64>,
}

/// Truth bookkeeping of a day, seconds after local midnight.
#[derive(Default)]
pub(super) struct Ledger {
    pub(super) patrol: Vec<Span>,
    pub(super) visits: Vec<VisitRaw>,
    pub(super) statics: Vec<Span>,
    pub(super) away: Vec<Span>,
    pub(super) mocks: Vec<MockEp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_interpolates_position_and_speed() {
        let mut t = Traj::new(0.0, [0.0, 0.0]);
        t.go_to([10.0, 0.0], 1.0);
        t.stay(5.0);
        let mut c = Cursor::new(&t);
        let (p, v) = c.at(4.0);
        assert!((p[0] - 4.0).abs() < 1e-9 && (v - 1.0).abs() < 1e-9);
        let (p, v) = c.at(12.0);
        assert!((p[0] - 10.0).abs() < 1e-9 && v == 0.0);
        let (p, _) = c.at(100.0);
        assert_eq!(p, [10.0, 0.0]);
    }

    #[test]
    fn shortest_path_follows_the_graph() {
        // A square 0-1-2-3 with a long diagonal 0-2.
        let mut g = StreetGraph {
            nodes_m: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
            ..StreetGraph::default()
        };
        g.adj = vec![Vec::new(); 4];
        for (e, (a, b)) in [(0u32, 1u32), (1, 2), (2, 3), (3, 0)]
            .into_iter()
            .enumerate()
        {
            g.adj[a as usize].push((b, e as u32));
            g.adj[b as usize].push((a, e as u32));
        }
        g.n_edges = 4;
        let p = shortest_path(&g, 0, 2);
        assert_eq!(p.len(), 2);
        assert_eq!(p[1], 2);
        assert!(shortest_path(&g, 1, 1).is_empty());
    }
}
