//! Invariants of `gridbeat simulate`'s output, checked on the files it writes: the grids
//! tile the city, the hierarchy is consistent, runs are reproducible, the truth agrees with
//! the pings, and the CSV and Parquet files hold the same rows.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use geo::{Area, BooleanOps, BoundingRect, Coord, Intersects, LineString, Polygon};
use gridbeat::sim::{self, LocalFrame, SimOptions, Truth};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;

use crate::util::{assessor_with, gridbeat, read_json, registry_of, shared};

/// A small run that still has every kind of worker (13 workers: 5 non-diligent).
fn small_opts(seed: u64) -> SimOptions {
    SimOptions {
        seed,
        workers: 13,
        days: 3,
        start: NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        interval_s: 10,
        ..SimOptions::default()
    }
}

fn run(opts: &SimOptions) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let city = sim::generate_city(opts).unwrap();
    sim::write_simulation(&city, opts, dir.path()).unwrap();
    dir
}

/// Polygons of the grids in `grids.geojson`, in a local metric frame, by code.
fn grid_polygons(dir: &Path, frame: &LocalFrame) -> Vec<(String, Polygon<f64>)> {
    let fc = read_json(&dir.join("grids.geojson"));
    let mut out = Vec::new();
    for f in fc["features"].as_array().unwrap() {
        if f["properties"]["level"] != "grid" {
            assert!(f["geometry"].is_null());
            continue;
        }
        assert_eq!(f["geometry"]["type"], "Polygon");
        let rings = f["geometry"]["coordinates"].as_array().unwrap();
        assert_eq!(rings.len(), 1);
        let ring: LineString<f64> = rings[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let [x, y] = frame.to_m(p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                Coord { x, y }
            })
            .collect();
        assert_eq!(ring.0.first(), ring.0.last(), "ring not closed");
        let code = f["properties"]["code"].as_str().unwrap().to_string();
        out.push((code, Polygon::new(ring, vec![])));
    }
    out
}

fn check_tiling(dir: &Path, city: &sim::City) {
    let frame = LocalFrame::new(city.frame.lon0, city.frame.lat0);
    let grids = grid_polygons(dir, &frame);
    assert_eq!(grids.len(), city.grids.len());
    let outline = Polygon::new(
        city.outline_e7
            .iter()
            .map(|p| {
                let [x, y] = frame.to_m(p[0] as f64 / 1e7, p[1] as f64 / 1e7);
                Coord { x, y }
            })
            .collect(),
        vec![],
    );
    let total: f64 = grids.iter().map(|(_, p)| p.unsigned_area()).sum();
    let city_area = outline.unsigned_area();
    assert!(
        ((total - city_area) / city_area).abs() < 1e-4,
        "grids sum to {total} m², the city outline is {city_area} m²"
    );
    for (code, p) in &grids {
        let a_km2 = p.unsigned_area() / 1e6;
        assert!((0.05..=0.5).contains(&a_km2), "grid {code}: {a_km2} km²");
        assert!(
            p.signed_area() > 0.0,
            "grid {code} is not counter-clockwise"
        );
    }
    let mut neighbours = 0;
    for i in 0..grids.len() {
        for j in i + 1..grids.len() {
            let (a, b) = (&grids[i].1, &grids[j].1);
            let (ra, rb) = (a.bounding_rect().unwrap(), b.bounding_rect().unwrap());
            if !ra.intersects(&rb) {
                continue;
            }
            if a.intersects(b) {
                neighbours += 1;
            }
            let overlap = a.intersection(b).unsigned_area();
            assert!(
                overlap < 1e-3,
                "grids {} and {} overlap by {overlap} m²",
                grids[i].0,
                grids[j].0
            );
        }
    }
    assert!(
        neighbours >= grids.len() - 1,
        "grids should touch each other"
    );
}

