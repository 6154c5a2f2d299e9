//! A route cut into pieces in its local metric frame, and the R-trees that find the pieces and
//! the route's segments near a step (README "Route coverage (vehicles)").

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::geodesy::LocalFrame;

/// A point in a route's local frame: (east, north) metres.
pub type Xy = (f64, f64);

/// Below this length (metres) a step or a piece has no direction, and a line's remainder joins
/// the piece before it.
pub const MIN_DIRECTED_M: f64 = 1.0;

/// One piece of a route line: `piece_m` metres along the line (the line's last piece is the
/// remainder, up to `piece_m` + 1 m), taken as the straight segment from its start to its end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Piece {
    /// The index of its line in `Route::lines`.
    pub line: usize,
    /// Where it starts, metres along its line.
    pub from_m: f64,
    /// Its length along the line, metres (the length it stands for in the shares).
    pub length_m: f64,
    /// Its start in the route's frame.
    pub start: Xy,
    /// Its end in the route's frame.
    pub end: Xy,
}

type Boxed = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// A route's lines and pieces in its local frame, indexed for "what is within `tolerance_m` of
/// this step". Built once per route and reused for every vehicle and day.
#[derive(Debug)]
pub struct RoutePieces {
    frame: LocalFrame,
    pieces: Vec<Piece>,
    segments: Vec<(Xy, Xy)>,
    piece_tree: RTree<Boxed>,
    segment_tree: RTree<Boxed>,
    length_m: f64,
}

impl RoutePieces {
    /// Cuts `lines` (WGS84 lon/lat) into pieces of `piece_m` metres in a local frame centred on
    /// the lines' bounding box.
    pub fn new(lines: &[Vec<(f64, f64)>], piece_m: f64) -> RoutePieces {
        let frame = centred_frame(lines);
        // A piece length that is not a positive number would cut nothing or forever.
        let piece_m = if piece_m.is_finite() && piece_m > 0.0 {
            piece_m
        } else {
            10.0
        };
        let mut pieces = Vec::new();
        let mut segments = Vec::new();
        let mut length_m = 0.0;
        for (li, line) in lines.iter().enumerate() {
            let xy: Vec<Xy> = line.iter().map(|&(x, y)| frame.project(x, y)).collect();
            segments.extend(xy.windows(2).map(|w| (w[0], w[1])));
            let line_m = cut_line(li, &xy, piece_m, &mut pieces);
            length_m += line_m;
        }
        let piece_tree = RTree::bulk_load(
            pieces
                .iter()
                .enumerate()
                .map(|(i, p)| GeomWithData::new(rect(p.start, p.end), i))
                .collect(),
        );
        let segment_tree = RTree::bulk_load(
            segments
                .iter()
                .enumerate()
                .map(|(i, s)| GeomWithData::new(rect(s.0, s.1), i))
                .collect(),
        );
        RoutePieces {
            frame,
            pieces,
            segments,
            piece_tree,
            segment_tree,
            length_m,
        }
    }

    /// The frame the pieces are in.
    pub fn frame(&self) -> LocalFrame {
        self.frame
    }

    /// The pieces, line by line from each line's start.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The route's length in metres: the sum of its lines' lengths in the frame.
    pub fn length_m(&self) -> f64 {
        self.length_m
    }

    /// A piece's start and end in WGS84 lon/lat (for the map layer).
    pub fn piece_lonlat(&self, i: usize) -> Option<[(f64, f64); 2]> {
        let p = self.pieces.get(i)?;
        Some([
            self.frame.unproject(p.start.0, p.start.1),
            self.frame.unproject(p.end.0, p.end.1),
        ])
    }

    /// Calls `f` with the index of every piece whose segment is within `tolerance_m` of the
    /// segment a–b.
    pub fn for_each_near_piece(&self, a: Xy, b: Xy, tolerance_m: f64, mut f: impl FnMut(usize)) {
        for hit in self
            .piece_tree
            .locate_in_envelope_intersecting(&grown(a, b, tolerance_m))
        {
            let p = &self.pieces[hit.data];
            if segment_distance(a, b, p.start, p.end) <= tolerance_m {
                f(hit.data);
            }
        }
    }

