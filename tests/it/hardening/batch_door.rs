//! Issue 15, defect 19: the batch door fails on a file it could not read. Without
//! `--keep-going` a bad row is an error (exit non-zero, the bad rows listed, capped); with it
//! the good rows are kept, and a run that keeps none still fails. A text `ts_ms` is refused
//! naming `ts_ms`; an ISO offset without a colon (`+0800`) is read.

use std::path::{Path, PathBuf};
use std::process::Output;

use gridbeat::cli::demo::sample;

use crate::util::gridbeat;

/// The sample registry and a pings file with `body` (after the header `header`) in `dir`.
fn files(dir: &Path, header: &str, body: &str) -> (PathBuf, PathBuf, PathBuf) {
    let grids = dir.join("grids.geojson");
    let workers = dir.join("workers.csv");
    let pings = dir.join("pings.csv");
    std::fs::write(&grids, sample::GRIDS).unwrap();
    std::fs::write(&workers, sample::WORKERS).unwrap();
    std::fs::write(&pings, format!("{header}\n{body}")).unwrap();
    (grids, workers, pings)
}

/// The sample's first `n` pings of w-0001, with `ts` in the columns of `header`.
fn good_rows(n: usize) -> String {
    sample::PINGS
        .lines()
        .skip(1)
        .take(n)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Rows whose `ts_ms` holds ISO text, as some exporters write it.
fn text_ts_ms_rows(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "w-0001,2026-10-01T00:{:02}:33.000+0000,28.1944812,112.9725732\n",
                i % 60
            )
        })
        .collect()
}

fn report(dir: &Path, pings: &Path, grids: &Path, workers: &Path, extra: &[&str]) -> Output {
    gridbeat()
        .args([
            "report", "--month", "2026-10", "--format", "json", "--grids",
        ])
        .arg(grids)
        .arg("--workers")
        .arg(workers)
        .arg("--pings")
        .arg(pings)
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .unwrap()
}

fn tracks(pings: &Path, extra: &[&str]) -> Output {
    gridbeat()
        .args(["tracks", "--pings"])
        .arg(pings)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_text_ts_ms_column_fails_report_and_tracks_naming_ts_ms_with_or_without_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let (grids, workers, pings) = files(dir.path(), "worker,ts_ms,lat,lon", &text_ts_ms_rows(30));
    for keep in [&[][..], &["--keep-going"][..]] {
        let out = report(dir.path(), &pings, &grids, &workers, keep);
        let err = stderr(&out);
        assert!(!out.status.success(), "report {keep:?} exited 0: {err}");
        assert!(
            err.contains("ts_ms \"2026-10-01T00:00:33.000+0000\""),
            "{err}"
        );
        assert!(
            !err.contains(" ts \"2026"),
            "the value came from ts_ms: {err}"
        );
        assert!(
            !dir.path().join("out").join("report.json").exists(),
            "no report on failure"
        );
        let out = tracks(&pings, keep);
        let err = stderr(&out);
        assert!(!out.status.success(), "tracks {keep:?} exited 0: {err}");
        assert!(out.stdout.is_empty(), "no tracks on failure");
        assert!(err.contains("ts_ms"), "{err}");
    }
    // The listing is capped: 20 rows, then a count of the rest.
    let out = tracks(&pings, &[]);
    let err = stderr(&out);
    let listed = err.lines().filter(|l| l.contains("pings.csv:")).count();
    assert_eq!(listed, 20, "{err}");
    assert!(err.contains("10 more bad rows"), "{err}");
    assert!(err.contains("30 bad row(s)"), "{err}");
}