#[test]
fn grids_tile_the_city_without_gaps_or_overlaps() {
    let opts = small_opts(7);
    let city = sim::generate_city(&opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    sim::write_simulation(
        &city,
        &SimOptions {
            days: 0,
            ..opts.clone()
        },
        dir.path(),
    )
    .unwrap();
    check_tiling(dir.path(), &city);
}

#[test]
fn hierarchy_is_consistent() {
    let opts = SimOptions {
        workers: 60,
        days: 0,
        ..small_opts(3)
    };
    let dir = run(&opts);
    let fc = read_json(&dir.path().join("grids.geojson"));
    let levels = ["city", "district", "street", "community", "grid"];
    let mut units: HashMap<String, (usize, Option<String>)> = HashMap::new();
    for f in fc["features"].as_array().unwrap() {
        let p = &f["properties"];
        let code = p["code"].as_str().unwrap().to_string();
        let level = levels
            .iter()
            .position(|l| *l == p["level"].as_str().unwrap())
            .unwrap();
        assert!(!p["name"].as_str().unwrap().is_empty());
        let parent = p["parent"].as_str().map(str::to_string);
        assert!(
            units.insert(code.clone(), (level, parent)).is_none(),
            "duplicate {code}"
        );
    }
    let mut per_level = [0; 5];
    for (code, (level, parent)) in &units {
        per_level[*level] += 1;
        match parent {
            None => assert_eq!(*level, 0, "{code} has no parent"),
            Some(pc) => {
                let (pl, _) = units
                    .get(pc)
                    .unwrap_or_else(|| panic!("{code}: unknown parent {pc}"));
                assert_eq!(*pl + 1, *level, "{code} is not one level below {pc}");
                // National codes: a district 430102 lies in the city 4301(00); below that,
                // every code extends its parent's.
                let stem = if *level == 1 {
                    pc.trim_end_matches('0')
                } else {
                    pc.as_str()
                };
                assert!(
                    code.starts_with(stem) && code.len() >= pc.len(),
                    "{code} does not extend {pc}"
                );
            }
        }
    }
    assert_eq!(per_level[0], 1);
    assert!(per_level.iter().all(|&n| n > 0), "{per_level:?}");
    // Communities hold 4–6 grids (the last may hold fewer only when there are few grids).
    let mut kids: HashMap<&str, usize> = HashMap::new();
    for (level, parent) in units.values() {
        if *level == 4 {
            *kids.entry(parent.as_deref().unwrap()).or_default() += 1;
        }
    }
    assert!(kids.values().all(|&n| (4..=6).contains(&n)), "{kids:?}");

    // workers.csv names known grids; checkpoints lie in theirs.
    let mut rdr = csv::Reader::from_path(dir.path().join("workers.csv")).unwrap();
    let mut per_grid: HashMap<String, usize> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        assert_eq!(
            units[&rec[2]].0, 4,
            "worker {} on non-grid {}",
            &rec[0], &rec[2]
        );
        *per_grid.entry(rec[2].to_string()).or_default() += 1;
    }
    assert_eq!(per_grid.len(), per_level[4], "every grid has a worker");
    assert!(per_grid.values().all(|&n| (1..=3).contains(&n)));
    let cps = read_json(&dir.path().join("checkpoints.geojson"));
    let frame = LocalFrame::new(gridbeat::sim::city::CITY_LON, gridbeat::sim::city::CITY_LAT);
    let polys: HashMap<String, Polygon<f64>> =
        grid_polygons(dir.path(), &frame).into_iter().collect();
    for f in cps["features"].as_array().unwrap() {
        let p = &f["properties"];
        let c = &f["geometry"]["coordinates"];
        let [x, y] = frame.to_m(c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        let grid = p["grid"].as_str().unwrap();
        assert!(
            geo::Contains::contains(&polys[grid], &geo::Point::new(x, y)),
            "checkpoint {} outside its grid",
            p["code"]
        );
        assert!([1, 2, 4].contains(&p["visits_per_month"].as_u64().unwrap()));
        assert!(["household", "key_site"].contains(&p["kind"].as_str().unwrap()));
    }
}

fn file_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let opts = SimOptions {
        days: 2,
        interval_s: 30,
        ..small_opts(11)
    };
    let a = file_bytes(run(&opts).path());
    let b = file_bytes(run(&opts).path());
    assert_eq!(a.len(), 6);
    for ((na, ba), (nb, bb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between two runs with the same seed");
    }
    let c = file_bytes(
        run(&SimOptions {
            seed: 12,
            ..opts.clone()
        })
        .path(),
    );
    for ((na, ba), (_, bc)) in a.iter().zip(&c) {
        assert!(ba != bc, "{na} is the same for seeds 11 and 12");
    }
}

/// One CSV row.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    worker: String,
    ts: String,
    lat: f64,
    lon: f64,
    acc: f64,
    speed: f64,
    mock: bool,
    checkin: Option<String>,
}

