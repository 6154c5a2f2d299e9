//! One grid's sample lattice: the cell approximation of DESIGN.md §4.6.
//!
//! Each grid gets a [`LocalFrame`] at the centre of its bounding box and a lattice of sample
//! points at spacing `s` (a quarter of `cell_size_m`, so each 10 m cell is sampled at 4 × 4
//! points) over that box. A sample stands for the `s × s` square around it: the grid's inside
//! is the set of samples whose centre is inside the polygon, and the covered area is the set
//! of samples whose centre is within the radius of the track. The share is the ratio of the two
//! counts; the error is that of counting lattice points in a region, about `s` times the
//! region's boundary length with signs that mostly cancel, and is measured against GEOS
//! buffers in `tests/coverage_golden.rs`.
//!
//! Covering a step A→B rasterises its capsule (every point within `r` of the segment) row by
//! row: the capsule is convex, so on one row it is one interval, the hull of the intervals cut
//! by the two end discs and by the band beside the segment. Each interval sets a run of bits
//! with whole-word operations; no per-sample distance is ever computed.

use geo::{BoundingRect, MapCoords, MultiPolygon};

use crate::geodesy::LocalFrame;

/// Direction components smaller than this are treated as zero when intersecting a row with
/// the band of a step (the other component is then ±1).
const AXIS_EPS: f64 = 1e-12;

/// The sample lattice of one grid and which samples are inside it.
#[derive(Clone, Debug)]
pub struct GridRaster {
    /// The grid's local metric frame (origin at the centre of its bounding box).
    pub frame: LocalFrame,
    /// East coordinate of the lattice's west edge, metres in `frame`.
    pub x0: f64,
    /// North coordinate of the lattice's south edge, metres in `frame`.
    pub y0: f64,
    /// Distance between neighbouring samples, metres.
    pub spacing_m: f64,
    /// Samples per row.
    pub nx: usize,
    /// Rows.
    pub ny: usize,
    /// Words per row of every bitset over this lattice.
    pub words_per_row: usize,
    /// Samples whose centre is inside the polygon (even-odd over all rings).
    inside: Vec<u64>,
    /// The number of inside samples.
    inside_count: u64,
    /// The polygon in `frame`, metres.
    pub polygon_m: MultiPolygon<f64>,
}

impl GridRaster {
    /// Rasterises a grid polygon (lon/lat degrees) at sample spacing `spacing_m`.
    pub fn new(polygon: &MultiPolygon<f64>, spacing_m: f64) -> GridRaster {
        let (min, max) = match polygon.bounding_rect() {
            Some(r) => (r.min(), r.max()),
            None => (geo::Coord { x: 0.0, y: 0.0 }, geo::Coord { x: 0.0, y: 0.0 }),
        };
        let frame = LocalFrame::new(0.5 * (min.x + max.x), 0.5 * (min.y + max.y));
        let (x0, y0) = frame.project(min.x, min.y);
        let (x1, y1) = frame.project(max.x, max.y);
        let nx = (((x1 - x0) / spacing_m).ceil() as usize).max(1);
        let ny = (((y1 - y0) / spacing_m).ceil() as usize).max(1);
        let words_per_row = nx.div_ceil(64);
        let polygon_m = polygon.map_coords(|c| {
            let (x, y) = frame.project(c.x, c.y);
            geo::Coord { x, y }
        });
        let mut raster = GridRaster {
            frame,
            x0,
            y0,
            spacing_m,
            nx,
            ny,
            words_per_row,
            inside: vec![0; words_per_row * ny],
            inside_count: 0,
            polygon_m,
        };
        raster.fill_inside();
        raster
    }

