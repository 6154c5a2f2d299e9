//! Faults of the disk and the database, driven through the real binary (issue 15, defects
//! 11–16): a second server on one data directory, files that cannot be a store, damaged
//! summaries, a clean stop, an online backup, a full disk and a read-only directory.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::util::{
    assert_success, demo_data, free_port, gridbeat, http, ndjson_line, sample_pings,
    without_timing, Served,
};

/// A config that recomputes quickly.
fn fast_config(dir: &Path) -> PathBuf {
    let config = dir.join("gridbeat.toml");
    std::fs::write(
        &config,
        "[server]\nrecompute_quiet_ms = 100\nrecompute_max_delay_ms = 1000\n",
    )
    .unwrap();
    config
}

/// Runs `gridbeat ARGS` and waits up to 30 s for it to exit: its status (`None` when it was
/// still running, then it is killed) and its standard error.
fn run_briefly(args: &[&str]) -> (Option<ExitStatus>, String) {
    let dir = tempfile::tempdir().unwrap();
    let err = dir.path().join("stderr");
    let mut child = gridbeat()
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, std::fs::read_to_string(&err).unwrap_or_default())
}

/// `gridbeat serve --data DATA` on a free port, expected to refuse to start.
fn serve_refused(data: &Path, extra: &[&str]) -> String {
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        &listen,
    ];
    args.extend_from_slice(extra);
    let (status, err) = run_briefly(&args);
    let status = status.unwrap_or_else(|| panic!("serve on {} started: {err}", data.display()));
    assert!(!status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The sample month's pings as NDJSON lines, in file order.
fn sample_lines() -> Vec<String> {
    sample_pings().iter().map(ndjson_line).collect()
}

/// Posts NDJSON lines: the status, the answer and the headers.
fn post(port: u16, lines: &[String]) -> (u16, String, serde_json::Value) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let ct = [("content-type", "application/x-ndjson")];
    let (status, head, body) = http(port, "POST", "/api/v1/pings", &ct, body.as_bytes()).unwrap();
    let v = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, head, v)
}

/// Posts every line in batches of 200, each answered 200; the pings accepted.
fn post_all(port: u16, lines: &[String]) -> u64 {
    let mut accepted = 0;
    for batch in lines.chunks(200) {
        let (status, _, v) = post(port, batch);
        assert_eq!(status, 200, "{v}");
        accepted += v["accepted"].as_u64().unwrap();
    }
    accepted
}

fn get_json(port: u16, path: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = http(port, "GET", path, &[], b"").unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// The month's report once no summary is pending.
fn current_report(port: u16) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let (status, v) = get_json(port, "/api/v1/reports/2026-10");
        assert_eq!(status, 200, "{v}");
        if v["freshness"]["pending"] == 0 {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "summaries never became current"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_second_serve_on_the_same_data_directory_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path());
    let mut first = Served::start(&data, None);
    let pid = first.child.id();

    let err = serve_refused(&data, &[]);
    assert!(err.contains("in use by another gridbeat"), "{err}");
    assert!(err.contains(&format!("pid {pid}")), "{err}");
    assert!(
        err.contains(&format!("listen 127.0.0.1:{}", first.port)),
        "{err}"
    );
    assert!(err.contains(&data.display().to_string()), "{err}");

    // A registry load or an import would change the store under the server: refused too.
    let grids = dir.path().join("city/grids.geojson");
    let (status, err) = run_briefly(&[
        "registry",
        "load",
        "--data",
        data.to_str().unwrap(),
        "--grids",
        grids.to_str().unwrap(),
    ]);
    assert!(!status.unwrap().success());
    assert!(err.contains(&format!("pid {pid}")), "{err}");
    // The first still serves.
    assert_eq!(get_json(first.port, "/healthz").0, 200);

    // SIGKILL releases the lock: the next server starts.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let again = Served::start(&data, None);
    assert_eq!(get_json(again.port, "/healthz").0, 200);
}

