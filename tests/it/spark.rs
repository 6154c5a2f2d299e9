//! The shipped Spark job (`spark/gridbeat_spark.py`) in PySpark's local mode (Java 17, PySpark
//! from PyPI in `target/spark-venv`, which `.ci/run` makes): over a simulated month in 8
//! buckets its report equals the single-machine `gridbeat report` value for value, with every
//! task's first attempt made to fail (Spark retries them, the result is unchanged); a re-run
//! with other score weights summarises no worker-day; a lost partition comes back with the
//! same rows under the same name, through a `file://` URL as HDFS or S3 lakes are given.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python with PySpark and pyarrow: `GRIDBEAT_TEST_PYSPARK`, else `target/spark-venv`.
fn pyspark() -> PathBuf {
    let python = std::env::var_os("GRIDBEAT_TEST_PYSPARK").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/spark-venv/bin/python"),
        PathBuf::from,
    );
    let ok = Command::new(&python)
        .args(["-c", "import pyspark, pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "no PySpark at {}: run `python3 -m venv target/spark-venv && target/spark-venv/bin/pip install 'pyspark>=3.5' pyarrow pandas` (as .ci/run does), or set GRIDBEAT_TEST_PYSPARK to a Python that has them; Java 17 must be on PATH",
        python.display()
    );
    python
}

use crate::lake::{report_json as report, s};

/// Every worker_days part file of October, with its length and the SHA-256 of its bytes.
fn worker_days(lake: &Path) -> Vec<(PathBuf, usize, String)> {
    use sha2::Digest;
    parts(lake)
        .into_iter()
        .map(|(p, b)| {
            let digest = sha2::Sha256::digest(&b);
            let hex: String = digest.iter().map(|x| format!("{x:02x}")).collect();
            (p, b.len(), hex)
        })
        .collect()
}

/// The rows of a Parquet file, each as text.
fn rows(path: &Path) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap().to_string())
        .collect()
}

/// Every worker_days part file of October, with its bytes.
fn parts(lake: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let month = lake.join("worker_days/month=2026-10");
    for b in std::fs::read_dir(&month).unwrap() {
        for f in std::fs::read_dir(b.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "parquet") {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

fn job(python: &Path, lake: &Path, out: &Path, extra: &[&str], fail_dir: Option<&Path>) -> String {
    let mut cmd = Command::new(python);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("spark/gridbeat_spark.py"))
        .args([
            "--lake",
            s(lake),
            "--month",
            "2026-10",
            "--out",
            s(out),
            "--format",
            "json",
        ])
        .args(["--master", "local[2,4]"])
        .args(extra)
        .env("GRIDBEAT_BIN", env!("CARGO_BIN_EXE_gridbeat"));
    if let Some(d) = fail_dir {
        cmd.env("GRIDBEAT_SPARK_FAIL_DIR", d);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "the Spark job failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_spark_job_equals_the_batch_report_survives_retries_and_reuses_current_partitions() {
    let python = pyspark();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (lake, _) = crate::lake::simulated_lake(d);
    let batch = d.join("batch");
    crate::lake::batch_report(&d.join("sim"), &batch);

    // Every task's first attempt fails; Spark retries; the report equals the batch door's.
    let fails = d.join("fails");
    std::fs::create_dir_all(&fails).unwrap();
    let out = d.join("spark");
    let said = job(&python, &lake, &out, &[], Some(&fails));
    assert!(
        said.contains("8 bucket(s) with pings, 0 current, 8 to summarise"),
        "{said}"
    );
    let markers: Vec<String> = std::fs::read_dir(&fails)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        markers.iter().any(|m| m.starts_with("failed-")),
        "no task failed on its first attempt: {markers:?}"
    );
    // Each bucket in a task of its own: 8 tasks with one bucket each.
    let mut tasks: Vec<String> = markers
        .iter()
        .filter(|m| m.starts_with("task-"))
        .map(|m| std::fs::read_to_string(fails.join(m)).unwrap())
        .collect();
    tasks.sort();
    assert_eq!(
        tasks,
        (0..8).map(|b| format!("{b:03}")).collect::<Vec<_>>(),
        "the buckets each task summarised"
    );
    let (a, b) = (report(&out), report(&batch));
    assert_eq!(a["workers"], b["workers"], "worker rows");
    assert_eq!(a, b, "the whole report");
    let written = worker_days(&lake);
    assert_eq!(
        written
            .iter()
            .map(|(p, _, _)| p
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        8,
        "one partition per bucket: {written:?}"
    );

    // Partitions carry deterministic names, as gridbeat's own writer gives them.
    for (p, _, _) in &written {
        assert_eq!(p.file_name().unwrap(), "part-00000.parquet", "{p:?}");
    }

    // Other score weights: nothing summarised, nothing rewritten, other scores.
    let weights = d.join("weights");
    let said = job(
        &python,
        &lake,
        &weights,
        &["--set", "score.days_weight=0.9"],
        None,
    );
    assert!(said.contains("summarised 0 bucket(s), reused 8"), "{said}");
    assert_eq!(worker_days(&lake), written);
    assert_ne!(report(&weights)["workers"], a["workers"]);

    // One partition lost, and the lake given as a URL (as on HDFS or S3, so the report step
    // works on a copy of worker_days): only that partition is summarised again, to the same
    // rows in the same order under the same name (a partition is deterministic for the same
    // input), nothing else is rewritten, and the report is the batch door's again. (Byte for
    // byte only within one JVM: parquet-mr lists each column's encodings in the footer in
    // hash-set order, and enum hashes differ between JVM runs.)
    let lost = lake.join("worker_days/month=2026-10/bucket=003");
    let lost_rows = rows(&lost.join("part-00000.parquet"));
    assert!(
        lost_rows.len() > 10,
        "bucket 003 was written: {lost_rows:?}"
    );
    std::fs::remove_dir_all(&lost).unwrap();
    let again_out = d.join("again");
    let said = job(
        &python,
        Path::new(&format!("file://{}", lake.display())),
        &again_out,
        &[],
        None,
    );
    assert!(said.contains("summarised 1 bucket(s), reused 7"), "{said}");
    let again = worker_days(&lake);
    assert_eq!(
        again.iter().map(|(p, _, _)| p).collect::<Vec<_>>(),
        written.iter().map(|(p, _, _)| p).collect::<Vec<_>>()
    );
    for (now, before) in again.iter().zip(&written) {
        if now.0.starts_with(&lost) {
            assert_eq!(rows(&now.0), lost_rows, "bucket 003 summarised again");
        } else {
            assert_eq!(
                now, before,
                "a partition that was current is left as it was"
            );
        }
    }
    assert_eq!(
        report(&again_out),
        b,
        "the report from a copy of worker_days"
    );
}