    /// Whether the segment a–b is within `tolerance_m` of one of the route's lines.
    pub fn near_route(&self, a: Xy, b: Xy, tolerance_m: f64) -> bool {
        self.segment_tree
            .locate_in_envelope_intersecting(&grown(a, b, tolerance_m))
            .any(|hit| {
                let s = self.segments[hit.data];
                segment_distance(a, b, s.0, s.1) <= tolerance_m
            })
    }
}

/// A frame centred on the lines' bounding box (so distortion is least over the route).
fn centred_frame(lines: &[Vec<(f64, f64)>]) -> LocalFrame {
    let mut lo = (f64::INFINITY, f64::INFINITY);
    let mut hi = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &(x, y) in lines.iter().flatten() {
        lo = (lo.0.min(x), lo.1.min(y));
        hi = (hi.0.max(x), hi.1.max(y));
    }
    if lo.0.is_finite() && hi.0.is_finite() {
        LocalFrame::new((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0)
    } else {
        LocalFrame::new(0.0, 0.0)
    }
}

/// Cuts one projected line into pieces (appended to `out`); returns the line's length.
fn cut_line(line: usize, xy: &[Xy], piece_m: f64, out: &mut Vec<Piece>) -> f64 {
    // Cumulative length at each vertex; a repeated vertex adds a segment of length 0, which
    // `point_at` never lands inside, so a duplicate vertex changes no piece.
    let mut cum = Vec::with_capacity(xy.len());
    let mut total = 0.0;
    for (i, &p) in xy.iter().enumerate() {
        if i > 0 {
            total += dist(xy[i - 1], p);
        }
        cum.push(total);
    }
    if xy.is_empty() {
        return 0.0;
    }
    // Cuts at k·piece_m strictly inside the line; a remainder under 1 m joins the piece before.
    let mut cuts = vec![0.0];
    let mut k = 1.0;
    while k * piece_m < total {
        cuts.push(k * piece_m);
        k += 1.0;
    }
    if cuts.len() > 1 && total - cuts[cuts.len() - 1] < MIN_DIRECTED_M {
        cuts.pop();
    }
    cuts.push(total);
    for w in cuts.windows(2) {
        out.push(Piece {
            line,
            from_m: w[0],
            length_m: w[1] - w[0],
            start: point_at(xy, &cum, w[0]),
            end: point_at(xy, &cum, w[1]),
        });
    }
    total
}

/// The point `s` metres along the polyline `xy` whose cumulative lengths are `cum`.
fn point_at(xy: &[Xy], cum: &[f64], s: f64) -> Xy {
    // The first segment whose end is at or beyond s (partition_point: cum is non-decreasing).
    let j = cum
        .partition_point(|&c| c < s)
        .clamp(1, xy.len().max(2) - 1);
    if xy.len() < 2 {
        return xy[0];
    }
    let (a, b) = (xy[j - 1], xy[j]);
    let seg = cum[j] - cum[j - 1];
    if seg <= 0.0 {
        return b;
    }
    let f = ((s - cum[j - 1]) / seg).clamp(0.0, 1.0);
    (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
}

fn rect(a: Xy, b: Xy) -> Rectangle<[f64; 2]> {
    Rectangle::from_corners([a.0, a.1], [b.0, b.1])
}

fn grown(a: Xy, b: Xy, r: f64) -> AABB<[f64; 2]> {
    AABB::from_corners(
        [a.0.min(b.0) - r, a.1.min(b.1) - r],
        [a.0.max(b.0) + r, a.1.max(b.1) + r],
    )
}

/// Euclidean distance in the frame.
pub fn dist(a: Xy, b: Xy) -> f64 {
    (b.0 - a.0).hypot(b.1 - a.1)
}

/// The shortest distance between the segments a–b and c–d (0 when they cross or touch).
pub fn segment_distance(a: Xy, b: Xy, c: Xy, d: Xy) -> f64 {
    if segments_intersect(a, b, c, d) {
        return 0.0;
    }
    point_segment_distance(a, c, d)
        .min(point_segment_distance(b, c, d))
        .min(point_segment_distance(c, a, b))
        .min(point_segment_distance(d, a, b))
}

fn point_segment_distance(p: Xy, a: Xy, b: Xy) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    if len2 <= 0.0 {
        return dist(p, a);
    }
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0);
    dist(p, (a.0 + t * dx, a.1 + t * dy))
}

