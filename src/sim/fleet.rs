//! City-management vehicles (`gridbeat simulate --vehicles N`): street sweepers, washers and
//! collectors with planned routes on the simulated streets, the terminals that report their
//! days, and the faults injected into some of those days, with the truth written out.
//!
//! - **Streets**: the grids' street graphs merged into one city network (lattice vertices and
//!   a streets file's nodes are shared bit for bit between grids), its largest component.
//! - **Routes**: each a self-avoiding chain of streets 1–4 km long (mostly straight on, no
//!   sharp turns, never within 30 m of itself), one per vehicle; a vehicle's route names it,
//!   or (when the vehicle is the only one of its kind in its community) is assigned by kind to
//!   that community. Schedules by kind: sweepers `mon-fri 05:00-08:00; sat,sun 06:00-08:30`
//!   (2 passes on routes up to 2.5 km) or `mon-sat 05:30-07:30,14:00-16:00` (one pass in each
//!   window, 2 passes), washers `daily 22:00-02:00` (across midnight, `min_pressure` 0.15 MPa),
//!   collectors `mon-sat 06:00-09:00`.
//! - **A trip**: ignition on at the depot, 20–40 km/h along the streets to the route's start,
//!   work on, the route at 5–12 km/h (by kind), for a second pass around the next junction and
//!   back along the route, work off, back to the depot, ignition off.
//! - **The terminal** (JT/T 808 style): a fix every 10–30 s (fixed per vehicle) with the
//!   ignition on, every 300 s parked with it off, and at once on every ignition or work change
//!   and every heading change over 15°; GPS error a slowly wandering offset within 3–8 m (per
//!   vehicle) plus 0.5 m of white noise; 0.5 % of fixes sent twice.
//! - **Faults**, at most one per vehicle-day, drawn at [`FaultRates`]: a skipped street (15–30 %
//!   of the route, on every pass, driven around with the work off), work switched off early
//!   (at 50–80 % of the last trip's work, then straight back to the depot), too fast (a stretch
//!   of at least ~150 s worked at 1.5–2× the route's `max_work_speed_kmh`), a quiet terminal
//!   (150–600 s without fixes while working) and the route done outside its window.
//!
//! Everything draws from random streams of its own (seeded from the seed, `0xF1EE7` and the
//! vehicle and day), never the workers', so `--vehicles 0` writes the files of earlier runs.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat};
use chrono_tz::Tz;
use geo::{Contains, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::city::City;
use super::frame::e7_to_deg;
use super::streets::{largest_component, StreetGraph};
use super::{mix_seed, SimOptions};
use crate::registry::{Schedule, Window};

/// The stream tag of the fleet's random numbers.
const FLEET_STREAM: u64 = 0xF1EE7;

/// The reporting interval of a parked terminal (ignition off), seconds.
const SLEEP_INTERVAL_S: i64 = 300;

/// A heading change above this (degrees) makes the terminal report at once.
const TURN_REPORT_DEG: f64 = 15.0;

/// The piece length the truth's piece indices are counted in, metres (the engine's default).
pub const TRUTH_PIECE_M: f64 = 10.0;

/// What a vehicle does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleKind {
    /// A street sweeper (扫路车).
    Sweeper,
    /// A washer (洒水车/冲洗车): reports its water pressure.
    Washer,
    /// A collector (垃圾收运车).
    Collector,
}

impl VehicleKind {
    /// The kind as written in `vehicles.csv` and `routes.geojson`.
    pub fn as_str(self) -> &'static str {
        match self {
            VehicleKind::Sweeper => "sweeper",
            VehicleKind::Washer => "washer",
            VehicleKind::Collector => "collector",
        }
    }

    /// The route's `max_work_speed_kmh` for this kind.
    fn max_work_speed_kmh(self) -> f64 {
        match self {
            VehicleKind::Sweeper => 12.0,
            VehicleKind::Collector => 15.0,
            VehicleKind::Washer => 20.0,
        }
    }

    /// The range of true working speeds, km/h.
    fn work_speed_kmh(self) -> (f64, f64) {
        match self {
            VehicleKind::Sweeper => (5.0, 7.0),
            VehicleKind::Collector => (6.0, 9.0),
            VehicleKind::Washer => (8.0, 12.0),
        }
    }

    /// The Chinese word of a route name.
    fn work_zh(self) -> &'static str {
        match self {
            VehicleKind::Sweeper => "清扫",
            VehicleKind::Washer => "冲洗",
            VehicleKind::Collector => "收运",
        }
    }
}

/// A kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A stretch of the route not worked on any pass (driven around with the work off).
    SkippedStreet,
    /// The work switched off before the route was done.
    WorkOffEarly,
    /// A stretch worked faster than the route's `max_work_speed_kmh`.
    TooFast,
    /// The terminal sent nothing for a while during the work.
    Quiet,
    /// The route worked outside its scheduled windows.
    OutsideWindow,
}

impl FaultKind {
    /// Every kind, in the order of [`FaultRates`].
    pub const ALL: [FaultKind; 5] = [
        FaultKind::SkippedStreet,
        FaultKind::WorkOffEarly,
        FaultKind::TooFast,
        FaultKind::Quiet,
        FaultKind::OutsideWindow,
    ];

    /// The kind as written in `vehicle_truth.json` and `--vehicle-faults`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::SkippedStreet => "skipped_street",
            FaultKind::WorkOffEarly => "work_off_early",
            FaultKind::TooFast => "too_fast",
            FaultKind::Quiet => "quiet",
            FaultKind::OutsideWindow => "outside_window",
        }
    }
}

/// The share (0..=1) of vehicle-days that get each fault; a vehicle-day gets at most one, so
/// the shares add up to at most 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRates {
    /// A skipped street.
    pub skipped_street: f64,
    /// Work switched off early.
    pub work_off_early: f64,
    /// Working too fast.
    pub too_fast: f64,
    /// A quiet terminal.
    pub quiet: f64,
    /// The route done outside its window.
    pub outside_window: f64,
}

impl Default for FaultRates {
    fn default() -> Self {
        FaultRates::uniform(0.1)
    }
}

impl FaultRates {
    /// Every kind at the same rate.
    pub fn uniform(rate: f64) -> FaultRates {
        FaultRates {
            skipped_street: rate,
            work_off_early: rate,
            too_fast: rate,
            quiet: rate,
            outside_window: rate,
        }
    }

    /// The rate of one kind.
    pub fn rate(&self, kind: FaultKind) -> f64 {
        match kind {
            FaultKind::SkippedStreet => self.skipped_street,
            FaultKind::WorkOffEarly => self.work_off_early,
            FaultKind::TooFast => self.too_fast,
            FaultKind::Quiet => self.quiet,
            FaultKind::OutsideWindow => self.outside_window,
        }
    }

    fn rate_mut(&mut self, kind: FaultKind) -> &mut f64 {
        match kind {
            FaultKind::SkippedStreet => &mut self.skipped_street,
            FaultKind::WorkOffEarly => &mut self.work_off_early,
            FaultKind::TooFast => &mut self.too_fast,
            FaultKind::Quiet => &mut self.quiet,
            FaultKind::OutsideWindow => &mut self.outside_window,
        }
    }

    /// Parses `--vehicle-faults`: one share for every kind (`0.1`), or `kind=share` pairs
    /// separated by commas (`quiet=0.2,too_fast=0`; kinds not named keep 0.1).
    ///
    /// # Errors
    /// A message naming the part that is not a kind or a share, or shares adding up to more
    /// than 1.
    pub fn parse(spec: &str) -> Result<FaultRates, String> {
        let share = |s: &str| -> Result<f64, String> {
            match s.trim().parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
                _ => Err(format!("{s:?} is not a share from 0 to 1")),
            }
        };
        let rates = if spec.contains('=') {
            let mut rates = FaultRates::default();
            for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
                let (name, value) = part.split_once('=').unwrap_or((part, ""));
                let kind = FaultKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == name.trim())
                    .ok_or_else(|| {
                        format!(
                            "{:?} is not a fault kind: use skipped_street, work_off_early, too_fast, quiet or outside_window",
                            name.trim()
                        )
                    })?;
                *rates.rate_mut(kind) = share(value)?;
            }
            rates
        } else {
            FaultRates::uniform(share(spec)?)
        };
        rates.validate()?;
        Ok(rates)
    }

    /// Checks that every share is in 0..=1 and that they add up to at most 1.
    ///
    /// # Errors
    /// A message saying which.
    pub fn validate(&self) -> Result<(), String> {
        let mut sum = 0.0;
        for k in FaultKind::ALL {
            let r = self.rate(k);
            if !(0.0..=1.0).contains(&r) {
                return Err(format!(
                    "the {} rate must be a share from 0 to 1, not {r}",
                    k.as_str()
                ));
            }
            sum += r;
        }
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "the fault rates add up to {sum}: a vehicle-day gets at most one fault, so they may add up to 1 at most"
            ));
        }
        Ok(())
    }

    /// The fault of a uniform draw `u` in 0..1, if any.
    fn pick(&self, u: f64) -> Option<FaultKind> {
        let mut acc = 0.0;
        for k in FaultKind::ALL {
            acc += self.rate(k);
            if u < acc {
                return Some(k);
            }
        }
        None
    }
}

