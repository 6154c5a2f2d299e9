//! `gridbeat report` end to end, through the built binary, on the committed sample city plus
//! one hand-made worker (`w-test`) whose month is known in advance.
//!
//! The hand-made worker's expected figures are computed here, independently of gridbeat's
//! code: an ellipsoidal (WGS84) short-step distance, a local east/north metre frame, the
//! shoelace area of the grid, the analytic area of a "stadium" (the 30 m buffer of a straight
//! line), and the score formula written out from DESIGN.md §4.9 and the config defaults.
//!
//! The patrol: one straight line of length `L` inside a sample grid, at least 45 m from its
//! boundary, passing through one checkpoint of that grid and 40 m or more from the grid's
//! other checkpoints. Fixes every 10 s, accuracy 5 m, no jumps, local days (Asia/Shanghai):
//! - 2026-10-02: 4 min dwell at the checkpoint, then back and forth at 1.2 m/s; 45 min in all.
//! - 2026-10-03: 4 min dwell at the checkpoint, then back and forth at 1.0 m/s; 45 min in all.
//! - 2026-10-05: back and forth at 1.5 m/s for 45 min (no dwell).
//! - 2026-10-06: back and forth at 1.2 m/s for 20 min (below `min_active_minutes`).
//!
//! The speeds differ between days so that no day can pass for a replay of an earlier one
//! (DESIGN.md §4.8): identical walks shifted in time would rightly be flagged.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

use crate::util::{read_json, read_sample, run, sample, worker_row};

// ---------------------------------------------------------------------------------------------
// Independent geometry: WGS84 ellipsoid, local metre frame, polygons.
// ---------------------------------------------------------------------------------------------

const WGS84_A: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;

fn e2() -> f64 {
    WGS84_F * (2.0 - WGS84_F)
}

/// Meridional radius of curvature at latitude `lat` (degrees), metres.
fn radius_m(lat: f64) -> f64 {
    let s = lat.to_radians().sin();
    WGS84_A * (1.0 - e2()) / (1.0 - e2() * s * s).powf(1.5)
}

/// Prime-vertical radius of curvature at latitude `lat` (degrees), metres.
fn radius_n(lat: f64) -> f64 {
    let s = lat.to_radians().sin();
    WGS84_A / (1.0 - e2() * s * s).sqrt()
}

/// Distance on the WGS84 ellipsoid between two close points (lon, lat in degrees), using the
/// radii of curvature at the mid latitude: for steps of metres to a few hundred metres this is
/// within 1e-6 relative of the geodesic.
fn ellipsoid_step_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lat_m = 0.5 * (a.1 + b.1);
    let north = radius_m(lat_m) * (b.1 - a.1).to_radians();
    let east = radius_n(lat_m) * lat_m.to_radians().cos() * (b.0 - a.0).to_radians();
    north.hypot(east)
}

/// A local east/north frame in metres around (lon0, lat0).
#[derive(Clone, Copy, Debug)]
struct Frame {
    lon0: f64,
    lat0: f64,
    /// Metres per degree of longitude at lat0.
    kx: f64,
    /// Metres per degree of latitude at lat0.
    ky: f64,
}

impl Frame {
    fn at(lon0: f64, lat0: f64) -> Frame {
        Frame {
            lon0,
            lat0,
            kx: radius_n(lat0) * lat0.to_radians().cos() * std::f64::consts::PI / 180.0,
            ky: radius_m(lat0) * std::f64::consts::PI / 180.0,
        }
    }
    fn to_xy(self, (lon, lat): (f64, f64)) -> (f64, f64) {
        ((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)
    }
    fn to_lonlat(self, (x, y): (f64, f64)) -> (f64, f64) {
        (self.lon0 + x / self.kx, self.lat0 + y / self.ky)
    }
}

type Xy = (f64, f64);

fn sub(a: Xy, b: Xy) -> Xy {
    (a.0 - b.0, a.1 - b.1)
}
fn dot(a: Xy, b: Xy) -> f64 {
    a.0 * b.0 + a.1 * b.1
}
fn cross(a: Xy, b: Xy) -> f64 {
    a.0 * b.1 - a.1 * b.0
}

/// Shoelace area of a closed or open ring, m².
fn shoelace(ring: &[Xy]) -> f64 {
    let n = ring.len();
    let mut s = 0.0;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        s += cross(a, b);
    }
    (0.5 * s).abs()
}

