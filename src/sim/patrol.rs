//! One worker-day: the true trajectory (walks on the grid's street graph, visits, breaks and
//! the label's misbehaviour) and what the phone reported of it (noise, outliers, gaps,
//! bursts, duplicates, out-of-order delivery).
//!
//! Pure: a worker-day depends only on the city, the options, the worker's plan and its own
//! seed, so workers can be generated in parallel without changing the output.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use geo::{Contains, Distance, Euclidean, Point};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::city::{AppMode, City, Label, Shift};
use super::streets::{offset_towards, StreetGraph};
use super::{mix_seed, SimOptions};

const H: f64 = 3600.0;

/// One ping as generated: fixed-point values, so that CSV and Parquet hold the same numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingRow {
    /// Index into [`City::workers`].
    pub worker: u32,
    /// Timestamp, UTC seconds since the Unix epoch.
    pub ts_s: i64,
    /// Longitude in units of 1e-7 degree.
    pub lon_e7: i64,
    /// Latitude in units of 1e-7 degree.
    pub lat_e7: i64,
    /// Reported accuracy in decimetres.
    pub acc_dm: u32,
    /// Reported speed in decimetres per second.
    pub speed_dmps: u32,
    /// The client flagged the fix as a mock location.
    pub mock: bool,
    /// Index into [`City::checkpoints`] of the check-in this ping carries, if any.
    pub checkin: Option<u32>,
}

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

/// What really happened on one worker-day, before formatting.
#[derive(Clone, Debug, Default)]
pub(crate) struct DayRaw {
    pub worked: bool,
    pub grid: Option<usize>,
    pub shift_start_ts: Option<i64>,
    pub shift_end_ts: Option<i64>,
    pub patrol_s: f64,
    pub out_of_grid_s: f64,
    pub static_s: f64,
    pub replay_of: Option<usize>,
    pub mock_pings: u32,
    pub jumps: u32,
    pub static_periods: Vec<Span>,
    pub out_of_grid_periods: Vec<Span>,
    pub visits: Vec<VisitRaw>,
}

/// The output of one worker-day.
#[derive(Clone, Debug, Default)]
pub(crate) struct DayOut {
    pub rows: Vec<PingRow>,
    pub raw: DayRaw,
}

/// What is decided once per worker for the whole run.
#[derive(Clone, Debug)]
pub(crate) struct WorkerPlan {
    pub worked: Vec<bool>,
    pub speed_mps: f64,
    /// Home node of each assigned grid (where lazy workers hang around, where the desk is).
    pub home: Vec<usize>,
    /// (first replayed day, source day) for replay workers.
    pub replay: Option<(usize, usize)>,
    /// Share of faked fixes the mock-location app flags as mock.
    pub mock_share: f64,
    /// Night workers: how much later the shift starts and ends than a day shift, seconds
    /// (20:00–06:00: +11.5 h / +12.5 h; 22:00–04:00: +13.5 h / +10.5 h).
    pub night: Option<(f64, f64)>,
    /// Sparse-app workers: per day, the checkpoints that must be visited that day so that
    /// every calendar month meets the required visits (empty for other workers).
    pub forced: Vec<Vec<usize>>,
}

/// Decides a worker's days off, pace, home nodes and replay days.
pub(crate) fn plan_worker(city: &City, opts: &SimOptions, w: usize) -> WorkerPlan {
    use chrono::Datelike;
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x91A, w as u64]));
    let worker = &city.workers[w];
    let rest_weekday = (w % 7) as u32;
    let extra_off = if worker.label == Label::Lazy {
        0.1
    } else {
        0.04
    };
    let worked: Vec<bool> = (0..opts.days)
        .map(|d| {
            let date = opts.start + chrono::Days::new(d as u64);
            let off =
                date.weekday().num_days_from_monday() == rest_weekday || rng.random_bool(extra_off);
            !off
        })
        .collect();
    let speed_mps = rng.random_range(1.0..1.6);
    let home = worker
        .grids
        .iter()
        .map(|&g| rng.random_range(0..city.graphs[g].nodes_m.len()))
        .collect();
    let replay = if worker.label == Label::Replay && opts.days >= 2 {
        let lo = (opts.days / 3).max(1);
        let hi = (2 * opts.days / 3).max(lo + 1);
        let from = rng.random_range(lo..hi);
        (0..from).find(|&d| worked[d]).map(|src| (from, src))
    } else {
        None
    };
    let mock_share = rng.random_range(0.3..0.9);
    // Night and sparse plans draw from streams of their own, so that a run without them
    // draws exactly what it always drew.
    let night = (worker.shift == Shift::Night).then(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x416E, w as u64]));
        if rng.random_bool(0.7) {
            (11.5 * H, 12.5 * H)
        } else {
            (13.5 * H, 10.5 * H)
        }
    });
    let forced = if worker.app == AppMode::Sparse {
        forced_visits(city, opts, w, &worked)
    } else {
        Vec::new()
    };
    WorkerPlan {
        worked,
        speed_mps,
        home,
        replay,
        mock_share,
        night,
        forced,
    }
}