// ------------------------------------------------------------------------------- the plan

/// A planned route in the simulator's metric frame.
#[derive(Clone, Debug)]
struct SimRoute {
    code: String,
    name: String,
    unit: String,
    kind: VehicleKind,
    /// The vehicle ids it names; `None`: assigned by kind.
    vehicles: Option<Vec<String>>,
    /// Nodes of the city network, in order.
    nodes: Vec<usize>,
    /// Their positions, metres.
    pts: Vec<[f64; 2]>,
    /// Metres along the route at each node.
    cum_m: Vec<f64>,
    windows: Vec<Window>,
    schedule_text: &'static str,
    passes: u32,
    /// One trip per window with one pass each (else one trip in the day's first window).
    trip_per_window: bool,
    max_work_speed_kmh: f64,
    min_pressure: Option<f64>,
}

impl SimRoute {
    fn length_m(&self) -> f64 {
        self.cum_m.last().copied().unwrap_or(0.0)
    }
}

/// A simulated vehicle and its terminal.
#[derive(Clone, Debug)]
struct SimVehicle {
    id: String,
    plate: String,
    kind: VehicleKind,
    unit: String,
    device: String,
    route: usize,
    depot: usize,
    interval_s: i64,
    noise_m: f64,
    pressure_mpa: f64,
}

/// The fleet of a run: the city network, depots, vehicles and routes.
pub struct FleetPlan {
    net: StreetGraph,
    depots: Vec<usize>,
    vehicles: Vec<SimVehicle>,
    routes: Vec<SimRoute>,
}

impl FleetPlan {
    /// Number of vehicles.
    pub fn len(&self) -> usize {
        self.vehicles.len()
    }

    /// Whether the fleet has no vehicle.
    pub fn is_empty(&self) -> bool {
        self.vehicles.is_empty()
    }
}

