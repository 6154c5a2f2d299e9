//! Two `gridbeat serve` replicas of the real binary on one PostgreSQL database: three clients
//! post the sample month round-robin to both while each replica is killed with SIGKILL at
//! random moments (at least 10 times each) and restarted. Every acknowledged ping is stored
//! exactly once; once the summaries are current both replicas serve the same report, equal to
//! `gridbeat report` over the same rows; the dirty queue ends empty; and the replicas' compute
//! log (the `GRIDBEAT_TEST_COMPUTE_LOG` hook) shows no worker-day computed by two replicas at
//! once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};

use crate::util::{
    assert_success, batch_report, demo_city, free_port, gridbeat, ndjson_line, sample_pings,
    without_timing,
};

/// One HTTP/1.1 request over a fresh connection.
pub use crate::util::http_ndjson as http;

/// A replica: `gridbeat serve --store URL` on `port`, its log appended to `log`.
pub fn start(url: &str, config: &Path, port: u16, log: &Path, compute_log: &Path) -> Child {
    spawn(url, config, port, log, compute_log, &[])
}

/// [`start`] with `--wait-for-store 60`: it waits for a database that is not up yet.
pub fn start_waiting(url: &str, config: &Path, port: u16, log: &Path, compute_log: &Path) -> Child {
    spawn(
        url,
        config,
        port,
        log,
        compute_log,
        &["--wait-for-store", "60"],
    )
}