/// The checkpoint visits a sparse-app worker makes for sure, per day: in each local calendar
/// month the run touches, each checkpoint of each assigned grid gets `visits_per_month` visits
/// (pro rata, rounded up, when the run covers part of the month), on worked days when the
/// worker patrols that grid, spread over the month.
fn forced_visits(city: &City, opts: &SimOptions, w: usize, worked: &[bool]) -> Vec<Vec<usize>> {
    use chrono::Datelike;
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x5BA5, w as u64]));
    let worker = &city.workers[w];
    let n_slots = worker.grids.len();
    let mut forced = vec![Vec::new(); opts.days];
    let date = |d: usize| opts.start + chrono::Days::new(d as u64);
    let mut d0 = 0;
    while d0 < opts.days {
        let (y, m) = (date(d0).year(), date(d0).month());
        let d1 = (d0..opts.days)
            .find(|&d| date(d).month() != m)
            .unwrap_or(opts.days);
        let first = chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
        let next = first + chrono::Months::new(1);
        let month_days = (next - first).num_days().max(1) as f64;
        let covered = (d1 - d0) as f64 / month_days;
        for (slot, &g) in worker.grids.iter().enumerate() {
            let days: Vec<usize> = (d0..d1)
                .filter(|&d| worked[d] && d % n_slots == slot)
                .collect();
            for &c in &city.grid_checkpoints[g] {
                let need = f64::from(city.checkpoints[c].visits_per_month) * covered;
                let k = ((need - 1e-9).ceil().max(0.0) as usize).min(days.len());
                // One day from each of k equal stretches of the month's days.
                for i in 0..k {
                    let (a, b) = (i * days.len() / k, (i + 1) * days.len() / k);
                    forced[days[rng.random_range(a..b.max(a + 1))]].push(c);
                }
            }
        }
        d0 = d1;
    }
    forced
}

/// Timed waypoints of a trajectory: `[t_s, x_m, y_m]`, linear in between.
#[derive(Clone, Debug)]
struct Traj {
    wp: Vec<[f64; 3]>,
}

impl Traj {
    fn new(t: f64, p: [f64; 2]) -> Self {
        Traj {
            wp: vec![[t, p[0], p[1]]],
        }
    }
    fn now(&self) -> f64 {
        self.wp[self.wp.len() - 1][0]
    }
    fn pos(&self) -> [f64; 2] {
        let l = self.wp[self.wp.len() - 1];
        [l[1], l[2]]
    }
    fn go_to(&mut self, p: [f64; 2], speed_mps: f64) {
        let c = self.pos();
        let d = (p[0] - c[0]).hypot(p[1] - c[1]);
        let t = self.now() + d / speed_mps.max(0.1);
        self.wp.push([t, p[0], p[1]]);
    }
    fn stay(&mut self, dur_s: f64) {
        let c = self.pos();
        let t = self.now() + dur_s.max(0.0);
        self.wp.push([t, c[0], c[1]]);
    }
}

/// Reads a trajectory at increasing times.
struct Cursor<'a> {
    wp: &'a [[f64; 3]],
    k: usize,
}

