//! Point location on the grid polygons (DESIGN.md §4.5).
//!
//! An rstar R-tree of grid bounding boxes narrows a point to a few candidate grids; each
//! candidate is tested with a crossing-number loop over a flat array of its edges. The loop
//! decides orientation with a floating-point filter and falls back to the exact predicate of
//! `robust` (through geo's [`RobustKernel`]) only when the filter cannot decide, so vertices and
//! points on edges are classified exactly. The rule: the grids whose *closed* polygon contains
//! the point (boundary included, holes excluded), the smallest code when several do.
//!
//! Most points lie well inside a grid: each grid's bounding box is divided into 16 × 16 cells,
//! and a point in a cell that no edge comes near and whose centre is inside is inside without
//! a look at the edges; any other point is tested against the edges near its row of cells.
//!
//! Tracks are spatially coherent, so [`Locator`] remembers the last grid hit and tests it first:
//! a point strictly inside a grid whose interior overlaps no other grid cannot be in any other
//! closed polygon, so the R-tree can be skipped.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{BoundingRect, Coord, MultiPolygon, Relate};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, RTreeObject, AABB};

use super::GridId;

/// Shewchuk's error bound for the orientation determinant computed in floating point:
/// `(3 + 16ε)ε` with ε = 2⁻⁵³. A determinant larger than this times the sum of the magnitudes of
/// its two products has the right sign.
const CCW_ERR_BOUND_A: f64 = (3.0 + 16.0 * f64::EPSILON / 2.0) * (f64::EPSILON / 2.0);

/// One polygon edge, from (x0, y0) to (x1, y1), degrees.
#[derive(Clone, Copy, Debug)]
struct Edge {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

/// Where a point lies relative to a closed polygon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointPosition {
    /// Not in the closed polygon.
    Outside,
    /// On an edge or a vertex of one of its rings.
    Boundary,
    /// In the interior (not in a hole).
    Inside,
}

/// Per-grid data of the index.
#[derive(Clone, Debug)]
struct IndexedGrid {
    /// Rank of the grid's code in string order: a smaller rank wins on shared boundaries.
    rank: u32,
    /// The grid's edges are `edges[start..end]`.
    start: usize,
    end: usize,
    /// Bounding box, degrees.
    min: Coord<f64>,
    max: Coord<f64>,
    /// No other grid's interior meets this grid's interior, so a point strictly inside it is in
    /// no other grid.
    exclusive: bool,
    /// The cells of a [`CELLS`] × [`CELLS`] division of the bounding box that lie wholly in the
    /// interior (see [`IndexedGrid::interior_cells`]): bit `j·CELLS + i` for column `i`, row `j`.
    interior: [u64; CELLS * CELLS / 64],
    /// Cells per degree east and north (0 when the box has no width or height).
    cells_per_deg: (f64, f64),
    /// The edges that come near row `j` of cells (a slab of the box) are
    /// `GridIndex::slab_edges[self.slab(j)]`; only those can cross the line through a point of
    /// that row (see [`IndexedGrid::slabs`]).
    slab_base: usize,
    slab_ends: [u32; CELLS],
}

/// Cells per side of the division of a grid's bounding box into interior and other cells.
const CELLS: usize = 16;

impl IndexedGrid {
    /// Marks the cells no edge comes near and whose centre is inside: every point of such a
    /// cell is inside. A cell is tested grown by a hundredth of its size on each side against
    /// each edge, so a point that rounding puts in the cell next to its own still lies in the
    /// grown box that no edge meets; a connected set that meets no edge is wholly inside or
    /// wholly outside, as its centre is.
    fn interior_cells(&mut self, edges: &[Edge]) {
        let (w, h) = (self.max.x - self.min.x, self.max.y - self.min.y);
        if !(w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite()) {
            return;
        }
        let (cw, ch) = (w / CELLS as f64, h / CELLS as f64);
        let (mx, my) = (cw / 100.0, ch / 100.0);
        for j in 0..CELLS {
            for i in 0..CELLS {
                let x0 = self.min.x + i as f64 * cw;
                let y0 = self.min.y + j as f64 * ch;
                let (lo_x, hi_x) = (x0 - mx, x0 + cw + mx);
                let (lo_y, hi_y) = (y0 - my, y0 + ch + my);
                // An edge misses the box when their bounding boxes are apart or when all four
                // corners lie strictly on one side of its line (exact orientation).
                let corners = [(lo_x, lo_y), (hi_x, lo_y), (hi_x, hi_y), (lo_x, hi_y)];
                let near = edges.iter().any(|e| {
                    let boxes_meet = e.x0.max(e.x1) >= lo_x
                        && e.x0.min(e.x1) <= hi_x
                        && e.y0.max(e.y1) >= lo_y
                        && e.y0.min(e.y1) <= hi_y;
                    boxes_meet && {
                        let sides = corners.map(|(x, y)| orient(e, x, y));
                        !(sides.iter().all(|&o| o == Orientation::CounterClockwise)
                            || sides.iter().all(|&o| o == Orientation::Clockwise))
                    }
                });
                if !near && classify(edges, x0 + cw / 2.0, y0 + ch / 2.0) == PointPosition::Inside {
                    let bit = j * CELLS + i;
                    self.interior[bit / 64] |= 1 << (bit % 64);
                }
            }
        }
        self.cells_per_deg = (1.0 / cw, 1.0 / ch);
    }

