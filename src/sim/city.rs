//! The synthetic city: a jittered street lattice (`lattice.rs`), grids that are unions of
//! lattice blocks (so they tile the city exactly and their edges follow streets), the
//! administrative hierarchy above them, workers, checkpoints and the street graph each worker
//! walks (`streets.rs`).
//!
//! Everything is built in a local metric frame ([`LocalFrame`]) and converted to lon/lat once
//! per lattice vertex, so grids that share an edge share bit-identical vertices.

use geo::{Contains, Coord, LineString, Point, Polygon};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::frame::LocalFrame;
use super::lattice::{hilbert_d, lattice_graph, partition, removed_lattice_edges, Lattice, Rect};
use super::names;
use super::streets::{
    file_graph, nearest_node, offset_towards, StreetGraph, Streets, StreetsError,
};
use super::{mix_seed, SimOptions};
use crate::model::{Level, UnitCode, WorkerId};

/// Longitude of the synthetic city's centre (Changsha).
pub const CITY_LON: f64 = 112.98;
/// Latitude of the synthetic city's centre (Changsha).
pub const CITY_LAT: f64 = 28.20;

/// Mean spacing of the street lattice, metres.
const SPACING_M: f64 = 100.0;

/// One administrative unit of the hierarchy (DESIGN.md §2).
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// The unit's code, e.g. `430102001`.
    pub code: UnitCode,
    /// The unit's name, e.g. `定王台街道`.
    pub name: String,
    /// The unit's level.
    pub level: Level,
    /// The parent's code (`None` for the city).
    pub parent: Option<UnitCode>,
}

/// A grid: a leaf unit with a polygon.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The grid's code (15 digits here, but never assume a length).
    pub code: UnitCode,
    /// The grid's name, e.g. `第3网格`.
    pub name: String,
    /// The community it belongs to.
    pub parent: UnitCode,
    /// The closed outer ring in lon/lat, in units of 1e-7 degree, counter-clockwise.
    pub ring_e7: Vec<[i64; 2]>,
    /// The same polygon in the local metric frame.
    pub polygon_m: Polygon<f64>,
    /// The polygon's area, square metres.
    pub area_m2: f64,
}

/// What a worker really does, recorded in `truth.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Patrols the whole shift, covers the grid, visits the checkpoints.
    Diligent,
    /// Short patrols near one spot, long breaks.
    Lazy,
    /// Spends 1–3 h a day outside the assigned grid.
    OutOfGrid,
    /// Leaves the phone on a desk for 1–3 h while "on patrol".
    StaticDevice,
    /// From some day on, replays an earlier day's track shifted in time.
    Replay,
    /// Uses a fake-location app: teleport-like jumps, some pings flagged mock.
    Mock,
}

impl Label {
    /// The label as written in `truth.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Diligent => "diligent",
            Label::Lazy => "lazy",
            Label::OutOfGrid => "out_of_grid",
            Label::StaticDevice => "static_device",
            Label::Replay => "replay",
            Label::Mock => "mock",
        }
    }
}

/// When a worker patrols, recorded in `truth.json` (`"day"` / `"night"`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Shift {
    /// About 08:30–17:30 local (lazy workers about 09:15–16:00).
    #[default]
    Day,
    /// Across local midnight: about 20:00–06:00 or 22:00–04:00 local; the shift belongs to
    /// the local day it starts on.
    Night,
}

/// How the worker's phone app reports, recorded in `truth.json`
/// (`"continuous"` / `"sparse"`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AppMode {
    /// A fix every reporting interval.
    #[default]
    Continuous,
    /// One fix per checkpoint visit, carrying the check-in (as the 海兰江e站 app of Longjing
    /// does: the platform joins the check-in points into a line).
    Sparse,
}

/// A grid worker (网格员) with the grids they are assigned to.
#[derive(Clone, Debug)]
pub struct Worker {
    /// The worker id, e.g. `w-0001`.
    pub id: WorkerId,
    /// The worker's name.
    pub name: String,
    /// Indices into [`City::grids`] (one or two).
    pub grids: Vec<usize>,
    /// What the worker really does.
    pub label: Label,
    /// Day or night shifts (see [`assign_modes`]).
    pub shift: Shift,
    /// Continuous or check-in-only reporting (see [`assign_modes`]).
    pub app: AppMode,
}

