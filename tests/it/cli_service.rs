//! The service's commands from the outside: `token new`, `import`, `registry load`, and the
//! demo, whose printed `curl` commands must work as printed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

use crate::util::{assert_success, demo_city, free_port, gridbeat};

#[test]
fn token_new_prints_a_token_and_the_config_entry_that_admits_it() {
    let out = gridbeat()
        .args(["token", "new", "--role", "viewer", "--unit", "430102001001"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let token = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("gb_"))
        .unwrap()
        .to_string();
    let entry = &text[text.find("[[tokens]]").unwrap()..];
    let parsed: toml::Table = toml::from_str(entry).unwrap();
    let t = &parsed["tokens"].as_array().unwrap()[0];
    assert_eq!(
        t["sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    );
    assert_eq!(t["role"].as_str(), Some("viewer"));
    assert_eq!(t["unit"].as_str(), Some("430102001001"));
    assert!(
        !entry.contains(&token),
        "the config entry must not hold the token"
    );
    // The entry loads as a config.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.toml"), entry).unwrap();
    let c = gridbeat::config::Config::load(Some(&dir.path().join("g.toml")), &[]).unwrap();
    assert_eq!(c.tokens.len(), 1);
    // A device token without workers is refused.
    let out = gridbeat()
        .args(["token", "new", "--role", "device"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--worker"));
}

#[test]
fn import_stores_good_rows_names_bad_ones_and_counts_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("pings.csv");
    let future = chrono::Utc::now().timestamp() + 3_600;
    std::fs::write(
        &csv,
        format!(
            "worker,ts,lat,lon\nw-1,2026-10-01T01:00:00Z,28.19,112.97\nw-1,2026-10-01T01:00:10Z,28.19,112.97\nw-1,2026-10-01T01:00:10Z,28.19,112.97\nw-1,2026-10-01T01:00:20Z,128.19,112.97\nw-2,{future},28.19,112.97\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = gridbeat()
        .args(["import", "--data"])
        .arg(&data)
        .arg(&csv)
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 2 pings (1 duplicates, 2 rejected)"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pings.csv:5:"),
        "the bad row is named by line: {stderr}"
    );
    assert!(stderr.contains("future_timestamp"), "{stderr}");
    // Importing again stores nothing new.
    let out = gridbeat()
        .args(["import", "--data"])
        .arg(&data)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 0 pings (3 duplicates"));
}

#[test]
fn registry_load_rejects_a_bad_file_with_every_fault() {
    let dir = tempfile::tempdir().unwrap();
    let city = demo_city(dir.path());
    let bad = dir.path().join("workers.csv");
    std::fs::write(&bad, "worker,name,grid\nw-1,A,999\nw-2,B,998\n").unwrap();
    let data = dir.path().join("data");
    let out = gridbeat()
        .args(["registry", "load", "--data"])
        .arg(&data)
        .arg("--grids")
        .arg(city.join("grids.geojson"))
        .arg("--workers")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("999") && err.contains("998"), "{err}");
}

/// One HTTP/1.1 GET: status and body.
fn http_get(url: &str, token: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..head_end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, out[head_end + 4..].to_vec())
}

#[test]
fn the_demo_serves_the_sample_city_and_its_curl_commands_work_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = gridbeat()
        .args(["demo", "--data"])
        .arg(dir.path().join("demo-data"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut curls = Vec::new();
    let mut token = String::new();
    let t0 = Instant::now();
    while curls.len() < 3 && t0.elapsed() < Duration::from_secs(300) {
        let Some(Ok(line)) = lines.next() else { break };
        if line.trim().starts_with("gb_") {
            token = line.trim().to_string();
        }
        if line.trim().starts_with("curl ") {
            curls.push(line.trim().to_string());
        }
    }
    assert_eq!(curls.len(), 3, "three curl commands printed");
    assert!(!token.is_empty(), "a viewer token printed");
    assert!(
        curls.iter().all(|c| c.contains(&token)),
        "each uses the viewer token"
    );
    // Wait for the port.
    let url = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    }
    // Each command as printed, by the shell, when curl is installed; else the same request.
    let have_curl = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for c in &curls {
        let target = c
            .split_whitespace()
            .map(|w| w.trim_matches('\''))
            .find(|w| w.starts_with(&url))
            .unwrap()
            .to_string();
        let body = if have_curl {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("{c} --fail --silent --show-error"))
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{c}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if c.contains("-o report.html") {
                std::fs::read(dir.path().join("report.html")).unwrap()
            } else {
                out.stdout
            }
        } else {
            let (status, body) = http_get(&target, &token);
            assert_eq!(status, 200, "{c}");
            body
        };
        let text = String::from_utf8_lossy(&body);
        if target.contains("format=html") {
            assert!(text.contains("<html") && text.contains("网格"), "{c}");
        } else {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if target.contains("/reports/") {
                // The viewer's report is its community's: every worker row in it.
                let rows = v["workers"].as_array().unwrap();
                assert!(!rows.is_empty());
                assert!(rows.iter().all(|w| w["community"] == rows[0]["community"]));
                assert_eq!(v["freshness"]["pending"], 0);
            } else {
                assert!(!v.as_array().unwrap().is_empty());
            }
        }
    }
    // SIGTERM: a graceful stop, exit status 0.
    let term = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(term.success());
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the demo did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