    /// Whether (px, py), inside the bounding box, lies in an interior cell.
    #[inline]
    fn in_interior_cell(&self, px: f64, py: f64) -> bool {
        let i = ((px - self.min.x) * self.cells_per_deg.0) as usize;
        let j = ((py - self.min.y) * self.cells_per_deg.1) as usize;
        let bit = j * CELLS + i;
        i < CELLS && j < CELLS && self.interior[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// Appends to `out` the edges that come near each row of cells, row by row, and records
    /// where each row ends. A row is grown by a hundredth of its height on each side (as the
    /// interior cells are), so a point that rounding puts in the row next to its own still
    /// lies in the grown row: an edge left out of it lies wholly above or wholly below the
    /// point, and [`classify`] passes over such an edge without a look. A box with no height
    /// (no cells) gets no rows: its points are classified against every edge.
    fn slabs(&mut self, edges: &[Edge], out: &mut Vec<Edge>) {
        self.slab_base = out.len();
        if self.cells_per_deg.1 <= 0.0 {
            return;
        }
        let ch = (self.max.y - self.min.y) / CELLS as f64;
        let my = ch / 100.0;
        for j in 0..CELLS {
            let lo = self.min.y + j as f64 * ch - my;
            let hi = self.min.y + (j + 1) as f64 * ch + my;
            out.extend(
                edges
                    .iter()
                    .filter(|e| e.y0.max(e.y1) >= lo && e.y0.min(e.y1) <= hi),
            );
            self.slab_ends[j] = (out.len() - self.slab_base) as u32;
        }
    }

    /// The row of cells of a point inside the box (the last row for its top edge).
    #[inline]
    fn slab_of(&self, py: f64) -> usize {
        (((py - self.min.y) * self.cells_per_deg.1) as usize).min(CELLS - 1)
    }

    /// Where the edges near row `j` of cells lie in `GridIndex::slab_edges`.
    #[inline]
    fn slab(&self, j: usize) -> std::ops::Range<usize> {
        let start = if j == 0 { 0 } else { self.slab_ends[j - 1] };
        self.slab_base + start as usize..self.slab_base + self.slab_ends[j] as usize
    }
}

type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, GridId>;

/// The point locator of DESIGN.md §4.5: an R-tree of grid bounding boxes over exact
/// point-in-polygon tests.
#[derive(Clone, Debug)]
pub struct GridIndex {
    tree: RTree<BoxEntry>,
    grids: Vec<IndexedGrid>,
    edges: Vec<Edge>,
    /// Each grid's edges again, row of cells by row (see [`IndexedGrid::slabs`]).
    slab_edges: Vec<Edge>,
}

impl Default for GridIndex {
    fn default() -> Self {
        GridIndex::new(std::iter::empty())
    }
}

impl GridIndex {
    /// Builds the index over `(code, polygon)` pairs; the n-th pair gets [`GridId`] n.
    ///
    /// Coordinates are WGS84 degrees, x = lon, y = lat. Building compares every pair of grids
    /// whose bounding boxes overlap (exactly, with geo's `Relate`) to find which grids may use
    /// the fast path of [`Locator`].
    pub fn new<'a>(grids: impl IntoIterator<Item = (&'a str, &'a MultiPolygon<f64>)>) -> Self {
        let grids: Vec<(&str, &MultiPolygon<f64>)> = grids.into_iter().collect();
        let mut order: Vec<usize> = (0..grids.len()).collect();
        order.sort_by(|&a, &b| grids[a].0.cmp(grids[b].0));
        let mut rank = vec![0u32; grids.len()];
        for (r, &g) in order.iter().enumerate() {
            rank[g] = r as u32;
        }

        let mut edges = Vec::new();
        let mut slab_edges = Vec::new();
        let mut indexed = Vec::with_capacity(grids.len());
        let mut entries = Vec::with_capacity(grids.len());
        for (id, (_, polygon)) in grids.iter().enumerate() {
            let start = edges.len();
            for poly in polygon.iter() {
                for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                    for line in ring.lines() {
                        edges.push(Edge {
                            x0: line.start.x,
                            y0: line.start.y,
                            x1: line.end.x,
                            y1: line.end.y,
                        });
                    }
                }
            }
            let (min, max) = match polygon.bounding_rect() {
                Some(r) => (r.min(), r.max()),
                // An empty polygon contains nothing: an inverted box matches no point.
                None => (
                    Coord {
                        x: f64::INFINITY,
                        y: f64::INFINITY,
                    },
                    Coord {
                        x: f64::NEG_INFINITY,
                        y: f64::NEG_INFINITY,
                    },
                ),
            };
            if min.x <= max.x && min.y <= max.y {
                entries.push(GeomWithData::new(
                    Rectangle::from_corners([min.x, min.y], [max.x, max.y]),
                    id as GridId,
                ));
            }
            indexed.push(IndexedGrid {
                rank: rank[id],
                start,
                end: edges.len(),
                min,
                max,
                exclusive: true,
                interior: [0; CELLS * CELLS / 64],
                cells_per_deg: (0.0, 0.0),
                slab_base: 0,
                slab_ends: [0; CELLS],
            });
            let grid = indexed.last_mut().expect("just pushed");
            grid.interior_cells(&edges[start..]);
            grid.slabs(&edges[start..], &mut slab_edges);
        }
        let tree = RTree::bulk_load(entries);

        // A grid is exclusive when no other grid's interior meets its interior.
        for entry in tree.iter() {
            let a = entry.data as usize;
            for other in tree.locate_in_envelope_intersecting(&entry.geom().envelope()) {
                let b = other.data as usize;
                if b <= a {
                    continue;
                }
                let interiors_meet = grids[a]
                    .1
                    .relate(grids[b].1)
                    .matches("T********")
                    .unwrap_or(true);
                if interiors_meet {
                    indexed[a].exclusive = false;
                    indexed[b].exclusive = false;
                }
            }
        }
        GridIndex {
            tree,
            grids: indexed,
            edges,
            slab_edges,
        }
    }

