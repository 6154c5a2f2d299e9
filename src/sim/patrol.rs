//! One worker-day: the worker's plan, the day's schedule of episodes that drives the walker
//! (`walk.rs`: walks on the grid's street graph, visits, breaks and the label's misbehaviour),
//! and what the phone reported of it ([`super::phone`]: noise, outliers, gaps, bursts,
//! duplicates, out-of-order delivery).
//!
//! Pure: a worker-day depends only on the city, the options, the worker's plan and its own
//! seed, so workers can be generated in parallel without changing the output.

use geo::{Contains, Distance, Euclidean, Point};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::city::{AppMode, City, Label, Shift};
use super::phone::{emit, emit_sparse, PingRow};
use super::walk::{far_point, Cursor, Ledger, MockEp, Span, Traj, VisitRaw, Walker};
use super::{mix_seed, SimOptions};

const H: f64 = 3600.0;

/// What really happened on one worker-day, before formatting.
#[derive(Clone, Debug, Default)]
pub(crate) struct DayRaw {
    pub worked: bool,
    pub grid: Option<usize>,
    pub shift_start_ts: Option<i64>,
    pub shift_end_ts: Option<i64>,
    pub patrol_s: f64,
    pub out_of_grid_s: f64,
    pub static_s: f64,
    pub replay_of: Option<usize>,
    pub mock_pings: u32,
    pub jumps: u32,
    pub static_periods: Vec<Span>,
    pub out_of_grid_periods: Vec<Span>,
    pub visits: Vec<VisitRaw>,
}

/// The output of one worker-day.
#[derive(Clone, Debug, Default)]
pub(crate) struct DayOut {
    pub rows: Vec<PingRow>,
    pub raw: DayRaw,
}

/// What is decided once per worker for the whole run.
#[derive(Clone, Debug)]
pub(crate) struct WorkerPlan {
    pub worked: Vec<bool>,
    pub speed_mps: f64,
    /// Home node of each assigned grid (where lazy workers hang around, where the desk is).
    pub home: Vec<usize>,
    /// (first replayed day, source day) for replay workers.
    pub replay: Option<(usize, usize)>,
    /// Share of faked fixes the mock-location app flags as mock.
    pub mock_share: f64,
    /// Night workers: how much later the shift starts and ends than a day shift, seconds
    /// (20:00–06:00: +11.5 h / +12.5 h; 22:00–04:00: +13.5 h / +10.5 h).
    pub night: Option<(f64, f64)>,
    /// Sparse-app workers: per day, the checkpoints that must be visited that day so that
    /// every calendar month meets the required visits (empty for other workers).
    pub forced: Vec<Vec<usize>>,
}

/// Decides a worker's days off, pace, home nodes and replay days.
pub(crate) fn plan_worker(city: &City, opts: &SimOptions, w: usize) -> WorkerPlan {
    use chrono::Datelike;
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x91A, w as u64]));
    let worker = &city.workers[w];
    let rest_weekday = (w % 7) as u32;
    let extra_off = if worker.label == Label::Lazy {
        0.1
    } else {
        0.04
    };
    let worked: Vec<bool> = (0..opts.days)
        .map(|d| {
            let date = opts.start + chrono::Days::new(d as u64);
            let off =
                date.weekday().num_days_from_monday() == rest_weekday || rng.random_bool(extra_off);
            !off
        })
        .collect();
    let speed_mps = rng.random_range(1.0..1.6);
    let home = worker
        .grids
        .iter()
        .map(|&g| rng.random_range(0..city.graphs[g].nodes_m.len()))
        .collect();
    let replay = if worker.label == Label::Replay && opts.days >= 2 {
        let lo = (opts.days / 3).max(1);
        let hi = (2 * opts.days / 3).max(lo + 1);
        let from = rng.random_range(lo..hi);
        (0..from).find(|&d| worked[d]).map(|src| (from, src))
    } else {
        None
    };
    let mock_share = rng.random_range(0.3..0.9);
    // Night and sparse plans draw from streams of their own, so that a run without them
    // draws exactly what it always drew.
    let night = (worker.shift == Shift::Night).then(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x416E, w as u64]));
        if rng.random_bool(0.7) {
            (11.5 * H, 12.5 * H)
        } else {
            (13.5 * H, 10.5 * H)
        }
    });
    let forced = if worker.app == AppMode::Sparse {
        forced_visits(city, opts, w, &worked)
    } else {
        Vec::new()
    };
    WorkerPlan {
        worked,
        speed_mps,
        home,
        replay,
        mock_share,
        night,
        forced,
    }
}

