//! Cleaning a vehicle's fixes before route coverage: order, one fix per timestamp, and a speed
//! gate. Deliberately simpler than a worker's cleaning (`track::clean`): a vehicle terminal
//! reports every few seconds from a fixed antenna, so repeats, accuracy and relocations need
//! no rules of their own here.

use super::{RouteParams, VehicleFix};
use crate::geodesy::distance_m;

/// The fixes a route-day is computed from: fixes with a position that is not a finite WGS84
/// position dropped, non-finite optional numbers (speed, pressure) taken as not reported,
/// sorted by time (stable: of fixes with the same timestamp the first given is kept, the
/// others dropped), and a fix dropped when it implies a speed over
/// `params.max_vehicle_speed_kmh` from the last **kept** fix (ellipsoidal distance over the
/// time between them).
///
/// The gate has no relocation rule: after an outlier is kept as the first fix, the fixes that
/// follow are dropped until they are far enough in time for the outlier to be reachable, that
/// is for at most (distance / `max_vehicle_speed_kmh`) — 5 minutes for a 10 km outlier at the
/// default 120 km/h. Clean the vehicle's fixes as one stream (or a day's slice with its
/// neighbours) so that a day does not start from another day's outlier.
pub fn clean(fixes: &[VehicleFix], params: &RouteParams) -> Vec<VehicleFix> {
    let mut sorted: Vec<VehicleFix> = fixes
        .iter()
        .filter(|f| {
            f.lon.is_finite()
                && f.lat.is_finite()
                && (-180.0..=180.0).contains(&f.lon)
                && (-90.0..=90.0).contains(&f.lat)
        })
        .map(|f| VehicleFix {
            speed_kmh: f.speed_kmh.filter(|v| v.is_finite()),
            pressure: f.pressure.filter(|v| v.is_finite()),
            ..*f
        })
        .collect();
    sorted.sort_by_key(|f| f.t);
    sorted.dedup_by_key(|f| f.t);

    let max_mps = params.max_vehicle_speed_kmh / 3.6;
    let mut kept: Vec<VehicleFix> = Vec::with_capacity(sorted.len());
    for f in sorted {
        if let Some(last) = kept.last() {
            let dt_s = (f.t - last.t) as f64 / 1000.0;
            if distance_m(last.lon, last.lat, f.lon, f.lat) > max_mps * dt_s {
                continue;
            }
        }
        kept.push(f);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(t: i64, lon: f64, lat: f64) -> VehicleFix {
        VehicleFix {
            t,
            lon,
            lat,
            speed_kmh: None,
            work: None,
            pressure: None,
            acc: None,
        }
    }

    #[test]
    fn sorts_keeps_the_first_fix_of_a_timestamp_and_gates_speed() {
        let p = RouteParams::default();
        // 0.001° of latitude is 111.3 m at 60° N. In 10 s at ≤ 120 km/h a fix may move
        // 333 m: 0.002° (223 m) passes, 0.004° (445 m) is dropped.
        let fixes = [
            fix(20_000, 24.0, 60.002),
            fix(0, 24.0, 60.0),
            fix(10_000, 24.0, 60.001),
            fix(10_000, 24.5, 60.001), // same timestamp: the first given is kept
            fix(30_000, 24.0, 60.010), // 8 × 111 m in 10 s from the last kept: dropped
            fix(40_000, 24.0, 60.003), // 111 m in 20 s from 20_000: kept
            fix(50_000, f64::NAN, 60.0),
        ];
        let kept = clean(&fixes, &p);
        let ts: Vec<i64> = kept.iter().map(|f| f.t).collect();
        assert_eq!(ts, vec![0, 10_000, 20_000, 40_000]);
        assert_eq!(kept[1].lon, 24.0);
    }

    #[test]
    fn an_outlier_blocks_only_until_it_is_reachable() {
        let p = RouteParams::default();
        // The first fix is 0.09° (10.0 km) north of the rest: at 120 km/h that is 300 s away.
        let mut fixes = vec![fix(0, 24.0, 60.09)];
        fixes.extend((1..=40).map(|i| fix(i * 10_000, 24.0, 60.0)));
        let kept = clean(&fixes, &p);
        // 10_020 m / 33.33 m/s = 300.6 s: the first fix kept after it is at 310 s.
        assert_eq!(kept[1].t, 310_000);
    }
}