/// The grids' street graphs merged into one network (shared vertices are bit-identical), its
/// largest component.
fn city_net(city: &City) -> StreetGraph {
    let mut index: HashMap<(u64, u64), u32> = HashMap::new();
    let mut nodes: Vec<[f64; 2]> = Vec::new();
    let mut edges = Vec::new();
    let mut seen = HashSet::new();
    for g in &city.graphs {
        let mut ids = Vec::with_capacity(g.nodes_m.len());
        for p in &g.nodes_m {
            let id = *index
                .entry((p[0].to_bits(), p[1].to_bits()))
                .or_insert_with(|| {
                    nodes.push(*p);
                    (nodes.len() - 1) as u32
                });
            ids.push(id);
        }
        for (u, nbrs) in g.adj.iter().enumerate() {
            for &(v, _) in nbrs {
                let (a, b) = (ids[u], ids[v as usize]);
                if a < b && seen.insert((a, b)) {
                    edges.push((a, b));
                }
            }
        }
    }
    largest_component(&nodes, &edges)
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// The angle between two directions, degrees (0..=180).
fn turn_deg(u: [f64; 2], v: [f64; 2]) -> f64 {
    let (nu, nv) = (u[0].hypot(u[1]), v[0].hypot(v[1]));
    if nu < 1e-9 || nv < 1e-9 {
        return 0.0;
    }
    ((u[0] * v[0] + u[1] * v[1]) / (nu * nv))
        .clamp(-1.0, 1.0)
        .acos()
        .to_degrees()
}

/// Shortest path `from` → `to` (both included) avoiding the edges `banned` refuses.
fn shortest(
    g: &StreetGraph,
    from: usize,
    to: usize,
    banned: &dyn Fn(usize, usize) -> bool,
) -> Option<Vec<usize>> {
    let n = g.nodes_m.len();
    let mut best = vec![f64::MAX; n];
    let mut prev = vec![usize::MAX; n];
    let mut heap = BinaryHeap::new();
    best[from] = 0.0;
    heap.push(Reverse((0u64, from)));
    while let Some(Reverse((db, u))) = heap.pop() {
        let du = f64::from_bits(db);
        if u == to {
            break;
        }
        if du > best[u] {
            continue;
        }
        for &(v, _) in &g.adj[u] {
            let v = v as usize;
            if banned(u, v) {
                continue;
            }
            let nd = du + dist(g.nodes_m[u], g.nodes_m[v]);
            if nd < best[v] {
                best[v] = nd;
                prev[v] = u;
                heap.push(Reverse((nd.to_bits(), v)));
            }
        }
    }
    if best[to] == f64::MAX {
        return None;
    }
    let mut path = vec![to];
    let mut v = to;
    while v != from {
        v = prev[v];
        path.push(v);
    }
    path.reverse();
    Some(path)
}

/// A self-avoiding chain of streets of about `target_m` (at least 1 km when the network
/// allows): straight on when it can (70 %), no turn sharper than 100°, never within 30 m of its
/// earlier nodes.
fn grow_route(rng: &mut ChaCha8Rng, g: &StreetGraph, target_m: f64) -> Vec<usize> {
    let mut best: (Vec<usize>, f64) = (Vec::new(), 0.0);
    for _ in 0..80 {
        let start = rng.random_range(0..g.nodes_m.len());
        let mut path = vec![start];
        let mut len = 0.0;
        while len < target_m {
            let last = path[path.len() - 1];
            let pl = g.nodes_m[last];
            let dir_in = (path.len() >= 2).then(|| sub(pl, g.nodes_m[path[path.len() - 2]]));
            let mut cands: Vec<(usize, f64)> = Vec::new();
            for &(v, _) in &g.adj[last] {
                let v = v as usize;
                let pv = g.nodes_m[v];
                let turn = dir_in.map_or(0.0, |d| turn_deg(d, sub(pv, pl)));
                let clear = path[..path.len() - 1]
                    .iter()
                    .all(|&u| u != v && dist(g.nodes_m[u], pv) >= 30.0)
                    && far_from_earlier(g, &path, pv, 40.0);
                if v != last && clear && turn <= 100.0 {
                    cands.push((v, turn));
                }
            }
            if cands.is_empty() {
                break;
            }
            let straight: Vec<(usize, f64)> =
                cands.iter().copied().filter(|c| c.1 < 30.0).collect();
            let pool = if !straight.is_empty() && rng.random_bool(0.7) {
                straight
            } else {
                cands
            };
            let (v, _) = pool[rng.random_range(0..pool.len())];
            len += dist(pl, g.nodes_m[v]);
            path.push(v);
        }
        if len >= 1000.0_f64.min(target_m) {
            return path;
        }
        if len > best.1 {
            best = (path, len);
        }
    }
    best.0
}

/// Whether the segment from the path's last node to `p` keeps `min_m` from every earlier
/// segment of the path but those within 60 m (along the path) of its end: so that no part of
/// a route lies within the engine's tolerance of another (two sides of one street, a loop).
fn far_from_earlier(g: &StreetGraph, path: &[usize], p: [f64; 2], min_m: f64) -> bool {
    let q = g.nodes_m[path[path.len() - 1]];
    let xy = |a: [f64; 2]| (a[0], a[1]);
    let mut back = 0.0;
    for k in (1..path.len()).rev() {
        let (a, b) = (g.nodes_m[path[k - 1]], g.nodes_m[path[k]]);
        if back >= 60.0 && crate::route::segment_distance(xy(q), xy(p), xy(a), xy(b)) < min_m {
            return false;
        }
        back += dist(a, b);
    }
    true
}

/// The shortest way from route node `end` off the route to a street node at least 30 m from
/// every part of it (at most 500 m away), avoiding the route's other nodes.
fn way_off(g: &StreetGraph, route: &SimRoute, end: usize) -> Option<Vec<usize>> {
    let on_route: HashSet<usize> = route.nodes.iter().copied().collect();
    let xy = |a: [f64; 2]| (a[0], a[1]);
    let off = |p: [f64; 2]| {
        route
            .pts
            .windows(2)
            .all(|w| crate::route::segment_distance(xy(p), xy(p), xy(w[0]), xy(w[1])) >= 30.0)
    };
    let mut best = vec![f64::MAX; g.nodes_m.len()];
    let mut prev = vec![usize::MAX; g.nodes_m.len()];
    let mut heap = BinaryHeap::new();
    best[end] = 0.0;
    heap.push(Reverse((0u64, end)));
    while let Some(Reverse((db, u))) = heap.pop() {
        let du = f64::from_bits(db);
        if du > best[u] {
            continue;
        }
        if u != end && off(g.nodes_m[u]) {
            let mut path = vec![u];
            let mut v = u;
            while prev[v] != end {
                v = prev[v];
                path.push(v);
            }
            path.reverse();
            return Some(path);
        }
        for &(v, _) in &g.adj[u] {
            let v = v as usize;
            if on_route.contains(&v) {
                continue;
            }
            let nd = du + dist(g.nodes_m[u], g.nodes_m[v]);
            if nd < best[v] && nd <= 500.0 {
                best[v] = nd;
                prev[v] = u;
                heap.push(Reverse((nd.to_bits(), v)));
            }
        }
    }
    None
}

/// The grid whose polygon holds `p` (else the one with the nearest centroid).
fn grid_at(city: &City, p: [f64; 2]) -> usize {
    let pt = Point::new(p[0], p[1]);
    if let Some(g) = city.grids.iter().position(|g| g.polygon_m.contains(&pt)) {
        return g;
    }
    let mut best = (0, f64::MAX);
    for (g, graph) in city.graphs.iter().enumerate() {
        let d = dist(graph.centroid_m, p);
        if d < best.1 {
            best = (g, d);
        }
    }
    best.0
}

/// Plans the fleet of `opts.vehicles` vehicles on `city` (empty for 0).
pub fn plan_fleet(city: &City, opts: &SimOptions) -> FleetPlan {
    let net = city_net(city);
    let mut plan = FleetPlan {
        depots: Vec::new(),
        vehicles: Vec::new(),
        routes: Vec::new(),
        net,
    };
    if opts.vehicles == 0 || plan.net.n_edges == 0 {
        return plan;
    }
    let g = &plan.net;
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[FLEET_STREAM, 0]));
    let b = city.bbox_m;
    let nearest = |p: [f64; 2]| super::streets::nearest_node(g, p);
    let mid_y = (b[1] + b[3]) / 2.0;
    let mut depots = vec![nearest([b[0], mid_y]), nearest([b[2], mid_y])];
    depots.dedup();

    let unit_parent: HashMap<&str, &str> = city
        .units
        .iter()
        .filter_map(|u| Some((u.code.as_str(), u.parent.as_ref()?.as_str())))
        .collect();
    let unit_name: HashMap<&str, &str> = city
        .units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();

    const KINDS: [VehicleKind; 4] = [
        VehicleKind::Sweeper,
        VehicleKind::Washer,
        VehicleKind::Collector,
        VehicleKind::Sweeper,
    ];
    let mut plates = HashSet::new();
    let mut devices = HashSet::new();
    let mut sweepers = 0usize;
    for i in 0..opts.vehicles {
        let kind = KINDS[i % KINDS.len()];
        let target = rng.random_range(1000.0..3800.0);
        let nodes = grow_route(&mut rng, g, target);
        let pts: Vec<[f64; 2]> = nodes.iter().map(|&n| g.nodes_m[n]).collect();
        let mut cum_m = vec![0.0];
        for w in pts.windows(2) {
            cum_m.push(cum_m[cum_m.len() - 1] + dist(w[0], w[1]));
        }
        let length = cum_m[cum_m.len() - 1];
        let mid = pts[pts.len() / 2];
        let community = city.grids[grid_at(city, mid)].parent.as_str().to_string();
        let (windows, schedule_text, passes, trip_per_window) = match kind {
            VehicleKind::Sweeper => {
                sweepers += 1;
                if sweepers % 2 == 1 {
                    (
                        vec![
                            Window {
                                days: 0b001_1111,
                                start_min: 300,
                                end_min: 480,
                            },
                            Window {
                                days: 0b110_0000,
                                start_min: 360,
                                end_min: 510,
                            },
                        ],
                        "mon-fri 05:00-08:00; sat,sun 06:00-08:30",
                        if length <= 2500.0 { 2 } else { 1 },
                        false,
                    )
                } else {
                    let days = 0b011_1111;
                    (
                        vec![
                            Window {
                                days,
                                start_min: 330,
                                end_min: 450,
                            },
                            Window {
                                days,
                                start_min: 840,
                                end_min: 960,
                            },
                        ],
                        "mon-sat 05:30-07:30,14:00-16:00",
                        2,
                        true,
                    )
                }
            }
            VehicleKind::Washer => (
                vec![Window {
                    days: 0b111_1111,
                    start_min: 1320,
                    end_min: 120,
                }],
                "daily 22:00-02:00",
                1,
                false,
            ),
            VehicleKind::Collector => (
                vec![Window {
                    days: 0b011_1111,
                    start_min: 360,
                    end_min: 540,
                }],
                "mon-sat 06:00-09:00",
                1,
                false,
            ),
        };
        let id = format!("v-{:03}", i + 1);
        let plate = loop {
            const CH: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
            let tail: String = (0..5)
                .map(|k| {
                    let n = if k == 0 { CH.len() } else { 10 };
                    CH[rng.random_range(0..n)] as char
                })
                .collect();
            let p = format!("湘A·{tail}");
            if plates.insert(p.clone()) {
                break p;
            }
        };
        let device = loop {
            let d = format!(
                "01{}{:09}",
                [3, 5, 7, 8, 9][rng.random_range(0..5)],
                rng.random_range(0..1_000_000_000u32)
            );
            if devices.insert(d.clone()) {
                break d;
            }
        };
        let start = pts[0];
        let depot = *depots
            .iter()
            .min_by(|&&a, &&b| dist(g.nodes_m[a], start).total_cmp(&dist(g.nodes_m[b], start)))
            .unwrap_or(&depots[0]);
        plan.vehicles.push(SimVehicle {
            id: id.clone(),
            plate,
            kind,
            unit: community.clone(),
            device,
            route: i,
            depot,
            interval_s: [10, 15, 20, 30][rng.random_range(0..4)],
            noise_m: rng.random_range(3.0..8.0),
            pressure_mpa: rng.random_range(0.25..0.35),
        });
        let street = unit_parent
            .get(community.as_str())
            .map_or(community.clone(), |s| s.to_string());
        let place = unit_name.get(community.as_str()).copied().unwrap_or("");
        plan.routes.push(SimRoute {
            code: format!("r-{:03}", i + 1),
            name: format!("{place}{}{}号线", kind.work_zh(), i + 1),
            unit: street,
            kind,
            vehicles: Some(vec![id]),
            nodes,
            pts,
            cum_m,
            windows,
            schedule_text,
            passes,
            trip_per_window,
            max_work_speed_kmh: kind.max_work_speed_kmh(),
            min_pressure: (kind == VehicleKind::Washer).then_some(0.15),
        });
    }
    // Every other vehicle that is the only one of its kind in its community has its route
    // assigned by kind to that community (`Fleet::routes_of` then finds it for that vehicle
    // alone); the others name their vehicle, for the street above.
    for i in 0..plan.vehicles.len() {
        let v = &plan.vehicles[i];
        let alone = plan
            .vehicles
            .iter()
            .filter(|o| o.kind == v.kind && o.unit == v.unit)
            .count()
            == 1;
        if alone && i % 2 == 0 {
            let unit = v.unit.clone();
            let r = &mut plan.routes[v.route];
            r.vehicles = None;
            r.unit = unit;
        }
    }
    plan.depots = depots;
    plan
}

// ------------------------------------------------------------------------------- writers