fn spawn(
    url: &str,
    config: &Path,
    port: u16,
    log: &Path,
    compute_log: &Path,
    extra: &[&str],
) -> Child {
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    gridbeat()
        .args(["serve", "--store", url, "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .env("GRIDBEAT_TEST_COMPUTE_LOG", compute_log)
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap()
}

pub fn wait_healthy(port: u16, log: &Path) {
    crate::util::wait_port_healthy(port, &|| std::fs::read_to_string(log).unwrap_or_default());
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// (worker, ts ms, line of NDJSON)
type Row = (String, i64, String);

/// Per (worker, day): the computations logged, as (begin ns, end ns, pid).
type Spans = BTreeMap<(String, String), Vec<(u128, u128, u32)>>;

/// Loads the demo city's registry into the database with `gridbeat registry load --store`.
pub fn load_registry(url: &str, city: &Path) {
    let out = gridbeat()
        .args(["registry", "load", "--store", url])
        .arg("--grids")
        .arg(city.join("grids.geojson"))
        .arg("--workers")
        .arg(city.join("workers.csv"))
        .arg("--checkpoints")
        .arg(city.join("checkpoints.geojson"))
        .output()
        .unwrap();
    assert_success(&out);
}

#[test]
fn two_replicas_killed_at_random_lose_nothing_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = super::TestDb::new();
    let city = demo_city(d);
    load_registry(&db.url, &city);
    let config = d.join("gridbeat.toml");
    std::fs::write(
        &config,
        "[server]\nrecompute_quiet_ms = 100\nrecompute_max_delay_ms = 1000\n\n[store]\nclaim_lease_s = 15\n",
    )
    .unwrap();
    let compute_log = d.join("compute.log");
    let ports = [free_port(), free_port()];
    let logs: Vec<PathBuf> = ports
        .iter()
        .map(|p| d.join(format!("replica-{p}.log")))
        .collect();
    let mut replicas: Vec<Child> = (0..2)
        .map(|i| start(&db.url, &config, ports[i], &logs[i], &compute_log))
        .collect();
    for i in 0..2 {
        wait_healthy(ports[i], &logs[i]);
    }

    let pings = sample_pings();
    let mut clients: Vec<Vec<Row>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for p in &pings {
        let n: usize = p.worker.as_str().bytes().map(usize::from).sum::<usize>() % 3;
        clients[n].push((p.worker.as_str().to_string(), p.ts, ndjson_line(p)));
    }
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::new(Mutex::new(Vec::new()));
    let resends = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(c, rows)| {
            let acked = Arc::clone(&acked);
            let resends = Arc::clone(&resends);
            std::thread::spawn(move || {
                let mut next = c;
                for batch in rows.chunks(50) {
                    let body: String = batch.iter().map(|r| format!("{}\n", r.2)).collect();
                    // Round-robin over the replicas, as a load balancer would.
                    crate::util::post_until_acked(&ports, &mut next, body.as_bytes(), &resends);
                    acked
                        .lock()
                        .unwrap()
                        .extend(batch.iter().map(|r| (r.0.clone(), r.1)));
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();

    // Kill a random replica at random moments, each at least 10 times, recording when.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_205);
    let mut kills = [0usize; 2];
    let mut kill_at: HashMap<u32, u128> = HashMap::new();
    let mut under_load = 0;
    loop {
        let busy = !handles.iter().all(|h| h.is_finished());
        if !busy && kills.iter().all(|&k| k >= 10) {
            break;
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(50..400)));
        let i = if kills[0] >= 10 && kills[1] < 10 {
            1
        } else if kills[1] >= 10 && kills[0] < 10 {
            0
        } else {
            rng.random_range(0..2)
        };
        let pid = replicas[i].id();
        kill_at.insert(pid, now_ns());
        replicas[i].kill().unwrap(); // SIGKILL
        replicas[i].wait().unwrap();
        kills[i] += 1;
        if busy {
            under_load += 1;
        }
        replicas[i] = start(&db.url, &config, ports[i], &logs[i], &compute_log);
        wait_healthy(ports[i], &logs[i]);
    }
    for h in handles {
        h.join().unwrap();
    }
    eprintln!(
        "kills {kills:?} ({under_load} under load), {} requests resent",
        resends.load(Ordering::Relaxed)
    );
    assert!(kills.iter().all(|&k| k >= 10));
    assert!(under_load >= 10, "{under_load} kills while clients posted");

    // The dirty queue empties (claims of killed replicas lapse and are taken over).
    let t0 = Instant::now();
    loop {
        let left: u64 = super::psql(&db.url, "SELECT count(*) FROM dirty")
            .parse()
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "{left} dirty worker-days left after 240 s"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let reports: Vec<serde_json::Value> = ports
        .iter()
        .map(|&port| {
            let (status, body) = http(port, "GET", "/api/v1/reports/2026-10", b"").unwrap();
            assert_eq!(status, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["freshness"]["pending"], 0, "{}", v["freshness"]);
            v
        })
        .collect();
    for r in &mut replicas {
        r.kill().unwrap();
        r.wait().unwrap();
    }

    // Every acknowledged ping exactly once; nothing stored that no client sent.
    let stored_rows = super::psql(&db.url, "SELECT worker || ' ' || ts FROM pings");
    let mut stored: HashSet<(String, i64)> = HashSet::new();
    for line in stored_rows.lines() {
        let (w, ts) = line.split_once(' ').unwrap();
        assert!(
            stored.insert((w.to_string(), ts.parse().unwrap())),
            "{line} twice"
        );
    }
    let sent: HashSet<(String, i64)> = pings
        .iter()
        .map(|p| (p.worker.as_str().to_string(), p.ts))
        .collect();
    for key in acked.lock().unwrap().iter() {
        assert!(stored.contains(key), "acknowledged {key:?} is missing");
    }
    assert_eq!(stored, sent, "every distinct ping sent is stored once");

    // No worker-day computed by two replicas at once: per (worker, day), the intervals of
    // different processes (a killed one's open interval ends at its kill) never overlap.
    let text = std::fs::read_to_string(&compute_log).unwrap();
    let mut open: HashMap<(String, String, u32), u128> = HashMap::new();
    let mut spans: Spans = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (t, pid): (u128, u32) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        let key = (f[3].to_string(), f[4].to_string(), pid);
        match f[0] {
            "begin" => {
                open.insert(key, t);
            }
            _ => {
                let b = open.remove(&key).unwrap();
                spans.entry((key.0, key.1)).or_default().push((b, t, pid));
            }
        }
    }
    for ((w, day, pid), b) in open {
        let end = kill_at.get(&pid).copied().unwrap_or(u128::MAX);
        spans.entry((w, day)).or_default().push((b, end, pid));
    }
    let mut computed = 0;
    for (key, mut list) in spans {
        list.sort();
        computed += list.len();
        for pair in list.windows(2) {
            let ((_, e1, p1), (b2, _, p2)) = (pair[0], pair[1]);
            assert!(
                p1 == p2 || b2 >= e1,
                "{key:?} computed by {p1} and {p2} at once"
            );
        }
    }
    assert!(computed > 100, "{computed} worker-day computations logged");

    // Both replicas serve the same report, equal to the batch door's over the same rows.
    let csv = crate::util::pings_csv(&pings);
    let received = d.join("received.csv");
    std::fs::write(&received, csv).unwrap();
    let (batch, _) = batch_report(&city, &received, &d.join("batch"), &[]);
    let a = without_timing(reports[0].clone());
    let b = without_timing(reports[1].clone());
    assert_eq!(a, b, "the two replicas' reports");
    assert_eq!(
        a,
        without_timing(batch),
        "the replicas' report and the batch door's"
    );
}