/// The checkpoint visits a sparse-app worker makes for sure, per day: in each local calendar
/// month the run touches, each checkpoint of each assigned grid gets `visits_per_month` visits
/// (pro rata, rounded up, when the run covers part of the month), on worked days when the
/// worker patrols that grid, spread over the month.
fn forced_visits(city: &City, opts: &SimOptions, w: usize, worked: &[bool]) -> Vec<Vec<usize>> {
    use chrono::Datelike;
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x5BA5, w as u64]));
    let worker = &city.workers[w];
    let n_slots = worker.grids.len();
    let mut forced = vec![Vec::new(); opts.days];
    let date = |d: usize| opts.start + chrono::Days::new(d as u64);
    let mut d0 = 0;
    while d0 < opts.days {
        let (y, m) = (date(d0).year(), date(d0).month());
        let d1 = (d0..opts.days)
            .find(|&d| date(d).month() != m)
            .unwrap_or(opts.days);
        let first = chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
        let next = first + chrono::Months::new(1);
        let month_days = (next - first).num_days().max(1) as f64;
        let covered = (d1 - d0) as f64 / month_days;
        for (slot, &g) in worker.grids.iter().enumerate() {
            let days: Vec<usize> = (d0..d1)
                .filter(|&d| worked[d] && d % n_slots == slot)
                .collect();
            for &c in &city.grid_checkpoints[g] {
                let need = f64::from(city.checkpoints[c].visits_per_month) * covered;
                let k = ((need - 1e-9).ceil().max(0.0) as usize).min(days.len());
                // One day from each of k equal stretches of the month's days.
                for i in 0..k {
                    let (a, b) = (i * days.len() / k, (i + 1) * days.len() / k);
                    forced[days[rng.random_range(a..b.max(a + 1))]].push(c);
                }
            }
        }
        d0 = d1;
    }
    forced
}

/// Something scheduled for a time of day.
#[derive(Clone, Copy, Debug)]
enum Episode {
    Break(f64),
    Static(f64),
    Excursion(f64),
    Mock(f64),
}

