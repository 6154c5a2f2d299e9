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
        if far_d2 > tol2 {
            keep[far] = true;
            stack.push((a, far));
            stack.push((far, b));
        }
    }
    (0..n).filter(|&k| keep[k]).collect()
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

    #[test]
    fn short_runs_and_zero_tolerance_keep_everything() {
        assert!(simplify(&[], 5.0).is_empty());
        assert_eq!(simplify(&[fix(0.0, 0.0)], 5.0), vec![0]);
        let fixes = [fix(0.0, 0.0), fix(1.0, 0.0), fix(2.0, 0.0)];
        assert_eq!(simplify(&fixes, 0.0), vec![0, 1, 2]);
    }
}