fn point_in_ring(p: Xy, ring: &[Xy]) -> bool {
    let n = ring.len();
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn point_segment_m(p: Xy, a: Xy, b: Xy) -> f64 {
    let ab = sub(b, a);
    let len2 = dot(ab, ab);
    let t = if len2 > 0.0 {
        (dot(sub(p, a), ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let q = (a.0 + t * ab.0, a.1 + t * ab.1);
    (p.0 - q.0).hypot(p.1 - q.1)
}

fn segments_cross(a: Xy, b: Xy, c: Xy, d: Xy) -> bool {
    let d1 = cross(sub(b, a), sub(c, a));
    let d2 = cross(sub(b, a), sub(d, a));
    let d3 = cross(sub(d, c), sub(a, c));
    let d4 = cross(sub(d, c), sub(b, c));
    d1 * d2 <= 0.0 && d3 * d4 <= 0.0
}

fn segment_segment_m(a: Xy, b: Xy, c: Xy, d: Xy) -> f64 {
    if segments_cross(a, b, c, d) {
        return 0.0;
    }
    point_segment_m(a, c, d)
        .min(point_segment_m(b, c, d))
        .min(point_segment_m(c, a, b))
        .min(point_segment_m(d, a, b))
}

// ---------------------------------------------------------------------------------------------
// The sample city and the hand-made worker.
// ---------------------------------------------------------------------------------------------

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("report_e2e")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Checkpoint {
    code: String,
    grid: String,
    required: u32,
    lonlat: (f64, f64),
}

fn checkpoints() -> Vec<Checkpoint> {
    let fc = read_json(&sample("checkpoints.geojson"));
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            let c = f["geometry"]["coordinates"].as_array().unwrap();
            Checkpoint {
                code: p["code"].as_str().unwrap().to_string(),
                grid: p["grid"].as_str().unwrap().to_string(),
                required: p["visits_per_month"].as_u64().unwrap() as u32,
                lonlat: (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()),
            }
        })
        .collect()
}

/// Grid code → outer ring (lon, lat), for every grid of the sample (all are simple Polygons).
fn grid_rings() -> BTreeMap<String, Vec<(f64, f64)>> {
    let fc = read_json(&sample("grids.geojson"));
    let mut out = BTreeMap::new();
    for f in fc["features"].as_array().unwrap() {
        if f["properties"]["level"] != "grid" {
            continue;
        }
        assert_eq!(
            f["geometry"]["type"], "Polygon",
            "the test handles Polygon grids"
        );
        let rings = f["geometry"]["coordinates"].as_array().unwrap();
        assert_eq!(rings.len(), 1, "the test handles grids without holes");
        let ring: Vec<(f64, f64)> = rings[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        out.insert(f["properties"]["code"].as_str().unwrap().to_string(), ring);
    }
    out
}

const WORKER: &str = "w-test";
const RADIUS_M: f64 = 30.0;
/// Distance the patrol line keeps from the grid's boundary.
const BOUNDARY_MARGIN_M: f64 = 45.0;
/// Distance the patrol line keeps from the grid's other checkpoints.
const OTHER_CHECKPOINT_MARGIN_M: f64 = 40.0;
const DWELL_S: i64 = 240;
const DAY_S: i64 = 2700;
const SHORT_DAY_S: i64 = 1200;
const STEP_S: i64 = 10;

/// Where the hand-made patrol runs: a line from `a` to `b` (frame metres) through checkpoint
/// `cp`, which sits `s` metres from `a`.
struct Plan {
    grid: String,
    frame: Frame,
    ring_xy: Vec<Xy>,
    cp: usize,
    a: Xy,
    u: Xy,
    len: f64,
    s: f64,
}

/// Finds a line in the sample: the longest one (a multiple of 60 m, so that 12, 10 and 15 m
/// steps turn exactly at its ends), preferring a checkpoint that needs 4 visits a month (so
/// that 2 visits give compliance 0.5 there, which tells a miscount).
fn plan(cps: &[Checkpoint]) -> Plan {
    let rings = grid_rings();
    for len in [480.0, 420.0, 360.0, 300.0, 240.0, 180.0] {
        for required in [4, 2, 1] {
            for (code, ring) in &rings {
                let n = (ring.len() - 1) as f64;
                let (clon, clat) = ring[..ring.len() - 1]
                    .iter()
                    .fold((0.0, 0.0), |acc, p| (acc.0 + p.0 / n, acc.1 + p.1 / n));
                let frame = Frame::at(clon, clat);
                let ring_xy: Vec<Xy> = ring.iter().map(|&p| frame.to_xy(p)).collect();
                for (i, cp) in cps.iter().enumerate() {
                    if &cp.grid != code || cp.required != required {
                        continue;
                    }
                    let c = frame.to_xy(cp.lonlat);
                    let mut s = 60.0;
                    while s < len {
                        for deg in (0..180).step_by(10) {
                            let th = f64::from(deg).to_radians();
                            let u = (th.cos(), th.sin());
                            let a = (c.0 - s * u.0, c.1 - s * u.1);
                            let b = (a.0 + len * u.0, a.1 + len * u.1);
                            let inside = point_in_ring(c, &ring_xy);
                            let clear = ring_xy
                                .windows(2)
                                .all(|e| segment_segment_m(a, b, e[0], e[1]) >= BOUNDARY_MARGIN_M);
                            let apart = cps.iter().enumerate().all(|(j, o)| {
                                j == i
                                    || o.grid != *code
                                    || point_segment_m(frame.to_xy(o.lonlat), a, b)
                                        >= OTHER_CHECKPOINT_MARGIN_M
                            });
                            if inside && clear && apart {
                                return Plan {
                                    grid: code.clone(),
                                    frame,
                                    ring_xy,
                                    cp: i,
                                    a,
                                    u,
                                    len,
                                    s,
                                };
                            }
                        }
                        s += 60.0;
                    }
                }
            }
        }
    }
    panic!("no grid of the sample has room for the hand-made patrol line");
}

/// One hand-made ping as written to the CSV (and read back from the written text).
struct Fix {
    ts: String,
    day: &'static str,
    lonlat: (f64, f64),
}

/// The position along the line `p` metres of walking from `a` with reflections at both ends.
fn reflect(p: f64, len: f64) -> f64 {
    let q = p.rem_euclid(2.0 * len);
    if q <= len {
        q
    } else {
        2.0 * len - q
    }
}

/// The hand-made patrol: the fixes of each day.
fn patrol(plan: &Plan) -> Vec<Fix> {
    struct Day {
        date: &'static str,
        dwell: bool,
        speed: f64,
        start_x: f64,
        direction: f64,
        duration_s: i64,
    }
    let days = [
        Day {
            date: "2026-10-02",
            dwell: true,
            speed: 1.2,
            start_x: plan.s,
            direction: 1.0,
            duration_s: DAY_S,
        },
        Day {
            date: "2026-10-03",
            dwell: true,
            speed: 1.0,
            start_x: plan.s,
            direction: -1.0,
            duration_s: DAY_S,
        },
        Day {
            date: "2026-10-05",
            dwell: false,
            speed: 1.5,
            start_x: 0.0,
            direction: 1.0,
            duration_s: DAY_S,
        },
        Day {
            date: "2026-10-06",
            dwell: false,
            speed: 1.2,
            start_x: plan.len,
            direction: -1.0,
            duration_s: SHORT_DAY_S,
        },
    ];
    let mut out = Vec::new();
    for d in &days {
        // 09:00 local (UTC+8) = 01:00 UTC.
        let start = chrono_like_utc(d.date, 1);
        let dwell_s = if d.dwell { DWELL_S } else { 0 };
        let mut t = 0;
        while t <= d.duration_s {
            let x = if t < dwell_s {
                // Within 1.5 m of the checkpoint, along the line (adds no area).
                let k = t / STEP_S;
                plan.s
                    + if k % 2 == 0 {
                        0.0
                    } else if k % 4 == 1 {
                        1.5
                    } else {
                        -1.5
                    }
            } else {
                reflect(
                    d.start_x + d.direction * d.speed * (t - dwell_s) as f64,
                    plan.len,
                )
            };
            let xy = (plan.a.0 + x * plan.u.0, plan.a.1 + x * plan.u.1);
            let (lon, lat) = plan.frame.to_lonlat(xy);
            let (lon, lat) = (format!("{lon:.8}"), format!("{lat:.8}"));
            out.push(Fix {
                ts: utc_text(start + t),
                day: d.date,
                lonlat: (lon.parse().unwrap(), lat.parse().unwrap()),
            });
            t += STEP_S;
        }
    }
    out
}

/// Seconds since the Unix epoch of `date` (YYYY-MM-DD) at `hour`:00:00 UTC (civil-from-days).
fn chrono_like_utc(date: &str, hour: i64) -> i64 {
    let y: i64 = date[0..4].parse().unwrap();
    let m: i64 = date[5..7].parse().unwrap();
    let d: i64 = date[8..10].parse().unwrap();
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m - 3) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600
}

fn utc_text(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn the_test_calendar_is_right() {
    assert_eq!(
        utc_text(chrono_like_utc("2026-10-02", 1)),
        "2026-10-02T01:00:00Z"
    );
    assert_eq!(
        utc_text(chrono_like_utc("2026-10-02", 1) + 2700),
        "2026-10-02T01:45:00Z"
    );
    // 2026-10-01T00:00:00Z, checked against `date -u -d 2026-10-01 +%s`.
    assert_eq!(chrono_like_utc("2026-10-01", 0), 1_790_812_800);
}

/// The scenario on disk: workers.csv with the hand-made worker, its pings, and the plan.
struct Scenario {
    dir: PathBuf,
    workers: PathBuf,
    pings: PathBuf,
    plan: Plan,
    fixes: Vec<Fix>,
    cps: Vec<Checkpoint>,
}

fn scenario(name: &str) -> Scenario {
    let dir = scratch(name);
    let cps = checkpoints();
    let plan = plan(&cps);
    let fixes = patrol(&plan);

    let mut workers = read_sample("workers.csv");
    if !workers.ends_with('\n') {
        workers.push('\n');
    }
    writeln!(workers, "{WORKER},测试员,{}", plan.grid).unwrap();
    let workers_path = dir.join("workers.csv");
    std::fs::write(&workers_path, workers).unwrap();

    let mut pings = String::from("worker,ts,lat,lon,acc,speed,mock,checkin\n");
    for f in &fixes {
        writeln!(
            pings,
            "{WORKER},{},{:.8},{:.8},5,1.2,false,",
            f.ts, f.lonlat.1, f.lonlat.0
        )
        .unwrap();
    }
    let pings_path = dir.join("w-test-pings.csv");
    std::fs::write(&pings_path, pings).unwrap();
    Scenario {
        dir,
        workers: workers_path,
        pings: pings_path,
        plan,
        fixes,
        cps,
    }
}

fn os<S: AsRef<std::ffi::OsStr>>(s: S) -> OsString {
    s.as_ref().to_os_string()
}

fn report_args(sc: &Scenario, pings: &[&Path], out: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args = vec![
        os("report"),
        os("--grids"),
        os(sample("grids.geojson")),
        os("--workers"),
        os(&sc.workers),
        os("--checkpoints"),
        os(sample("checkpoints.geojson")),
        os("--month"),
        os("2026-10"),
        os("--out"),
        os(out),
        os("--pings"),
    ];
    args.extend(pings.iter().map(os));
    args.extend(extra.iter().map(os));
    args
}

fn must_succeed(out: &Output) {
    assert!(
        out.status.success(),
        "gridbeat report failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The main run: the whole sample city plus `w-test`, every format, Chinese labels. Run once
/// and shared by the tests that read it.
struct MainRun {
    sc: Scenario,
    out: PathBuf,
    report: Value,
}

fn main_run() -> &'static MainRun {
    static RUN: OnceLock<MainRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let sc = scenario("main");
        let out = sc.dir.join("out");
        let sample_pings = sample("pings.csv");
        let args = report_args(
            &sc,
            &[&sample_pings, &sc.pings],
            &out,
            &["--format", "json,csv,xlsx,html"],
        );
        let output = run(&args);
        must_succeed(&output);
        let report = read_json(&out.join("report.json"));
        MainRun { sc, out, report }
    })
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// The score terms as (weight, target) by name, from the report's `weights`.
fn weights(report: &Value) -> BTreeMap<String, (f64, f64)> {
    report["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["term"].as_str().unwrap().to_string(),
                (num(w, "weight"), num(w, "target")),
            )
        })
        .collect()
}

/// The score of DESIGN.md §4.9 recomputed from a row's figures, before the anomaly penalty.
fn raw_score(row: &Value, w: &BTreeMap<String, (f64, f64)>) -> f64 {
    let term = |name: &str, x: f64| {
        let (weight, target) = w[name];
        (weight * (x / target).min(1.0), weight)
    };
    let mut terms = vec![
        term("days", num(row, "days_active")),
        term("hours", num(row, "patrol_h")),
        term("coverage", num(row, "coverage")),
        term("quality", num(row, "accepted_share")),
    ];
    if let Some(c) = row["checkpoint_compliance"].as_f64() {
        terms.push(term("checkpoints", c));
    }
    let (num_, den): (f64, f64) = terms
        .iter()
        .fold((0.0, 0.0), |acc, t| (acc.0 + t.0, acc.1 + t.1));
    100.0 * num_ / den
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn hand_made_worker_figures_match_independent_computation() {
    let run = main_run();
    let (sc, report) = (&run.sc, &run.report);
    let plan = &sc.plan;
    let row = worker_row(report, WORKER);
    let cp = &sc.cps[plan.cp];
    eprintln!(
        "w-test patrols grid {} along a {} m line through {} (needs {} visits) at {} m",
        plan.grid, plan.len, cp.code, cp.required, plan.s
    );
    assert_eq!(row["grid"], plan.grid.as_str());
    assert_eq!(row["name"], "测试员");

    // Pings and quality.
    assert_eq!(row["pings"].as_u64(), Some(sc.fixes.len() as u64), "pings");
    assert!(
        (num(row, "accepted_share") - 1.0).abs() <= 1e-9,
        "accepted_share {}",
        row["accepted_share"]
    );

    // Days and hours: three 45-minute days are active, the 20-minute day is not.
    assert_eq!(row["days_active"].as_u64(), Some(3), "days_active");
    let patrol_h = (3.0 * DAY_S as f64 + SHORT_DAY_S as f64) / 3600.0;
    assert!(
        (num(row, "patrol_h") - patrol_h).abs() <= 1e-6,
        "patrol_h {} vs {patrol_h}",
        row["patrol_h"]
    );

    // Distance: the sum of the written fixes' steps on the ellipsoid (never across days).
    let mut length_m = 0.0;
    for w in sc.fixes.windows(2) {
        if w[0].day == w[1].day {
            length_m += ellipsoid_step_m(w[0].lonlat, w[1].lonlat);
        }
    }
    let km = length_m / 1000.0;
    let got_km = num(row, "distance_km");
    assert!(
        (got_km - km).abs() <= 0.005 * km,
        "distance_km {got_km} vs {km:.4} (±0.5 %)"
    );

    // Coverage: a stadium of the line actually walked (its extreme fixes), radius 30 m, over
    // the grid's shoelace area.
    let proj: Vec<f64> = sc
        .fixes
        .iter()
        .map(|f| dot(sub(plan.frame.to_xy(f.lonlat), plan.a), plan.u))
        .collect();
    let walked = proj.iter().copied().fold(f64::MIN, f64::max)
        - proj.iter().copied().fold(f64::MAX, f64::min);
    assert!(
        (walked - plan.len).abs() < 0.05,
        "walked {walked} vs {}",
        plan.len
    );
    let area = shoelace(&plan.ring_xy);
    let stadium = 2.0 * RADIUS_M * walked + std::f64::consts::PI * RADIUS_M * RADIUS_M;
    let coverage = stadium / area;
    let grid_row = report["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == plan.grid.as_str())
        .expect("grid row");
    let reported_area = num(grid_row, "area_m2");
    assert!(
        (reported_area - area).abs() <= 0.005 * area,
        "grid area {reported_area} vs shoelace {area:.1} (±0.5 %)"
    );
    let got_cov = num(row, "coverage");
    assert!(
        (got_cov - coverage).abs() <= 0.01,
        "coverage {got_cov} vs stadium {stadium:.1} m² / {area:.1} m² = {coverage:.4} (±0.01)"
    );
    assert!(
        num(grid_row, "team_coverage") >= got_cov - 1e-9,
        "team coverage {} is below w-test's own {got_cov}",
        grid_row["team_coverage"]
    );

    // Compliance: two visits to the chosen checkpoint, none to the grid's others.
    let grid_cps: Vec<&Checkpoint> = sc.cps.iter().filter(|c| c.grid == plan.grid).collect();
    let compliance = grid_cps
        .iter()
        .map(|c| {
            if c.code == cp.code {
                (2.0 / f64::from(c.required)).min(1.0)
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / grid_cps.len() as f64;
    let got_cp = row["checkpoint_compliance"]
        .as_f64()
        .expect("w-test's grid has checkpoints");
    assert!(
        (got_cp - compliance).abs() <= 1e-9,
        "checkpoint_compliance {got_cp} vs {compliance} (2 visits to {} needing {}, {} checkpoints in {})",
        cp.code,
        cp.required,
        grid_cps.len(),
        plan.grid
    );

    // No flags, and the patrol never left the grid.
    assert_eq!(
        row["anomalies"],
        serde_json::json!({}),
        "w-test should carry no anomaly"
    );
    assert!(
        num(row, "out_of_grid_h").abs() <= 1e-9,
        "out_of_grid_h {}",
        row["out_of_grid_h"]
    );

    // The score, from the row's own figures and the default weights, with no penalty.
    let w = weights(report);
    let defaults = [
        ("days", 0.15, 22.0),
        ("hours", 0.15, 120.0),
        ("coverage", 0.35, 0.8),
        ("checkpoints", 0.25, 1.0),
        ("quality", 0.10, 0.9),
    ];
    assert_eq!(w.len(), defaults.len(), "weights {:?}", w);
    for (term, weight, target) in defaults {
        let (gw, gt) = w
            .get(term)
            .copied()
            .unwrap_or_else(|| panic!("no weight for {term}: {w:?}"));
        assert!(
            (gw - weight).abs() < 1e-12 && (gt - target).abs() < 1e-12,
            "{term}: {gw}/{gt}"
        );
    }
    let score = raw_score(row, &w);
    assert!(
        (num(row, "score") - score).abs() <= 0.01,
        "score {} vs {score}",
        row["score"]
    );
    // …and from the figures expected here (not the reported ones), to within what the
    // coverage tolerance allows.
    let expected_score = 100.0
        * (0.15 * (3.0 / 22.0)
            + 0.15 * (patrol_h / 120.0)
            + 0.35 * (coverage / 0.8).min(1.0)
            + 0.25 * compliance
            + 0.10 * 1.0);
    assert!(
        (num(row, "score") - expected_score).abs() <= 100.0 * 0.35 * 0.01 / 0.8 + 0.01,
        "score {} vs expected {expected_score}",
        row["score"]
    );

    eprintln!(
        "expected vs reported: pings {} / {}; patrol_h {patrol_h:.4} / {}; distance_km {km:.4} / {got_km:.4}; \
         coverage {coverage:.4} / {got_cov:.4} (grid area {area:.1} / {reported_area:.1}); \
         compliance {compliance:.4} / {got_cp:.4}; score {expected_score:.3} (from row {score:.3}) / {}",
        sc.fixes.len(),
        row["pings"],
        row["patrol_h"],
        row["score"]
    );

    // Ranks: 1 + rows of the same community / street with a strictly higher score.
    let rows = report["workers"].as_array().unwrap();
    for (key, rank) in [("community", "rank_community"), ("street", "rank_street")] {
        let higher = rows
            .iter()
            .filter(|r| r[key] == row[key] && num(r, "score") > num(row, "score"))
            .count();
        assert_eq!(row[rank].as_u64(), Some(1 + higher as u64), "{rank}");
    }
}

#[test]
fn every_row_has_consistent_ranks_and_a_recomputable_score() {
    let report = &main_run().report;
    let rows = report["workers"].as_array().unwrap();
    let registered: BTreeSet<String> = std::fs::read_to_string(&main_run().sc.workers)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let listed: BTreeSet<String> = rows
        .iter()
        .map(|r| r["worker"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, registered, "every registered worker has one row");
    assert_eq!(rows.len(), registered.len(), "one row per worker");

    let w = weights(report);
    for row in rows {
        let id = row["worker"].as_str().unwrap();
        for (key, rank) in [("community", "rank_community"), ("street", "rank_street")] {
            let higher = rows
                .iter()
                .filter(|r| r[key] == row[key] && num(r, "score") > num(row, "score"))
                .count();
            assert_eq!(row[rank].as_u64(), Some(1 + higher as u64), "{id}: {rank}");
        }
        // Flagged days are not in the row, only days per kind: the penalty lies between the
        // largest penalised kind and their sum (3 points a day, capped at 30).
        let kinds: Vec<u64> = row["anomalies"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.as_str() != "mock_location")
            .map(|(_, v)| v.as_u64().unwrap())
            .collect();
        let lo = (3.0 * kinds.iter().copied().max().unwrap_or(0) as f64).min(30.0);
        let hi = (3.0 * kinds.iter().sum::<u64>() as f64).min(30.0);
        let raw = raw_score(row, &w);
        let (min, max) = ((raw - hi).clamp(0.0, 100.0), (raw - lo).clamp(0.0, 100.0));
        let score = num(row, "score");
        assert!(
            score >= min - 0.01 && score <= max + 0.01,
            "{id}: score {score} outside [{min}, {max}] (raw {raw}, flags {})",
            row["anomalies"]
        );
        for share in ["coverage", "accepted_share"] {
            assert!(
                (0.0..=1.0).contains(&num(row, share)),
                "{id}: {share} {}",
                row[share]
            );
        }
    }
}

#[test]
fn csv_files_carry_a_bom_and_html_has_the_formula() {
    let run = main_run();
    for name in ["workers.csv", "grids.csv", "units.csv"] {
        let bytes = std::fs::read(run.out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            &bytes[..3],
            b"\xEF\xBB\xBF",
            "{name} must start with the UTF-8 BOM"
        );
    }
    let workers = std::fs::read(run.out.join("workers.csv")).unwrap();
    let mut r = csv::Reader::from_reader(&workers[3..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[0], "网格员编号",
        "Chinese headers by default: {header:?}"
    );
    let rows = r.records().count();
    assert_eq!(rows, run.report["workers"].as_array().unwrap().len());

    let formula = run.report["formula"].as_str().expect("formula text");
    assert!(formula.contains("score"), "{formula}");
    let html = std::fs::read_to_string(run.out.join("report.html")).expect("report.html");
    // The page escapes HTML metacharacters; the apostrophe may be written either way.
    for part in formula.split('\'') {
        let escaped = part
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(
            html.contains(&escaped),
            "report.html lacks the formula text {escaped:?}"
        );
    }
    let xlsx = std::fs::read(run.out.join("report.xlsx")).expect("report.xlsx");
    assert!(
        xlsx.len() > 1000 && xlsx.starts_with(b"PK"),
        "report.xlsx is not a zip ({} bytes)",
        xlsx.len()
    );
}

#[test]
fn unit_restricts_workers_and_grids_to_the_community() {
    let sc = scenario("unit");
    let community = {
        let rings = grid_rings();
        assert!(rings.contains_key(&sc.plan.grid));
        let fc = read_json(&sample("grids.geojson"));
        fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["code"] == sc.plan.grid.as_str())
            .unwrap()["properties"]["parent"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let fc = read_json(&sample("grids.geojson"));
    let grids_in: BTreeSet<String> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["properties"]["level"] == "grid" && f["properties"]["parent"] == community.as_str()
        })
        .map(|f| f["properties"]["code"].as_str().unwrap().to_string())
        .collect();
    let all_grids = grid_rings().len();
    assert!(
        grids_in.len() < all_grids,
        "the community must not be the whole city"
    );
    let workers_in: BTreeSet<String> = std::fs::read_to_string(&sc.workers)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 3 && grids_in.contains(f[2])).then(|| f[0].to_string())
        })
        .collect();

    let out = sc.dir.join("out");
    let output = run(report_args(
        &sc,
        &[&sc.pings],
        &out,
        &["--format", "json", "--unit", &community],
    ));
    must_succeed(&output);
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["unit"], community.as_str());
    let grids: BTreeSet<String> = report["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(grids, grids_in, "grids of --unit {community}");
    let workers: BTreeSet<String> = report["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["worker"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(workers, workers_in, "workers of --unit {community}");
    assert!(workers.contains(WORKER));
    for w in report["workers"].as_array().unwrap() {
        assert_eq!(w["community"], community.as_str(), "{}", w["worker"]);
    }
    let units = report["units"].as_array().unwrap();
    assert!(!units.is_empty(), "the report rolls up units");
    for u in units {
        if u["level"] == "community" {
            assert_eq!(
                u["code"],
                community.as_str(),
                "only the scope community is rolled up"
            );
        }
    }
}

#[test]
fn english_labels_give_english_csv_headers() {
    let sc = scenario("lang_en");
    let out = sc.dir.join("out");
    let output = run(report_args(
        &sc,
        &[&sc.pings],
        &out,
        &["--format", "csv", "--lang", "en"],
    ));
    must_succeed(&output);
    for (name, first) in [
        ("workers.csv", "Worker ID"),
        ("grids.csv", "Grid code"),
        ("units.csv", "Code"),
    ] {
        let bytes = std::fs::read(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{name}: no BOM");
        let mut r = csv::Reader::from_reader(&bytes[3..]);
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header[0], first, "{name}: {header:?}");
        assert!(
            header.iter().all(|h| h.chars().all(|c| c < '\u{2e80}')),
            "{name}: a Chinese header with --lang en: {header:?}"
        );
    }
    assert!(
        !out.join("report.json").exists(),
        "--format csv wrote report.json"
    );
}

#[test]
fn a_bad_month_is_named() {
    let sc = scenario("bad_month");
    let out = sc.dir.join("out");
    let mut args = report_args(&sc, &[&sc.pings], &out, &[]);
    let i = args.iter().position(|a| a == "2026-10").unwrap();
    args[i] = os("2026-13");
    let output = run(&args);
    assert!(!output.status.success(), "--month 2026-13 was accepted");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("2026-13"),
        "the message does not name the month: {stderr}"
    );
    assert!(!out.join("report.json").exists());
}

#[test]
fn a_missing_pings_file_is_named() {
    let sc = scenario("missing_pings");
    let out = sc.dir.join("out");
    let missing = sc.dir.join("no-such-pings.csv");
    let output = run(report_args(&sc, &[&sc.pings, &missing], &out, &[]));
    assert!(
        !output.status.success(),
        "a missing pings file was accepted"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no-such-pings.csv"),
        "the message does not name the file: {stderr}"
    );
    assert!(!out.join("report.json").exists());
}