/// Generates one real (not replayed) worked day of worker `w`.
pub(crate) fn real_day(
    city: &City,
    opts: &SimOptions,
    plan: &WorkerPlan,
    w: usize,
    day: usize,
    midnight_utc_s: i64,
) -> DayOut {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0xDA7, w as u64, day as u64]));
    let worker = &city.workers[w];
    let label = worker.label;
    let slot = day % worker.grids.len();
    let grid = worker.grids[slot];
    let g = &city.graphs[grid];
    let lazy = label == Label::Lazy;
    let sparse = worker.app == AppMode::Sparse;
    // Night shifts: the day's schedule moved into the evening (start and end offsets).
    let (so, eo) = plan.night.unwrap_or((0.0, 0.0));
    let normal = |rng: &mut ChaCha8Rng| -> f64 { rng.sample(StandardNormal) };

    let shift_start = so
        + if lazy {
            9.25 * H + normal(&mut rng) * 600.0
        } else {
            8.5 * H + normal(&mut rng) * 300.0
        }
        .clamp(7.5 * H, 10.0 * H);
    let shift_end = eo
        + if lazy {
            16.0 * H + normal(&mut rng) * 600.0
        } else {
            17.5 * H + normal(&mut rng) * 300.0
        }
        .clamp(15.0 * H, 18.5 * H);
    let lunch_start = so + 11.8 * H + rng.random_range(0.0..1500.0);
    let lunch_s = rng.random_range(2400.0..3300.0);
    let after_lunch = lunch_start + lunch_s;

    let mut episodes: Vec<Episode> = Vec::new();
    let break_s = |rng: &mut ChaCha8Rng| {
        if lazy {
            rng.random_range(1800.0..3000.0)
        } else {
            rng.random_range(600.0..1200.0)
        }
    };
    episodes.push(Episode::Break(so + rng.random_range(9.75 * H..10.5 * H)));
    episodes.push(Episode::Break(so + rng.random_range(15.0 * H..15.75 * H)));
    if lazy {
        episodes.push(Episode::Break(so + rng.random_range(10.75 * H..11.25 * H)));
        episodes.push(Episode::Break(so + rng.random_range(14.0 * H..14.5 * H)));
    }
    match label {
        Label::StaticDevice => {
            episodes.push(Episode::Static(
                after_lunch + rng.random_range(300.0..2400.0),
            ));
        }
        Label::OutOfGrid if rng.random_bool(0.9) => {
            let t = if rng.random_bool(0.5) {
                so + rng.random_range(9.0 * H..9.5 * H)
            } else {
                after_lunch + rng.random_range(600.0..1800.0)
            };
            episodes.push(Episode::Excursion(t));
        }
        Label::Mock if rng.random_bool(0.8) => {
            episodes.push(Episode::Mock(so + rng.random_range(9.25 * H..10.0 * H)));
            if rng.random_bool(0.5) {
                episodes.push(Episode::Mock(
                    after_lunch + rng.random_range(1800.0..5400.0),
                ));
            }
        }
        _ => {}
    }
    episodes.sort_by(|a, b| ep_time(a).total_cmp(&ep_time(b)));
    let mut episodes = std::collections::VecDeque::from(episodes);

    // Checkpoints to visit today: often enough that the month's required visits happen.
    let mut pending: Vec<usize> = city.grid_checkpoints[grid]
        .iter()
        .copied()
        .filter(|&c| {
            let v = f64::from(city.checkpoints[c].visits_per_month);
            let p = (0.12 * v + 0.15).min(1.0) * if lazy { 0.4 } else { 1.0 };
            rng.random_bool(p)
        })
        .collect();
    pending.shuffle(&mut rng);
    if sparse {
        // The visits the month needs come first (the list is taken from its end).
        let forced = &plan.forced[day];
        pending.retain(|c| !forced.contains(c));
        pending.extend(forced.iter().rev());
    }
    // Sparse workers spread their visits over the shift (their check-ins are all the platform
    // sees): the chance to go now grows as the time left for the pending visits shrinks.
    let visit_p = |t: f64, pending: usize| {
        if sparse {
            let left = (shift_end - 1500.0 - t).max(1.0);
            (pending as f64 * 1200.0 / left).clamp(0.05, 1.0)
        } else {
            0.3
        }
    };
    let checkin_p = if lazy { 0.4 } else { 0.7 };

    let home = plan.home[slot].min(g.nodes_m.len() - 1);
    let start_node = if lazy {
        home
    } else {
        rng.random_range(0..g.nodes_m.len())
    };
    let speed = plan.speed_mps * rng.random_range(0.93..1.07);
    let mut wk = Walker::new(g, shift_start, start_node, speed);
    if lazy {
        wk.leash = Some((g.nodes_m[home], 220.0));
    }
    let mut led = Ledger::default();
    let mut lunch_done = false;

    while wk.traj.now() < shift_end {
        let t = wk.traj.now();
        if !lunch_done && t >= lunch_start {
            wk.stay_off_street(rng.random_range(3.0..8.0), lunch_s);
            lunch_done = true;
            continue;
        }
        if let Some(&ep) = episodes.front() {
            if t >= ep_time(&ep) {
                episodes.pop_front();
                match ep {
                    Episode::Break(_) => {
                        let d = break_s(&mut rng);
                        wk.stay_off_street(rng.random_range(3.0..8.0), d);
                    }
                    Episode::Static(_) => {
                        let dur = rng.random_range(3600.0..10800.0_f64);
                        let t0 = wk.traj.now();
                        wk.walk_to(home);
                        led.patrol.push(Span {
                            start: t0,
                            end: wk.traj.now(),
                        });
                        let dur = dur.min(shift_end - 900.0 - wk.traj.now());
                        if dur >= 1800.0 {
                            let s = wk.stay_off_street(6.0, dur);
                            led.statics.push(s);
                        }
                    }
                    Episode::Excursion(_) => {
                        let dur = rng.random_range(3600.0..10800.0_f64);
                        let t0 = wk.traj.now();
                        let back = g.nodes_m[wk.node];
                        let far = far_point(&mut rng, city, g.centroid_m, 900.0);
                        wk.traj.go_to(far, 4.5);
                        // Wander about the other place, then ride back.
                        let travel = wk.traj.now() - t0;
                        let mut left = dur - 2.0 * travel;
                        while left > 0.0 {
                            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
                            let r = rng.random_range(10.0..60.0);
                            let t1 = wk.traj.now();
                            wk.traj
                                .go_to([far[0] + r * a.cos(), far[1] + r * a.sin()], speed);
                            wk.traj.stay(rng.random_range(300.0..1200.0_f64).min(left));
                            left -= wk.traj.now() - t1;
                        }
                        wk.traj.go_to(back, 4.5);
                        led.away.push(Span {
                            start: t0,
                            end: wk.traj.now(),
                        });
                    }
                    Episode::Mock(_) => {
                        let dur = rng.random_range(1800.0..5400.0);
                        let ep = mock_episode(&mut rng, city, &mut wk, dur);
                        led.away.push(ep.span);
                        led.mocks.push(ep);
                    }
                }
                continue;
            }
        }
        if !pending.is_empty()
            && rng.random_bool(visit_p(t, pending.len()))
            && t + 1500.0 < shift_end
        {
            if let Some(c) = pending.pop() {
                let cp = &city.checkpoints[c];
                let t0 = wk.traj.now();
                wk.walk_to(cp.node.min(g.nodes_m.len() - 1));
                led.patrol.push(Span {
                    start: t0,
                    end: wk.traj.now(),
                });
                wk.traj.go_to(cp.pos_m, speed);
                let start = wk.traj.now();
                wk.traj.stay(rng.random_range(180.0..600.0));
                let end = wk.traj.now();
                led.visits.push(VisitRaw {
                    checkpoint: c,
                    start,
                    end,
                    // The sparse app reports only with a check-in.
                    checkin: sparse || rng.random_bool(checkin_p),
                });
                let back = g.nodes_m[wk.node];
                wk.traj.go_to(back, speed);
                continue;
            }
        }
        let t0 = wk.traj.now();
        let k = if lazy {
            rng.random_range(2..5)
        } else {
            rng.random_range(3..9)
        };
        wk.random_walk(&mut rng, k);
        if lazy {
            // Lazy walkers dawdle: long pauses between short walks.
            wk.traj.stay(rng.random_range(120.0..900.0));
        }
        led.patrol.push(Span {
            start: t0,
            end: wk.traj.now(),
        });
    }
    let traj = wk.traj;

    let mut raw = DayRaw {
        worked: true,
        grid: Some(grid),
        ..DayRaw::default()
    };
    let clip = |s: &Span| (s.end.min(shift_end) - s.start.max(shift_start)).max(0.0);
    raw.patrol_s = led.patrol.iter().map(clip).fold(0.0, |a, b| a + b)
        + led
            .visits
            .iter()
            .map(|v| {
                clip(&Span {
                    start: v.start,
                    end: v.end,
                })
            })
            .sum::<f64>();
    raw.static_s = led.statics.iter().map(clip).fold(0.0, |a, b| a + b);
    raw.static_periods = led.statics.clone();
    raw.out_of_grid_periods = led.away.clone();
    raw.out_of_grid_s = out_of_grid_s(city, &worker.grids, &traj, &led.away, shift_end);
    raw.visits = led.visits.clone();

    let rows = if sparse {
        emit_sparse(&mut rng, city, w, &traj, &led, midnight_utc_s)
    } else {
        emit(
            &mut rng,
            city,
            w,
            &traj,
            &led,
            shift_start,
            shift_end,
            midnight_utc_s,
            opts.interval_s,
            plan.mock_share,
            &mut raw.jumps,
        )
    };
    raw.mock_pings = rows.iter().filter(|r| r.mock).count() as u32;
    if let (Some(a), Some(b)) = (
        rows.iter().map(|r| r.ts_s).min(),
        rows.iter().map(|r| r.ts_s).max(),
    ) {
        raw.shift_start_ts = Some(a);
        raw.shift_end_ts = Some(b);
    }
    DayOut { rows, raw }
}

