//! Simplification for display: Douglas–Peucker with a tolerance in metres.

use geo::{Coord, LineString, SimplifyIdx};

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
            let line: LineString<f64> = fixes
                .iter()
                .map(|f| {
                    let (x, y) = frame.project(f.lon, f.lat);
                    Coord { x, y }
                })
                .collect();
            line.simplify_idx(tolerance_m)
        }
    }
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
