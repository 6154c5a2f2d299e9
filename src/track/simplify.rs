//! Simplification for display: Douglas–Peucker with a tolerance in metres.

use super::Fix;
use crate::geodesy::LocalFrame;

/// The indices of the fixes that a Douglas–Peucker simplification with `tolerance_m` keeps
/// (always the first and last). The run is measured in a local metric frame at its first fix,
/// so the tolerance is in metres whatever the latitude.
pub fn simplify(fixes: &[Fix], tolerance_m: f64) -> Vec<usize> {
    match fixes {
        [] => Vec::new(),
        [_] => vec![0],
        [first, ..] => {
            if tolerance_m <= 0.0 {
                return (0..fixes.len()).collect();
            }
            let frame = LocalFrame::new(first.lon, first.lat);
            let pts: Vec<(f64, f64)> = fixes.iter().map(|f| frame.project(f.lon, f.lat)).collect();
            douglas_peucker(&pts, tolerance_m)
        }
    }
}

/// The indices of the positions (lon, lat) that a Douglas–Peucker simplification with
/// `tolerance_m` keeps (always the first and last), measured in a local metric frame at the
/// first position — the same rule as [`simplify`], for lines that are no longer fixes.
pub fn simplify_lonlat(coords: &[(f64, f64)], tolerance_m: f64) -> Vec<usize> {
    match coords {
        [] => Vec::new(),
        [_] => vec![0],
        [first, ..] => {
            if tolerance_m <= 0.0 {
                return (0..coords.len()).collect();
            }
            let frame = LocalFrame::new(first.0, first.1);
            let pts: Vec<(f64, f64)> = coords.iter().map(|&(x, y)| frame.project(x, y)).collect();
            douglas_peucker(&pts, tolerance_m)
        }
    }
}

/// Douglas–Peucker on planar points: keeps the first and last point and, recursively, the
/// point farthest from the segment between kept neighbours while that distance exceeds the
/// tolerance. Iterative, on squared distances (the hot loop takes no square root).
fn douglas_peucker(pts: &[(f64, f64)], tolerance: f64) -> Vec<usize> {
    let n = pts.len();
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let tol2 = tolerance * tolerance;
    let mut stack: Vec<(usize, usize)> = vec![(0, n - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (far, far_d2) = farthest(pts, a, b);
        if far_d2 > tol2 {
            keep[far] = true;
            stack.push((a, far));
            stack.push((far, b));
        }
    }
    (0..n).filter(|&k| keep[k]).collect()
}

/// Points whose distances [`farthest`] computes before looking for the largest.
const DISTANCE_CHUNK: usize = 64;

/// The first point strictly between `a` and `b` farthest from the segment `pts[a]`–`pts[b]`
/// and its squared distance (`(a, −1)` when there is none).
///
/// The distances go a chunk at a time into a buffer, without a branch, then the first
/// largest is picked: the division of each point's projection then runs several points per
/// vector. Where the processor has AVX-512 or AVX2 the same code runs compiled for it: the same
/// IEEE operations in the same order, so the same distances and the same point.
fn farthest(pts: &[(f64, f64)], a: usize, b: usize) -> (usize, f64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has just been found to support AVX-512F.
            return unsafe { farthest_avx512(pts, a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has just been found to support AVX2.
            return unsafe { farthest_avx2(pts, a, b) };
        }
    }
    farthest_portable(pts, a, b)
}

/// [`farthest`] compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn farthest_avx512(pts: &[(f64, f64)], a: usize, b: usize) -> (usize, f64) {
    farthest_portable(pts, a, b)
}

/// [`farthest`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn farthest_avx2(pts: &[(f64, f64)], a: usize, b: usize) -> (usize, f64) {
    farthest_portable(pts, a, b)
}