fn read_csv(dir: &Path) -> Vec<Row> {
    let mut rdr = csv::Reader::from_path(dir.join("pings.csv")).unwrap();
    assert_eq!(
        rdr.headers().unwrap(),
        vec!["worker", "ts", "lat", "lon", "acc", "speed", "mock", "checkin"]
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            Row {
                worker: r[0].to_string(),
                ts: r[1].to_string(),
                lat: r[2].parse().unwrap(),
                lon: r[3].parse().unwrap(),
                acc: r[4].parse().unwrap(),
                speed: r[5].parse().unwrap(),
                mock: r[6].parse().unwrap(),
                checkin: (!r[7].is_empty()).then(|| r[7].to_string()),
            }
        })
        .collect()
}

fn ts_ms(ts: &str) -> i64 {
    DateTime::parse_from_rfc3339(ts).unwrap().timestamp_millis()
}

fn local_day(ts: &str) -> String {
    let t: DateTime<Utc> = ts.parse().unwrap();
    t.with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

#[test]
fn truth_agrees_with_the_pings() {
    let opts = small_opts(5);
    let dir = run(&opts);
    let rows = read_csv(dir.path());
    let truth: Truth =
        serde_json::from_reader(File::open(dir.path().join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth.workers.len(), 13);
    let cps = read_json(&dir.path().join("checkpoints.geojson"));
    let cp_pos: HashMap<String, (f64, f64)> = cps["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                f["properties"]["code"].as_str().unwrap().to_string(),
                (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()),
            )
        })
        .collect();
    let frame = LocalFrame::new(sim::city::CITY_LON, sim::city::CITY_LAT);
    let dist_m = |a: (f64, f64), b: (f64, f64)| {
        let (pa, pb) = (frame.to_m(a.0, a.1), frame.to_m(b.0, b.1));
        (pa[0] - pb[0]).hypot(pa[1] - pb[1])
    };

    let mut by_worker_day: HashMap<(String, String), Vec<&Row>> = HashMap::new();
    for r in &rows {
        by_worker_day
            .entry((r.worker.clone(), local_day(&r.ts)))
            .or_default()
            .push(r);
    }
    let (mut statics, mut mocks, mut replays, mut visits, mut checkins) = (0, 0, 0, 0, 0);
    for w in &truth.workers {
        assert_eq!(w.days.len(), opts.days);
        for d in &w.days {
            let key = (w.worker.clone(), d.day.clone());
            let pings = by_worker_day.get(&key).cloned().unwrap_or_default();
            if !d.worked {
                assert!(pings.is_empty(), "{key:?} is a day off but has pings");
                continue;
            }
            assert!(!pings.is_empty(), "{key:?} worked without pings");
            let first = pings.iter().map(|r| ts_ms(&r.ts)).min().unwrap();
            let last = pings.iter().map(|r| ts_ms(&r.ts)).max().unwrap();
            let (s, e) = (
                ts_ms(d.shift_start.as_ref().unwrap()),
                ts_ms(d.shift_end.as_ref().unwrap()),
            );
            assert!(
                (first - s).abs() <= 60_000 && (last - e).abs() <= 60_000,
                "{key:?}"
            );
            assert!(
                e - s > 4 * 3_600_000,
                "{key:?}: shift of {} h",
                (e - s) / 3_600_000
            );
            let n_mock = pings.iter().filter(|r| r.mock).count() as u32;
            assert_eq!(n_mock, d.mock_pings, "{key:?}: mock pings");
            mocks += n_mock;
            if d.mock_pings > 0 {
                assert!(d.jumps > 0, "{key:?}: a mock day without jumps");
            }
            for p in &d.static_periods {
                let (a, b) = (ts_ms(&p.start), ts_ms(&p.end));
                let inside: Vec<(f64, f64)> = pings
                    .iter()
                    .filter(|r| (a..=b).contains(&ts_ms(&r.ts)))
                    .map(|r| (r.lon, r.lat))
                    .collect();
                assert!(inside.len() > 100, "{key:?}: static period without pings");
                let n = inside.len() as f64;
                let c = (
                    inside.iter().map(|p| p.0).sum::<f64>() / n,
                    inside.iter().map(|p| p.1).sum::<f64>() / n,
                );
                let far = inside.iter().map(|&p| dist_m(p, c)).fold(0.0, f64::max);
                assert!(far <= 20.0, "{key:?}: static fix {far} m from the centre");
                assert!(d.static_minutes >= 30.0);
                statics += 1;
            }
            if let Some(src) = &d.replay_of {
                replays += 1;
                let src_pings = &by_worker_day[&(w.worker.clone(), src.clone())];
                assert_eq!(src_pings.len(), pings.len(), "{key:?}: replay length");
                for (a, b) in src_pings.iter().zip(&pings) {
                    assert!((a.lat - b.lat).abs() < 1e-6 && (a.lon - b.lon).abs() < 1e-6);
                }
                assert_eq!(d.patrol_minutes, 0.0);
            } else {
                assert!(d.patrol_minutes > 60.0, "{key:?}: {}", d.patrol_minutes);
            }
        }
        let all: Vec<&Row> = rows.iter().filter(|r| r.worker == w.worker).collect();
        for v in &w.visits {
            let (a, b) = (ts_ms(&v.start), ts_ms(&v.end));
            let cp = cp_pos[&v.checkpoint];
            let near = all
                .iter()
                .filter(|r| (a..=b).contains(&ts_ms(&r.ts)))
                .filter(|r| dist_m((r.lon, r.lat), cp) <= 30.0)
                .count();
            assert!(
                near >= 3,
                "{}: visit to {} has {near} pings near it",
                w.worker,
                v.checkpoint
            );
            let checkin = all.iter().any(|r| {
                r.checkin.as_deref() == Some(v.checkpoint.as_str())
                    && (a..=b).contains(&ts_ms(&r.ts))
            });
            assert_eq!(
                checkin, v.checkin,
                "{}: check-in at {}",
                w.worker, v.checkpoint
            );
            visits += 1;
            checkins += usize::from(v.checkin);
        }
        let n_checkin_rows = all
            .iter()
            .filter(|r| r.checkin.is_some())
            .map(|r| (&r.ts, &r.checkin))
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert_eq!(
            n_checkin_rows,
            w.visits.iter().filter(|v| v.checkin).count()
        );
    }
    // The run exercises every behaviour the truth describes.
    assert!(
        statics > 0 && mocks > 0 && replays > 0,
        "{statics} {mocks} {replays}"
    );
    assert!(visits > 10 && checkins > 0, "{visits} {checkins}");
    let labels: std::collections::HashSet<_> = truth.workers.iter().map(|w| w.label).collect();
    assert_eq!(labels.len(), 6, "{labels:?}");
}