#[test]
fn a_database_that_cannot_be_a_store_is_refused_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path());
    let db = data.join("gridbeat.db");
    // A complete store in the main file alone.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let good = std::fs::read(&db).unwrap();
    assert!(good.len() > 8192);
    let fresh = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };

    // 0 bytes (a failed copy): refused, and left as it was; `--init` makes a new store.
    let empty = fresh("empty");
    std::fs::write(empty.join("gridbeat.db"), b"").unwrap();
    let err = serve_refused(&empty, &[]);
    let file = empty.join("gridbeat.db").display().to_string();
    assert!(
        err.contains(&file) && err.contains("empty (0 bytes)"),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(empty.join("gridbeat.db")).unwrap().len(),
        0
    );
    let init = {
        let port = free_port();
        let log = dir.path().join("init.log");
        let mut child = gridbeat()
            .args(["serve", "--init", "--data"])
            .arg(&empty)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let ok = loop {
            if matches!(http(port, "GET", "/healthz", &[], b""), Ok((200, _, _))) {
                break true;
            }
            if t0.elapsed() > Duration::from_secs(30) || child.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = child.kill();
        let _ = child.wait();
        (ok, std::fs::read_to_string(&log).unwrap_or_default())
    };
    assert!(init.0, "--init on an empty file: {}", init.1);

    // Garbage where the header should be (a damaged file, or not a database at all).
    let corrupt = fresh("corrupt");
    let mut bytes = good.clone();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    for b in bytes.iter_mut().take(100) {
        *b = rng.random();
    }
    std::fs::write(corrupt.join("gridbeat.db"), &bytes).unwrap();
    let err = serve_refused(&corrupt, &[]);
    assert!(
        err.contains(&corrupt.join("gridbeat.db").display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(corrupt.join("gridbeat.db")).unwrap(), bytes);

    // Cut off in the middle (a copy that did not finish).
    let truncated = fresh("truncated");
    std::fs::write(truncated.join("gridbeat.db"), &good[..good.len() / 2]).unwrap();
    let err = serve_refused(&truncated, &[]);
    assert!(
        err.contains(&truncated.join("gridbeat.db").display().to_string()),
        "{err}"
    );

    // Written by a newer gridbeat.
    let newer = fresh("newer");
    std::fs::write(newer.join("gridbeat.db"), &good).unwrap();
    rusqlite::Connection::open(newer.join("gridbeat.db"))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = serve_refused(&newer, &[]);
    assert!(
        err.contains(&newer.display().to_string()) && err.contains("schema version 99"),
        "{err}"
    );

    // Something that is not a file in its place.
    let odd = fresh("odd");
    std::fs::create_dir_all(odd.join("gridbeat.db")).unwrap();
    let err = serve_refused(&odd, &[]);
    assert!(
        err.contains(&odd.join("gridbeat.db").display().to_string()),
        "{err}"
    );
}

#[test]
fn random_bytes_in_stored_summaries_are_detected_withheld_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path());
    let config = fast_config(dir.path());
    let lines = sample_lines();
    let server = Served::start(&data, Some(&config));
    post_all(server.port, &lines[..12_000]);
    let before = without_timing(current_report(server.port));
    assert!(server.stop().success());

    // 8 summaries get 16 random bytes each at a random place.
    let db = data.join("gridbeat.db");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_261_204);
    let damaged = {
        let c = rusqlite::Connection::open(&db).unwrap();
        let rows: Vec<(String, String, Vec<u8>)> = c
            .prepare("SELECT worker, day, data FROM summaries ORDER BY worker, day")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(rows.len() > 16, "{} summaries", rows.len());
        let mut picked: Vec<usize> = Vec::new();
        while picked.len() < 8 {
            let i = rng.random_range(0..rows.len());
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        for &i in &picked {
            let (w, d, mut blob) = rows[i].clone();
            let at = rng.random_range(0..blob.len().saturating_sub(16).max(1));
            for b in blob.iter_mut().skip(at).take(16) {
                *b = rng.random();
            }
            assert_ne!(blob, rows[i].2);
            c.execute(
                "UPDATE summaries SET data = ?1 WHERE worker = ?2 AND day = ?3",
                rusqlite::params![blob, w, d],
            )
            .unwrap();
        }
        picked.len()
    };

    let server = Served::start(&data, Some(&config));
    let t0 = Instant::now();
    let after = loop {
        let (status, v) = get_json(server.port, "/api/v1/reports/2026-10");
        assert_eq!(status, 200, "{v}");
        let pending = v["freshness"]["pending"].as_u64().unwrap();
        let v = without_timing(v);
        if pending == 0 && v == before {
            break v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the report never came back to its figures before the damage: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(after, before);
    let log = server.log();
    assert_eq!(
        log.matches("stored summary failed its checksum").count(),
        damaged,
        "{log}"
    );
    // Health says what happened and that the store is ready.
    let (status, health) = get_json(server.port, "/healthz");
    assert_eq!(status, 200, "{health}");
    assert_eq!(
        health["summaries_failed_checksum"], damaged as u64,
        "{health}"
    );
}

#[test]
fn after_a_clean_stop_the_database_file_alone_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path());
    let config = fast_config(dir.path());
    let lines = sample_lines();
    let server = Served::start(&data, Some(&config));
    let accepted = post_all(server.port, &lines[..3_000]);
    let before = without_timing(current_report(server.port));
    assert!(server.stop().success());

    // Only gridbeat.db (and the lock file) are needed.
    for f in ["gridbeat.db-wal", "gridbeat.db-shm"] {
        let p = data.join(f);
        let len = std::fs::metadata(&p).map_or(0, |m| m.len());
        assert!(f.ends_with("shm") || len == 0, "{f}: {len} bytes");
        let _ = std::fs::remove_file(&p);
    }
    let db = data.join("gridbeat.db");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM pings"),
        accepted as i64,
        "acknowledged pings in the main file"
    );
    assert!(count(&db, "SELECT COUNT(*) FROM summaries") > 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM dirty"), 0);
    let server = Served::start(&data, Some(&config));
    let (_, v) = get_json(server.port, "/api/v1/reports/2026-10");
    assert_eq!(v["freshness"]["pending"], 0, "{v}");
    assert_eq!(without_timing(v), before);
}