/// Writes `vehicles.csv`: `vehicle,plate,kind,unit`.
///
/// # Errors
/// When `out` fails.
pub fn write_vehicles(plan: &FleetPlan, out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["vehicle", "plate", "kind", "unit"])?;
    for v in &plan.vehicles {
        w.write_record([&v.id, &v.plate, v.kind.as_str(), &v.unit])?;
    }
    w.flush()
}

/// Writes `devices.csv`: `device,worker,vehicle`, one row per vehicle terminal (the worker
/// empty; the device a 12-digit JT/T 808 phone number).
///
/// # Errors
/// When `out` fails.
pub fn write_devices(plan: &FleetPlan, out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["device", "worker", "vehicle"])?;
    for v in &plan.vehicles {
        w.write_record([&v.device, "", &v.id])?;
    }
    w.flush()
}

/// Writes `routes.geojson`: one LineString Feature per route with `code`, `name`, `unit`,
/// `kind`, `vehicles` (or none: assigned by kind), `schedule`, `passes`,
/// `max_work_speed_kmh`, `min_pressure` (washers) and `length_m`.
///
/// # Errors
/// When `out` fails.
pub fn write_routes(plan: &FleetPlan, city: &City, mut out: impl Write) -> io::Result<()> {
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    for (i, r) in plan.routes.iter().enumerate() {
        let coords: Vec<serde_json::Value> = r
            .pts
            .iter()
            .map(|p| {
                let [lon, lat] = city.frame.to_lonlat_e7(p[0], p[1]);
                json!([e7_to_deg(lon), e7_to_deg(lat)])
            })
            .collect();
        let mut props = serde_json::Map::new();
        props.insert("code".into(), json!(r.code));
        props.insert("name".into(), json!(r.name));
        props.insert("unit".into(), json!(r.unit));
        props.insert("kind".into(), json!(r.kind.as_str()));
        if let Some(v) = &r.vehicles {
            props.insert("vehicles".into(), json!(v));
        }
        props.insert("schedule".into(), json!(r.schedule_text));
        props.insert("passes".into(), json!(r.passes));
        props.insert("max_work_speed_kmh".into(), json!(r.max_work_speed_kmh));
        if let Some(p) = r.min_pressure {
            props.insert("min_pressure".into(), json!(p));
        }
        props.insert(
            "length_m".into(),
            json!((r.length_m() * 10.0).round() / 10.0),
        );
        let f = json!({
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "LineString", "coordinates": coords},
        });
        serde_json::to_writer(&mut out, &f)?;
        out.write_all(if i + 1 < plan.routes.len() {
            b",\n"
        } else {
            b"\n"
        })?;
    }
    out.write_all(b"]}\n")?;
    out.flush()
}

/// One fix of a vehicle terminal, fixed-point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VehicleRow {
    /// Index of the vehicle in the plan.
    pub vehicle: u32,
    /// UTC seconds.
    pub ts_s: i64,
    /// Longitude, 1e-7 degree.
    pub lon_e7: i64,
    /// Latitude, 1e-7 degree.
    pub lat_e7: i64,
    /// Speed, decimetres per second.
    pub speed_dmps: u32,
    /// Heading, degrees clockwise from north (0..360).
    pub bearing_deg: u16,
    /// Work (brushes, pump) on.
    pub work: bool,
    /// Water pressure, 0.01 MPa (washers only).
    pub pressure_cmpa: Option<u16>,
    /// Ignition (ACC) on.
    pub ignition: bool,
}

/// A timestamp as local RFC 3339 with its offset, e.g. `2026-10-01T05:03:10+08:00`.
pub fn local_rfc3339(ts_s: i64, tz: Tz) -> String {
    DateTime::from_timestamp(ts_s, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Writes `vehicle_pings.csv`: `vehicle,ts,lat,lon,speed,bearing,work,pressure,ignition`.
///
/// # Errors
/// When `out` fails.
pub fn write_vehicle_rows(
    plan: &FleetPlan,
    tz: Tz,
    rows: &[VehicleRow],
    out: &mut impl Write,
) -> io::Result<()> {
    let mut line = String::with_capacity(96);
    for r in rows {
        use std::fmt::Write as _;
        line.clear();
        let _ = write!(
            line,
            "{},{},{},{},{}.{},{},{},",
            plan.vehicles[r.vehicle as usize].id,
            local_rfc3339(r.ts_s, tz),
            fixed7(r.lat_e7),
            fixed7(r.lon_e7),
            r.speed_dmps / 10,
            r.speed_dmps % 10,
            r.bearing_deg,
            u8::from(r.work),
        );
        if let Some(p) = r.pressure_cmpa {
            let _ = write!(line, "{}.{:02}", p / 100, p % 100);
        }
        let _ = writeln!(line, ",{}", u8::from(r.ignition));
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The header of `vehicle_pings.csv`.
pub const VEHICLE_PINGS_HEADER: &str = "vehicle,ts,lat,lon,speed,bearing,work,pressure,ignition\n";

/// 1e-7-degree integers with seven decimals.
fn fixed7(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:07}", a / 10_000_000, a % 10_000_000)
}

// ------------------------------------------------------------------------------- the truth

/// What the fleet really did: `vehicle_truth.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetTruth {
    /// The seed used.
    pub seed: u64,
    /// The first day, `YYYY-MM-DD`.
    pub start: String,
    /// Number of days.
    pub days: usize,
    /// The local time zone.
    pub timezone: String,
    /// The fault rates drawn from.
    pub fault_rates: FaultRates,
    /// The piece length the faults' `pieces` are counted in, metres.
    pub piece_m: f64,
    /// The depots, `[lon, lat]`.
    pub depots: Vec<[f64; 2]>,
    /// One entry per vehicle, in id order.
    pub vehicles: Vec<VehicleTruth>,
}

/// What one vehicle really did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleTruth {
    /// The vehicle id.
    pub vehicle: String,
    /// Its kind.
    pub kind: VehicleKind,
    /// Its terminal's phone number (`devices.csv`).
    pub device: String,
    /// The code of the route it works.
    pub route: String,
    /// The route's length in the simulator's frame, metres.
    pub route_length_m: f64,
    /// The terminal's interval with the ignition on, seconds.
    pub interval_s: u32,
    /// The radius of its GPS error, metres.
    pub gps_error_m: f64,
    /// One entry per day the route is scheduled on.
    pub days: Vec<VehicleDayTruth>,
}

/// One vehicle on its route on one scheduled local day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleDayTruth {
    /// The local date, `YYYY-MM-DD` (a window across midnight belongs to the day it starts on).
    pub day: String,
    /// The route's code.
    pub route: String,
    /// The day's scheduled windows.
    pub windows: Vec<Span>,
    /// The trips: ignition on at the depot to ignition off back there.
    pub trips: Vec<TripTruth>,
    /// The faults injected (at most one).
    pub faults: Vec<FaultTruth>,
    /// Share of the route's length really worked (work on, at most `max_work_speed_kmh`, in a
    /// window) at least once: what a perfect engine finds, but for a quiet terminal (whose
    /// gap hides work that happened).
    pub worked_share: f64,
    /// Share of the length worked so at least `passes` times.
    pub passes_met_share: f64,
    /// Worked length over the length worked with the window condition dropped (`null` when
    /// nothing was worked).
    pub on_schedule_share: Option<f64>,
    /// Time working on the route faster than `max_work_speed_kmh`, seconds.
    pub over_speed_s: f64,
}

/// A period, local RFC 3339 with the offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Start.
    pub start: String,
    /// End.
    pub end: String,
}

/// One trip of a vehicle, local RFC 3339.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripTruth {
    /// Ignition on at the depot.
    pub depart: String,
    /// Work switched on at the route's start.
    pub work_start: String,
    /// Work switched off for the last time.
    pub work_end: String,
    /// Ignition off back at the depot.
    pub back: String,
    /// Passes planned on this trip.
    pub passes: u32,
}