#[test]
fn csv_and_parquet_hold_the_same_rows() {
    let opts = SimOptions {
        interval_s: 30,
        ..small_opts(9)
    };
    let dir = run(&opts);
    let csv_rows = read_csv(dir.path());
    let reader =
        SerializedFileReader::new(File::open(dir.path().join("pings.parquet")).unwrap()).unwrap();
    assert_eq!(reader.metadata().num_row_groups(), opts.days);
    let mut n = 0;
    for (row, want) in reader.get_row_iter(None).unwrap().zip(&csv_rows) {
        let row = row.unwrap();
        let got = Row {
            worker: row.get_string(0).unwrap().clone(),
            ts: row.get_string(1).unwrap().clone(),
            lat: row.get_double(2).unwrap(),
            lon: row.get_double(3).unwrap(),
            acc: row.get_double(4).unwrap(),
            speed: row.get_double(5).unwrap(),
            mock: row.get_bool(6).unwrap(),
            checkin: row.get_string(7).ok().cloned(),
        };
        assert_eq!(&got, want, "row {n}");
        assert_eq!(row.get_timestamp_millis(8).unwrap(), ts_ms(&want.ts));
        n += 1;
    }
    assert_eq!(n, csv_rows.len());
    assert!(n > 10_000);
    // Rows arrive mostly, but not always, in time order, and a few repeat.
    let mut late = 0;
    let mut dups = 0;
    for pair in csv_rows.windows(2) {
        if pair[0].worker == pair[1].worker {
            match ts_ms(&pair[1].ts).cmp(&ts_ms(&pair[0].ts)) {
                std::cmp::Ordering::Less => late += 1,
                std::cmp::Ordering::Equal => dups += 1,
                _ => {}
            }
        }
    }
    assert!(late > 0 && late < n / 50, "{late} rows out of order");
    assert!(dups > 0 && dups < n / 50, "{dups} duplicates");
}

