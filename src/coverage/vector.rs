//! The uncovered part of a grid as polygons, for the map layer: cells of `cell_size_m` whose
//! inside samples are mostly uncovered, merged into rectangles, unioned and clipped to the grid.

use std::collections::BTreeMap;

use geo::{BooleanOps, Coord, MapCoords, MultiPolygon, Polygon, Rect};

use super::raster::GridRaster;
use super::SAMPLES_PER_CELL;

/// Whether bit `i` of row `j` is set in a bitset over the raster (missing words are zeros).
#[inline]
fn bit(raster: &GridRaster, words: &[u64], i: usize, j: usize) -> bool {
    words
        .get(j * raster.words_per_row + i / 64)
        .is_some_and(|w| w >> (i % 64) & 1 == 1)
}

/// The uncovered cells of a raster given the covered samples, as lon/lat polygons.
pub(super) fn uncovered(raster: &GridRaster, covered: &[u64]) -> MultiPolygon<f64> {
    let k = SAMPLES_PER_CELL;
    let (ncx, ncy) = (raster.nx.div_ceil(k), raster.ny.div_ceil(k));
    let side = k as f64 * raster.spacing_m;
    let mut rects: Vec<Polygon<f64>> = Vec::new();
    // Runs of uncovered cells (first, last column) still open, with the cell row they began on.
    let mut open: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut emit = |(c0, c1): (usize, usize), r0: usize, r1: usize| {
        let min = Coord {
            x: raster.x0 + c0 as f64 * side,
            y: raster.y0 + r0 as f64 * side,
        };
        let max = Coord {
            x: raster.x0 + (c1 + 1) as f64 * side,
            y: raster.y0 + r1 as f64 * side,
        };
        rects.push(Rect::new(min, max).to_polygon());
    };
    for cj in 0..=ncy {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        if cj < ncy {
            let mut start: Option<usize> = None;
            for ci in 0..=ncx {
                let empty = ci < ncx && {
                    let (mut inside, mut bare) = (0, 0);
                    for j in cj * k..((cj + 1) * k).min(raster.ny) {
                        for i in ci * k..((ci + 1) * k).min(raster.nx) {
                            if bit(raster, raster.inside(), i, j) {
                                inside += 1;
                                bare += usize::from(!bit(raster, covered, i, j));
                            }
                        }
                    }
                    inside > 0 && 2 * bare >= inside
                };
                match (empty, start) {
                    (true, None) => start = Some(ci),
                    (false, Some(s)) => {
                        runs.push((s, ci - 1));
                        start = None;
                    }
                    _ => {}
                }
            }
        }
        // Runs that do not continue on this row close; identical runs carry on.
        let closed: Vec<(usize, usize)> = open
            .keys()
            .filter(|run| !runs.contains(run))
            .copied()
            .collect();
        for run in closed {
            if let Some(r0) = open.remove(&run) {
                emit(run, r0, cj);
            }
        }
        for run in runs {
            open.entry(run).or_insert(cj);
        }
    }
    if rects.is_empty() {
        return MultiPolygon::new(Vec::new());
    }
    let cells = geo::unary_union(&rects);
    let clipped = cells.intersection(&raster.polygon_m);
    let frame = raster.frame;
    clipped.map_coords(|c| {
        let (x, y) = frame.unproject(c.x, c.y);
        Coord { x, y }
    })
}