/// An injected fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultTruth {
    /// The route from `from_m` to `to_m` (metres along it) was not worked on any pass:
    /// pieces `pieces[0]..=pieces[1]` of [`TRUTH_PIECE_M`].
    SkippedStreet {
        /// Start of the skipped stretch, metres along the route.
        from_m: f64,
        /// Its end.
        to_m: f64,
        /// First and last piece (of `piece_m`) wholly or partly skipped.
        pieces: [usize; 2],
    },
    /// The work was switched off at `at`, `route_m` metres along the route, and the vehicle
    /// went back to the depot.
    WorkOffEarly {
        /// When.
        at: String,
        /// Where, metres along the route.
        route_m: f64,
        /// The pass it happened on (1-based, over the day's trips).
        pass: u32,
    },
    /// Worked at `speed_kmh` from `start` to `end`.
    TooFast {
        /// Start.
        start: String,
        /// End.
        end: String,
        /// The speed, km/h.
        speed_kmh: f64,
    },
    /// The terminal sent no fix from `start` to `end` (the vehicle kept working).
    Quiet {
        /// Start.
        start: String,
        /// End.
        end: String,
    },
    /// The route was worked from `work_start` to `work_end`, outside the day's windows.
    OutsideWindow {
        /// First work on.
        work_start: String,
        /// Last work off.
        work_end: String,
    },
}

impl FaultTruth {
    /// The fault's kind.
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultTruth::SkippedStreet { .. } => FaultKind::SkippedStreet,
            FaultTruth::WorkOffEarly { .. } => FaultKind::WorkOffEarly,
            FaultTruth::TooFast { .. } => FaultKind::TooFast,
            FaultTruth::Quiet { .. } => FaultKind::Quiet,
            FaultTruth::OutsideWindow { .. } => FaultKind::OutsideWindow,
        }
    }
}

/// The truth's header (no vehicles yet).
pub fn truth_header(plan: &FleetPlan, city: &City, opts: &SimOptions) -> FleetTruth {
    FleetTruth {
        seed: opts.seed,
        start: opts.start.to_string(),
        days: opts.days,
        timezone: opts.tz.name().to_string(),
        fault_rates: opts.vehicle_faults,
        piece_m: TRUTH_PIECE_M,
        depots: plan
            .depots
            .iter()
            .map(|&d| {
                let p = plan.net.nodes_m[d];
                let [lon, lat] = city.frame.to_lonlat_e7(p[0], p[1]);
                [e7_to_deg(lon), e7_to_deg(lat)]
            })
            .collect(),
        vehicles: Vec::with_capacity(plan.vehicles.len()),
    }
}

/// Writes `vehicle_truth.json` (pretty-printed).
///
/// # Errors
/// When `out` fails.
pub fn write_fleet_truth(truth: &FleetTruth, mut out: impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, truth)?;
    out.write_all(b"\n")?;
    out.flush()
}

// ------------------------------------------------------------------------------- trips

/// A waypoint: the vehicle is at `p` at `t`; `acc` and `work` hold from it to the next one.
#[derive(Clone, Copy, Debug)]
struct Wp {
    t: f64,
    p: [f64; 2],
    acc: bool,
    work: bool,
    /// The terminal reports here at once (a state or heading change).
    event: bool,
}

/// A trajectory under construction.
struct Tl {
    wps: Vec<Wp>,
    /// The heading when the terminal last reported a turn.
    dir: Option<[f64; 2]>,
}

impl Tl {
    fn new(t: f64, p: [f64; 2]) -> Tl {
        Tl {
            wps: vec![Wp {
                t,
                p,
                acc: false,
                work: false,
                event: false,
            }],
            dir: None,
        }
    }
    fn last(&self) -> Wp {
        self.wps[self.wps.len() - 1]
    }
    fn now(&self) -> f64 {
        self.last().t
    }
    fn pos(&self) -> [f64; 2] {
        self.last().p
    }
    fn set(&mut self, acc: bool, work: bool) {
        let l = self.last();
        if l.acc != acc || l.work != work {
            self.wps.push(Wp {
                acc,
                work,
                event: true,
                ..l
            });
        }
    }
    fn go(&mut self, p: [f64; 2], speed_mps: f64) {
        let l = self.last();
        let d = sub(p, l.p);
        let len = d[0].hypot(d[1]);
        if len < 1e-6 {
            return;
        }
        // Turned from the heading at the last report on a turn (a slow curve adds up).
        match self.dir {
            Some(u) if turn_deg(u, d) > TURN_REPORT_DEG => {
                let k = self.wps.len() - 1;
                self.wps[k].event = true;
                self.dir = Some(d);
            }
            Some(_) => {}
            None => self.dir = Some(d),
        }
        self.wps.push(Wp {
            t: l.t + len / speed_mps.max(0.1),
            p,
            event: false,
            ..l
        });
    }
    fn stay(&mut self, dur_s: f64) {
        let l = self.last();
        self.wps.push(Wp {
            t: l.t + dur_s.max(0.0),
            event: false,
            ..l
        });
    }
    fn drive(&mut self, g: &StreetGraph, path: &[usize], speed_mps: f64) {
        for &v in path {
            self.go(g.nodes_m[v], speed_mps);
        }
    }
}

/// A stretch of a route worked (or driven over with the work on), for the truth.
#[derive(Clone, Copy, Debug)]
struct Move {
    m0: f64,
    m1: f64,
    t0: f64,
    t1: f64,
    speed_mps: f64,
}

/// What one trip should do.
struct TripSpec {
    passes: u32,
    /// The first pass's number over the day (1-based).
    first_pass: u32,
    v_work: f64,
    v_transit: f64,
    /// A skipped stretch: route node indices, and the way around (`None`: driven through with
    /// the work off).
    skip: Option<(usize, usize, Option<Vec<usize>>)>,
    /// Work off at this share of the trip's working distance.
    off_frac: Option<f64>,
    /// Too fast from this share of the working distance, for this many metres, at this speed.
    fast: Option<(f64, f64, f64)>,
}

/// A trip built from t = 0 at the depot.
struct TripOut {
    wps: Vec<Wp>,
    work_start: f64,
    work_end: f64,
    end: f64,
    moves: Vec<Move>,
    off: Option<(f64, f64, u32)>,
    fast: Option<(f64, f64)>,
}

/// One leg of a trip's work.
enum Leg {
    /// Work the route from node index `.0` to the adjacent `.1`.
    Work(usize, usize),
    /// Drive these network nodes with the work off (around a skipped stretch), then work on.
    Around(Vec<usize>),
    /// Drive the route from `.0` to `.1` with the work off.
    Coast(usize, usize),
    /// Turn around at the route's end for the next pass (pass number after the turn).
    Turn(u32),
}

/// The legs of `passes` passes (forward, back, …) with a skipped stretch.
fn legs(route: &SimRoute, spec: &TripSpec) -> Vec<Leg> {
    let n = route.nodes.len();
    let mut out = Vec::new();
    for k in 0..spec.passes {
        if k > 0 {
            out.push(Leg::Turn(spec.first_pass + k));
        }
        let forward = k % 2 == 0;
        let mut i = if forward { 0 } else { n - 1 };
        loop {
            let next = if forward {
                (i + 1 < n).then_some(i + 1)
            } else {
                i.checked_sub(1)
            };
            let Some(j) = next else { break };
            match &spec.skip {
                Some((a, b, way)) if (forward && i == *a) || (!forward && i == *b) => {
                    let to = if forward { *b } else { *a };
                    match way {
                        Some(path) => {
                            let mut p = path.clone();
                            if !forward {
                                p.reverse();
                            }
                            out.push(Leg::Around(p[1..].to_vec()));
                        }
                        None => out.push(Leg::Coast(i, to)),
                    }
                    i = to;
                }
                _ => {
                    out.push(Leg::Work(i, j));
                    i = j;
                }
            }
        }
    }
    out
}