#[test]
fn a_streets_file_is_walked() {
    // A missing golden file fails the test (it never passes by skipping).
    let path = shared("osm/helsinki_walk_ways.geojson");
    let opts = SimOptions {
        workers: 30,
        days: 1,
        interval_s: 60,
        streets: Some(path),
        ..SimOptions::default()
    };
    let city = sim::generate_city(&opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = sim::write_simulation(&city, &opts, dir.path()).unwrap();
    assert!(summary.pings > 1000);
    check_tiling(dir.path(), &city);
    // Helsinki, not Changsha.
    let rows = read_csv(dir.path());
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| (r.lon - 24.94).abs() < 0.1 && (r.lat - 60.17).abs() < 0.1));
    // Most grids walk the file's streets (far more nodes than the 4×4-ish lattice has).
    let rich = city.graphs.iter().filter(|g| g.nodes_m.len() > 40).count();
    assert!(
        rich * 2 > city.graphs.len(),
        "{rich} of {}",
        city.graphs.len()
    );
}

#[test]
fn a_bad_streets_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.geojson");
    std::fs::write(&path, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[24.9,95.0],[24.9,60.1]]}}]}"#).unwrap();
    let opts = SimOptions {
        streets: Some(path),
        ..small_opts(1)
    };
    let e = sim::generate_city(&opts).unwrap_err().to_string();
    assert!(e.contains("bad.geojson") && e.contains("#0"), "{e}");
}

#[test]
fn sample_city_is_what_the_documented_command_writes() {
    // The command in data/README.md: --seed 5 --workers 20 --days 7 --interval-s 75
    // --vehicles 4.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let opts = SimOptions {
        seed: 5,
        workers: 20,
        days: 7,
        start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        interval_s: 75,
        vehicles: 4,
        ..SimOptions::default()
    };
    let fresh = file_bytes(run(&opts).path());
    let committed = file_bytes(&sample);
    assert!(!committed.is_empty(), "data/sample has files");
    assert_eq!(fresh.len(), committed.len());
    for ((nf, bf), (nc, bc)) in fresh.iter().zip(&committed) {
        assert_eq!(nf, nc);
        assert!(
            bf == bc,
            "data/sample/{nc} is stale: regenerate it with the command in data/README.md"
        );
    }
}

/// A small run with night and/or sparse workers (10 workers, 4 days from a Monday).
fn mode_opts(seed: u64, night_share: f64, sparse_share: f64) -> SimOptions {
    SimOptions {
        seed,
        workers: 10,
        days: 4,
        start: NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        interval_s: 60,
        night_share,
        sparse_share,
        ..SimOptions::default()
    }
}

fn read_truth(dir: &Path) -> Truth {
    serde_json::from_reader(File::open(dir.join("truth.json")).unwrap()).unwrap()
}

/// Each worker's distinct ping times, in order, Unix seconds.
fn times_by_worker(rows: &[Row]) -> HashMap<String, Vec<i64>> {
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    for r in rows {
        out.entry(r.worker.clone())
            .or_default()
            .push(ts_ms(&r.ts) / 1000);
    }
    for t in out.values_mut() {
        t.sort_unstable();
        t.dedup();
    }
    out
}

/// UTC seconds of local (Asia/Shanghai) midnight starting `date`.
fn local_midnight_s(date: NaiveDate) -> i64 {
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .timestamp()
}

/// Workers whose consecutive pings, less than 300 s apart, straddle the midnight `m`.
fn crossing_workers(times: &HashMap<String, Vec<i64>>, m: i64) -> Vec<String> {
    let mut out: Vec<String> = times
        .iter()
        .filter(|(_, t)| {
            t.windows(2)
                .any(|p| p[0] < m && p[1] >= m && p[1] - p[0] < 300)
        })
        .map(|(w, _)| w.clone())
        .collect();
    out.sort();
    out
}

fn local_hour(ts: &str) -> u32 {
    use chrono::Timelike;
    let t: DateTime<Utc> = ts.parse().unwrap();
    t.with_timezone(&chrono_tz::Asia::Shanghai).hour()
}