/// Whether a checkpoint is a household or a key site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// A household to look after, e.g. an elderly person living alone (独居老人).
    Household,
    /// A key site (重点部位), e.g. a petrol station.
    KeySite,
}

impl CheckpointKind {
    /// The kind as written in `checkpoints.geojson`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Household => "household",
            CheckpointKind::KeySite => "key_site",
        }
    }
}

/// A place that must be visited a number of times per month.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The checkpoint code, e.g. `cp-0042`.
    pub code: String,
    /// The checkpoint's name.
    pub name: String,
    /// Index into [`City::grids`].
    pub grid: usize,
    /// Household or key site.
    pub kind: CheckpointKind,
    /// Required visits per month.
    pub visits_per_month: u32,
    /// Position in the local metric frame.
    pub pos_m: [f64; 2],
    /// Index of the nearest node of the grid's street graph.
    pub node: usize,
}

/// The synthetic city: units, grids, workers, checkpoints and street graphs.
#[derive(Clone, Debug)]
pub struct City {
    /// The metric frame every `_m` coordinate is in.
    pub frame: LocalFrame,
    /// Every non-grid unit, from the city down to communities.
    pub units: Vec<Unit>,
    /// The grids, in code order.
    pub grids: Vec<Grid>,
    /// The workers, in id order.
    pub workers: Vec<Worker>,
    /// The checkpoints, in code order.
    pub checkpoints: Vec<Checkpoint>,
    /// The street graph of each grid (same index as `grids`).
    pub graphs: Vec<StreetGraph>,
    /// Checkpoint indices of each grid (same index as `grids`).
    pub grid_checkpoints: Vec<Vec<usize>>,
    /// The outer boundary of the city (the union of the grids) in lon/lat, 1e-7 degree.
    pub outline_e7: Vec<[i64; 2]>,
    /// The city's bounding box in metres: min x, min y, max x, max y.
    pub bbox_m: [f64; 4],
}