/// Builds one trip from the depot (t = 0) over the route and back.
fn build_trip(
    rng: &mut ChaCha8Rng,
    g: &StreetGraph,
    route: &SimRoute,
    depot: usize,
    spec: &TripSpec,
) -> TripOut {
    let n = route.nodes.len();
    let mut tl = Tl::new(0.0, g.nodes_m[depot]);
    tl.set(true, false);
    tl.stay(rng.random_range(60.0..180.0));
    let no_ban = |_: usize, _: usize| false;
    let to_start = shortest(g, depot, route.nodes[0], &no_ban).unwrap_or_default();
    tl.drive(g, &to_start, spec.v_transit);
    tl.stay(rng.random_range(10.0..40.0));
    tl.set(true, true);
    let work_start = tl.now();

    let legs = legs(route, spec);
    let total: f64 = legs
        .iter()
        .map(|l| match l {
            Leg::Work(i, j) => (route.cum_m[*j] - route.cum_m[*i]).abs(),
            _ => 0.0,
        })
        .sum();
    let off_d = spec.off_frac.map(|f| f * total);
    let fast = spec
        .fast
        .map(|(from, len, v)| (from * total, from * total + len, v));
    let mut done = 0.0;
    let mut moves = Vec::new();
    let mut off = None;
    let mut fast_span: Option<(f64, f64)> = None;
    let mut pass = spec.first_pass;
    let mut at_node = route.nodes[0];
    'legs: for leg in &legs {
        match leg {
            Leg::Work(i, j) => {
                let (pi, pj) = (route.pts[*i], route.pts[*j]);
                let len = (route.cum_m[*j] - route.cum_m[*i]).abs();
                let sign = if j > i { 1.0 } else { -1.0 };
                let mut cuts = vec![0.0, len];
                for d in [off_d, fast.map(|f| f.0), fast.map(|f| f.1)]
                    .into_iter()
                    .flatten()
                {
                    if d > done && d < done + len {
                        cuts.push(d - done);
                    }
                }
                cuts.sort_by(f64::total_cmp);
                for c in cuts.windows(2) {
                    let (c0, c1) = (c[0], c[1]);
                    if c1 - c0 < 1e-9 {
                        continue;
                    }
                    if off_d.is_some_and(|o| done + c0 >= o - 1e-9) {
                        tl.set(true, false);
                        off = Some((tl.now(), route.cum_m[*i] + sign * c0, pass));
                        at_node = route.nodes[*j];
                        tl.go(pj, spec.v_work);
                        break 'legs;
                    }
                    let mid = done + (c0 + c1) / 2.0;
                    let speed = match fast {
                        Some((f0, f1, v)) if mid >= f0 && mid < f1 => v,
                        _ => spec.v_work,
                    };
                    let f = c1 / len;
                    let p = [pi[0] + f * (pj[0] - pi[0]), pi[1] + f * (pj[1] - pi[1])];
                    let t0 = tl.now();
                    tl.go(p, speed);
                    if speed != spec.v_work {
                        let s = fast_span.map_or(t0, |s| s.0);
                        fast_span = Some((s, tl.now()));
                    }
                    moves.push(Move {
                        m0: route.cum_m[*i] + sign * c0,
                        m1: route.cum_m[*i] + sign * c1,
                        t0,
                        t1: tl.now(),
                        speed_mps: speed,
                    });
                }
                done += len;
                at_node = route.nodes[*j];
            }
            Leg::Around(path) => {
                tl.set(true, false);
                tl.drive(g, path, spec.v_transit * 0.6);
                tl.set(true, true);
                at_node = path.last().copied().unwrap_or(at_node);
            }
            Leg::Coast(i, j) => {
                tl.set(true, false);
                let range: Vec<usize> = if j > i {
                    (*i + 1..=*j).collect()
                } else {
                    (*j..*i).rev().collect()
                };
                for k in range {
                    tl.go(route.pts[k], spec.v_work);
                }
                tl.set(true, true);
                at_node = route.nodes[*j];
            }
            Leg::Turn(next_pass) => {
                // Around the next junction off the route and back, so the last pieces are
                // left and met again (a U-turn on the route itself would be one visit).
                tl.set(true, false);
                let end = at_node;
                let here = tl.pos();
                match way_off(g, route, end) {
                    Some(path) => {
                        tl.drive(g, &path, 4.0);
                        tl.stay(rng.random_range(5.0..20.0));
                        for &v in path.iter().rev().skip(1) {
                            tl.go(g.nodes_m[v], 4.0);
                        }
                    }
                    None => {
                        let k = if end == route.nodes[n - 1] { n - 2 } else { 1 };
                        let d = sub(here, route.pts[k]);
                        let l = d[0].hypot(d[1]).max(1e-9);
                        tl.go([here[0] + d[0] / l * 40.0, here[1] + d[1] / l * 40.0], 4.0);
                        tl.stay(rng.random_range(5.0..20.0));
                    }
                }
                tl.go(here, 4.0);
                tl.set(true, true);
                pass = *next_pass;
            }
        }
    }
    tl.set(true, false);
    let work_end = tl.now();
    tl.stay(rng.random_range(10.0..30.0));
    let back = shortest(g, at_node, depot, &no_ban).unwrap_or_default();
    if tl.pos() != g.nodes_m[at_node] {
        tl.go(g.nodes_m[at_node], spec.v_transit);
    }
    tl.drive(g, &back, spec.v_transit);
    tl.stay(rng.random_range(30.0..120.0));
    tl.set(false, false);
    TripOut {
        end: tl.now(),
        wps: tl.wps,
        work_start,
        work_end,
        moves,
        off,
        fast: fast_span,
    }
}

/// A skipped stretch of 15–30 % of the route (route node indices), with at least 50 m worked
/// on either side, and the way around it (`None` when there is none under 3 km).
fn pick_skip(
    rng: &mut ChaCha8Rng,
    g: &StreetGraph,
    route: &SimRoute,
) -> Option<(usize, usize, Option<Vec<usize>>)> {
    let n = route.nodes.len();
    let l = route.length_m();
    if n < 4 {
        return None;
    }
    for _ in 0..40 {
        let a = rng.random_range(1..n - 2);
        if route.cum_m[a] < 50.0 {
            continue;
        }
        let Some(b) = (a + 1..n - 1).find(|&b| route.cum_m[b] - route.cum_m[a] >= 0.15 * l) else {
            continue;
        };
        if route.cum_m[b] - route.cum_m[a] > 0.3 * l || l - route.cum_m[b] < 50.0 {
            continue;
        }
        let inner: HashSet<usize> = route.nodes[a + 1..b].iter().copied().collect();
        let ends = (route.nodes[a], route.nodes[b]);
        let on_stretch: HashSet<(usize, usize)> = route.nodes[a..=b]
            .windows(2)
            .flat_map(|w| [(w[0], w[1]), (w[1], w[0])])
            .collect();
        let banned = |u: usize, v: usize| inner.contains(&v) || on_stretch.contains(&(u, v));
        let way = shortest(g, ends.0, ends.1, &banned).filter(|p| {
            p.windows(2)
                .map(|w| dist(g.nodes_m[w[0]], g.nodes_m[w[1]]))
                .sum::<f64>()
                < 3000.0
        });
        return Some((a, b, way));
    }
    None
}

/// The day's fault, as drawn and then placed.
enum DayFault {
    Skip(usize, usize, Option<Vec<usize>>),
    OffEarly(f64),
    TooFast(f64, f64),
    Quiet(f64, f64),
    Outside,
}