#[test]
fn night_workers_patrol_across_local_midnight() {
    let opts = mode_opts(21, 0.5, 0.0);
    let dir = run(&opts);
    let truth = read_truth(dir.path());
    let rows = read_csv(dir.path());
    let night: Vec<&str> = truth
        .workers
        .iter()
        .filter(|w| w.shift == Some(sim::Shift::Night))
        .map(|w| w.worker.as_str())
        .collect();
    assert!(truth.workers.iter().all(|w| w.shift.is_some()));
    assert!(truth
        .workers
        .iter()
        .all(|w| w.app_mode == Some(sim::AppMode::Continuous)));
    assert_eq!(night.len(), 5, "round(0.5 × 10) night workers");

    // Local midnights after each simulated day: on most of them, night workers walk on.
    let times = times_by_worker(&rows);
    let mut crossed_nights = 0;
    let mut crossers = std::collections::HashSet::new();
    for d in 1..=opts.days {
        let m = local_midnight_s(opts.start + chrono::Days::new(d as u64));
        let ws = crossing_workers(&times, m);
        for w in &ws {
            assert!(
                night.contains(&w.as_str()),
                "day worker {w} crosses midnight"
            );
        }
        crossed_nights += usize::from(!ws.is_empty());
        crossers.extend(ws);
    }
    assert!(
        crossed_nights * 4 >= opts.days * 3,
        "only {crossed_nights} of {} midnights are patrolled across",
        opts.days
    );
    assert!(
        crossers.len() * 2 >= night.len(),
        "{crossers:?} of {night:?}"
    );
    // Night pings fall between 19:00 and 07:00 local, day pings between 07:00 and 19:00.
    for r in &rows {
        let h = local_hour(&r.ts);
        let is_night = night.contains(&r.worker.as_str());
        assert_eq!(
            !(7..19).contains(&h),
            is_night,
            "{} at {} (local hour {h})",
            r.worker,
            r.ts
        );
    }
    // A night shift belongs to the day it starts on.
    for w in truth
        .workers
        .iter()
        .filter(|w| night.contains(&w.worker.as_str()))
    {
        for d in w.days.iter().filter(|d| d.shift_start.is_some()) {
            let start = d.shift_start.as_ref().unwrap();
            assert_eq!(local_day(start), d.day, "{}", w.worker);
            assert!(local_hour(start) >= 19, "{} starts at {start}", w.worker);
        }
    }
}

#[test]
fn default_shares_keep_day_shifts_and_the_old_truth_format() {
    let opts = mode_opts(21, 0.0, 0.0);
    let dir = run(&opts);
    let text = std::fs::read_to_string(dir.path().join("truth.json")).unwrap();
    assert!(!text.contains("\"shift\"") && !text.contains("\"app_mode\""));
    let times = times_by_worker(&read_csv(dir.path()));
    for d in 1..=opts.days {
        let m = local_midnight_s(opts.start + chrono::Days::new(d as u64));
        assert!(crossing_workers(&times, m).is_empty());
    }
    let workers = read_truth(dir.path()).workers;
    assert!(!workers.is_empty());
    assert!(workers
        .iter()
        .all(|w| w.shift.is_none() && w.app_mode.is_none()));
}