    /// Scanline fill: on each row, the crossings of every ring edge with the row's centre line,
    /// sorted, pair up into inside intervals (even-odd, so holes and multipolygon parts need no
    /// special case).
    fn fill_inside(&mut self) {
        let mut edges: Vec<[f64; 4]> = Vec::new();
        for poly in &self.polygon_m {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                edges.extend(
                    ring.lines()
                        .map(|l| [l.start.x, l.start.y, l.end.x, l.end.y]),
                );
            }
        }
        let mut crossings: Vec<f64> = Vec::new();
        let mut inside = std::mem::take(&mut self.inside);
        for j in 0..self.ny {
            let yc = self.row_y(j);
            crossings.clear();
            for &[ax, ay, bx, by] in &edges {
                // Half-open in y so a vertex on the line is counted once.
                if (ay <= yc) != (by <= yc) {
                    crossings.push(ax + (yc - ay) * (bx - ax) / (by - ay));
                }
            }
            crossings.sort_by(f64::total_cmp);
            let row = &mut inside[j * self.words_per_row..(j + 1) * self.words_per_row];
            for pair in crossings.chunks_exact(2) {
                if let Some((i0, i1)) = self.columns(pair[0], pair[1]) {
                    set_bits(row, i0, i1);
                }
            }
        }
        self.inside_count = inside.iter().map(|w| u64::from(w.count_ones())).sum();
        self.inside = inside;
    }

    /// North coordinate of row `j`'s sample centres, metres.
    #[inline]
    fn row_y(&self, j: usize) -> f64 {
        self.y0 + (j as f64 + 0.5) * self.spacing_m
    }

    /// The columns whose sample centres lie in `[xl, xr]`, clamped to the lattice; `None` when
    /// there are none.
    #[inline]
    fn columns(&self, xl: f64, xr: f64) -> Option<(usize, usize)> {
        let a = ((xl - self.x0) / self.spacing_m - 0.5).ceil().max(0.0);
        let b = ((xr - self.x0) / self.spacing_m - 0.5)
            .floor()
            .min(self.nx as f64 - 1.0);
        (a <= b).then_some((a as usize, b as usize))
    }

    /// The length of every bitset over this lattice, words.
    pub fn len_words(&self) -> usize {
        self.inside.len()
    }

    /// The inside samples as a bitset.
    pub fn inside(&self) -> &[u64] {
        &self.inside
    }

    /// The number of inside samples.
    pub fn inside_count(&self) -> u64 {
        self.inside_count
    }

    /// The number of inside samples that `words` has set.
    pub fn covered_count(&self, words: &[u64]) -> u64 {
        self.inside
            .iter()
            .zip(words)
            .map(|(a, b)| u64::from((a & b).count_ones()))
            .sum()
    }

    /// True when the capsule of radius `r` around A→B (metres in `frame`) may meet the lattice.
    #[inline]
    pub fn may_touch(&self, a: (f64, f64), b: (f64, f64), r: f64) -> bool {
        let (x1, y1) = (
            self.x0 + self.nx as f64 * self.spacing_m,
            self.y0 + self.ny as f64 * self.spacing_m,
        );
        a.0.min(b.0) - r <= x1
            && a.0.max(b.0) + r >= self.x0
            && a.1.min(b.1) - r <= y1
            && a.1.max(b.1) + r >= self.y0
    }

    /// Sets in `words` every sample within `r` metres of the segment A→B (a disc when A = B);
    /// A and B are metres in `frame`.
    pub fn cover_capsule(&self, a: (f64, f64), b: (f64, f64), r: f64, words: &mut [u64]) {
        let s = self.spacing_m;
        let j0 = ((a.1.min(b.1) - r - self.y0) / s - 0.5).ceil().max(0.0);
        let j1 = ((a.1.max(b.1) + r - self.y0) / s - 0.5)
            .floor()
            .min(self.ny as f64 - 1.0);
        if j0 > j1 {
            return;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt();
        let r2 = r * r;
        // Unit direction and the band's bounds; a zero-length step is a disc.
        let band = (len > 0.0).then(|| (dx / len, dy / len));
        for j in j0 as usize..=j1 as usize {
            let yc = self.row_y(j);
            let mut lo = f64::INFINITY;
            let mut hi = f64::NEG_INFINITY;
            for (px, py) in [a, b] {
                let h = yc - py;
                let d2 = r2 - h * h;
                if d2 >= 0.0 {
                    let w = d2.sqrt();
                    lo = lo.min(px - w);
                    hi = hi.max(px + w);
                }
            }
            if let Some((ux, uy)) = band {
                // On this row P = A + (t, h): along = t·ux + h·uy ∈ [0, len],
                // across = t·uy − h·ux ∈ [−r, r].
                let h = yc - a.1;
                let mut t_lo = f64::NEG_INFINITY;
                let mut t_hi = f64::INFINITY;
                let mut empty = false;
                if ux.abs() > AXIS_EPS {
                    let (p, q) = ((-h * uy) / ux, (len - h * uy) / ux);
                    t_lo = t_lo.max(p.min(q));
                    t_hi = t_hi.min(p.max(q));
                } else {
                    empty |= !(0.0..=len).contains(&(h * uy));
                }
                if uy.abs() > AXIS_EPS {
                    let (p, q) = ((h * ux - r) / uy, (h * ux + r) / uy);
                    t_lo = t_lo.max(p.min(q));
                    t_hi = t_hi.min(p.max(q));
                } else {
                    empty |= (h * ux).abs() > r;
                }
                if !empty && t_lo <= t_hi {
                    lo = lo.min(a.0 + t_lo);
                    hi = hi.max(a.0 + t_hi);
                }
            }
            if lo <= hi {
                if let Some((i0, i1)) = self.columns(lo, hi) {
                    let row = &mut words[j * self.words_per_row..(j + 1) * self.words_per_row];
                    set_bits(row, i0, i1);
                }
            }
        }
    }
}