/// Simulates one vehicle over the whole run: its rows (in time order) and its truth.
pub fn simulate_vehicle(
    plan: &FleetPlan,
    city: &City,
    opts: &SimOptions,
    v: usize,
) -> (Vec<VehicleRow>, VehicleTruth) {
    let veh = &plan.vehicles[v];
    let route = &plan.routes[veh.route];
    let g = &plan.net;
    let tz = opts.tz;
    let schedule = Schedule {
        windows: route.windows.clone(),
    };
    let midnight = |d: usize| -> i64 {
        let date = opts.start + chrono::Days::new(d as u64);
        crate::model::local_midnight_ms(date, tz).unwrap_or(0) / 1000
    };
    let t_begin = midnight(0) as f64;
    let mut timeline: Vec<Wp> = vec![Wp {
        t: t_begin,
        p: g.nodes_m[veh.depot],
        acc: false,
        work: false,
        event: false,
    }];
    let mut quiet: Vec<(f64, f64)> = Vec::new();
    let mut days = Vec::new();
    let (w_lo, w_hi) = veh.kind.work_speed_kmh();

    for d in 0..opts.days {
        let date = opts.start + chrono::Days::new(d as u64);
        let intervals: Vec<(f64, f64)> = schedule
            .intervals(date, tz)
            .into_iter()
            .map(|(a, b)| (a as f64 / 1000.0, b as f64 / 1000.0))
            .collect();
        if intervals.is_empty() {
            continue;
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[FLEET_STREAM, 1, v as u64, d as u64]));
        let trips: Vec<(f64, f64)> = if route.trip_per_window {
            intervals.clone()
        } else {
            vec![intervals[0]]
        };
        let passes_per_trip = if route.trip_per_window {
            1
        } else {
            route.passes
        };
        let kind = opts.vehicle_faults.pick(rng.random_range(0.0..1.0));
        let mut fault = match kind {
            Some(FaultKind::SkippedStreet) => {
                pick_skip(&mut rng, g, route).map(|(a, b, w)| DayFault::Skip(a, b, w))
            }
            Some(FaultKind::WorkOffEarly) => Some(DayFault::OffEarly(rng.random_range(0.5..0.8))),
            Some(FaultKind::TooFast) => Some(DayFault::TooFast(
                rng.random_range(0.1..0.3),
                route.max_work_speed_kmh * rng.random_range(1.5..2.0) / 3.6,
            )),
            Some(FaultKind::Quiet) => Some(DayFault::Quiet(
                rng.random_range(0.2..0.5),
                rng.random_range(180.0..600.0),
            )),
            Some(FaultKind::OutsideWindow) => Some(DayFault::Outside),
            None => None,
        };
        let mut moves: Vec<Move> = Vec::new();
        let mut trip_truth = Vec::new();
        let mut faults = Vec::new();
        let mut first_pass = 1;
        let last_trip = trips.len() - 1;
        for (k, &(w0, w1)) in trips.iter().enumerate() {
            let v_work = rng.random_range(w_lo..w_hi) / 3.6;
            let mut spec = TripSpec {
                passes: passes_per_trip,
                first_pass,
                v_work,
                v_transit: rng.random_range(20.0..40.0) / 3.6,
                skip: None,
                off_frac: None,
                fast: None,
            };
            match &fault {
                Some(DayFault::Skip(a, b, way)) => spec.skip = Some((*a, *b, way.clone())),
                Some(DayFault::OffEarly(f)) if k == last_trip => spec.off_frac = Some(*f),
                Some(DayFault::TooFast(from, v_fast)) if k == last_trip => {
                    let total = route.length_m() * f64::from(passes_per_trip);
                    let room = total * (1.0 - from) - 20.0;
                    let mut v_fast = *v_fast;
                    let mut len = (0.3 * total).max(150.0 * v_fast);
                    if len > room {
                        len = room.max(0.0);
                        v_fast = (len / 150.0).max(route.max_work_speed_kmh * 1.3 / 3.6);
                    }
                    spec.fast = Some((*from, len, v_fast));
                }
                _ => {}
            }
            let trip = build_trip(&mut rng, g, route, veh.depot, &spec);
            let work_len = trip.work_end - trip.work_start;
            // When: work starts 1–15 min into the window (so it ends well inside it), or for
            // a fault well before (a window across midnight) or after it.
            let outside = matches!(fault, Some(DayFault::Outside));
            let work_start_abs = if outside {
                if w1 - w0 > 0.0 && route.windows.iter().any(|w| w.end_min <= w.start_min) {
                    w0 - rng.random_range(900.0..3600.0) - work_len
                } else {
                    w1 + rng.random_range(900.0..3600.0)
                }
            } else {
                let s = w0 + rng.random_range(60.0..900.0);
                if s + work_len > w1 - 120.0 {
                    w0 + 60.0
                } else {
                    s
                }
            };
            let offset = (work_start_abs - trip.work_start).round();
            let prev_end = timeline[timeline.len() - 1].t;
            let offset = offset.max(prev_end + 60.0);
            for wp in &trip.wps {
                timeline.push(Wp {
                    t: wp.t + offset,
                    ..*wp
                });
            }
            moves.extend(trip.moves.iter().map(|m| Move {
                t0: m.t0 + offset,
                t1: m.t1 + offset,
                ..*m
            }));
            let ts = |t: f64| local_rfc3339(t.round() as i64, tz);
            trip_truth.push(TripTruth {
                depart: ts(offset),
                work_start: ts(trip.work_start + offset),
                work_end: ts(trip.work_end + offset),
                back: ts(trip.end + offset),
                passes: spec.passes,
            });
            if let Some((t, m, pass)) = trip.off {
                faults.push(FaultTruth::WorkOffEarly {
                    at: ts(t + offset),
                    route_m: round1(m),
                    pass,
                });
            }
            if let (Some((t0, t1)), Some((_, _, v))) = (trip.fast, spec.fast) {
                faults.push(FaultTruth::TooFast {
                    start: ts(t0 + offset),
                    end: ts(t1 + offset),
                    speed_kmh: round1(v * 3.6),
                });
            }
            if k == last_trip {
                if let Some(DayFault::Quiet(f, len)) = fault {
                    let a = (trip.work_start + f * work_len + offset).round();
                    let b = (a + len.min(0.45 * work_len).max(150.0))
                        .min(trip.end + offset - 30.0)
                        .round();
                    quiet.push((a, b));
                    faults.push(FaultTruth::Quiet {
                        start: ts(a),
                        end: ts(b),
                    });
                }
                if outside {
                    faults.push(FaultTruth::OutsideWindow {
                        work_start: trip_truth[0].work_start.clone(),
                        work_end: ts(trip.work_end + offset),
                    });
                }
            }
            first_pass += spec.passes;
        }
        if let Some(DayFault::Skip(a, b, _)) = fault.take() {
            let (m0, m1) = (route.cum_m[a], route.cum_m[b]);
            faults.insert(
                0,
                FaultTruth::SkippedStreet {
                    from_m: round1(m0),
                    to_m: round1(m1),
                    pieces: [
                        (m0 / TRUTH_PIECE_M) as usize,
                        ((m1 / TRUTH_PIECE_M).ceil() as usize).saturating_sub(1),
                    ],
                },
            );
        }
        let figures = day_figures(route, &moves, &intervals);
        days.push(VehicleDayTruth {
            day: date.to_string(),
            route: route.code.clone(),
            windows: intervals
                .iter()
                .map(|&(a, b)| Span {
                    start: local_rfc3339(a as i64, tz),
                    end: local_rfc3339(b as i64, tz),
                })
                .collect(),
            trips: trip_truth,
            faults,
            worked_share: figures.0,
            passes_met_share: figures.1,
            on_schedule_share: figures.2,
            over_speed_s: figures.3,
        });
    }
    let t_end = (midnight(opts.days) as f64).max(timeline[timeline.len() - 1].t + 600.0);
    let last = timeline[timeline.len() - 1];
    timeline.push(Wp {
        t: t_end,
        event: false,
        ..last
    });

    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[FLEET_STREAM, 2, v as u64]));
    let rows = report(&mut rng, plan, city, v, &timeline, &quiet);
    let truth = VehicleTruth {
        vehicle: veh.id.clone(),
        kind: veh.kind,
        device: veh.device.clone(),
        route: route.code.clone(),
        route_length_m: round1(route.length_m()),
        interval_s: veh.interval_s as u32,
        gps_error_m: round1(veh.noise_m),
        days,
    };
    (rows, truth)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The true figures of a day from its moves on the route: worked share, passes met, on
/// schedule, over speed (a 1 m lattice along the route).
fn day_figures(
    route: &SimRoute,
    moves: &[Move],
    windows: &[(f64, f64)],
) -> (f64, f64, Option<f64>, f64) {
    let n = route.length_m().round().max(1.0) as usize;
    let mut in_window = vec![0u16; n];
    let mut any_time = vec![0u16; n];
    let max_mps = route.max_work_speed_kmh / 3.6;
    let mut over_s = 0.0;
    for m in moves {
        if m.speed_mps > max_mps {
            over_s += m.t1 - m.t0;
            continue;
        }
        let (lo, hi) = (m.m0.min(m.m1), m.m0.max(m.m1));
        let first = lo.round() as usize;
        let last = (hi.round() as usize).min(n);
        for k in first..last {
            let x = k as f64 + 0.5;
            let f = if (m.m1 - m.m0).abs() > 1e-9 {
                (x - m.m0) / (m.m1 - m.m0)
            } else {
                0.0
            };
            let t = m.t0 + f.clamp(0.0, 1.0) * (m.t1 - m.t0);
            any_time[k] += 1;
            if windows.iter().any(|&(a, b)| a <= t && t < b) {
                in_window[k] += 1;
            }
        }
    }
    let share = |v: &[u16], min: u16| v.iter().filter(|&&c| c >= min).count() as f64 / n as f64;
    let worked = share(&in_window, 1);
    let any = share(&any_time, 1);
    let passes = u16::try_from(route.passes).unwrap_or(u16::MAX);
    let round4 = |v: f64| (v * 1e4).round() / 1e4;
    (
        round4(worked),
        round4(share(&in_window, passes)),
        (any > 0.0).then(|| round4(worked / any)),
        round1(over_s),
    )
}