/// Checkpoint code → (grid code, lon/lat, visits per month).
fn checkpoints(dir: &Path) -> HashMap<String, (String, (f64, f64), u64)> {
    let cps = read_json(&dir.join("checkpoints.geojson"));
    cps["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            let p = &f["properties"];
            (
                p["code"].as_str().unwrap().to_string(),
                (
                    p["grid"].as_str().unwrap().to_string(),
                    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()),
                    p["visits_per_month"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn sparse_workers_report_only_checkins_near_their_checkpoints() {
    let opts = mode_opts(22, 0.0, 0.5);
    let dir = run(&opts);
    let truth = read_truth(dir.path());
    let rows = read_csv(dir.path());
    let cps = checkpoints(dir.path());
    let frame = LocalFrame::new(sim::city::CITY_LON, sim::city::CITY_LAT);
    let to_m = |p: (f64, f64)| frame.to_m(p.0, p.1);

    let sparse: Vec<&sim::WorkerTruth> = truth
        .workers
        .iter()
        .filter(|w| w.app_mode == Some(sim::AppMode::Sparse))
        .collect();
    let share = sparse.len() as f64 / truth.workers.len() as f64;
    assert!((share - 0.5).abs() <= 0.05, "sparse share {share}");
    assert!(truth
        .workers
        .iter()
        .all(|w| w.shift == Some(sim::Shift::Day)));
    let mut n_pings = 0;
    for w in &sparse {
        assert!(
            matches!(w.label, sim::Label::Diligent | sim::Label::Lazy),
            "{}: {:?}",
            w.worker,
            w.label
        );
        let mine: Vec<&Row> = rows.iter().filter(|r| r.worker == w.worker).collect();
        for r in &mine {
            let code = r
                .checkin
                .as_deref()
                .unwrap_or_else(|| panic!("{} at {}: a ping without check-in", w.worker, r.ts));
            let (grid, pos, _) = &cps[code];
            assert!(w.grids.contains(grid), "{}: {code} is in {grid}", w.worker);
            let (a, b) = (to_m((r.lon, r.lat)), to_m(*pos));
            let d = (a[0] - b[0]).hypot(a[1] - b[1]);
            assert!(d <= 100.0, "{} at {}: {d:.0} m from {code}", w.worker, r.ts);
            assert!(!r.mock);
        }
        // One ping per true visit, within it, naming it.
        assert_eq!(mine.len(), w.visits.len(), "{}", w.worker);
        for v in &w.visits {
            assert!(v.checkin);
            let (s, e) = (ts_ms(&v.start), ts_ms(&v.end));
            let n = mine
                .iter()
                .filter(|r| r.checkin.as_deref() == Some(v.checkpoint.as_str()))
                .filter(|r| (s..=e).contains(&ts_ms(&r.ts)))
                .count();
            assert_eq!(n, 1, "{}: visit to {}", w.worker, v.checkpoint);
        }
        // No teleports: consecutive fixes are consistent with walking.
        let mut by_t = mine.clone();
        by_t.sort_by_key(|r| ts_ms(&r.ts));
        for p in by_t.windows(2) {
            let dt = (ts_ms(&p[1].ts) - ts_ms(&p[0].ts)) as f64 / 1000.0;
            let (a, b) = (to_m((p[0].lon, p[0].lat)), to_m((p[1].lon, p[1].lat)));
            let v = (a[0] - b[0]).hypot(a[1] - b[1]) / dt.max(1.0);
            assert!(v < 15.0, "{}: {v:.1} m/s at {}", w.worker, p[1].ts);
        }
        n_pings += mine.len();
    }
    assert!(n_pings > 10, "{n_pings} sparse pings");
    // Sparse pings are minutes apart; continuous workers still report every interval.
    let times = times_by_worker(&rows);
    for w in &truth.workers {
        let t = times.get(&w.worker).cloned().unwrap_or_default();
        let short = t.windows(2).filter(|p| p[1] - p[0] <= 300).count();
        if w.app_mode == Some(sim::AppMode::Sparse) {
            assert!(short * 4 <= t.len(), "{}: {short} short steps", w.worker);
        } else {
            assert!(t.len() > 300, "{}: {} pings", w.worker, t.len());
        }
    }
}

#[test]
fn sparse_workers_meet_the_monthly_visits() {
    // All workers sparse for the whole of October.
    let opts = SimOptions {
        seed: 23,
        workers: 6,
        days: 31,
        start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        interval_s: 60,
        sparse_share: 1.0,
        ..SimOptions::default()
    };
    let dir = run(&opts);
    let truth = read_truth(dir.path());
    let cps = checkpoints(dir.path());
    let rows = read_csv(dir.path());
    for w in &truth.workers {
        assert_eq!(w.app_mode, Some(sim::AppMode::Sparse));
        assert!(matches!(w.label, sim::Label::Diligent | sim::Label::Lazy));
        let mut checkins: HashMap<&str, u64> = HashMap::new();
        for r in rows.iter().filter(|r| r.worker == w.worker) {
            *checkins.entry(r.checkin.as_deref().unwrap()).or_default() += 1;
        }
        for (code, (grid, _, need)) in &cps {
            if w.grids.contains(grid) {
                let got = checkins.get(code.as_str()).copied().unwrap_or(0);
                assert!(got >= *need, "{}: {code} visited {got} of {need}", w.worker);
            }
        }
    }
}

#[test]
fn worker_modes_are_seeded_and_nested() {
    let modes = |night: f64, sparse: f64| {
        let city = sim::generate_city(&SimOptions {
            workers: 40,
            ..mode_opts(24, night, sparse)
        })
        .unwrap();
        city.workers
            .iter()
            .map(|w| (w.shift, w.app, w.label))
            .collect::<Vec<_>>()
    };
    let a = modes(0.3, 0.2);
    assert_eq!(a, modes(0.3, 0.2));
    let count = |m: &[(sim::Shift, sim::AppMode, sim::Label)]| {
        (
            m.iter().filter(|w| w.0 == sim::Shift::Night).count(),
            m.iter().filter(|w| w.1 == sim::AppMode::Sparse).count(),
        )
    };
    assert_eq!(count(&a), (12, 8));
    // A larger share keeps the workers a smaller one chose; the shares do not interact.
    let b = modes(0.6, 0.2);
    for (x, y) in a.iter().zip(&b) {
        if x.0 == sim::Shift::Night {
            assert_eq!(y.0, sim::Shift::Night);
        }
        assert_eq!(x.1, y.1);
    }
    // Every worker sparse: the anomaly labels give way to diligent.
    let all = modes(0.0, 1.0);
    assert!(!all.is_empty());
    assert!(all
        .iter()
        .all(|w| w.1 == sim::AppMode::Sparse
            && matches!(w.2, sim::Label::Diligent | sim::Label::Lazy)));
    let none = modes(0.0, 0.0);
    assert_eq!(count(&none), (0, 0));
}

#[test]
fn a_share_out_of_range_is_named_in_the_error() {
    for (arg, name) in [
        ("--night-share=1.5", "--night-share"),
        ("--sparse-share=-0.1", "--sparse-share"),
        ("--sparse-share=half", "--sparse-share"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = gridbeat()
            .args(["simulate", "--workers", "2", "--days", "1", arg, "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{arg} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "{arg}: {err}");
        assert!(!dir.path().join("pings.csv").exists());
    }
    let bad = SimOptions {
        night_share: f64::NAN,
        ..SimOptions::default()
    };
    assert!(bad.validate().unwrap_err().contains("--night-share"));
}

#[test]
fn the_engine_sees_sparse_and_night_workers_as_honest() {
    use gridbeat::config::Config;
    use gridbeat::model::{Crs, Ping, WorkerId};

    let opts = mode_opts(25, 0.5, 0.5);
    let dir = run(&opts);
    let text = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    let registry = registry_of(
        &text("grids.geojson"),
        &text("workers.csv"),
        &text("checkpoints.geojson"),
    );
    let pings =
        gridbeat::ingest::csv::read_pings(text("pings.csv").as_bytes(), "pings.csv", Crs::Wgs84)
            .unwrap()
            .pings;
    let assessor = assessor_with(registry, Config::default());
    let truth = read_truth(dir.path());
    let (mut sparse_seen, mut night_seen, mut diligent_night) = (0, 0, 0);
    for w in &truth.workers {
        let id = WorkerId::new(&w.worker);
        let mine: Vec<Ping> = pings.iter().filter(|p| p.worker == id).cloned().collect();
        let days = assessor.summarize_worker(&id, &mine);
        let flags: Vec<&str> = days
            .iter()
            .flat_map(|d| d.anomalies.iter().map(|a| a.kind()))
            .collect();
        if w.app_mode == Some(sim::AppMode::Sparse) {
            sparse_seen += 1;
            // Every fix accepted, no flag, and every true visit found through its check-in.
            assert!(flags.is_empty(), "{}: {flags:?}", w.worker);
            let received: u32 = days.iter().map(|d| d.pings).sum();
            let accepted: u32 = days.iter().map(|d| d.accepted).sum();
            assert_eq!(accepted, received, "{}", w.worker);
            let found: usize = days.iter().map(|d| d.visits.len()).sum();
            assert_eq!(found, w.visits.len(), "{}", w.worker);
        }
        if w.shift == Some(sim::Shift::Night) && w.app_mode == Some(sim::AppMode::Continuous) {
            night_seen += 1;
            // The steps after midnight land on the next local day (truth.json counts a shift
            // on the day it starts); together the engine's days hold the whole patrol.
            let truth_min: f64 = w.days.iter().map(|d| d.patrol_minutes).sum();
            let engine_min: f64 = days.iter().map(|d| d.patrol_s).sum::<f64>() / 60.0;
            if w.label == sim::Label::Diligent {
                diligent_night += 1;
                assert!(flags.is_empty(), "{}: {flags:?}", w.worker);
                assert!(
                    engine_min > 0.8 * truth_min,
                    "{}: {engine_min} of {truth_min} min",
                    w.worker
                );
            }
        }
    }
    assert!(
        sparse_seen >= 4 && night_seen >= 2 && diligent_night >= 1,
        "{sparse_seen} {night_seen} {diligent_night}"
    );
}