    /// The grids whose bounding box meets the box `min`..`max` (degrees), in no set order:
    /// the candidates for anything that reaches into that box.
    pub fn grids_intersecting(
        &self,
        min: Coord<f64>,
        max: Coord<f64>,
    ) -> impl Iterator<Item = GridId> + '_ {
        let envelope = AABB::from_corners([min.x, min.y], [max.x, max.y]);
        self.tree
            .locate_in_envelope_intersecting(&envelope)
            .map(|e| e.data)
    }

    /// The number of grids indexed.
    pub fn len(&self) -> usize {
        self.grids.len()
    }

    /// Whether no grid is indexed.
    pub fn is_empty(&self) -> bool {
        self.grids.is_empty()
    }

    /// Whether the interior of `grid` overlaps no other grid.
    pub fn is_exclusive(&self, grid: GridId) -> bool {
        self.grids.get(grid as usize).is_some_and(|g| g.exclusive)
    }

    /// The grid containing (lon, lat) in WGS84 degrees: among the grids whose closed polygon
    /// contains the point, the one with the smallest code; `None` when outside all grids.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<GridId> {
        let mut best: Option<(u32, GridId)> = None;
        for entry in self.tree.locate_all_at_point(&[lon, lat]) {
            let id = entry.data;
            let g = &self.grids[id as usize];
            if best.is_some_and(|(rank, _)| rank < g.rank) {
                continue;
            }
            if self.position_in(g, lon, lat) != PointPosition::Outside {
                best = Some((g.rank, id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// Where (lon, lat) lies relative to the closed polygon of `grid`; `Outside` for an unknown
    /// grid id.
    pub fn position(&self, grid: GridId, lon: f64, lat: f64) -> PointPosition {
        match self.grids.get(grid as usize) {
            Some(g) => self.position_in(g, lon, lat),
            None => PointPosition::Outside,
        }
    }

    /// Locates many points (x = lon, y = lat), exploiting their spatial coherence (see
    /// [`Locator`]); the result is the same as [`GridIndex::locate`] on each point.
    pub fn locate_many(&self, points: &[Coord<f64>]) -> Vec<Option<GridId>> {
        let mut locator = self.locator();
        points.iter().map(|p| locator.locate(p.x, p.y)).collect()
    }

    /// A streaming locator that remembers the last grid hit; use one per track.
    pub fn locator(&self) -> Locator<'_> {
        Locator {
            index: self,
            last: None,
        }
    }

    #[inline]
    fn position_in(&self, g: &IndexedGrid, px: f64, py: f64) -> PointPosition {
        if !(px >= g.min.x && px <= g.max.x && py >= g.min.y && py <= g.max.y) {
            return PointPosition::Outside;
        }
        if g.in_interior_cell(px, py) {
            return PointPosition::Inside;
        }
        if g.cells_per_deg.1 <= 0.0 {
            return classify(&self.edges[g.start..g.end], px, py);
        }
        // Only the edges near the point's row of cells can cross its line.
        classify(&self.slab_edges[g.slab(g.slab_of(py))], px, py)
    }
}

/// A streaming point locator over a [`GridIndex`] that tests the last grid hit first.
///
/// The shortcut is taken only when the point is strictly inside that grid and the grid's
/// interior overlaps no other grid, so the answer always equals [`GridIndex::locate`].
#[derive(Clone, Debug)]
pub struct Locator<'a> {
    index: &'a GridIndex,
    last: Option<GridId>,
}

impl Locator<'_> {
    /// The grid containing (lon, lat) by the rule of [`GridIndex::locate`].
    #[inline]
    pub fn locate(&mut self, lon: f64, lat: f64) -> Option<GridId> {
        if let Some(last) = self.last {
            let g = &self.index.grids[last as usize];
            if g.exclusive && self.index.position_in(g, lon, lat) == PointPosition::Inside {
                return Some(last);
            }
        }
        let found = self.index.locate(lon, lat);
        if found.is_some() {
            self.last = found;
        }
        found
    }
}