/// What the terminal reported of a vehicle's timeline: a fix every `interval_s` with the
/// ignition on, every [`SLEEP_INTERVAL_S`] with it off, at once on every event; none in the
/// quiet spans; GPS error; some fixes sent twice.
fn report(
    rng: &mut ChaCha8Rng,
    plan: &FleetPlan,
    city: &City,
    v: usize,
    wps: &[Wp],
    quiet: &[(f64, f64)],
) -> Vec<VehicleRow> {
    let veh = &plan.vehicles[v];
    let mut events: Vec<i64> = wps
        .iter()
        .filter(|w| w.event)
        .map(|w| w.t.ceil() as i64)
        .collect();
    events.sort_unstable();
    events.dedup();
    let t0 = wps[0].t.ceil() as i64;
    let t_end = wps[wps.len() - 1].t.floor() as i64;
    let mut rows = Vec::new();
    let mut k = 0usize;
    let mut ei = 0usize;
    let mut t = t0;
    let mut bearing = 0.0f64;
    let sigma = veh.noise_m / 2.0;
    let mut bias = [0.0f64; 2];
    let mut last_fix = t0;
    let tau = 120.0;
    loop {
        // The waypoint the time is in (the last of equal times: its state holds).
        while k + 1 < wps.len() && wps[k + 1].t <= t as f64 {
            k += 1;
        }
        let a = wps[k];
        let (p, speed) = match wps.get(k + 1) {
            Some(b) if b.t > a.t && b.t > t as f64 => {
                let f = (t as f64 - a.t) / (b.t - a.t);
                let d = dist(a.p, b.p);
                if d > 1e-6 {
                    bearing = (b.p[0] - a.p[0]).atan2(b.p[1] - a.p[1]).to_degrees();
                }
                (
                    [
                        a.p[0] + f * (b.p[0] - a.p[0]),
                        a.p[1] + f * (b.p[1] - a.p[1]),
                    ],
                    d / (b.t - a.t),
                )
            }
            _ => (a.p, 0.0),
        };
        let silent = quiet
            .iter()
            .any(|&(q0, q1)| (t as f64) > q0 && (t as f64) < q1);
        if !silent {
            let dt = (t - last_fix).max(1) as f64;
            last_fix = t;
            let keep = (-dt / tau).exp();
            let fresh = (1.0 - keep * keep).sqrt() * sigma;
            for b in &mut bias {
                let z: f64 = rng.sample(StandardNormal);
                *b = *b * keep + fresh * z;
            }
            let r = bias[0].hypot(bias[1]);
            if r > veh.noise_m {
                bias = [bias[0] / r * veh.noise_m, bias[1] / r * veh.noise_m];
            }
            let (wx, wy): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
            let [lon, lat] = city
                .frame
                .to_lonlat_e7(p[0] + bias[0] + 0.5 * wx, p[1] + bias[1] + 0.5 * wy);
            let reported = if speed > 0.05 {
                let z: f64 = rng.sample(StandardNormal);
                (speed + 0.1 * z).max(0.0)
            } else {
                0.0
            };
            let pressure = (veh.kind == VehicleKind::Washer).then(|| {
                if a.work {
                    let z: f64 = rng.sample(StandardNormal);
                    ((veh.pressure_mpa + 0.015 * z).clamp(0.2, 0.4) * 100.0).round() as u16
                } else {
                    0
                }
            });
            let row = VehicleRow {
                vehicle: v as u32,
                ts_s: t,
                lon_e7: lon,
                lat_e7: lat,
                speed_dmps: (reported * 10.0).round() as u32,
                bearing_deg: (bearing.rem_euclid(360.0).round() as u16) % 360,
                work: a.work,
                pressure_cmpa: pressure,
                ignition: a.acc,
            };
            rows.push(row);
            if rng.random_bool(0.005) {
                rows.push(row);
            }
        }
        let step = if a.acc {
            veh.interval_s
        } else {
            SLEEP_INTERVAL_S
        };
        while ei < events.len() && events[ei] <= t {
            ei += 1;
        }
        let next = events.get(ei).map_or(t + step, |&e| e.min(t + step));
        if next > t_end {
            break;
        }
        t = next;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn small() -> SimOptions {
        SimOptions {
            workers: 20,
            days: 3,
            vehicles: 4,
            start: NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
            ..SimOptions::default()
        }
    }

    #[test]
    fn fault_rates_parse_one_share_or_pairs_and_refuse_more_than_one_in_all() {
        assert_eq!(FaultRates::parse("0.2").unwrap(), FaultRates::uniform(0.2));
        let r = FaultRates::parse("quiet=0.5, too_fast=0").unwrap();
        assert_eq!(r.quiet, 0.5);
        assert_eq!(r.too_fast, 0.0);
        assert_eq!(r.skipped_street, 0.1);
        assert!(FaultRates::parse("0.3").unwrap_err().contains("add up"));
        assert!(FaultRates::parse("slow=0.1").unwrap_err().contains("slow"));
        assert!(FaultRates::parse("quiet=2").is_err());
        assert_eq!(FaultRates::uniform(0.1).pick(0.99), None);
        assert_eq!(
            FaultRates::uniform(0.2).pick(0.99),
            Some(FaultKind::OutsideWindow)
        );
        assert_eq!(
            FaultRates::uniform(0.2).pick(0.1),
            Some(FaultKind::SkippedStreet)
        );
    }

    #[test]
    fn routes_are_connected_chains_of_streets_1_to_4_km_long() {
        let opts = small();
        let city = super::super::generate_city(&opts).unwrap();
        let plan = plan_fleet(&city, &opts);
        assert_eq!(plan.len(), 4);
        for r in &plan.routes {
            let l = r.length_m();
            assert!((1000.0..=4200.0).contains(&l), "{}: {l} m", r.code);
            for w in r.nodes.windows(2) {
                assert!(
                    plan.net.adj[w[0]].iter().any(|&(v, _)| v as usize == w[1]),
                    "{}: not a street",
                    r.code
                );
            }
            let distinct: HashSet<usize> = r.nodes.iter().copied().collect();
            assert_eq!(distinct.len(), r.nodes.len());
        }
        assert!(plan
            .routes
            .iter()
            .any(|r| r.windows.iter().any(|w| w.end_min <= w.start_min)));
    }

    #[test]
    fn a_fault_free_day_works_the_whole_route_in_its_window_and_reports_as_promised() {
        let opts = SimOptions {
            vehicle_faults: FaultRates::uniform(0.0),
            ..small()
        };
        let city = super::super::generate_city(&opts).unwrap();
        let plan = plan_fleet(&city, &opts);
        for v in 0..plan.len() {
            let (rows, truth) = simulate_vehicle(&plan, &city, &opts, v);
            assert!(!truth.days.is_empty());
            for d in &truth.days {
                assert!(d.faults.is_empty());
                assert_eq!(d.worked_share, 1.0, "{} {}", truth.vehicle, d.day);
                assert_eq!(d.passes_met_share, 1.0, "{} {}", truth.vehicle, d.day);
                assert_eq!(d.on_schedule_share, Some(1.0));
                assert_eq!(d.over_speed_s, 0.0);
            }
            // Time order, and never longer apart than the parked interval.
            for w in rows.windows(2) {
                assert!(w[1].ts_s >= w[0].ts_s);
                assert!(w[1].ts_s - w[0].ts_s <= SLEEP_INTERVAL_S);
                if w[0].ignition && w[1].ignition {
                    assert!(w[1].ts_s - w[0].ts_s <= plan.vehicles[v].interval_s);
                }
            }
            assert!(rows.iter().any(|r| r.work && r.ignition));
            assert!(rows.iter().all(|r| !r.work || r.ignition));
            let washer = plan.vehicles[v].kind == VehicleKind::Washer;
            assert!(rows.iter().all(|r| r.pressure_cmpa.is_some() == washer));
        }
    }

    #[test]
    fn timestamps_carry_the_local_offset() {
        assert_eq!(
            local_rfc3339(1_791_423_000, chrono_tz::Asia::Shanghai),
            "2026-10-08T09:30:00+08:00"
        );
        assert_eq!(fixed7(-282_012_345), "-28.2012345");
        assert_eq!(fixed7(5), "0.0000005");
    }
}