/// Sets bits `i0..=i1` of a row.
#[inline]
fn set_bits(row: &mut [u64], i0: usize, i1: usize) {
    let (w0, w1) = (i0 / 64, i1 / 64);
    let first = !0u64 << (i0 % 64);
    let last = !0u64 >> (63 - i1 % 64);
    if w0 == w1 {
        row[w0] |= first & last;
    } else {
        row[w0] |= first;
        for w in &mut row[w0 + 1..w1] {
            *w = !0;
        }
        row[w1] |= last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_bits_spans_words() {
        let mut row = [0u64; 3];
        set_bits(&mut row, 3, 3);
        assert_eq!(row, [8, 0, 0]);
        set_bits(&mut row, 60, 130);
        assert_eq!(row[0], 8 | (0xF << 60));
        assert_eq!(row[1], !0);
        assert_eq!(row[2], 0b111);
    }

    /// A brute-force check of the row intervals: every sample's bit equals its distance test.
    #[test]
    fn capsule_rows_match_point_distances() {
        let f = LocalFrame::new(112.98, 28.2);
        let (lon0, lat0) = f.unproject(-60.0, -50.0);
        let (lon1, lat1) = f.unproject(60.0, 50.0);
        let poly: MultiPolygon<f64> = geo::Rect::new(
            geo::Coord { x: lon0, y: lat0 },
            geo::Coord { x: lon1, y: lat1 },
        )
        .to_polygon()
        .into();
        let raster = GridRaster::new(&poly, 2.5);
        let cases = [
            ((-20.0, -10.0), (35.0, 22.0), 12.0),
            ((0.0, 0.0), (0.0, 0.0), 9.0),
            ((-70.0, 3.0), (70.0, 3.0), 7.5),
            ((5.0, -80.0), (5.0, 80.0), 4.0),
            ((-30.0, 40.0), (-29.0, -45.0), 30.0),
        ];
        for (a, b, r) in cases {
            let mut words = vec![0; raster.len_words()];
            raster.cover_capsule(a, b, r, &mut words);
            for j in 0..raster.ny {
                for i in 0..raster.nx {
                    let p = (raster.x0 + (i as f64 + 0.5) * 2.5, raster.row_y(j));
                    let d = dist_to_segment(p, a, b);
                    let bit = words[j * raster.words_per_row + i / 64] >> (i % 64) & 1 == 1;
                    if (d - r).abs() > 1e-9 {
                        assert_eq!(bit, d <= r, "sample ({i},{j}) at {d} m from {a:?}→{b:?}");
                    }
                }
            }
        }
    }

    fn dist_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let l2 = dx * dx + dy * dy;
        let t = if l2 == 0.0 {
            0.0
        } else {
            (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / l2).clamp(0.0, 1.0)
        };
        let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
        (qx * qx + qy * qy).sqrt()
    }

    #[test]
    fn inside_counts_a_square_with_a_hole() {
        let f = LocalFrame::new(24.94, 60.17);
        let ring = |h: f64| -> geo::LineString<f64> {
            [(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)]
                .into_iter()
                .map(|(x, y)| {
                    let (lon, lat) = f.unproject(x, y);
                    geo::Coord { x: lon, y: lat }
                })
                .collect()
        };
        let poly: MultiPolygon<f64> = geo::Polygon::new(ring(50.0), vec![ring(20.0)]).into();
        let raster = GridRaster::new(&poly, 2.5);
        let area = raster.inside_count() as f64 * 2.5 * 2.5;
        assert!((area - (10_000.0 - 1_600.0)).abs() < 60.0, "area {area}");
    }
}
