//! Clipping to the buffered tile square and simplification in tile units.
//!
//! All functions work on one square `[lo, hi]²` in tile space and write into buffers the
//! caller reuses from feature to feature, so cutting a tile allocates little.

use std::ops::Range;

/// Douglas–Peucker tolerance in tile units: 1/8 of a screen pixel (MapLibre draws a tile of
/// 4096 units over 512 pixels), so the simplification follows the zoom.
pub(crate) const TOLERANCE: f64 = 1.0;

/// Liang–Barsky: the parameter interval `[t0, t1]` of segment `a → b` inside `[lo, hi]²`,
/// or `None` when the segment misses the square.
fn clip_segment(a: [f64; 2], b: [f64; 2], lo: f64, hi: f64) -> Option<(f64, f64)> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let mut t0 = 0.0_f64;
    let mut t1 = 1.0_f64;
    // Each pair is (p, q) of the inequality t·p ≤ q for one edge.
    for (p, q) in [
        (-dx, a[0] - lo),
        (dx, hi - a[0]),
        (-dy, a[1] - lo),
        (dy, hi - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    Some((t0, t1))
}

fn lerp(a: [f64; 2], b: [f64; 2], t: f64) -> [f64; 2] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

/// The point at `t` of `a → b`, a crossing of the square's edge: clamped so that rounding
/// cannot put it a hair outside.
fn on_edge(a: [f64; 2], b: [f64; 2], t: f64, lo: f64, hi: f64) -> [f64; 2] {
    let p = lerp(a, b, t);
    [p[0].clamp(lo, hi), p[1].clamp(lo, hi)]
}

/// Clips a polyline to `[lo, hi]²`; every run of it inside the square becomes one part
/// (`out[range]`), so a line that leaves and re-enters the tile gives two parts.
pub(crate) fn clip_line(
    line: &[[f64; 2]],
    lo: f64,
    hi: f64,
    out: &mut Vec<[f64; 2]>,
    parts: &mut Vec<Range<usize>>,
) {
    out.clear();
    parts.clear();
    let mut open: Option<usize> = None;
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        match clip_segment(a, b, lo, hi) {
            None => {
                if let Some(start) = open.take() {
                    parts.push(start..out.len());
                }
            }
            Some((t0, t1)) => {
                // A segment that starts inside continues the open part; one that enters
                // through an edge starts a new part.
                if open.is_none() || t0 > 0.0 {
                    if let Some(start) = open.take() {
                        parts.push(start..out.len());
                    }
                    open = Some(out.len());
                    out.push(if t0 > 0.0 {
                        on_edge(a, b, t0, lo, hi)
                    } else {
                        a
                    });
                }
                out.push(if t1 < 1.0 {
                    on_edge(a, b, t1, lo, hi)
                } else {
                    b
                });
                if t1 < 1.0 {
                    if let Some(start) = open.take() {
                        parts.push(start..out.len());
                    }
                }
            }
        }
    }
    if let Some(start) = open {
        parts.push(start..out.len());
    }
}