fn orient(a: Xy, b: Xy, c: Xy) -> f64 {
    (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
}

fn segments_intersect(a: Xy, b: Xy, c: Xy, d: Xy) -> bool {
    let (o1, o2) = (orient(a, b, c), orient(a, b, d));
    let (o3, o4) = (orient(c, d, a), orient(c, d, b));
    // Proper crossings only; touching and collinear cases have a zero point distance anyway.
    (o1 > 0.0 && o2 < 0.0 || o1 < 0.0 && o2 > 0.0) && (o3 > 0.0 && o4 < 0.0 || o3 < 0.0 && o4 > 0.0)
}

/// The angle in degrees (0–90) between the directions u and v taken modulo 180° (either way
/// along a street is the same direction).
pub fn axial_angle_deg(u: Xy, v: Xy) -> f64 {
    let cross = u.0 * v.1 - u.1 * v.0;
    let dot = u.0 * v.0 + u.1 * v.1;
    cross.abs().atan2(dot.abs()).to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_distances_and_axial_angles() {
        // Parallel, 3 m apart, overlapping: 3.
        assert_eq!(
            segment_distance((0.0, 0.0), (10.0, 0.0), (5.0, 3.0), (15.0, 3.0)),
            3.0
        );
        // Crossing: 0.
        assert_eq!(
            segment_distance((0.0, -1.0), (0.0, 1.0), (-1.0, 0.0), (1.0, 0.0)),
            0.0
        );
        // End to end along a line, 2 m apart.
        assert_eq!(
            segment_distance((0.0, 0.0), (1.0, 0.0), (3.0, 0.0), (4.0, 0.0)),
            2.0
        );
        // Perpendicular, the T's foot 4 m short of the bar: 4.
        assert_eq!(
            segment_distance((-5.0, 0.0), (5.0, 0.0), (0.0, 4.0), (0.0, 9.0)),
            4.0
        );
        // Opposite directions are the same street: 0°; perpendicular: 90°; 30°.
        assert!(axial_angle_deg((1.0, 0.0), (-2.0, 0.0)).abs() < 1e-12);
        assert!((axial_angle_deg((1.0, 0.0), (0.0, 1.0)) - 90.0).abs() < 1e-12);
        let s = 30f64.to_radians();
        assert!((axial_angle_deg((1.0, 0.0), (-s.cos(), -s.sin())) - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_line_is_cut_from_its_start_and_a_short_remainder_joins_the_last_piece() {
        let mut out = Vec::new();
        // 25 m: 10, 10, 5.
        let total = cut_line(0, &[(0.0, 0.0), (25.0, 0.0)], 10.0, &mut out);
        assert_eq!(total, 25.0);
        let lens: Vec<f64> = out.iter().map(|p| p.length_m).collect();
        assert_eq!(lens, vec![10.0, 10.0, 5.0]);
        // 20.5 m with a duplicate vertex and a bend at 12 m: 10, then 10.5 (0.5 m joins).
        out.clear();
        let line = [(0.0, 0.0), (12.0, 0.0), (12.0, 0.0), (12.0, 8.5)];
        let total = cut_line(0, &line, 10.0, &mut out);
        assert_eq!(total, 20.5);
        let lens: Vec<f64> = out.iter().map(|p| p.length_m).collect();
        assert_eq!(lens, vec![10.0, 10.5]);
        // The second piece runs from (10, 0) to the end (12, 8.5), over the bend.
        assert_eq!(out[1].start, (10.0, 0.0));
        assert_eq!(out[1].end, (12.0, 8.5));
        // 0.6 m: one piece of 0.6 m.
        out.clear();
        cut_line(0, &[(0.0, 0.0), (0.6, 0.0)], 10.0, &mut out);
        assert_eq!(out.len(), 1);
        assert!((out[0].length_m - 0.6).abs() < 1e-12);
    }
}