/// Builds the city for `opts`: on a generated street lattice, or over the extent of
/// `streets` when given.
pub fn build_city(opts: &SimOptions, streets: Option<&Streets>) -> Result<City, StreetsError> {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0xC17]));
    let target_grids = ((opts.workers as f64 / 1.5).round() as usize).max(1);

    // Frame, lattice and (for a streets file) the street nodes in metres.
    let (frame, lattice, file_streets) = match streets {
        None => {
            let side = ((target_grids as f64 * 16.0).sqrt().round() as usize).max(3);
            let size = side as f64 * SPACING_M * 1.025;
            let lattice = Lattice::new(&mut rng, side, side, [-size / 2.0, -size / 2.0], SPACING_M);
            (LocalFrame::new(CITY_LON, CITY_LAT), lattice, None)
        }
        Some(s) => {
            let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
            for p in &s.nodes_lonlat {
                for k in 0..2 {
                    lo[k] = lo[k].min(p[k]);
                    hi[k] = hi[k].max(p[k]);
                }
            }
            let frame = LocalFrame::new((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
            let a = frame.to_m(lo[0], lo[1]);
            let b = frame.to_m(hi[0], hi[1]);
            let (w, h) = (b[0] - a[0], b[1] - a[1]);
            if w < 300.0 || h < 300.0 {
                return Err(StreetsError::TooSmall {
                    file: s.source.clone(),
                    width_m: w,
                    height_m: h,
                });
            }
            // Blocks sized so that the grid count follows --workers, within the area bounds.
            let spacing =
                ((w * h / (target_grids as f64 * 16.0)).sqrt() / 1.025).clamp(85.0, 135.0);
            let nx = ((w / (spacing * 1.025)).round() as usize).max(3);
            let ny = ((h / (spacing * 1.025)).round() as usize).max(3);
            let lattice = Lattice::new(&mut rng, nx, ny, a, spacing);
            let nodes_m: Vec<[f64; 2]> = s
                .nodes_lonlat
                .iter()
                .map(|p| frame.to_m(p[0], p[1]))
                .collect();
            (frame, lattice, Some((nodes_m, s.edges.clone())))
        }
    };

    // Grid rectangles: column bands of 3–5 blocks, each cut into rows of 3–5 blocks.
    let mut rects: Vec<Rect> = Vec::new();
    let mut i0 = 0;
    for bw in partition(&mut rng, lattice.nx, 3, 5) {
        let mut j0 = 0;
        for bh in partition(&mut rng, lattice.ny, 3, 5) {
            rects.push([i0, i0 + bw, j0, j0 + bh]);
            j0 += bh;
        }
        i0 += bw;
    }
    // Order grids along a Hilbert curve so that consecutive grids are neighbours and the
    // communities, streets and districts cut from that order are compact.
    let order = (lattice.nx.max(lattice.ny) * 2)
        .next_power_of_two()
        .trailing_zeros();
    rects.sort_by_key(|r| hilbert_d(order, (r[0] + r[1]) as u64, (r[2] + r[3]) as u64));

    // Lon/lat of every lattice vertex, computed once so that shared vertices are identical.
    let verts_e7: Vec<[i64; 2]> = lattice
        .verts_m
        .iter()
        .map(|v| frame.to_lonlat_e7(v[0], v[1]))
        .collect();

    // Hierarchy: communities of 4–6 grids, streets of 3–5 communities, districts of 2–4 streets.
    let comm_sizes = partition(&mut rng, rects.len(), 4, 6);
    let street_sizes = partition(&mut rng, comm_sizes.len(), 3, 5);
    let district_sizes = partition(&mut rng, street_sizes.len(), 2, 4);
    let city_code = "430100";
    let mut units = vec![Unit {
        code: UnitCode::new(city_code),
        name: "长沙市".into(),
        level: Level::City,
        parent: None,
    }];
    let mut grids = Vec::with_capacity(rects.len());
    let mut grid_rects = Vec::with_capacity(rects.len());
    let (mut gi, mut ci, mut si) = (0usize, 0usize, 0usize);
    for (d, &n_streets) in district_sizes.iter().enumerate() {
        let (dcode, dname) = names::district(d, district_sizes.len());
        units.push(Unit {
            code: UnitCode::new(&dcode),
            name: dname,
            level: Level::District,
            parent: Some(UnitCode::new(city_code)),
        });
        for s in 0..n_streets {
            let scode = format!("{dcode}{:03}", s + 1);
            units.push(Unit {
                code: UnitCode::new(&scode),
                name: names::street(si),
                level: Level::Street,
                parent: Some(UnitCode::new(&dcode)),
            });
            for c in 0..street_sizes[si] {
                let ccode = format!("{scode}{:03}", c + 1);
                units.push(Unit {
                    code: UnitCode::new(&ccode),
                    name: names::community(ci),
                    level: Level::Community,
                    parent: Some(UnitCode::new(&scode)),
                });
                for g in 0..comm_sizes[ci] {
                    let r = rects[gi];
                    let ring_ids = lattice.rect_ring(r[0], r[1], r[2], r[3]);
                    let ring_e7: Vec<[i64; 2]> = ring_ids.iter().map(|&v| verts_e7[v]).collect();
                    let ring_m: Vec<Coord<f64>> = ring_ids
                        .iter()
                        .map(|&v| Coord {
                            x: lattice.verts_m[v][0],
                            y: lattice.verts_m[v][1],
                        })
                        .collect();
                    let polygon_m = Polygon::new(LineString::new(ring_m), vec![]);
                    let area_m2 = geo::Area::unsigned_area(&polygon_m);
                    grids.push(Grid {
                        code: UnitCode::new(&format!("{ccode}{:03}", g + 1)),
                        name: format!("第{}网格", g + 1),
                        parent: UnitCode::new(&ccode),
                        ring_e7,
                        polygon_m,
                        area_m2,
                    });
                    grid_rects.push(r);
                    gi += 1;
                }
                ci += 1;
            }
            si += 1;
        }
    }

    // The street graph of each grid.
    let removed = removed_lattice_edges(&mut rng, &lattice, &grid_rects);
    let mut graphs: Vec<StreetGraph> = grid_rects
        .iter()
        .map(|r| lattice_graph(&lattice, r, &removed))
        .collect();
    if let Some((nodes_m, edges)) = &file_streets {
        for (g, grid) in grids.iter().enumerate() {
            let fg = file_graph(nodes_m, edges, &grid.polygon_m);
            // A grid over water or a park may hold no walkable street: keep the lattice there.
            if fg.n_edges >= 4 {
                graphs[g] = fg;
            }
        }
    }
    for (graph, grid) in graphs.iter_mut().zip(&grids) {
        let c = geo::Centroid::centroid(&grid.polygon_m);
        graph.centroid_m = c.map(|p| [p.x(), p.y()]).unwrap_or(graph.nodes_m[0]);
    }

    let mut workers = assign_workers(&mut rng, opts.workers, grids.len());
    assign_modes(&mut workers, opts);
    let (checkpoints, grid_checkpoints) = place_checkpoints(&mut rng, &grids, &graphs);

    let n = lattice.nx;
    let m = lattice.ny;
    let outline_ids = lattice.rect_ring(0, n, 0, m);
    let outline_e7 = outline_ids.iter().map(|&v| verts_e7[v]).collect();
    let mut bbox_m = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for v in &lattice.verts_m {
        bbox_m = [
            bbox_m[0].min(v[0]),
            bbox_m[1].min(v[1]),
            bbox_m[2].max(v[0]),
            bbox_m[3].max(v[1]),
        ];
    }
    Ok(City {
        frame,
        units,
        grids,
        workers,
        checkpoints,
        graphs,
        grid_checkpoints,
        outline_e7,
        bbox_m,
    })
}

/// One worker per grid first, then extra workers on distinct grids (at most two per grid
/// while grids last); about one worker in twenty also holds a neighbouring grid.
fn assign_workers(rng: &mut ChaCha8Rng, n_workers: usize, n_grids: usize) -> Vec<Worker> {
    let mut primary: Vec<usize> = (0..n_workers.min(n_grids)).collect();
    let mut extra: Vec<usize> = (0..n_grids).collect();
    extra.shuffle(rng);
    for k in n_grids..n_workers {
        primary.push(extra[(k - n_grids) % n_grids.max(1)]);
    }
    // Labels: the first 40 % of a shuffled order cycle through the non-diligent kinds.
    let mut order: Vec<usize> = (0..n_workers).collect();
    order.shuffle(rng);
    let n_odd = (n_workers as f64 * 0.4).round() as usize;
    let odd = [
        Label::Lazy,
        Label::OutOfGrid,
        Label::StaticDevice,
        Label::Replay,
        Label::Mock,
    ];
    let mut labels = vec![Label::Diligent; n_workers];
    for (k, &w) in order.iter().take(n_odd).enumerate() {
        labels[w] = odd[k % odd.len()];
    }
    let mut workers: Vec<Worker> = (0..n_workers)
        .map(|w| Worker {
            id: WorkerId::new(&format!("w-{:04}", w + 1)),
            name: names::person(rng),
            grids: vec![primary[w]],
            label: labels[w],
            shift: Shift::Day,
            app: AppMode::Continuous,
        })
        .collect();
    if n_grids >= 2 {
        let n_second = (n_workers / 20).max(usize::from(n_workers >= 10));
        let mut picks: Vec<usize> = (0..n_workers).collect();
        picks.shuffle(rng);
        for &w in picks.iter().take(n_second) {
            let g = workers[w].grids[0];
            let other = if g + 1 < n_grids { g + 1 } else { g - 1 };
            workers[w].grids.push(other);
        }
    }
    workers
}

/// The number of workers a share asks for: `round(share × n)`, within `0..=n`.
pub fn share_count(share: f64, n: usize) -> usize {
    if share.is_finite() && share > 0.0 {
        ((share * n as f64).round() as usize).min(n)
    } else {
        0
    }
}

/// Chooses the night-shift and the sparse-app (check-in only) workers, each on its own random
/// stream (never the city's, so that both shares at 0 leave every other draw untouched):
///
/// - night: `round(night_share × n)` workers, the first of a seeded shuffle of all workers,
///   whatever their label (a night worker keeps its behaviour, at night);
/// - sparse: `round(sparse_share × n)` workers, the first of a seeded shuffle of the diligent
///   and lazy workers (the behaviours a check-in-only app can show); when the share asks for
///   more, the rest come from a seeded shuffle of the other workers, and those become
///   diligent: a phone that only reports at check-ins cannot show a desk, a replay, a fake
///   location or an excursion.
///
/// The two choices are independent: a worker may be both (a night patrol with the check-in
/// app). A larger share keeps the workers a smaller one chose (same seed).
pub fn assign_modes(workers: &mut [Worker], opts: &SimOptions) {
    let n = workers.len();
    let n_night = share_count(opts.night_share, n);
    if n_night > 0 {
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x416E]));
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        for &w in order.iter().take(n_night) {
            workers[w].shift = Shift::Night;
        }
    }
    let n_sparse = share_count(opts.sparse_share, n);
    if n_sparse > 0 {
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x5BA5]));
        let fits = |l: Label| matches!(l, Label::Diligent | Label::Lazy);
        let mut pool: Vec<usize> = (0..n).filter(|&w| fits(workers[w].label)).collect();
        let mut rest: Vec<usize> = (0..n).filter(|&w| !fits(workers[w].label)).collect();
        pool.shuffle(&mut rng);
        rest.shuffle(&mut rng);
        for &w in pool.iter().chain(&rest).take(n_sparse) {
            workers[w].app = AppMode::Sparse;
            if !fits(workers[w].label) {
                workers[w].label = Label::Diligent;
            }
        }
    }
}

