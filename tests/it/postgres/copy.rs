//! `gridbeat store copy` SQLite → PostgreSQL → SQLite with the real binary: the registry,
//! pings and summaries arrive identical (the digest of every row), the service's report is
//! the same from each store, and a copy killed half-way resumes and writes each row once.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;

use gridbeat::config::Config;
use gridbeat::server::AppState;
use gridbeat::store::{Location, OpenOptions, Store};
use serde_json::Value;

use crate::util::{assert_success, gridbeat, sample};
use crate::util::{demo_data, get_json};

/// The October report of a store as the service serves it, without `generated_at`.
async fn report(location: &Location) -> (Value, u64) {
    let state = AppState::open_at(
        Config::default(),
        location,
        &OpenOptions::default(),
        std::time::Duration::ZERO,
    )
    .unwrap();
    let pending = state.store.stats().unwrap().pending;
    let mut r = get_json(&state, "/api/v1/reports/2026-10").await;
    r.as_object_mut().unwrap().remove("generated_at");
    (r, pending)
}

fn digest(location: &Location) -> (Vec<(gridbeat::store::Part, u64)>, String) {
    let store: Arc<dyn Store> = location
        .open(
            &Config::default().store,
            &OpenOptions::default(),
            std::time::Duration::ZERO,
        )
        .unwrap();
    gridbeat::store::copy::digest(store.as_ref()).unwrap()
}

fn copy(from: &str, to: &str) -> String {
    let out = gridbeat()
        .args(["store", "copy", "--from", from, "--to", to])
        .output()
        .unwrap();
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_to_sqlite_keeps_every_row_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path());
    let out = gridbeat()
        .args(["import", "--data"])
        .arg(&data)
        .arg(sample("pings.csv"))
        .output()
        .unwrap();
    assert_success(&out);
    // Summaries current in the source, as a server leaves them.
    let a = Location::Dir(data.clone());
    {
        let state = AppState::open_at(
            Config::default(),
            &a,
            &OpenOptions::default(),
            std::time::Duration::ZERO,
        )
        .unwrap();
        crate::util::settle(&state).await;
    }
    let (report_a, pending_a) = report(&a).await;
    assert_eq!(pending_a, 0);
    let (rows_a, digest_a) = digest(&a);
    let pings_a = rows_a[0].1;
    assert!(pings_a > 60_000, "{rows_a:?}");
    assert!(rows_a[2].1 > 100, "summaries copied: {rows_a:?}");

    let db = super::TestDb::new();
    let pg = Location::Url(db.url.clone());
    // A copy killed half-way through the pings, then run again: it resumes.
    let mut child = gridbeat()
        .args(["store", "copy", "--chunk-rows", "2000", "--from"])
        .arg(&data)
        .args(["--to", &db.url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = 0;
    for line in lines {
        if line.unwrap().starts_with("pings: ") {
            seen += 1;
            if seen == 3 {
                break;
            }
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed before it finished");
    let partial = super::psql(&db.url, "SELECT count(*) FROM pings");
    assert!(
        partial.parse::<u64>().unwrap() >= 6_000 && partial.parse::<u64>().unwrap() < pings_a,
        "{partial} pings after the kill"
    );
    let said = copy(data.to_str().unwrap(), &db.url);
    assert!(
        said.contains("(resumed)") && said.contains("verified"),
        "{said}"
    );

    let (rows_pg, digest_pg) = digest(&pg);
    assert_eq!(rows_pg, rows_a);
    assert_eq!(digest_pg, digest_a, "every row identical in PostgreSQL");
    let (report_pg, pending_pg) = report(&pg).await;
    assert_eq!(pending_pg, 0, "nothing to recompute after a copy");
    assert_eq!(report_pg, report_a, "the same report from PostgreSQL");

    // And back into a new data directory.
    let back = dir.path().join("back");
    let said = copy(&db.url, back.to_str().unwrap());
    assert!(said.contains("verified"), "{said}");
    let b = Location::Dir(back);
    assert_eq!(
        digest(&b),
        (rows_a, digest_a),
        "identical after the round trip"
    );
    let (report_b, _) = report(&b).await;
    assert_eq!(report_b, report_a, "the same report after the round trip");

    // A destination that holds data is refused, naming it.
    let again = gridbeat()
        .args(["store", "copy", "--from"])
        .arg(&data)
        .args(["--to", &db.url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already holds data"), "{err}");
}
