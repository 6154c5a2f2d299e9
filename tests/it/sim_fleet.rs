//! The simulated fleet (`gridbeat simulate --vehicles N`) through the route-coverage engine:
//! the files load as a registry with no fault, and every injected fault is found again from
//! the engine's figures of the vehicle-day, by these rules (first match wins, in this order):
//!
//! 1. **outside_window**: `on_schedule_share` < 0.5 (most of the work was outside the windows).
//! 2. **too_fast**: `over_speed_s` > 60.
//! 3. **quiet**: a gap of the day (≥ `gap_s`, 120 s, overlapping a window) that starts at a fix
//!    with the ignition on. A parked terminal (ignition off) reports every 300 s, so the
//!    engine lists gaps in the windows on ordinary days too: only a running vehicle going
//!    silent is a fault.
//! 4. **skipped_street**: `worked_share` < 0.9 and a run of pieces with no pass, at least 50 m
//!    long, with passed pieces on both sides (a hole inside the route).
//! 5. **work_off_early**: the pieces with fewer than `passes` passes include a run of at least
//!    10 % of the route's length that reaches its first or last piece (the tail of the last
//!    pass not done: on a route worked there and back, the start).
//!
//! Recall and precision are counted per kind over every vehicle-day (a rule firing on a day
//! with another fault, or none, is a false positive) and printed; both must be ≥ 0.9. On
//! vehicle-days without a fault the engine's `worked_share` must be within 0.05 of the
//! truth's.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use gridbeat::registry::{Fleet, LoadOptions, Registry, Source};
use gridbeat::route::{self, RouteDay, RouteIndex, RouteParams, VehicleFix};
use gridbeat::sim::fleet::{FaultKind, FleetTruth};
use gridbeat::sim::{self, SimOptions};

/// A city of 40 workers with 16 vehicles for two weeks (about 200 vehicle-days).
fn opts() -> SimOptions {
    SimOptions {
        seed: 3,
        workers: 40,
        days: 14,
        start: NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        interval_s: 60,
        vehicles: 16,
        ..SimOptions::default()
    }
}

/// Writes the registry files and the fleet's files of `opts` into `dir` (the workers' pings
/// are not needed here).
fn write_fleet_city(opts: &SimOptions, dir: &Path) {
    let city = sim::generate_city(opts).unwrap();
    let mut grids = Vec::new();
    sim::output::write_grids(&city, &mut grids).unwrap();
    std::fs::write(dir.join("grids.geojson"), grids).unwrap();
    let mut workers = Vec::new();
    sim::output::write_workers(&city, &mut workers).unwrap();
    std::fs::write(dir.join("workers.csv"), workers).unwrap();
    sim::output::write_fleet(&city, opts, dir).unwrap();
}