#[test]
fn a_backup_taken_under_ingest_restores_every_ping_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path());
    let config = fast_config(dir.path());
    let lines = Arc::new(sample_lines());
    let server = Served::start(&data, Some(&config));
    let port = server.port;
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let poster = {
        let (acked, stop, lines) = (Arc::clone(&acked), Arc::clone(&stop), Arc::clone(&lines));
        std::thread::spawn(move || {
            for batch in lines.chunks(100) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (status, _, v) = post(port, batch);
                assert_eq!(status, 200, "{v}");
                acked.fetch_add(v["accepted"].as_u64().unwrap() as usize, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 2_000 {
        assert!(!poster.is_finished());
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = dir.path().join("backup.db");
    let before = acked.load(Ordering::SeqCst);
    let (status, err) = run_briefly(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let after = acked.load(Ordering::SeqCst);
    assert!(status.unwrap().success(), "{err}");
    assert!(!poster.is_finished(), "the backup ran while pings came in");
    stop.store(true, Ordering::Relaxed);
    poster.join().unwrap();

    // Restore: the copy as gridbeat.db of a new data directory.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&out, restored.join("gridbeat.db")).unwrap();
    let n = count(&restored.join("gridbeat.db"), "SELECT COUNT(*) FROM pings") as usize;
    assert!(
        n >= before && n <= after + 100,
        "{n} pings restored; {before} acknowledged before the backup, {after} when it ended"
    );
    let counted = count(
        &restored.join("gridbeat.db"),
        "SELECT n FROM counters WHERE name = 'pings'",
    );
    assert_eq!(counted as usize, n);
    // The restored directory serves.
    let again = Served::start(&restored, Some(&config));
    assert_eq!(get_json(again.port, "/healthz").0, 200);
    // A second backup to the same name is refused rather than overwriting it.
    let (status, err) = run_briefly(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !status.unwrap().success() && err.contains("exists"),
        "{err}"
    );
}

/// A small tmpfs mounted at a new directory, unmounted when dropped. Needs root.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this fault test must run as root (it mounts a small tmpfs to fill it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }

    fn remount(&self, opts: &str) {
        let out = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert_success(&out);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Copies a data directory's files into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_full_disk_is_answered_507_logged_once_and_recovers_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let source = demo_data(dir.path());
    let config = fast_config(dir.path());
    // The data directory is the tmpfs itself (the server's log goes beside it, not on it).
    let mnt = Tmpfs::mount(&dir.path().join("small/data"), "3m");
    let data = mnt.0.clone();
    copy_dir(&source, &data);
    // Leave about 400 kB free.
    let filler = data.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![7u8; 4096];
        while f.write_all(&chunk).is_ok() {}
    }
    let full = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(full.saturating_sub(400 * 1024))
        .unwrap();

    let server = Served::start(&data, Some(&config));
    let lines = sample_lines();
    let mut acked = 0u64;
    let mut refused = 0;
    let mut sent = 0;
    for batch in lines.chunks(200) {
        sent += 1;
        let (status, head, v) = post(server.port, batch);
        match status {
            200 => acked += v["accepted"].as_u64().unwrap(),
            507 => {
                assert_eq!(v["code"], "insufficient_storage", "{v}");
                assert!(head.to_lowercase().contains("retry-after"), "{head}");
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
            _ => {
                let log = server.log();
                panic!("{status}: {v}: {}", &log[log.len().saturating_sub(3000)..])
            }
        }
        assert!(sent < 300, "the disk never filled");
    }
    assert!(acked > 0 && refused == 5);
    // Readiness says why; liveness still answers.
    let (status, health) = get_json(server.port, "/readyz");
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["code"], "disk_full", "{health}");
    assert_eq!(get_json(server.port, "/livez").0, 200);
    std::thread::sleep(Duration::from_secs(3));
    let log = server.log();
    assert_eq!(log.matches("the store cannot write").count(), 1, "{log}");
    assert!(!log.contains("internal error"), "{log}");

    // Space comes back: the same batches are taken, nothing acknowledged is missing.
    std::fs::remove_file(&filler).unwrap();
    let (status, _, v) = post(server.port, &lines[..200]);
    assert_eq!(status, 200, "{v}");
    assert_eq!(get_json(server.port, "/readyz").0, 200);
    for batch in lines.chunks(200).take(sent) {
        let (status, _, v) = post(server.port, batch);
        assert_eq!(status, 200, "{v}");
        acked += v["accepted"].as_u64().unwrap();
    }
    assert!(server.log().contains("the store writes again"));
    assert!(server.stop().success());
    let db = data.join("gridbeat.db");
    let distinct = {
        let mut keys: Vec<(String, i64)> = lines
            .chunks(200)
            .take(sent)
            .flatten()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["worker"].as_str().unwrap().to_string(),
                    v["ts"].as_i64().unwrap(),
                )
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys.len() as i64
    };
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pings"), distinct);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pings"), acked as i64);
}

#[test]
fn a_read_only_data_directory_with_a_wal_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let source = demo_data(dir.path());
    let config = fast_config(dir.path());
    let mnt = Tmpfs::mount(&dir.path().join("ro"), "64m");
    let data = mnt.0.join("data");
    copy_dir(&source, &data);
    // Committed pings left in the -wal by a crash.
    let mut server = Served::start(&data, Some(&config));
    let accepted = post_all(server.port, &sample_lines()[..1_000]);
    assert!(accepted > 0);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(
        std::fs::metadata(data.join("gridbeat.db-wal"))
            .unwrap()
            .len()
            > 0
    );
    mnt.remount("ro");

    let err = serve_refused(&data, &[]);
    assert!(err.contains(&data.display().to_string()), "{err}");
    assert!(err.contains("gridbeat.db-wal"), "{err}");
    assert!(err.contains("writable"), "{err}");

    // Writable again: everything is there.
    mnt.remount("rw");
    let server = Served::start(&data, Some(&config));
    drop(server);
    assert_eq!(
        count(&data.join("gridbeat.db"), "SELECT COUNT(*) FROM pings"),
        accepted as i64
    );
}