fn ep_time(e: &Episode) -> f64 {
    match *e {
        Episode::Break(t) | Episode::Static(t) | Episode::Excursion(t) | Episode::Mock(t) => t,
    }
}

/// The worker sets a fake location where they stand, rides 1–1.5 km away, stays, and comes
/// back to where the fake route ends; real fixes leak through every few minutes meanwhile.
fn mock_episode(rng: &mut ChaCha8Rng, city: &City, wk: &mut Walker<'_>, dur_s: f64) -> MockEp {
    let start = wk.traj.now();
    let p = wk.traj.pos();
    // The fake route: a walk on the same streets, from here.
    let mut fake = Walker::new(wk.g, start, wk.node, wk.speed_mps);
    while fake.traj.now() < start + dur_s {
        fake.random_walk(rng, 4);
    }
    let q_node = fake.node;
    let q = wk.g.nodes_m[q_node];
    let dist_m = rng.random_range(1000.0..1500.0);
    let far = far_point(rng, city, p, dist_m);
    wk.traj.go_to(far, 5.0);
    let arrived = wk.traj.now();
    let back_s = (far[0] - q[0]).hypot(far[1] - q[1]) / 5.0;
    let stay = (fake.traj.now() - back_s - arrived).max(300.0);
    wk.traj.stay(stay);
    let leave = wk.traj.now();
    wk.traj.go_to(q, 5.0);
    let end = wk.traj.now();
    if fake.traj.now() < end {
        fake.traj.stay(end - fake.traj.now());
    }
    wk.prev = usize::MAX;
    wk.node = q_node;
    let mut leaks = Vec::new();
    let mut t = arrived + 60.0 + rng.random_range(0.0..240.0);
    while t < leave - 60.0 {
        leaks.push(t);
        t += rng.random_range(180.0..480.0);
    }
    MockEp {
        span: Span { start, end },
        fake: fake.traj,
        leaks,
    }
}