fn text(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Each vehicle's fixes from `vehicle_pings.csv`, in file order.
fn read_fixes(dir: &Path) -> HashMap<String, Vec<VehicleFix>> {
    let mut reader = csv::Reader::from_path(dir.join("vehicle_pings.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["vehicle", "ts", "lat", "lon", "speed", "bearing", "work", "pressure", "ignition"]
    );
    let mut out: HashMap<String, Vec<VehicleFix>> = HashMap::new();
    for rec in reader.records() {
        let r = rec.unwrap();
        let ts = chrono::DateTime::parse_from_rfc3339(&r[1]).unwrap();
        assert_eq!(ts.offset().local_minus_utc(), 8 * 3600, "{}", &r[1]);
        let flag = |s: &str| match s {
            "1" => true,
            "0" => false,
            other => panic!("a flag is 1 or 0, not {other:?}"),
        };
        out.entry(r[0].to_string()).or_default().push(VehicleFix {
            t: ts.timestamp_millis(),
            lat: r[2].parse().unwrap(),
            lon: r[3].parse().unwrap(),
            speed_kmh: Some(r[4].parse::<f64>().unwrap() * 3.6),
            work: Some(flag(&r[6])),
            pressure: (!r[7].is_empty()).then(|| r[7].parse().unwrap()),
            acc: Some(flag(&r[8])),
        });
    }
    out
}

/// The length of the longest run of pieces matching `bad`, and whether such a run of at
/// least `min_m` touches either end, or lies inside with good pieces on both sides.
struct Runs {
    inner_m: f64,
    end_m: f64,
}

fn runs(day: &RouteDay, lengths: &[f64], bad: impl Fn(u16) -> bool) -> Runs {
    let n = day.pieces.len();
    let (mut inner_m, mut end_m) = (0.0f64, 0.0f64);
    let mut i = 0;
    while i < n {
        if !bad(day.pieces[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut len = 0.0;
        while i < n && bad(day.pieces[i]) {
            len += lengths[i];
            i += 1;
        }
        if start == 0 || i == n {
            end_m = end_m.max(len);
        } else {
            inner_m = inner_m.max(len);
        }
    }
    Runs { inner_m, end_m }
}

/// The fault the rules of the module's documentation find in a vehicle-day.
fn detect(
    day: &RouteDay,
    lengths: &[f64],
    passes: u32,
    acc_at: &HashMap<i64, bool>,
) -> Option<FaultKind> {
    if day.on_schedule_share.is_some_and(|s| s < 0.5) {
        return Some(FaultKind::OutsideWindow);
    }
    if day.over_speed_s > 60.0 {
        return Some(FaultKind::TooFast);
    }
    if day
        .gaps
        .iter()
        .any(|g| g.to - g.from >= 120_000 && acc_at.get(&g.from) == Some(&true))
    {
        return Some(FaultKind::Quiet);
    }
    let holes = runs(day, lengths, |p| p == 0);
    if day.worked_share < 0.9 && holes.inner_m >= 50.0 {
        return Some(FaultKind::SkippedStreet);
    }
    let short = runs(day, lengths, |p| u32::from(p) < passes);
    if short.end_m >= 0.1 * day.length_m {
        return Some(FaultKind::WorkOffEarly);
    }
    None
}

#[test]
fn injected_vehicle_faults_are_found_again_by_the_route_engine() {
    let fleet = check_faults(&opts(), "the lattice");
    assert!(fleet
        .routes
        .iter()
        .any(|r| matches!(r.assigned, gridbeat::registry::Assignment::Kind(_))));
}

/// Simulates `opts`, loads the fleet, runs the engine over every vehicle-day and checks the
/// rules of the module's documentation.
fn check_faults(opts: &SimOptions, name: &str) -> Fleet {
    let opts = opts.clone();
    let dir = tempfile::tempdir().unwrap();
    write_fleet_city(&opts, dir.path());
    let d = dir.path();

    let registry = Registry::from_sources(
        Source::new("grids.geojson", &text(d, "grids.geojson")),
        Some(Source::new("workers.csv", &text(d, "workers.csv"))),
        None,
        &LoadOptions::default(),
    )
    .unwrap();
    let fleet = Fleet::from_sources(
        Some(Source::new("vehicles.csv", &text(d, "vehicles.csv"))),
        Some(Source::new("routes.geojson", &text(d, "routes.geojson"))),
        &registry,
        None,
    )
    .unwrap_or_else(|e| panic!("the simulated fleet must load with no fault:\n{e}"));
    assert_eq!(fleet.vehicles.len(), 16);
    assert_eq!(fleet.routes.len(), 16);
    assert!(fleet.routes.iter().any(|r| r
        .schedule
        .windows
        .iter()
        .any(|w| w.end_min <= w.start_min)));
    assert!(fleet
        .routes
        .iter()
        .any(|r| matches!(r.assigned, gridbeat::registry::Assignment::Vehicles(_))));

    // devices.csv: one terminal per vehicle, a 12-digit phone number, no worker.
    let devices = text(d, "devices.csv");
    let mut lines = devices.lines();
    assert_eq!(lines.next(), Some("device,worker,vehicle"));
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3, "{line}");
        assert!(f[0].len() == 12 && f[0].bytes().all(|b| b.is_ascii_digit()));
        assert!(f[1].is_empty());
        assert!(fleet.vehicle(f[2]).is_some(), "{line}");
        assert!(seen.insert(f[0].to_string()), "{line}");
    }
    assert_eq!(seen.len(), 16);

    let truth: FleetTruth = serde_json::from_str(&text(d, "vehicle_truth.json")).unwrap();
    let fixes = read_fixes(d);
    let params = RouteParams::default();
    let tz = chrono_tz::Asia::Shanghai;

    // Per kind: (injected and found, injected, found).
    let mut tally: BTreeMap<&str, (u32, u32, u32)> = FaultKind::ALL
        .iter()
        .map(|k| (k.as_str(), (0, 0, 0)))
        .collect();
    let mut clean_days = 0;
    let mut worst_clean = 0.0f64;
    let mut misses = Vec::new();
    for vt in &truth.vehicles {
        let vehicle = fleet.vehicle(&vt.vehicle).unwrap();
        let route = fleet.routes.iter().find(|r| *r.code == vt.route).unwrap();
        assert!(
            fleet
                .routes_of(vehicle, &registry)
                .any(|r| r.code == route.code),
            "{}: its route {} is not planned for it",
            vt.vehicle,
            vt.route
        );
        let cleaned = route::clean(&fixes[&vt.vehicle], &params);
        let acc_at: HashMap<i64, bool> =
            cleaned.iter().map(|f| (f.t, f.acc == Some(true))).collect();
        let index = RouteIndex::new(route, &params);
        let lengths: Vec<f64> = index.pieces().pieces().iter().map(|p| p.length_m).collect();
        for day in &vt.days {
            let date: NaiveDate = day.day.parse().unwrap();
            let span = route::day_span(&route.schedule, date, tz);
            let from = cleaned.partition_point(|f| f.t < span.0).saturating_sub(1);
            let to = (cleaned.partition_point(|f| f.t < span.1) + 1).min(cleaned.len());
            let rd = index.route_day(&cleaned[from..to], date, tz);
            let found = detect(&rd, &lengths, route.passes, &acc_at);
            let injected = day.faults.first().map(|f| f.kind());
            if let Some(k) = injected {
                tally.get_mut(k.as_str()).unwrap().1 += 1;
            }
            if let Some(k) = found {
                tally.get_mut(k.as_str()).unwrap().2 += 1;
            }
            if let (Some(a), Some(b)) = (injected, found) {
                if a == b {
                    tally.get_mut(a.as_str()).unwrap().0 += 1;
                }
            }
            if injected != found {
                misses.push(format!(
                    "{} {} {}: injected {:?}, found {:?}: worked {:.3} (truth {:.3}), passes met {:.3}, on schedule {:?}, over speed {:.0} s, gaps {}",
                    vt.vehicle,
                    day.day,
                    vt.route,
                    injected,
                    found,
                    rd.worked_share,
                    day.worked_share,
                    rd.passes_met_share,
                    rd.on_schedule_share,
                    rd.over_speed_s,
                    rd.gaps.len()
                ));
            }
            if injected.is_none() {
                clean_days += 1;
                let diff = (rd.worked_share - day.worked_share).abs();
                worst_clean = worst_clean.max(diff);
                assert!(
                    diff <= 0.05,
                    "{} {}: the engine's worked_share {:.4} is not within 0.05 of the truth's {:.4}",
                    vt.vehicle,
                    day.day,
                    rd.worked_share,
                    day.worked_share
                );
            }
        }
    }
    eprintln!(
        "vehicle faults on {name}, over {} vehicle-days ({clean_days} without a fault; worked_share within {worst_clean:.4} of the truth on those):",
        truth.vehicles.iter().map(|v| v.days.len()).sum::<usize>()
    );
    for m in &misses {
        eprintln!("  miss: {m}");
    }
    for (kind, &(hit, injected, found)) in &tally {
        let recall = f64::from(hit) / f64::from(injected.max(1));
        let precision = f64::from(hit) / f64::from(found.max(1));
        eprintln!(
            "  {kind:<15} injected {injected:>3}  found {found:>3}  recall {recall:.3}  precision {precision:.3}"
        );
    }
    for (kind, &(hit, injected, found)) in &tally {
        let recall = f64::from(hit) / f64::from(injected.max(1));
        let precision = f64::from(hit) / f64::from(found.max(1));
        assert!(injected >= 8, "{kind}: only {injected} injected");
        assert!(recall >= 0.9, "{kind}: recall {recall:.3}");
        assert!(precision >= 0.9, "{kind}: precision {precision:.3}");
    }
    assert!(clean_days >= 50, "{clean_days} fault-free vehicle-days");
    fleet
}

#[test]
fn vehicles_leave_the_workers_files_byte_for_byte_as_they_were() {
    let base = SimOptions {
        seed: 9,
        workers: 6,
        days: 2,
        interval_s: 60,
        ..SimOptions::default()
    };
    let with = SimOptions {
        vehicles: 3,
        ..base.clone()
    };
    let run = |o: &SimOptions| {
        let dir = tempfile::tempdir().unwrap();
        let city = sim::generate_city(o).unwrap();
        sim::write_simulation(&city, o, dir.path()).unwrap();
        dir
    };
    let (a, b) = (run(&base), run(&with));
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let without = names(a.path());
    assert!(!without.iter().any(|n| n.contains("vehicle")));
    for name in &without {
        assert!(
            std::fs::read(a.path().join(name)).unwrap()
                == std::fs::read(b.path().join(name)).unwrap(),
            "{name} changed with --vehicles 3"
        );
    }
    let mut added: Vec<String> = names(b.path())
        .into_iter()
        .filter(|n| !without.contains(n))
        .collect();
    added.sort();
    assert_eq!(
        added,
        [
            "devices.csv",
            "routes.geojson",
            "vehicle_pings.csv",
            "vehicle_truth.json",
            "vehicles.csv"
        ]
    );
    // The same options give the same fleet files.
    let again = run(&with);
    for name in &added {
        assert!(
            std::fs::read(b.path().join(name)).unwrap()
                == std::fs::read(again.path().join(name)).unwrap(),
            "{name} differs between two runs with the same seed"
        );
    }
}

#[test]
fn the_sample_fleet_loads_against_the_sample_city() {
    let registry = crate::util::sample_registry();
    let read = |name: &str| crate::util::read(&crate::util::sample(name));
    let fleet = Fleet::from_sources(
        Some(Source::new("vehicles.csv", &read("vehicles.csv"))),
        Some(Source::new("routes.geojson", &read("routes.geojson"))),
        &registry,
        None,
    )
    .unwrap_or_else(|e| panic!("data/sample's fleet must load with no fault:\n{e}"));
    assert_eq!(fleet.vehicles.len(), 4);
    let truth: FleetTruth = serde_json::from_str(&read("vehicle_truth.json")).unwrap();
    for vt in &truth.vehicles {
        let vehicle = fleet.vehicle(&vt.vehicle).unwrap();
        assert!(fleet
            .routes_of(vehicle, &registry)
            .any(|r| *r.code == vt.route));
    }
}