/// PUTs a registry file: the status.
fn put_registry(port: u16, file: &str, content: &str) -> u16 {
    let ct = [("content-type", "text/csv")];
    http(
        port,
        "PUT",
        &format!("/api/v1/registry/{file}"),
        &ct,
        content.as_bytes(),
    )
    .map_or(0, |a| a.0)
}

#[test]
fn sigkill_during_registry_uploads_and_recomputes_leaves_one_whole_registry_and_true_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path());
    let config = fast_config(dir.path());
    let old = std::fs::read_to_string(dir.path().join("city/workers.csv")).unwrap();
    // The new registry moves the first two workers to each other's grid.
    let mut rows: Vec<String> = old.lines().map(String::from).collect();
    let grid = |r: &str| r.rsplit(',').next().unwrap().to_string();
    let (g1, g2) = (grid(&rows[1]), grid(&rows[2]));
    rows[1] = rows[1].replacen(&g1, &g2, 1);
    rows[2] = rows[2].replacen(&g2, &g1, 1);
    let new = rows.join("\n") + "\n";
    assert_ne!(new, old);
    let lines = sample_lines();
    let mut server = Served::start(&data, Some(&config));
    post_all(server.port, &lines[..6_000]);

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for round in 0..8 {
        let content = if round % 2 == 0 {
            new.clone()
        } else {
            old.clone()
        };
        let port = server.port;
        let upload = std::thread::spawn(move || put_registry(port, "workers", &content));
        // Killed during the upload or during the recompute it starts.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..120)));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let status = upload.join().unwrap();
        assert!(status == 0 || status == 200, "{status}");
        server = Served::start(&data, Some(&config));
        let (_, _, body) = http(server.port, "GET", "/api/v1/registry/workers", &[], b"").unwrap();
        let stored = String::from_utf8(body).unwrap();
        assert!(
            stored == old || stored == new,
            "round {round}: the stored workers.csv is neither the old nor the new one:\n{stored}"
        );
        if status == 200 {
            assert_eq!(&stored, if round % 2 == 0 { &new } else { &old });
        }
    }
    let final_workers = {
        let (_, _, body) = http(server.port, "GET", "/api/v1/registry/workers", &[], b"").unwrap();
        String::from_utf8(body).unwrap()
    };
    let served = without_timing(current_report(server.port));
    drop(server);

    // The same pings and registry in a fresh directory, never killed.
    let fresh = tempfile::tempdir().unwrap();
    let data2 = demo_data(fresh.path());
    let server = Served::start(&data2, Some(&config));
    assert_eq!(put_registry(server.port, "workers", &final_workers), 200);
    post_all(server.port, &lines[..6_000]);
    assert_eq!(without_timing(current_report(server.port)), served);
}
