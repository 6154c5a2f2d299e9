//! Crash safety of the real binary: three clients post the sample week continuously while the
//! server is killed with SIGKILL at random moments (at least 20 times) and restarted. Every
//! ping that got a 2xx must be in the store exactly once, nothing may appear that no client
//! sent, and once the summaries are current the served report must equal `gridbeat report`
//! over the rows the server received.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::util::{
    batch_report, demo_data, free_port, gridbeat, http_ndjson, ndjson_line, pings_csv,
    post_until_acked, sample_pings, wait_port_healthy, without_timing,
};

fn start(data: &Path, config: &Path, port: u16) -> Child {
    gridbeat()
        .args(["serve", "--data"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_healthy(port: u16) {
    wait_port_healthy(port, &|| String::new());
}

/// An acknowledged ping: (worker, ts ms, lat, lon).
type Sent = (String, i64, f64, f64);

/// (worker, ts ms, lat, lon, line of NDJSON)
type Row = (String, i64, f64, f64, String);

#[test]
fn acknowledged_pings_survive_sigkill_and_the_report_equals_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = demo_data(d);
    let city = d.join("city");
    let config = d.join("gridbeat.toml");
    std::fs::write(
        &config,
        "[server]\nrecompute_quiet_ms = 100\nrecompute_max_delay_ms = 1000\n",
    )
    .unwrap();

    // The sample week as NDJSON rows, split among three clients by worker.
    let pings = sample_pings();
    let mut clients: Vec<Vec<Row>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for p in &pings {
        let n: usize = p.worker.as_str().bytes().map(usize::from).sum::<usize>() % 3;
        clients[n].push((
            p.worker.as_str().to_string(),
            p.ts,
            p.lat,
            p.lon,
            ndjson_line(p),
        ));
    }

    let port = free_port();
    let acked: Arc<Mutex<Vec<Sent>>> = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let resends = Arc::new(AtomicUsize::new(0));
    let mut server = start(&data, &config, port);
    wait_healthy(port);

    let handles: Vec<_> = clients
        .into_iter()
        .map(|rows| {
            let acked = Arc::clone(&acked);
            let resends = Arc::clone(&resends);
            std::thread::spawn(move || {
                for batch in rows.chunks(40) {
                    let body: String = batch.iter().map(|r| format!("{}\n", r.4)).collect();
                    post_until_acked(&[port], &mut 0, body.as_bytes(), &resends);
                    acked
                        .lock()
                        .unwrap()
                        .extend(batch.iter().map(|r| (r.0.clone(), r.1, r.2, r.3)));
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        })
        .collect();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_202);
    let mut kills = 0;
    let mut under_load = 0;
    while kills < 20 || (kills < 200 && !handles.iter().all(|h| h.is_finished())) {
        std::thread::sleep(Duration::from_millis(rng.random_range(30..250)));
        if !handles.iter().all(|h| h.is_finished()) {
            under_load += 1;
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        kills += 1;
        server = start(&data, &config, port);
        wait_healthy(port);
        if handles.iter().all(|h| h.is_finished()) && kills >= 20 {
            break;
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(
        under_load >= 20,
        "{under_load} of {kills} kills while clients were posting"
    );
    // Some requests were cut off by a kill and sent again.
    assert!(resends.load(Ordering::Relaxed) > 0);
    eprintln!(
        "{kills} kills ({under_load} under load), {} requests resent",
        resends.load(Ordering::Relaxed)
    );

    // Wait for the summaries to be current, then take the report.
    let t0 = Instant::now();
    let served = loop {
        let (status, body) = http_ndjson(port, "GET", "/api/v1/reports/2026-10", b"").unwrap();
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["freshness"]["pending"] == 0 {
            break v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "summaries never became current"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    server.kill().unwrap();
    server.wait().unwrap();

    // Every acknowledged ping exactly once, at the position sent; nothing unsent stored.
    let db = rusqlite::Connection::open(data.join("gridbeat.db")).unwrap();
    let mut stored: HashMap<(String, i64), (f64, f64)> = HashMap::new();
    let mut stmt = db
        .prepare("SELECT worker, ts, lat, lon FROM pings")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(3)?,
            ))
        })
        .unwrap();
    for r in rows {
        let (w, ts, lat, lon) = r.unwrap();
        assert!(stored.insert((w, ts), (lat, lon)).is_none());
    }
    let acked = acked.lock().unwrap();
    let mut sent: HashMap<(String, i64), Vec<(f64, f64)>> = HashMap::new();
    for p in &pings {
        sent.entry((p.worker.as_str().to_string(), p.ts))
            .or_default()
            .push((p.lat, p.lon));
    }
    for (w, ts, lat, lon) in acked.iter() {
        let at = stored
            .get(&(w.clone(), *ts))
            .unwrap_or_else(|| panic!("acknowledged {w} {ts} is missing"));
        // The first received of a (worker, ts) is kept; a conflict's other position is not.
        assert!(
            sent[&(w.clone(), *ts)].contains(at)
                && (at.0 - lat).abs() < 1.0
                && (at.1 - lon).abs() < 1.0
        );
    }
    for key in stored.keys() {
        assert!(sent.contains_key(key), "{key:?} was never sent");
    }
    let unique_sent = sent.len();
    assert_eq!(
        stored.len(),
        unique_sent,
        "every distinct ping was acknowledged in the end"
    );

    // The batch door over the rows the clients sent, each once (with exactly the values they
    // sent), in order: a resent batch is a repeat and changes no figure (DESIGN.md §4.2 step
    // 1), so the service's report equals it exactly, whatever was resent after the kills.
    let csv = pings_csv(&pings);
    let received = d.join("received.csv");
    std::fs::write(&received, csv).unwrap();
    let (batch, _) = batch_report(&city, &received, &d.join("batch"), &[]);
    let (served, batch) = (without_timing(served), without_timing(batch));
    let rows = |v: &serde_json::Value| -> BTreeMap<String, serde_json::Value> {
        v["workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["worker"].as_str().unwrap().to_string(), w.clone()))
            .collect()
    };
    assert_eq!(rows(&served), rows(&batch));
    assert_eq!(served, batch);
}