/// Sutherland–Hodgman: an open ring (no repeated closing point) clipped to `[lo, hi]²`, into
/// `out` (open as well). Correct for any ring because the clip region is convex; a ring that
/// leaves and re-enters gives zero-width bridges along the tile edge, which lie in the buffer.
pub(crate) fn clip_ring(
    ring: &[[f64; 2]],
    lo: f64,
    hi: f64,
    scratch: &mut Vec<[f64; 2]>,
    out: &mut Vec<[f64; 2]>,
) {
    out.clear();
    out.extend_from_slice(ring);
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in ring {
        min_x = min_x.min(p[0]);
        max_x = max_x.max(p[0]);
        min_y = min_y.min(p[1]);
        max_y = max_y.max(p[1]);
    }
    if min_x >= lo && max_x <= hi && min_y >= lo && max_y <= hi {
        return;
    }
    // (axis, bound, keep the side ≥ bound)
    for (axis, bound, keep_above) in [(0, lo, true), (0, hi, false), (1, lo, true), (1, hi, false)]
    {
        std::mem::swap(scratch, out);
        out.clear();
        let Some(&last) = scratch.last() else {
            return;
        };
        let inside = |p: &[f64; 2]| {
            if keep_above {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let mut prev = last;
        let mut prev_in = inside(&prev);
        for &cur in scratch.iter() {
            let cur_in = inside(&cur);
            if cur_in != prev_in {
                let t = (bound - prev[axis]) / (cur[axis] - prev[axis]);
                let mut p = lerp(prev, cur, t);
                p[axis] = bound;
                out.push(p);
            }
            if cur_in {
                out.push(cur);
            }
            prev = cur;
            prev_in = cur_in;
        }
    }
}

/// Rounds to integer tile units and drops consecutive repeats, appending to `out`.
pub(crate) fn snap(points: &[[f64; 2]], out: &mut Vec<[i32; 2]>) {
    out.clear();
    for p in points {
        let q = [p[0].round() as i32, p[1].round() as i32];
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
}

/// Squared distance from `p` to segment `a b`.
fn segment_distance2(p: [i32; 2], a: [i32; 2], b: [i32; 2]) -> f64 {
    let (px, py) = (f64::from(p[0]), f64::from(p[1]));
    let (ax, ay) = (f64::from(a[0]), f64::from(a[1]));
    let (dx, dy) = (f64::from(b[0]) - ax, f64::from(b[1]) - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    };
    let (ex, ey) = (ax + t * dx - px, ay + t * dy - py);
    ex * ex + ey * ey
}

/// Douglas–Peucker with tolerance `tolerance` (tile units), in place; the end points stay.
/// `keep` and `stack` are scratch buffers.
pub(crate) fn simplify(
    points: &mut Vec<[i32; 2]>,
    tolerance: f64,
    keep: &mut Vec<bool>,
    stack: &mut Vec<(usize, usize)>,
) {
    let n = points.len();
    if n < 3 {
        return;
    }
    keep.clear();
    keep.resize(n, false);
    keep[0] = true;
    keep[n - 1] = true;
    let tol2 = tolerance * tolerance;
    stack.clear();
    stack.push((0, n - 1));
    while let Some((first, last)) = stack.pop() {
        let mut worst = (0.0, 0);
        for i in first + 1..last {
            let d = segment_distance2(points[i], points[first], points[last]);
            if d > worst.0 {
                worst = (d, i);
            }
        }
        if worst.0 > tol2 {
            keep[worst.1] = true;
            stack.push((first, worst.1));
            stack.push((worst.1, last));
        }
    }
    let mut i = 0;
    points.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// Twice the signed area of an open ring by the shoelace formula: positive when the ring
/// turns clockwise on a y-down screen — the MVT 2.1 exterior orientation.
pub(crate) fn ring_area2(ring: &[[i32; 2]]) -> i64 {
    let n = ring.len();
    let mut sum = 0i64;
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        sum += i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1]);
    }
    sum
}

/// Snaps, simplifies and orients one clipped open ring in place: exterior rings get a
/// positive area, holes a negative one. Returns false for a degenerate ring (under three
/// distinct points or under one square tile unit of area), which the caller drops.
pub(crate) fn finish_ring(
    ring: &mut Vec<[i32; 2]>,
    exterior: bool,
    keep: &mut Vec<bool>,
    stack: &mut Vec<(usize, usize)>,
) -> bool {
    while ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return false;
    }
    // Simplify as a closed polyline from the first point back to itself.
    let first = ring[0];
    ring.push(first);
    simplify(ring, TOLERANCE, keep, stack);
    ring.pop();
    if ring.len() < 3 {
        return false;
    }
    let area2 = ring_area2(ring);
    if area2.abs() < 2 {
        return false;
    }
    if (area2 > 0) != exterior {
        ring.reverse();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const LO: f64 = -64.0;
    const HI: f64 = 4160.0;

    #[test]
    fn a_line_crossing_the_edge_is_cut_at_the_buffer() {
        let line = [[100.0, 100.0], [5000.0, 100.0]];
        let (mut out, mut parts) = (Vec::new(), Vec::new());
        clip_line(&line, LO, HI, &mut out, &mut parts);
        assert_eq!(parts, vec![0..2]);
        assert_eq!(out, vec![[100.0, 100.0], [HI, 100.0]]);
    }

    #[test]
    fn a_line_leaving_and_coming_back_gives_two_parts() {
        let line = [
            [0.0, 0.0],
            [0.0, -500.0],
            [100.0, -500.0],
            [100.0, 0.0],
            [200.0, 0.0],
        ];
        let (mut out, mut parts) = (Vec::new(), Vec::new());
        clip_line(&line, LO, HI, &mut out, &mut parts);
        assert_eq!(parts.len(), 2, "{out:?} {parts:?}");
        assert_eq!(&out[parts[0].clone()], &[[0.0, 0.0], [0.0, LO]]);
        assert_eq!(
            &out[parts[1].clone()],
            &[[100.0, LO], [100.0, 0.0], [200.0, 0.0]]
        );
        // A line entirely outside gives nothing; one passing through gives its chord.
        clip_line(
            &[[-500.0, -500.0], [-400.0, 5000.0]],
            LO,
            HI,
            &mut out,
            &mut parts,
        );
        assert!(parts.is_empty());
        clip_line(
            &[[-1000.0, 2000.0], [6000.0, 2000.0]],
            LO,
            HI,
            &mut out,
            &mut parts,
        );
        assert_eq!(out, vec![[LO, 2000.0], [HI, 2000.0]]);
    }

    #[test]
    fn a_square_crossing_the_corner_is_clipped_to_the_buffered_tile() {
        // A square from (3000, 3000) to (5000, 5000): the tile's south-east corner.
        let ring = [
            [3000.0, 3000.0],
            [5000.0, 3000.0],
            [5000.0, 5000.0],
            [3000.0, 5000.0],
        ];
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        clip_ring(&ring, LO, HI, &mut scratch, &mut out);
        let mut snapped = Vec::new();
        snap(&out, &mut snapped);
        let (mut keep, mut stack) = (Vec::new(), Vec::new());
        assert!(finish_ring(&mut snapped, true, &mut keep, &mut stack));
        let mut sorted = snapped.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![[3000, 3000], [3000, 4160], [4160, 3000], [4160, 4160]]
        );
        assert_eq!(ring_area2(&snapped), 2 * 1160 * 1160);
        // A ring entirely outside vanishes.
        clip_ring(
            &[[5000.0, 0.0], [6000.0, 0.0], [6000.0, 9.0]],
            LO,
            HI,
            &mut scratch,
            &mut out,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn winding_follows_mvt_2_1() {
        let (mut keep, mut stack) = (Vec::new(), Vec::new());
        // Counter-clockwise on a y-down screen (negative shoelace): reversed for an exterior.
        let mut ring = vec![[0, 0], [0, 10], [10, 10], [10, 0]];
        assert!(ring_area2(&ring) < 0);
        assert!(finish_ring(&mut ring, true, &mut keep, &mut stack));
        assert!(ring_area2(&ring) > 0);
        assert!(finish_ring(&mut ring, false, &mut keep, &mut stack));
        assert!(ring_area2(&ring) < 0);
        // Degenerate rings are dropped.
        let mut line = vec![[0, 0], [5, 5], [10, 10], [0, 0]];
        assert!(!finish_ring(&mut line, true, &mut keep, &mut stack));
        let mut dot = vec![[3, 3], [3, 3], [3, 3]];
        assert!(!finish_ring(&mut dot, true, &mut keep, &mut stack));
    }

    #[test]
    fn douglas_peucker_drops_points_within_a_unit() {
        let (mut keep, mut stack) = (Vec::new(), Vec::new());
        let mut pts = vec![[0, 0], [5, 1], [10, 0], [15, 8], [20, 0]];
        simplify(&mut pts, 1.0, &mut keep, &mut stack);
        assert_eq!(pts, vec![[0, 0], [10, 0], [15, 8], [20, 0]]);
    }
}