/// Classifies (px, py) against the rings whose edges are `edges` (even–odd rule, valid polygons).
#[inline]
fn classify(edges: &[Edge], px: f64, py: f64) -> PointPosition {
    let mut inside = false;
    for e in edges {
        // Edges entirely above or below the point can neither hold it nor cross its ray.
        if (e.y0 > py && e.y1 > py) || (e.y0 < py && e.y1 < py) {
            continue;
        }
        let side = orient(e, px, py);
        if side == Orientation::Collinear {
            // On the edge's line and within its y range: on the edge iff within its x range
            // (this only matters for horizontal edges).
            if px >= e.x0.min(e.x1) && px <= e.x0.max(e.x1) {
                return PointPosition::Boundary;
            }
            continue;
        }
        // Half-open rule: the edge crosses the horizontal line through the point. The crossing
        // lies east of the point when the point is left of an upward edge or right of a
        // downward one.
        if (e.y0 > py) != (e.y1 > py) && (e.y1 > e.y0) == (side == Orientation::CounterClockwise) {
            inside = !inside;
        }
    }
    if inside {
        PointPosition::Inside
    } else {
        PointPosition::Outside
    }
}

/// The orientation of (px, py) relative to the edge: counter-clockwise = left of it. Exact.
#[inline]
fn orient(e: &Edge, px: f64, py: f64) -> Orientation {
    let det_left = (e.x0 - px) * (e.y1 - py);
    let det_right = (e.y0 - py) * (e.x1 - px);
    let det = det_left - det_right;
    let bound = CCW_ERR_BOUND_A * (det_left.abs() + det_right.abs());
    if det > bound {
        Orientation::CounterClockwise
    } else if det < -bound {
        Orientation::Clockwise
    } else {
        RobustKernel::orient2d(
            Coord { x: e.x0, y: e.y0 },
            Coord { x: e.x1, y: e.y1 },
            Coord { x: px, y: py },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Contains, Coord, CoordinatePosition, Intersects, Point, Polygon};

    fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y),
            (x: x + side, y: y),
            (x: x + side, y: y + side),
            (x: x, y: y + side),
        ]])
    }

    /// Three unit squares: "b" at (0,0), "a" at (1,0) (smaller code, east of b), "c" at (0,1).
    fn three_squares() -> (Vec<MultiPolygon<f64>>, GridIndex) {
        let polys = vec![
            square(0.0, 0.0, 1.0),
            square(1.0, 0.0, 1.0),
            square(0.0, 1.0, 1.0),
        ];
        let codes = ["b", "a", "c"];
        let index = GridIndex::new(codes.iter().copied().zip(polys.iter()));
        (polys, index)
    }

    #[test]
    fn shared_edge_goes_to_the_smaller_code() {
        let (_, index) = three_squares();
        assert_eq!(index.locate(1.0, 0.5), Some(1), "edge between b and a → a");
        assert_eq!(index.locate(0.5, 1.0), Some(0), "edge between b and c → b");
        assert_eq!(index.locate(0.5, 0.5), Some(0));
        assert_eq!(index.locate(1.5, 0.5), Some(1));
        assert_eq!(index.locate(0.5, 1.5), Some(2));
    }

    #[test]
    fn shared_vertex_goes_to_the_smallest_code() {
        let (_, index) = three_squares();
        // (1,1) is a vertex of a, b and c: a has the smallest code.
        assert_eq!(index.locate(1.0, 1.0), Some(1));
        // (0,1) is shared by b and c only.
        assert_eq!(index.locate(0.0, 1.0), Some(0));
        // An outer corner belongs to its only grid.
        assert_eq!(index.locate(2.0, 0.0), Some(1));
    }

    #[test]
    fn outside_is_none() {
        let (_, index) = three_squares();
        assert_eq!(index.locate(1.5, 1.5), None);
        assert_eq!(index.locate(-0.000001, 0.5), None);
        assert_eq!(index.locate(f64::NAN, 0.5), None);
        assert_eq!(GridIndex::default().locate(0.5, 0.5), None);
    }

    #[test]
    fn holes_are_excluded_but_their_boundary_is_not() {
        let with_hole = MultiPolygon(vec![Polygon::new(
            square(0.0, 0.0, 4.0).0[0].exterior().clone(),
            vec![square(1.0, 1.0, 2.0).0[0].exterior().clone()],
        )]);
        let index = GridIndex::new([("g", &with_hole)]);
        assert_eq!(index.locate(2.0, 2.0), None, "inside the hole");
        assert_eq!(index.locate(1.0, 2.0), Some(0), "on the hole's edge");
        assert_eq!(index.locate(3.0, 3.0), Some(0), "hole vertex");
        assert_eq!(index.locate(0.5, 2.0), Some(0));
        assert_eq!(index.position(0, 2.0, 2.0), PointPosition::Outside);
        assert_eq!(index.position(0, 1.0, 2.0), PointPosition::Boundary);
        assert_eq!(index.position(0, 0.5, 0.5), PointPosition::Inside);
    }

    #[test]
    fn overlapping_grids_are_not_exclusive_and_the_locator_agrees() {
        let polys = [
            square(0.0, 0.0, 2.0),
            square(1.0, 1.0, 2.0),
            square(5.0, 5.0, 1.0),
        ];
        let index = GridIndex::new(["z", "y", "x"].into_iter().zip(polys.iter()));
        assert!(!index.is_exclusive(0) && !index.is_exclusive(1) && index.is_exclusive(2));
        // Inside both: y has the smaller code, even right after a point that hit z.
        let mut locator = index.locator();
        assert_eq!(locator.locate(0.5, 0.5), Some(0));
        assert_eq!(locator.locate(1.5, 1.5), Some(1));
        assert_eq!(locator.locate(0.5, 0.5), Some(0));
    }

    /// The streaming locator gives exactly what `locate` gives, point by point, on a lattice
    /// that hits edges and vertices of tiling and overlapping squares.
    #[test]
    fn locate_many_equals_locate_on_edges_and_vertices() {
        let polys = [
            square(0.0, 0.0, 1.0),
            square(1.0, 0.0, 1.0),
            square(0.0, 1.0, 1.0),
            square(1.0, 1.0, 1.0),
            square(1.5, 1.5, 1.0),
        ];
        let index = GridIndex::new(["d", "b", "c", "a", "e"].into_iter().zip(polys.iter()));
        let points: Vec<Coord<f64>> = (0..=60)
            .flat_map(|i| {
                (0..=60).map(move |j| Coord {
                    x: i as f64 / 20.0,
                    y: j as f64 / 20.0,
                })
            })
            .collect();
        let one_by_one: Vec<Option<GridId>> =
            points.iter().map(|p| index.locate(p.x, p.y)).collect();
        assert_eq!(index.locate_many(&points), one_by_one);
        // The 2 × 2 block holds 41 × 41 lattice points; square e adds 21 × 21 less its 11 × 11
        // overlap with the block.
        assert_eq!(
            one_by_one.iter().filter(|g| g.is_some()).count(),
            41 * 41 + 21 * 21 - 11 * 11
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Star-shaped polygons with a hole, irregular and thin: every point of a lattice over
        /// the box (rows of cells' edges among them), every vertex and every edge's midpoint
        /// gets from the interior cells and the rows' edges exactly what all the edges give.
        #[test]
        fn interior_cells_agree_with_the_edges(
            radii in proptest::collection::vec(0.05f64..1.0, 3..24),
            squash in 0.02f64..1.0,
            hole in 0.0f64..0.04,
        ) {
            let n = radii.len();
            let ring: Vec<Coord<f64>> = radii
                .iter()
                .enumerate()
                .map(|(k, r)| {
                    let t = std::f64::consts::TAU * k as f64 / n as f64;
                    Coord { x: 113.0 + r * t.cos() * 0.01, y: 28.0 + r * t.sin() * 0.01 * squash }
                })
                .collect();
            let inner: Vec<Coord<f64>> = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
                .iter()
                .map(|(x, y)| Coord { x: 113.0 + x * hole * 0.01, y: 28.0 + y * hole * 0.01 * squash })
                .collect();
            let interiors = if hole > 0.001 { vec![inner.clone().into()] } else { vec![] };
            let mp = MultiPolygon(vec![Polygon::new(ring.clone().into(), interiors)]);
            let index = GridIndex::new([("g", &mp)]);
            let g = &index.grids[0];
            let mut points: Vec<Coord<f64>> = ring.iter().chain(&inner).copied().collect();
            for w in ring.windows(2) {
                points.push(Coord { x: (w[0].x + w[1].x) / 2.0, y: (w[0].y + w[1].y) / 2.0 });
            }
            for i in 0..=80 {
                for j in 0..=80 {
                    points.push(Coord {
                        x: g.min.x + (g.max.x - g.min.x) * i as f64 / 80.0,
                        y: g.min.y + (g.max.y - g.min.y) * j as f64 / 80.0,
                    });
                }
            }
            let mut fast = 0;
            for c in points {
                let exact = if c.x >= g.min.x && c.x <= g.max.x && c.y >= g.min.y && c.y <= g.max.y {
                    classify(&index.edges[g.start..g.end], c.x, c.y)
                } else {
                    PointPosition::Outside
                };
                proptest::prop_assert_eq!(index.position(0, c.x, c.y), exact, "{:?}", c);
                fast += usize::from(g.in_interior_cell(c.x, c.y));
            }
            // The cells are used: a fat polygon has interior cells.
            if squash > 0.5 && radii.iter().all(|&r| r > 0.5) {
                proptest::prop_assert!(fast > 0);
            }
        }
    }

    /// Agrees with geo's closed containment (`Intersects`) on irregular polygons, including at
    /// their vertices and on slanted edges.
    #[test]
    fn agrees_with_geo_on_a_slanted_polygon() {
        let p: Polygon<f64> = polygon![
            (x: 24.9386002, y: 60.1634506),
            (x: 24.9384877, y: 60.1652453),
            (x: 24.9348864, y: 60.1651892),
            (x: 24.934999, y: 60.1633946),
        ];
        let mp = MultiPolygon(vec![p.clone()]);
        let index = GridIndex::new([("g", &mp)]);
        let mut points: Vec<Coord<f64>> = p.exterior().coords().copied().collect();
        for l in p.exterior().lines() {
            points.push(Coord {
                x: (l.start.x + l.end.x) / 2.0,
                y: (l.start.y + l.end.y) / 2.0,
            });
        }
        for i in 0..50 {
            for j in 0..50 {
                points.push(Coord {
                    x: 24.9345 + 0.0045 * i as f64 / 49.0,
                    y: 60.1632 + 0.0022 * j as f64 / 49.0,
                });
            }
        }
        for c in points {
            let expected = p.intersects(&Point(c));
            assert_eq!(index.locate(c.x, c.y).is_some(), expected, "{c:?}");
            let inside = p.contains(&Point(c));
            assert_eq!(
                index.position(0, c.x, c.y) == PointPosition::Inside,
                inside,
                "{c:?} {:?}",
                p.coordinate_position(&c)
            );
        }
    }
}
