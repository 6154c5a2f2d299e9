//! The database stopped and started while clients post: ingest answers a JSON 503
//! `store_unavailable` with `Retry-After` while it is down and `/healthz` says not ready;
//! nothing acknowledged is lost, and ingest resumes by itself when the database is back.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::replicas::{http, load_registry, start_waiting, wait_healthy};
use crate::util::{demo_city, free_port, ndjson_line, sample_pings};

#[test]
fn a_database_restart_during_ingest_loses_nothing_acknowledged() {
    let cluster = super::Cluster::start();
    let db = super::TestDb::on(&cluster.admin_url());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let city = demo_city(d);
    load_registry(&db.url, &city);
    let config = d.join("gridbeat.toml");
    std::fs::write(
        &config,
        "[server]\nrecompute_quiet_ms = 100\n\n[store]\nconnect_timeout_s = 1\n",
    )
    .unwrap();
    // A replica started before its database waits for it (`--wait-for-store`), retrying
    // with backoff, and comes up once the database does.
    cluster.down();
    let port = free_port();
    let log: PathBuf = d.join("replica.log");
    let mut replica = start_waiting(&db.url, &config, port, &log, &d.join("compute.log"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        replica.try_wait().unwrap().is_none(),
        "it waits instead of exiting"
    );
    assert!(
        http(port, "GET", "/healthz", b"").is_err(),
        "not listening before the store is open"
    );
    cluster.up();
    wait_healthy(port, &log);
    let waited = std::fs::read_to_string(&log).unwrap();
    assert!(waited.contains("waiting for the database"), "{waited}");
    assert!(
        waited.contains(&format!("127.0.0.1:{}", cluster.port)),
        "names the host: {waited}"
    );

    let pings = sample_pings();
    let rows: Vec<(String, i64, String)> = pings
        .iter()
        .take(20_000)
        .map(|p| (p.worker.as_str().to_string(), p.ts, ndjson_line(p)))
        .collect();
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let posted = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(AtomicBool::new(false));
    let client = {
        let (acked, refused, posted, down) = (
            Arc::clone(&acked),
            Arc::clone(&refused),
            Arc::clone(&posted),
            Arc::clone(&down),
        );
        std::thread::spawn(move || {
            for batch in rows.chunks(100) {
                let body: String = batch.iter().map(|r| format!("{}\n", r.2)).collect();
                loop {
                    match http(port, "POST", "/api/v1/pings", body.as_bytes()) {
                        Ok((200, _)) => {
                            acked
                                .lock()
                                .unwrap()
                                .extend(batch.iter().map(|r| (r.0.clone(), r.1)));
                            posted.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Ok((status, answer)) => {
                            assert_eq!(status, 503, "{answer}");
                            let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
                            assert_eq!(v["code"], "store_unavailable", "{answer}");
                            assert!(
                                down.load(Ordering::Relaxed),
                                "a 503 while the database was up: {answer}"
                            );
                            refused.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        Err(e) => panic!("the replica stopped answering: {e}"),
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // Let some batches through, then stop the database for a few seconds.
    while posted.load(Ordering::Relaxed) < 20 {
        std::thread::sleep(Duration::from_millis(20));
    }
    down.store(true, Ordering::Relaxed);
    cluster.down();
    std::thread::sleep(Duration::from_secs(3));
    let (status, body) = http(port, "GET", "/healthz", b"").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("unavailable"), "{body}");
    // The retry header is there for clients that honour it.
    let raw = crate::util::http(
        port,
        "POST",
        "/api/v1/pings",
        &[("content-type", "application/x-ndjson")],
        b"{\"worker\":\"w-0001\",\"ts\":1791000000000,\"lat\":28.19,\"lon\":112.97}\n",
    )
    .unwrap();
    assert_eq!(raw.0, 503);
    assert!(raw.1.to_lowercase().contains("retry-after"), "{}", raw.1);
    let before = posted.load(Ordering::Relaxed);
    cluster.up();
    down.store(false, Ordering::Relaxed);
    let t0 = Instant::now();
    // Ready again by itself.
    let ready = loop {
        let (status, body) = http(port, "GET", "/healthz", b"").unwrap();
        if status == 200 || t0.elapsed() > Duration::from_secs(30) {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ready.0, 200, "ready again: {}", ready.1);
    client.join().unwrap();
    // The pool and the statement latency are on /metrics.
    let (status, metrics) = http(port, "GET", "/metrics", b"").unwrap();
    assert_eq!(status, 200);
    for name in [
        "gridbeat_store_pool_connections",
        "gridbeat_store_pool_max 16",
        "gridbeat_store_query_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    assert!(posted.load(Ordering::Relaxed) > before, "ingest resumed");
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the outage was seen by the client"
    );
    assert!(t0.elapsed() < Duration::from_secs(120));
    replica.kill().unwrap();
    replica.wait().unwrap();

    let stored_rows = super::psql(&db.url, "SELECT worker || ' ' || ts FROM pings");
    let stored: HashSet<(String, i64)> = stored_rows
        .lines()
        .map(|l| {
            let (w, ts) = l.split_once(' ').unwrap();
            (w.to_string(), ts.parse().unwrap())
        })
        .collect();
    for key in acked.lock().unwrap().iter() {
        assert!(stored.contains(key), "acknowledged {key:?} was lost");
    }
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("the database is unavailable"), "{log}");
    assert!(log.contains("reachable again"), "{log}");
}
