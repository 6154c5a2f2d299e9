//! Stays (DESIGN.md §4.4): the anchor-radius rule of Li et al. (2008), as trackintel's
//! `sliding` method with `include_last=True`, applied to each segment on its own.

use serde::Serialize;

use super::{Fix, TrackParams};
use crate::model::UnixMs;

/// A period in which the worker remained within `stay_radius_m` of where it began.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Stay {
    /// The anchor's timestamp, UTC ms.
    pub start: UnixMs,
    /// The timestamp of the fix that left the radius (or of the segment's last fix), UTC ms.
    pub end: UnixMs,
    /// Mean longitude of the stay's fixes.
    pub lon: f64,
    /// Mean latitude of the stay's fixes.
    pub lat: f64,
    /// How many fixes the stay holds.
    pub pings: u32,
    /// Index of its first fix in the worker's fixes.
    pub first: usize,
}

impl Stay {
    /// Its duration, seconds.
    pub fn duration_s(&self) -> f64 {
        (self.end - self.start) as f64 / 1000.0
    }
}

/// The stays of one segment's fixes; `offset` is the index of `fixes[0]` among the worker's
/// fixes.
///
/// Take the first fix as anchor and walk forward; the first fix *j* at distance ≥
/// `stay_radius_m` from the anchor closes the run anchor..j−1, which is a stay if
/// t(j) − t(anchor) ≥ `stay_min_s` (from t(anchor) to t(j)); either way *j* becomes the new
/// anchor. The trailing run is a stay if t(last) − t(anchor) ≥ `stay_min_s`, ending at t(last).
pub fn stays(fixes: &[Fix], offset: usize, params: &TrackParams) -> Vec<Stay> {
    let mut out = Vec::new();
    let Some(last) = fixes.last() else {
        return out;
    };
    let min_ms = params.stay_min_s * 1000.0;
    let mut anchor = 0;
    for j in 1..fixes.len() {
        if fixes[anchor].distance_m(&fixes[j]) >= params.stay_radius_m {
            if (fixes[j].ts - fixes[anchor].ts) as f64 >= min_ms {
                out.push(make_stay(&fixes[anchor..j], fixes[j].ts, offset + anchor));
            }
            anchor = j;
        }
    }
    if (last.ts - fixes[anchor].ts) as f64 >= min_ms {
        out.push(make_stay(&fixes[anchor..], last.ts, offset + anchor));
    }
    out
}

fn make_stay(run: &[Fix], end: UnixMs, first: usize) -> Stay {
    let n = run.len() as f64;
    let (sum_lon, sum_lat) = run
        .iter()
        .fold((0.0, 0.0), |(x, y), f| (x + f.lon, y + f.lat));
    Stay {
        start: run[0].ts,
        end,
        lon: sum_lon / n,
        lat: sum_lat / n,
        pings: run.len() as u32,
        first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::distance_m;

    /// A fix `east_m` metres east of a base point, found by bisection on the real distance
    /// so that "exactly the radius" is exact to the last bit the engine sees.
    fn fix_east(t_s: i64, east_m: f64) -> Fix {
        let (lon0, lat0) = (112.98, 28.2);
        if east_m == 0.0 {
            return Fix::new(t_s * 1000, lon0, lat0, 0);
        }
        let (mut lo, mut hi) = (0.0, 0.01);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if distance_m(lon0, lat0, lon0 + mid, lat0) < east_m {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Fix::new(t_s * 1000, lon0 + hi, lat0, 0)
    }

    fn params() -> TrackParams {
        TrackParams::default() // radius 50 m, 300 s
    }

    #[test]
    fn a_stay_ends_at_the_fix_that_leaves_the_radius() {
        let fixes = [
            fix_east(0, 0.0),
            fix_east(100, 10.0),
            fix_east(200, 20.0),
            fix_east(400, 60.0),
            fix_east(410, 70.0),
        ];
        let s = stays(&fixes, 0, &params());
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].start, s[0].end, s[0].pings), (0, 400_000, 3));
    }

    #[test]
    fn distance_exactly_the_radius_is_outside() {
        let at_radius = fix_east(300, 50.0);
        assert!(fix_east(0, 0.0).distance_m(&at_radius) >= 50.0);
        let fixes = [
            fix_east(0, 0.0),
            fix_east(150, 10.0),
            at_radius,
            fix_east(310, 51.0),
        ];
        let s = stays(&fixes, 0, &params());
        // The run closes at the fix on the radius: 0..300 s is a stay of two fixes.
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].start, s[0].end, s[0].pings), (0, 300_000, 2));
    }

    #[test]
    fn duration_exactly_stay_min_is_a_stay_and_one_ms_less_is_not() {
        let fixes = [fix_east(0, 0.0), fix_east(299, 5.0), fix_east(300, 100.0)];
        assert_eq!(stays(&fixes, 0, &params()).len(), 1);
        let mut short = fixes;
        short[2].ts -= 1;
        assert!(stays(&short, 0, &params()).is_empty());
    }

    #[test]
    fn the_trailing_run_counts_up_to_the_last_fix() {
        let fixes = [
            fix_east(0, 0.0),
            fix_east(10, 100.0),
            fix_east(200, 110.0),
            fix_east(310, 105.0),
        ];
        let s = stays(&fixes, 7, &params());
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].start, s[0].end, s[0].pings, s[0].first),
            (10_000, 310_000, 3, 8)
        );
        let trailing_short = &fixes[..3];
        assert!(stays(trailing_short, 0, &params()).is_empty());
    }

    #[test]
    fn the_position_is_the_mean_of_the_stay_fixes() {
        let fixes = [fix_east(0, 0.0), fix_east(200, 20.0), fix_east(400, 40.0)];
        let s = stays(&fixes, 0, &params());
        assert_eq!(s.len(), 1);
        let mean_lon = fixes.iter().map(|f| f.lon).sum::<f64>() / 3.0;
        assert!((s[0].lon - mean_lon).abs() < 1e-12);
        assert_eq!(s[0].pings, 3);
    }
}