#[test]
fn one_bad_row_fails_without_keep_going_and_is_skipped_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}w-0001,not-a-time,28.19,112.97,5,1,false,\n",
        good_rows(50)
    );
    let (grids, workers, pings) = files(
        dir.path(),
        "worker,ts,lat,lon,acc,speed,mock,checkin",
        &body,
    );
    let out = report(dir.path(), &pings, &grids, &workers, &[]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("pings.csv:52: ") && err.contains("not-a-time"),
        "{err}"
    );
    assert!(err.contains("--keep-going"), "{err}");
    let out = tracks(&pings, &[]);
    assert!(!out.status.success(), "{}", stderr(&out));

    let out = report(dir.path(), &pings, &grids, &workers, &["--keep-going"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out").join("report.json")).unwrap())
            .unwrap();
    let w = doc["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["worker"] == "w-0001")
        .unwrap()
        .clone();
    assert_eq!(w["pings"].as_u64(), Some(50), "{w}");
    let out = tracks(&pings, &["--keep-going"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn offsets_without_a_colon_are_read_by_the_batch_door() {
    let dir = tempfile::tempdir().unwrap();
    // The sample's first rows, their `Z` written as `+0000` and as local time `+0800`.
    let body: String = good_rows(40)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<String> = l.split(',').map(String::from).collect();
            let utc = chrono::DateTime::parse_from_rfc3339(&f[1]).unwrap();
            f[1] = if i % 2 == 0 {
                utc.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
            } else {
                utc.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
                    .format("%Y-%m-%dT%H:%M:%S%z")
                    .to_string()
            };
            format!("{}\n", f.join(","))
        })
        .collect();
    assert!(
        body.contains("+0800") && body.contains(".000+0000"),
        "{body}"
    );
    let (_, _, pings) = files(
        dir.path(),
        "worker,ts,lat,lon,acc,speed,mock,checkin",
        &body,
    );
    let out = tracks(&pings, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = doc["workers"].as_array().unwrap()[0].clone();
    assert_eq!(
        (w["worker"].as_str(), w["pings"].as_u64()),
        (Some("w-0001"), Some(40)),
        "{w}"
    );
    assert!(w["length_m"].as_f64().unwrap() > 0.0, "{w}");
}

/// `coverage`, `layers` and `visits` follow the same rule as `report` and `tracks`: a bad row
/// fails the run, naming its line; with `--keep-going` the good rows are kept.
#[test]
fn coverage_layers_and_visits_fail_on_a_bad_row_unless_told_to_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}w-0001,not-a-time,28.19,112.97,5,1,false,\n",
        good_rows(200)
    );
    let header = sample::PINGS.lines().next().unwrap();
    let (grids, workers, pings) = files(dir.path(), header, &body);
    let checkpoints = dir.path().join("checkpoints.geojson");
    std::fs::write(&checkpoints, sample::CHECKPOINTS).unwrap();
    let bad_line = format!("pings.csv:{}:", 200 + 2);
    let commands: Vec<Vec<std::ffi::OsString>> = vec![
        vec![
            "coverage".into(),
            "--grids".into(),
            grids.clone().into(),
            "--pings".into(),
            pings.clone().into(),
        ],
        vec![
            "layers".into(),
            "grids".into(),
            pings.clone().into(),
            "--grids".into(),
            grids.clone().into(),
            "--workers".into(),
            workers.clone().into(),
        ],
        vec![
            "visits".into(),
            "--grids".into(),
            grids.clone().into(),
            "--workers".into(),
            workers.clone().into(),
            "--checkpoints".into(),
            checkpoints.clone().into(),
            "--pings".into(),
            pings.clone().into(),
        ],
    ];
    for args in &commands {
        let failed = gridbeat().args(args).output().unwrap();
        assert!(!failed.status.success(), "{args:?} passed a bad row");
        assert!(
            stderr(&failed).contains(&bad_line) && stderr(&failed).contains("--keep-going"),
            "{args:?}: {}",
            stderr(&failed)
        );
        let kept = gridbeat().args(args).arg("--keep-going").output().unwrap();
        assert!(kept.status.success(), "{args:?}: {}", stderr(&kept));
        assert!(!kept.stdout.is_empty(), "{args:?} wrote nothing");
    }
}