/// 3–8 checkpoints per grid, a few metres off a street towards the grid's inside.
fn place_checkpoints(
    rng: &mut ChaCha8Rng,
    grids: &[Grid],
    graphs: &[StreetGraph],
) -> (Vec<Checkpoint>, Vec<Vec<usize>>) {
    let mut cps = Vec::new();
    let mut per_grid = vec![Vec::new(); grids.len()];
    for (g, (grid, graph)) in grids.iter().zip(graphs).enumerate() {
        let n = rng.random_range(3..=8);
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (u, nbrs) in graph.adj.iter().enumerate() {
            for &(v, _) in nbrs {
                if (u as u32) < v {
                    edges.push((u, v as usize));
                }
            }
        }
        for _ in 0..n {
            let mut placed = None;
            for _ in 0..20 {
                let pos = if edges.is_empty() {
                    graph.nodes_m[0]
                } else {
                    let (a, b) = edges[rng.random_range(0..edges.len())];
                    let (pa, pb) = (graph.nodes_m[a], graph.nodes_m[b]);
                    let t = rng.random_range(0.2..0.8);
                    [pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1])]
                };
                let p = offset_towards(pos, graph.centroid_m, rng.random_range(4.0..10.0));
                if grid.polygon_m.contains(&Point::new(p[0], p[1])) {
                    placed = Some(p);
                    break;
                }
            }
            let Some(pos_m) = placed else { continue };
            let node = nearest_node(graph, pos_m);
            let household = rng.random_bool(0.7);
            let (kind, visits_per_month) = if household {
                let v = match rng.random_range(0..20) {
                    0..=9 => 1,
                    10..=16 => 2,
                    _ => 4,
                };
                (CheckpointKind::Household, v)
            } else {
                (
                    CheckpointKind::KeySite,
                    if rng.random_bool(0.5) { 2 } else { 4 },
                )
            };
            let name = match kind {
                CheckpointKind::Household => names::household(rng),
                CheckpointKind::KeySite => names::key_site(rng),
            };
            per_grid[g].push(cps.len());
            cps.push(Checkpoint {
                code: format!("cp-{:04}", cps.len() + 1),
                name,
                grid: g,
                kind,
                visits_per_month,
                pos_m,
                node,
            });
        }
    }
    (cps, per_grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_the_registry_loads_at_2000_and_4000_workers() {
        for workers in [2000, 4000] {
            let opts = SimOptions {
                workers,
                ..SimOptions::default()
            };
            let city = build_city(&opts, None).unwrap();
            let mut seen = std::collections::HashSet::new();
            let codes = city
                .units
                .iter()
                .map(|u| u.code.as_str().to_string())
                .chain(city.grids.iter().map(|g| g.code.as_str().to_string()));
            let dups: Vec<String> = codes.filter(|c| !seen.insert(c.clone())).collect();
            assert!(
                dups.is_empty(),
                "{workers} workers: {} duplicates, e.g. {:?}",
                dups.len(),
                &dups[..dups.len().min(5)]
            );
            let (mut grids, mut people) = (Vec::new(), Vec::new());
            super::super::output::write_grids(&city, &mut grids).unwrap();
            super::super::output::write_workers(&city, &mut people).unwrap();
            let (grids, people) = (
                String::from_utf8(grids).unwrap(),
                String::from_utf8(people).unwrap(),
            );
            let registry = crate::registry::Registry::from_sources(
                crate::registry::Source::new("grids.geojson", &grids),
                Some(crate::registry::Source::new("workers.csv", &people)),
                None,
                &crate::registry::LoadOptions {
                    crs: None,
                    keep_going: false,
                },
            );
            assert!(
                registry.is_ok(),
                "{workers} workers: the registry does not load: {:?}",
                registry.err().map(|e| e
                    .issues
                    .iter()
                    .take(3)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>())
            );
        }
    }
}