impl<'a> Cursor<'a> {
    fn new(traj: &'a Traj) -> Self {
        Cursor { wp: &traj.wp, k: 0 }
    }
    /// Position and speed at `t` (clamped to the trajectory's ends).
    fn at(&mut self, t: f64) -> ([f64; 2], f64) {
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
fn far_point(rng: &mut ChaCha8Rng, city: &City, from: [f64; 2], min_m: f64) -> [f64; 2] {
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
struct Walker<'a> {
    g: &'a StreetGraph,
    traj: Traj,
    node: usize,
    prev: usize,
    edge_uses: Vec<u16>,
    speed_mps: f64,
    /// Lazy walkers stay within this radius of `home_m`.
    leash: Option<([f64; 2], f64)>,
}

impl<'a> Walker<'a> {
    fn new(g: &'a StreetGraph, t: f64, node: usize, speed_mps: f64) -> Self {
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
    fn random_walk(&mut self, rng: &mut ChaCha8Rng, k: usize) {
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
    fn walk_to(&mut self, to: usize) {
        for v in shortest_path(self.g, self.node, to) {
            self.traj.go_to(self.g.nodes_m[v], self.speed_mps);
            self.prev = self.node;
            self.node = v;
        }
    }

    /// Steps off the street towards the grid's inside, stays `dur_s`, steps back; returns
    /// the span of the stay.
    fn stay_off_street(&mut self, dist_m: f64, dur_s: f64) -> Span {
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

/// Something scheduled for a time of day.
#[derive(Clone, Copy, Debug)]
enum Episode {
    Break(f64),
    Static(f64),
    Excursion(f64),
    Mock(f64),
}

/// A fake-location episode: what the fake app showed, and when real fixes leaked through.
struct MockEp {
    span: Span,
    fake: Traj,
    leaks: Vec<f64>,
}

/// Truth bookkeeping of a day, seconds after local midnight.
#[derive(Default)]
struct Ledger {
    patrol: Vec<Span>,
    visits: Vec<VisitRaw>,
    statics: Vec<Span>,
    away: Vec<Span>,
    mocks: Vec<MockEp>,
}

/// Generates one real (not replayed) worked day of worker `w`.
pub(crate) fn real_day(
    city: &City,
    opts: &SimOptions,
    plan: &WorkerPlan,
    w: usize,
    day: usize,
    midnight_utc_s: i64,
) -> DayOut {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0xDA7, w as u64, day as u64]));
    let worker = &city.workers[w];
    let label = worker.label;
    let slot = day % worker.grids.len();
    let grid = worker.grids[slot];
    let g = &city.graphs[grid];
    let lazy = label == Label::Lazy;
    let sparse = worker.app == AppMode::Sparse;
    // Night shifts: the day's schedule moved into the evening (start and end offsets).
    let (so, eo) = plan.night.unwrap_or((0.0, 0.0));
    let normal = |rng: &mut ChaCha8Rng| -> f64 { rng.sample(StandardNormal) };

    let shift_start = so
        + if lazy {
            9.25 * H + normal(&mut rng) * 600.0
        } else {
            8.5 * H + normal(&mut rng) * 300.0
        }
        .clamp(7.5 * H, 10.0 * H);
    let shift_end = eo
        + if lazy {
            16.0 * H + normal(&mut rng) * 600.0
        } else {
            17.5 * H + normal(&mut rng) * 300.0
        }
        .clamp(15.0 * H, 18.5 * H);
    let lunch_start = so + 11.8 * H + rng.random_range(0.0..1500.0);
    let lunch_s = rng.random_range(2400.0..3300.0);
    let after_lunch = lunch_start + lunch_s;

    let mut episodes: Vec<Episode> = Vec::new();
    let break_s = |rng: &mut ChaCha8Rng| {
        if lazy {
            rng.random_range(1800.0..3000.0)
        } else {
            rng.random_range(600.0..1200.0)
        }
    };
    episodes.push(Episode::Break(so + rng.random_range(9.75 * H..10.5 * H)));
    episodes.push(Episode::Break(so + rng.random_range(15.0 * H..15.75 * H)));
    if lazy {
        episodes.push(Episode::Break(so + rng.random_range(10.75 * H..11.25 * H)));
        episodes.push(Episode::Break(so + rng.random_range(14.0 * H..14.5 * H)));
    }
    match label {
        Label::StaticDevice => {
            episodes.push(Episode::Static(
                after_lunch + rng.random_range(300.0..2400.0),
            ));
        }
        Label::OutOfGrid if rng.random_bool(0.9) => {
            let t = if rng.random_bool(0.5) {
                so + rng.random_range(9.0 * H..9.5 * H)
            } else {
                after_lunch + rng.random_range(600.0..1800.0)
            };
            episodes.push(Episode::Excursion(t));
        }
        Label::Mock if rng.random_bool(0.8) => {
            episodes.push(Episode::Mock(so + rng.random_range(9.25 * H..10.0 * H)));
            if rng.random_bool(0.5) {
                episodes.push(Episode::Mock(
                    after_lunch + rng.random_range(1800.0..5400.0),
                ));
            }
        }
        _ => {}
    }
    episodes.sort_by(|a, b| ep_time(a).total_cmp(&ep_time(b)));
    let mut episodes = std::collections::VecDeque::from(episodes);

    // Checkpoints to visit today: often enough that the month's required visits happen.
    let mut pending: Vec<usize> = city.grid_checkpoints[grid]
        .iter()
        .copied()
        .filter(|&c| {
            let v = f64::from(city.checkpoints[c].visits_per_month);
            let p = (0.12 * v + 0.15).min(1.0) * if lazy { 0.4 } else { 1.0 };
            rng.random_bool(p)
        })
        .collect();
    pending.shuffle(&mut rng);
    if sparse {
        // The visits the month needs come first (the list is taken from its end).
        let forced = &plan.forced[day];
        pending.retain(|c| !forced.contains(c));
        pending.extend(forced.iter().rev());
    }
    // Sparse workers spread their visits over the shift (their check-ins are all the platform
    // sees): the chance to go now grows as the time left for the pending visits shrinks.
    let visit_p = |t: f64, pending: usize| {
        if sparse {
            let left = (shift_end - 1500.0 - t).max(1.0);
            (pending as f64 * 1200.0 / left).clamp(0.05, 1.0)
        } else {
            0.3
        }
    };
    let checkin_p = if lazy { 0.4 } else { 0.7 };

    let home = plan.home[slot].min(g.nodes_m.len() - 1);
    let start_node = if lazy {
        home
    } else {
        rng.random_range(0..g.nodes_m.len())
    };
    let speed = plan.speed_mps * rng.random_range(0.93..1.07);
    let mut wk = Walker::new(g, shift_start, start_node, speed);
    if lazy {
        wk.leash = Some((g.nodes_m[home], 220.0));
    }
    let mut led = Ledger::default();
    let mut lunch_done = false;

    while wk.traj.now() < shift_end {
        let t = wk.traj.now();
        if !lunch_done && t >= lunch_start {
            wk.stay_off_street(rng.random_range(3.0..8.0), lunch_s);
            lunch_done = true;
            continue;
        }
        if let Some(&ep) = episodes.front() {
            if t >= ep_time(&ep) {
                episodes.pop_front();
                match ep {
                    Episode::Break(_) => {
                        let d = break_s(&mut rng);
                        wk.stay_off_street(rng.random_range(3.0..8.0), d);
                    }
                    Episode::Static(_) => {
                        let dur = rng.random_range(3600.0..10800.0_f64);
                        let t0 = wk.traj.now();
                        wk.walk_to(home);
                        led.patrol.push(Span {
                            start: t0,
                            end: wk.traj.now(),
                        });
                        let dur = dur.min(shift_end - 900.0 - wk.traj.now());
                        if dur >= 1800.0 {
                            let s = wk.stay_off_street(6.0, dur);
                            led.statics.push(s);
                        }
                    }
                    Episode::Excursion(_) => {
                        let dur = rng.random_range(3600.0..10800.0_f64);
                        let t0 = wk.traj.now();
                        let back = g.nodes_m[wk.node];
                        let far = far_point(&mut rng, city, g.centroid_m, 900.0);
                        wk.traj.go_to(far, 4.5);
                        // Wander about the other place, then ride back.
                        let travel = wk.traj.now() - t0;
                        let mut left = dur - 2.0 * travel;
                        while left > 0.0 {
                            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
                            let r = rng.random_range(10.0..60.0);
                            let t1 = wk.traj.now();
                            wk.traj
                                .go_to([far[0] + r * a.cos(), far[1] + r * a.sin()], speed);
                            wk.traj.stay(rng.random_range(300.0..1200.0_f64).min(left));
                            left -= wk.traj.now() - t1;
                        }
                        wk.traj.go_to(back, 4.5);
                        led.away.push(Span {
                            start: t0,
                            end: wk.traj.now(),
                        });
                    }
                    Episode::Mock(_) => {
                        let dur = rng.random_range(1800.0..5400.0);
                        let ep = mock_episode(&mut rng, city, &mut wk, dur);
                        led.away.push(ep.span);
                        led.mocks.push(ep);
                    }
                }
                continue;
            }
        }
        if !pending.is_empty()
            && rng.random_bool(visit_p(t, pending.len()))
            && t + 1500.0 < shift_end
        {
            if let Some(c) = pending.pop() {
                let cp = &city.checkpoints[c];
                let t0 = wk.traj.now();
                wk.walk_to(cp.node.min(g.nodes_m.len() - 1));
                led.patrol.push(Span {
                    start: t0,
                    end: wk.traj.now(),
                });
                wk.traj.go_to(cp.pos_m, speed);
                let start = wk.traj.now();
                wk.traj.stay(rng.random_range(180.0..600.0));
                let end = wk.traj.now();
                led.visits.push(VisitRaw {
                    checkpoint: c,
                    start,
                    end,
                    // The sparse app reports only with a check-in.
                    checkin: sparse || rng.random_bool(checkin_p),
                });
                let back = g.nodes_m[wk.node];
                wk.traj.go_to(back, speed);
                continue;
            }
        }
        let t0 = wk.traj.now();
        let k = if lazy {
            rng.random_range(2..5)
        } else {
            rng.random_range(3..9)
        };
        wk.random_walk(&mut rng, k);
        if lazy {
            // Lazy walkers dawdle: long pauses between short walks.
            wk.traj.stay(rng.random_range(120.0..900.0));
        }
        led.patrol.push(Span {
            start: t0,
            end: wk.traj.now(),
        });
    }
    let traj = wk.traj;

    let mut raw = DayRaw {
        worked: true,
        grid: Some(grid),
        ..DayRaw::default()
    };
    let clip = |s: &Span| (s.end.min(shift_end) - s.start.max(shift_start)).max(0.0);
    raw.patrol_s = led.patrol.iter().map(clip).fold(0.0, |a, b| a + b)
        + led
            .visits
            .iter()
            .map(|v| {
                clip(&Span {
                    start: v.start,
                    end: v.end,
                })
            })
            .sum::<f64>();
    raw.static_s = led.statics.iter().map(clip).fold(0.0, |a, b| a + b);
    raw.static_periods = led.statics.clone();
    raw.out_of_grid_periods = led.away.clone();
    raw.out_of_grid_s = out_of_grid_s(city, &worker.grids, &traj, &led.away, shift_end);
    raw.visits = led.visits.clone();

    let rows = if sparse {
        emit_sparse(&mut rng, city, w, &traj, &led, midnight_utc_s)
    } else {
        emit(
            &mut rng,
            city,
            w,
            &traj,
            &led,
            shift_start,
            shift_end,
            midnight_utc_s,
            opts.interval_s,
            plan.mock_share,
            &mut raw,
        )
    };
    if let (Some(a), Some(b)) = (
        rows.iter().map(|r| r.ts_s).min(),
        rows.iter().map(|r| r.ts_s).max(),
    ) {
        raw.shift_start_ts = Some(a);
        raw.shift_end_ts = Some(b);
    }
    DayOut { rows, raw }
}

fn ep_time(e: &Episode) -> f64 {
    match *e {
        Episode::Break(t) | Episode::Static(t) | Episode::Excursion(t) | Episode::Mock(t) => t,
    }
}

/// The worker sets a fake location where they stand, rides 1–1.5 km away, stays, and comes
/// back to where the fake route ends; real fixes leak through every few minutes meanwhile.
fn mock_episode(rng: &mut ChaCha8Rng, city: &City, wk: &mut Walker<'_>, dur_s: f64) -> MockEp {
    let start = wk.traj.now();
    let p = wk.traj.pos();
    // The fake route: a walk on the same streets, from here.
    let mut fake = Walker::new(wk.g, start, wk.node, wk.speed_mps);
    while fake.traj.now() < start + dur_s {
        fake.random_walk(rng, 4);
    }
    let q_node = fake.node;
    let q = wk.g.nodes_m[q_node];
    let dist_m = rng.random_range(1000.0..1500.0);
    let far = far_point(rng, city, p, dist_m);
    wk.traj.go_to(far, 5.0);
    let arrived = wk.traj.now();
    let back_s = (far[0] - q[0]).hypot(far[1] - q[1]) / 5.0;
    let stay = (fake.traj.now() - back_s - arrived).max(300.0);
    wk.traj.stay(stay);
    let leave = wk.traj.now();
    wk.traj.go_to(q, 5.0);
    let end = wk.traj.now();
    if fake.traj.now() < end {
        fake.traj.stay(end - fake.traj.now());
    }
    wk.prev = usize::MAX;
    wk.node = q_node;
    let mut leaks = Vec::new();
    let mut t = arrived + 60.0 + rng.random_range(0.0..240.0);
    while t < leave - 60.0 {
        leaks.push(t);
        t += rng.random_range(180.0..480.0);
    }
    MockEp {
        span: Span { start, end },
        fake: fake.traj,
        leaks,
    }
}

/// Seconds of the away spans during which the true position is outside all of the worker's
/// grids (sampled every 10 s; within 2 m of a grid counts as inside).
fn out_of_grid_s(city: &City, grids: &[usize], traj: &Traj, away: &[Span], shift_end: f64) -> f64 {
    let mut cur = Cursor::new(traj);
    let mut total = 0.0;
    for s in away {
        let mut t = s.start;
        while t < s.end.min(shift_end) {
            let (p, _) = cur.at(t);
            let pt = Point::new(p[0], p[1]);
            let inside = grids.iter().any(|&g| {
                let poly = &city.grids[g].polygon_m;
                poly.contains(&pt) || Euclidean.distance(&pt, poly) <= 2.0
            });
            if !inside {
                total += 10.0;
            }
            t += 10.0;
        }
    }
    total
}

/// The phone: samples the trajectory at the app's interval (with bursts and gaps) and adds
/// GPS noise, outliers, mock flags, check-ins, duplicates and out-of-order delivery.
#[allow(clippy::too_many_arguments)]
fn emit(
    rng: &mut ChaCha8Rng,
    city: &City,
    w: usize,
    traj: &Traj,
    led: &Ledger,
    shift_start: f64,
    shift_end: f64,
    midnight_utc_s: i64,
    interval_s: u32,
    mock_share: f64,
    raw: &mut DayRaw,
) -> Vec<PingRow> {
    let t0 = shift_start.round() as i64;
    let t1 = shift_end.round() as i64;
    let step = i64::from(interval_s.max(1));
    let mut times: Vec<i64> = (0..)
        .map(|k| t0 + k * step)
        .take_while(|&t| t <= t1)
        .collect();
    // Bursts: the app switches to 1 s fixes for a few minutes.
    for _ in 0..rng.random_range(0..=2) {
        let s = rng.random_range(t0..(t1 - 300).max(t0 + 1));
        let len = rng.random_range(60..300);
        times.extend(s..(s + len).min(t1));
    }
    times.sort_unstable();
    times.dedup();
    // Gaps: lost signal (1–10 min) and the app being killed (10–60 min), never during a
    // visit or a static-device period (the truth promises fixes there), nor at the shift ends.
    let protected: Vec<Span> = led
        .visits
        .iter()
        .map(|v| Span {
            start: v.start,
            end: v.end,
        })
        .chain(led.statics.iter().copied())
        .collect();
    let mut gaps: Vec<(i64, i64)> = Vec::new();
    let mut try_gap = |rng: &mut ChaCha8Rng, lo: i64, hi: i64| {
        if t1 - t0 < 2400 {
            return;
        }
        let s = rng.random_range(t0 + 900..t1 - 900);
        let e = s + rng.random_range(lo..hi);
        let clash = protected
            .iter()
            .any(|p| (s as f64) < p.end + 30.0 && (e as f64) > p.start - 30.0);
        if !clash && e < t1 - 600 {
            gaps.push((s, e));
        }
    };
    for _ in 0..rng.random_range(0..=4) {
        try_gap(rng, 60, 600);
    }
    if rng.random_bool(0.35) {
        try_gap(rng, 600, 3600);
    }
    if !gaps.is_empty() {
        times.retain(|&t| !gaps.iter().any(|&(s, e)| t > s && t < e));
    }

    let mut rows = Vec::with_capacity(times.len() + times.len() / 200 + 4);
    let mut cur = Cursor::new(traj);
    let (mut ex, mut ey) = (0.0f64, 0.0f64);
    let mut acc = rng.random_range(5.0..15.0f64);
    let mut last_t = t0 as f64;
    let mut vi = 0usize;
    let mut checked = vec![false; led.visits.len()];
    let mut si = 0usize;
    let mut mi = 0usize;
    let mut mock_cur: Option<(Cursor<'_>, usize)> = None;
    let mut prev_leak = false;
    let frame = &city.frame;
    let wid = w as u32;

    for &ts in &times {
        let t = ts as f64;
        let dt = (t - last_t).max(1.0);
        last_t = t;
        let (tp, tspd) = cur.at(t);

        while si < led.statics.len() && led.statics[si].end < t {
            si += 1;
        }
        let in_static = si < led.statics.len() && t >= led.statics[si].start;
        while mi < led.mocks.len() && led.mocks[mi].span.end < t {
            mi += 1;
            mock_cur = None;
        }
        let in_mock = mi < led.mocks.len() && t >= led.mocks[mi].span.start;

        // Correlated GPS error (AR(1), ~1 min memory) whose size matches the reported accuracy.
        acc = (acc + rng.sample::<f64, _>(StandardNormal) * 0.4).clamp(5.0, 15.0);
        let rho = (-dt / 60.0).exp();
        let kk = (1.0 - rho * rho).sqrt();
        let sigma = if in_static { 2.5 } else { acc / 1.5 };
        ex = rho * ex + kk * sigma * rng.sample::<f64, _>(StandardNormal);
        ey = rho * ey + kk * sigma * rng.sample::<f64, _>(StandardNormal);

        let mut mock = false;
        let mut leak = false;
        let (p, spd, acc_m) = if in_static {
            // A phone on a desk: fixes within ~8 m of where it lies.
            let r = ex.hypot(ey);
            let (nx, ny) = if r > 8.0 {
                (ex * 8.0 / r, ey * 8.0 / r)
            } else {
                (ex, ey)
            };
            ([tp[0] + nx, tp[1] + ny], 0.0, rng.random_range(10.0..25.0))
        } else if in_mock {
            let ep = &led.mocks[mi];
            let due = ep.leaks.partition_point(|&l| l <= t);
            let (fc, consumed) = mock_cur.get_or_insert_with(|| (Cursor::new(&ep.fake), 0));
            if due > *consumed {
                // A real fix leaks through the fake-location app: a teleport.
                *consumed = due;
                leak = true;
                ([tp[0] + ex, tp[1] + ey], tspd, acc)
            } else {
                let (fp, fs) = fc.at(t);
                mock = rng.random_bool(mock_share);
                let jx: f64 = rng.sample(StandardNormal);
                let jy: f64 = rng.sample(StandardNormal);
                ([fp[0] + jx, fp[1] + jy], fs, 3.0)
            }
        } else if rng.random_bool(0.003) {
            // An urban-canyon or network fix: far off, and it says so.
            let r = rng.random_range(50.0..200.0);
            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            (
                [tp[0] + r * a.cos(), tp[1] + r * a.sin()],
                tspd,
                r * rng.random_range(0.8..1.3),
            )
        } else {
            ([tp[0] + ex, tp[1] + ey], tspd, acc)
        };
        if in_mock {
            if leak != prev_leak {
                raw.jumps += 1;
            }
            prev_leak = leak;
        } else {
            prev_leak = false;
        }

        // A check-in during a visit, at its middle.
        while vi < led.visits.len() && led.visits[vi].end < t {
            vi += 1;
        }
        let mut checkin = None;
        if vi < led.visits.len() {
            let v = &led.visits[vi];
            if v.checkin && !checked[vi] && t >= (v.start + v.end) / 2.0 && t <= v.end {
                checked[vi] = true;
                checkin = Some(v.checkpoint as u32);
            }
        }

        let spd_rep = if spd > 0.0 {
            (spd + rng.sample::<f64, _>(StandardNormal) * 0.15).max(0.0)
        } else {
            0.0
        };
        let [lon_e7, lat_e7] = frame.to_lonlat_e7(p[0], p[1]);
        let row = PingRow {
            worker: wid,
            ts_s: midnight_utc_s + ts,
            lon_e7,
            lat_e7,
            acc_dm: (acc_m * 10.0).round() as u32,
            speed_dmps: (spd_rep * 10.0).round() as u32,
            mock,
            checkin,
        };
        rows.push(row);
        // Duplicates: the same fix sent twice, rarely with different coordinates.
        let u: f64 = rng.random();
        if u < 0.002 {
            rows.push(row);
        } else if u < 0.0024 && !in_static && !in_mock {
            let r = rng.random_range(5.0..30.0);
            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let [lon_e7, lat_e7] = frame.to_lonlat_e7(p[0] + r * a.cos(), p[1] + r * a.sin());
            rows.push(PingRow {
                lon_e7,
                lat_e7,
                ..row
            });
        }
    }
    raw.mock_pings = rows.iter().filter(|r| r.mock).count() as u32;
    // Out-of-order delivery: a few rows arrive after their successor.
    if rows.len() > 2 {
        for i in 0..rows.len() - 1 {
            if rng.random_bool(0.004) {
                rows.swap(i, i + 1);
            }
        }
    }
    rows
}

/// The sparse (check-in only) app: one fix per checkpoint visit, during the stay, carrying the
/// check-in, with ordinary GPS noise (5–15 m, never more than 2.5 × the reported accuracy);
/// no outliers, duplicates, mock flags or out-of-order delivery.
fn emit_sparse(
    rng: &mut ChaCha8Rng,
    city: &City,
    w: usize,
    traj: &Traj,
    led: &Ledger,
    midnight_utc_s: i64,
) -> Vec<PingRow> {
    let mut cur = Cursor::new(traj);
    let mut rows = Vec::with_capacity(led.visits.len());
    for v in &led.visits {
        let ts = (v.start + (v.end - v.start) * rng.random_range(0.3..0.7)).round();
        let (tp, _) = cur.at(ts);
        let acc: f64 = rng.random_range(5.0..15.0);
        let ex = rng.sample::<f64, _>(StandardNormal) * acc / 1.5;
        let ey = rng.sample::<f64, _>(StandardNormal) * acc / 1.5;
        let r = ex.hypot(ey);
        let k = if r > 2.5 * acc { 2.5 * acc / r } else { 1.0 };
        let [lon_e7, lat_e7] = city.frame.to_lonlat_e7(tp[0] + k * ex, tp[1] + k * ey);
        rows.push(PingRow {
            worker: w as u32,
            ts_s: midnight_utc_s + ts as i64,
            lon_e7,
            lat_e7,
            acc_dm: (acc * 10.0).round() as u32,
            speed_dmps: 0,
            mock: false,
            checkin: Some(v.checkpoint as u32),
        });
    }
    rows
}

/// A replayed day: the source day's fixes re-sent with timestamps shifted to today (by the
/// local-calendar distance plus up to ±20 min), sometimes with centimetre noise; check-ins
/// are not replayed.
pub(crate) fn replay_day(
    opts: &SimOptions,
    w: usize,
    day: usize,
    src_day: usize,
    src_rows: &[PingRow],
    shift_days_s: i64,
) -> DayOut {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x3E9, w as u64, day as u64]));
    let shift = shift_days_s + rng.random_range(-1200..=1200);
    let noisy = rng.random_bool(0.5);
    let rows: Vec<PingRow> = src_rows
        .iter()
        .map(|r| {
            let mut r = *r;
            r.ts_s += shift;
            r.checkin = None;
            if noisy {
                r.lon_e7 += rng.random_range(-3..=3);
                r.lat_e7 += rng.random_range(-3..=3);
            }
            r
        })
        .collect();
    let raw = DayRaw {
        worked: true,
        shift_start_ts: rows.iter().map(|r| r.ts_s).min(),
        shift_end_ts: rows.iter().map(|r| r.ts_s).max(),
        replay_of: Some(src_day),
        mock_pings: rows.iter().filter(|r| r.mock).count() as u32,
        ..DayRaw::default()
    };
    DayOut { rows, raw }
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