/// Seconds of the away spans during which the true position is outside all of the worker's
/// grids (sampled every 10 s; within 2 m of a grid counts as inside).
fn out_of_grid_s(city: &City, grids: &[usize], traj: &Traj, away: &[Span], shift_end: f64) -> f64 {
    let mut cur = Cursor::new(traj);
    let mut total = 0.0;
    for s in away {
        let mut t = s.start;
        while t < s.end.min(shift_end) {
            let (p, _) = cur.at(t);
            let pt = Point::new(p[0], p[1]);
            let inside = grids.iter().any(|&g| {
                let poly = &city.grids[g].polygon_m;
                poly.contains(&pt) || Euclidean.distance(&pt, poly) <= 2.0
            });
            if !inside {
                total += 10.0;
            }
            t += 10.0;
        }
    }
    total
}

/// A replayed day: the source day's fixes re-sent with timestamps shifted to today (by the
/// local-calendar distance plus up to ±20 min), sometimes with centimetre noise; check-ins
/// are not replayed.
pub(crate) fn replay_day(
    opts: &SimOptions,
    w: usize,
    day: usize,
    src_day: usize,
    src_rows: &[PingRow],
    shift_days_s: i64,
) -> DayOut {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(opts.seed, &[0x3E9, w as u64, day as u64]));
    let shift = shift_days_s + rng.random_range(-1200..=1200);
    let noisy = rng.random_bool(0.5);
    let rows: Vec<PingRow> = src_rows
        .iter()
        .map(|r| {
            let mut r = *r;
            r.ts_s += shift;
            r.checkin = None;
            if noisy {
                r.lon_e7 += rng.random_range(-3..=3);
                r.lat_e7 += rng.random_range(-3..=3);
            }
            r
        })
        .collect();
    let raw = DayRaw {
        worked: true,
        shift_start_ts: rows.iter().map(|r| r.ts_s).min(),
        shift_end_ts: rows.iter().map(|r| r.ts_s).max(),
        replay_of: Some(src_day),
        mock_pings: rows.iter().filter(|r| r.mock).count() as u32,
        ..DayRaw::default()
    };
    DayOut { rows, raw }
}