/// [`farthest`] for any processor (inlined into each compiled variant).
#[inline(always)]
fn farthest_portable(pts: &[(f64, f64)], a: usize, b: usize) -> (usize, f64) {
    let (ax, ay) = pts[a];
    let (dx, dy) = (pts[b].0 - ax, pts[b].1 - ay);
    let len2 = dx * dx + dy * dy;
    let (mut far, mut far_d2) = (a, -1.0);
    let mut d2s = [0.0f64; DISTANCE_CHUNK];
    for (c, chunk) in pts[a + 1..b].chunks(DISTANCE_CHUNK).enumerate() {
        let d2s = &mut d2s[..chunk.len()];
        if len2 > 0.0 {
            for (d2, &(px, py)) in d2s.iter_mut().zip(chunk) {
                let (qx, qy) = (px - ax, py - ay);
                let t = ((qx * dx + qy * dy) / len2).clamp(0.0, 1.0);
                let (ex, ey) = (qx - t * dx, qy - t * dy);
                *d2 = ex * ex + ey * ey;
            }
        } else {
            for (d2, &(px, py)) in d2s.iter_mut().zip(chunk) {
                let (qx, qy) = (px - ax, py - ay);
                *d2 = qx * qx + qy * qy;
            }
        }
        // The chunk's largest distance (lane by lane, then across), and where it first
        // occurs: the point the one-by-one search `d2 > far_d2` would keep.
        let mut lanes = [f64::NEG_INFINITY; 8];
        let mut groups = d2s.chunks_exact(8);
        for group in &mut groups {
            for (l, &d2) in lanes.iter_mut().zip(group) {
                *l = if d2 > *l { d2 } else { *l };
            }
        }
        for (l, &d2) in lanes.iter_mut().zip(groups.remainder()) {
            *l = if d2 > *l { d2 } else { *l };
        }
        let top = lanes
            .iter()
            .fold(f64::NEG_INFINITY, |m, &l| if l > m { l } else { m });
        if top > far_d2 {
            if let Some(i) = d2s.iter().position(|&d2| d2 == top) {
                (far, far_d2) = (a + 1 + c * DISTANCE_CHUNK + i, top);
            }
        }
    }
    (far, far_d2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(east_m: f64, north_m: f64) -> Fix {
        let frame = LocalFrame::new(112.98, 28.2);
        let (lon, lat) = frame.unproject(east_m, north_m);
        Fix::new(0, lon, lat, 0)
    }

    #[test]
    fn wiggles_below_the_tolerance_go_and_corners_stay() {
        // East 100 m with 2 m wiggles, then north 100 m.
        let mut fixes: Vec<Fix> = (0..=10)
            .map(|k| fix(10.0 * k as f64, if k % 2 == 0 { 0.0 } else { 2.0 }))
            .collect();
        fixes.extend((1..=10).map(|k| fix(100.0, 10.0 * k as f64)));
        assert_eq!(simplify(&fixes, 5.0), vec![0, 10, 20]);
        assert_eq!(
            simplify(&fixes, 1.0).len(),
            fixes.len() - 9,
            "2 m wiggles kept at 1 m, straight run dropped"
        );
    }

    /// The search as it was before the distances went in chunks (2026-12-05): one loop,
    /// the first largest distance.
    fn reference_dp(pts: &[(f64, f64)], tolerance: f64) -> Vec<usize> {
        let n = pts.len();
        let mut keep = vec![false; n];
        keep[0] = true;
        keep[n - 1] = true;
        let mut stack = vec![(0, n - 1)];
        while let Some((a, b)) = stack.pop() {
            if b <= a + 1 {
                continue;
            }
            let (ax, ay) = pts[a];
            let (dx, dy) = (pts[b].0 - ax, pts[b].1 - ay);
            let len2 = dx * dx + dy * dy;
            let (mut far, mut far_d2) = (a, -1.0);
            for (k, &(px, py)) in pts.iter().enumerate().take(b).skip(a + 1) {
                let (qx, qy) = (px - ax, py - ay);
                let d2 = if len2 > 0.0 {
                    let t = ((qx * dx + qy * dy) / len2).clamp(0.0, 1.0);
                    let (ex, ey) = (qx - t * dx, qy - t * dy);
                    ex * ex + ey * ey
                } else {
                    qx * qx + qy * qy
                };
                if d2 > far_d2 {
                    (far, far_d2) = (k, d2);
                }
            }
            if far_d2 > tolerance * tolerance {
                keep[far] = true;
                stack.push((a, far));
                stack.push((far, b));
            }
        }
        (0..n).filter(|&k| keep[k]).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Walks longer than a chunk, with repeated points (equal distances: the first must
        /// win), closed loops (a zero-length base) and steps on a coarse lattice (ties): the
        /// chunked search keeps exactly the points the one-loop search kept.
        #[test]
        fn chunked_distances_keep_the_reference_points(
            steps in proptest::collection::vec((0u8..4, -3i32..4, -3i32..4), 1..400),
            tolerance in 0.1f64..8.0,
            closed in proptest::bool::ANY,
        ) {
            let mut pts = vec![(0.0, 0.0)];
            for (kind, dx, dy) in steps {
                let &(x, y) = pts.last().unwrap();
                pts.push(match kind {
                    0 => (x, y),
                    1 => (x + f64::from(dx), y + f64::from(dy)),
                    _ => (x + f64::from(dx) * 1.37, y + f64::from(dy) * 0.91),
                });
            }
            if closed {
                pts.push((0.0, 0.0));
            }
            proptest::prop_assert_eq!(douglas_peucker(&pts, tolerance), reference_dp(&pts, tolerance));
            proptest::prop_assert_eq!(
                farthest_portable(&pts, 0, pts.len() - 1),
                farthest(&pts, 0, pts.len() - 1)
            );
        }
    }

    #[test]
    fn short_runs_and_zero_tolerance_keep_everything() {
        assert!(simplify(&[], 5.0).is_empty());
        assert_eq!(simplify(&[fix(0.0, 0.0)], 5.0), vec![0]);
        let fixes = [fix(0.0, 0.0), fix(1.0, 0.0), fix(2.0, 0.0)];
        assert_eq!(simplify(&fixes, 0.0), vec![0, 1, 2]);
    }
}
