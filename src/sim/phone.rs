//! The phone: what the app reported of a true trajectory, as [`PingRow`]s — sampling at the
//! reporting interval with bursts and gaps, GPS noise, outliers, mock flags, check-ins,
//! duplicates and out-of-order delivery; or, for the check-in-only app, one fix per visit.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::city::City;
use super::walk::{Cursor, Ledger, Span, Traj};

/// One ping as generated: fixed-point values, so that CSV and Parquet hold the same numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingRow {
    /// Index into [`City::workers`].
    pub worker: u32,
    /// Timestamp, UTC seconds since the Unix epoch.
    pub ts_s: i64,
    /// Longitude in units of 1e-7 degree.
    pub lon_e7: i64,
    /// Latitude in units of 1e-7 degree.
    pub lat_e7: i64,
    /// Reported accuracy in decimetres.
    pub acc_dm: u32,
    /// Reported speed in decimetres per second.
    pub speed_dmps: u32,
    /// The client flagged the fix as a mock location.
    pub mock: bool,
    /// Index into [`City::checkpoints`] of the check-in this ping carries, if any.
    pub checkin: Option<u32>,
}

/// The phone: samples the trajectory at the app's interval (with bursts and gaps) and adds
/// GPS noise, outliers, mock flags, check-ins, duplicates and out-of-order delivery.
#[allow(clippy::too_many_arguments)]
pub(super) fn emit(
    rng: &mut ChaCha8Rng,
    city: &City,
    w: usize,
    traj: &Traj,
    led: &Ledger,
    shift_start: f64,
    shift_end: f64,
    midnight_utc_s: i64,
    interval_s: u32,
    mock_share: f64,
    jumps: &mut u32,
) -> Vec<PingRow> {
    let t0 = shift_start.round() as i64;
    let t1 = shift_end.round() as i64;
    let step = i64::from(interval_s.max(1));
    let mut times: Vec<i64> = (0..)
        .map(|k| t0 + k * step)
        .take_while(|&t| t <= t1)
        .collect();
    // Bursts: the app switches to 1 s fixes for a few minutes.
    for _ in 0..rng.random_range(0..=2) {
        let s = rng.random_range(t0..(t1 - 300).max(t0 + 1));
        let len = rng.random_range(60..300);
        times.extend(s..(s + len).min(t1));
    }
    times.sort_unstable();
    times.dedup();
    // Gaps: lost signal (1–10 min) and the app being killed (10–60 min), never during a
    // visit or a static-device period (the truth promises fixes there), nor at the shift ends.
    let protected: Vec<Span> = led
        .visits
        .iter()
        .map(|v| Span {
            start: v.start,
            end: v.end,
        })
        .chain(led.statics.iter().copied())
        .collect();
    let mut gaps: Vec<(i64, i64)> = Vec::new();
    let mut try_gap = |rng: &mut ChaCha8Rng, lo: i64, hi: i64| {
        if t1 - t0 < 2400 {
            return;
        }
        let s = rng.random_range(t0 + 900..t1 - 900);
        let e = s + rng.random_range(lo..hi);
        let clash = protected
            .iter()
            .any(|p| (s as f64) < p.end + 30.0 && (e as f64) > p.start - 30.0);
        if !clash && e < t1 - 600 {
            gaps.push((s, e));
        }
    };
    for _ in 0..rng.random_range(0..=4) {
        try_gap(rng, 60, 600);
    }
    if rng.random_bool(0.35) {
        try_gap(rng, 600, 3600);
    }
    if !gaps.is_empty() {
        times.retain(|&t| !gaps.iter().any(|&(s, e)| t > s && t < e));
    }

    let mut rows = Vec::with_capacity(times.len() + times.len() / 200 + 4);
    let mut cur = Cursor::new(traj);
    let (mut ex, mut ey) = (0.0f64, 0.0f64);
    let mut acc = rng.random_range(5.0..15.0f64);
    let mut last_t = t0 as f64;
    let mut vi = 0usize;
    let mut checked = vec![false; led.visits.len()];
    let mut si = 0usize;
    let mut mi = 0usize;
    let mut mock_cur: Option<(Cursor<'_>, usize)> = None;
    let mut prev_leak = false;
    let frame = &city.frame;
    let wid = w as u32;

    for &ts in &times {
        let t = ts as f64;
        let dt = (t - last_t).max(1.0);
        last_t = t;
        let (tp, tspd) = cur.at(t);

        while si < led.statics.len() && led.statics[si].end < t {
            si += 1;
        }
        let in_static = si < led.statics.len() && t >= led.statics[si].start;
        while mi < led.mocks.len() && led.mocks[mi].span.end < t {
            mi += 1;
            mock_cur = None;
        }
        let in_mock = mi < led.mocks.len() && t >= led.mocks[mi].span.start;

        // Correlated GPS error (AR(1), ~1 min memory) whose size matches the reported accuracy.
        acc = (acc + rng.sample::<f64, _>(StandardNormal) * 0.4).clamp(5.0, 15.0);
        let rho = (-dt / 60.0).exp();
        let kk = (1.0 - rho * rho).sqrt();
        let sigma = if in_static { 2.5 } else { acc / 1.5 };
        ex = rho * ex + kk * sigma * rng.sample::<f64, _>(StandardNormal);
        ey = rho * ey + kk * sigma * rng.sample::<f64, _>(StandardNormal);

        let mut mock = false;
        let mut leak = false;
        let (p, spd, acc_m) = if in_static {
            // A phone on a desk: fixes within ~8 m of where it lies.
            let r = ex.hypot(ey);
            let (nx, ny) = if r > 8.0 {
                (ex * 8.0 / r, ey * 8.0 / r)
            } else {
                (ex, ey)
            };
            ([tp[0] + nx, tp[1] + ny], 0.0, rng.random_range(10.0..25.0))
        } else if in_mock {
            let ep = &led.mocks[mi];
            let due = ep.leaks.partition_point(|&l| l <= t);
            let (fc, consumed) = mock_cur.get_or_insert_with(|| (Cursor::new(&ep.fake), 0));
            if due > *consumed {
                // A real fix leaks through the fake-location app: a teleport.
                *consumed = due;
                leak = true;
                ([tp[0] + ex, tp[1] + ey], tspd, acc)
            } else {
                let (fp, fs) = fc.at(t);
                mock = rng.random_bool(mock_share);
                let jx: f64 = rng.sample(StandardNormal);
                let jy: f64 = rng.sample(StandardNormal);
                ([fp[0] + jx, fp[1] + jy], fs, 3.0)
            }
        } else if rng.random_bool(0.003) {
            // An urban-canyon or network fix: far off, and it says so.
            let r = rng.random_range(50.0..200.0);
            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            (
                [tp[0] + r * a.cos(), tp[1] + r * a.sin()],
                tspd,
                r * rng.random_range(0.8..1.3),
            )
        } else {
            ([tp[0] + ex, tp[1] + ey], tspd, acc)
        };
        if in_mock {
            if leak != prev_leak {
                *jumps += 1;
            }
            prev_leak = leak;
        } else {
            prev_leak = false;
        }

        // A check-in during a visit, at its middle.
        while vi < led.visits.len() && led.visits[vi].end < t {
            vi += 1;
        }
        let mut checkin = None;
        if vi < led.visits.len() {
            let v = &led.visits[vi];
            if v.checkin && !checked[vi] && t >= (v.start + v.end) / 2.0 && t <= v.end {
                checked[vi] = true;
                checkin = Some(v.checkpoint as u32);
            }
        }

        let spd_rep = if spd > 0.0 {
            (spd + rng.sample::<f64, _>(StandardNormal) * 0.15).max(0.0)
        } else {
            0.0
        };
        let [lon_e7, lat_e7] = frame.to_lonlat_e7(p[0], p[1]);
        let row = PingRow {
            worker: wid,
            ts_s: midnight_utc_s + ts,
            lon_e7,
            lat_e7,
            acc_dm: (acc_m * 10.0).round() as u32,
            speed_dmps: (spd_rep * 10.0).round() as u32,
            mock,
            checkin,
        };
        rows.push(row);
        // Duplicates: the same fix sent twice, rarely with different coordinates.
        let u: f64 = rng.random();
        if u < 0.002 {
            rows.push(row);
        } else if u < 0.0024 && !in_static && !in_mock {
            let r = rng.random_range(5.0..30.0);
            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let [lon_e7, lat_e7] = frame.to_lonlat_e7(p[0] + r * a.cos(), p[1] + r * a.sin());
            rows.push(PingRow {
                lon_e7,
                lat_e7,
                ..row
            });
        }
    }
    // Out-of-order delivery: a few rows arrive after their successor.
    if rows.len() > 2 {
        for i in 0..rows.len() - 1 {
            if rng.random_bool(0.004) {
                rows.swap(i, i + 1);
            }
        }
    }
    rows
}

/// The sparse (check-in only) app: one fix per checkpoint visit, during the stay, carrying the
/// check-in, with ordinary GPS noise (5–15 m, never more than 2.5 × the reported accuracy);
/// no outliers, duplicates, mock flags or out-of-order delivery.
pub(super) fn emit_sparse(
    rng: &mut ChaCha8Rng,
    city: &City,
    w: usize,
    traj: &Traj,
    led: &Ledger,
    midnight_utc_s: i64,
) -> Vec<PingRow> {
    let mut cur = Cursor::new(traj);
    let mut rows = Vec::with_capacity(led.visits.len());
    for v in &led.visits {
        let ts = (v.start + (v.end - v.start) * rng.random_range(0.3..0.7)).round();
        let (tp, _) = cur.at(ts);
        let acc: f64 = rng.random_range(5.0..15.0);
        let ex = rng.sample::<f64, _>(StandardNormal) * acc / 1.5;
        let ey = rng.sample::<f64, _>(StandardNormal) * acc / 1.5;
        let r = ex.hypot(ey);
        let k = if r > 2.5 * acc { 2.5 * acc / r } else { 1.0 };
        let [lon_e7, lat_e7] = city.frame.to_lonlat_e7(tp[0] + k * ex, tp[1] + k * ey);
        rows.push(PingRow {
            worker: w as u32,
            ts_s: midnight_utc_s + ts as i64,
            lon_e7,
            lat_e7,
            acc_dm: (acc * 10.0).round() as u32,
            speed_dmps: 0,
            mock: false,
            checkin: Some(v.checkpoint as u32),
        });
    }
    rows
}
