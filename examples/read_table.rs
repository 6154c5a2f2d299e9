//! Reads ping files with `ingest::read_table` and nothing else, and prints what it read and
//! how fast: the reader's share of `gridbeat tracks` and `gridbeat report`
//! (benches/report_vs_pyarrow.sh runs it on the reference workload).
//!
//! Usage: `cargo run --release --example read_table -- FILE... [--days FIRST_MS DAYS]`
//! (`--days` keeps only DAYS × 24 h from the UTC instant FIRST_MS, to show row-group skipping).

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use gridbeat::ingest::{read_table, ReadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut opts = ReadOptions::default();
    while let Some(a) = args.next() {
        if a == "--days" {
            let first: i64 = args.next().ok_or("--days FIRST_MS DAYS")?.parse()?;
            let days: i64 = args.next().ok_or("--days FIRST_MS DAYS")?.parse()?;
            opts.range = Some(first..first + days * 86_400_000);
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let started = Instant::now();
    let table = read_table(&paths, &opts)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} rows scanned, {} pings of {} workers, {} bad rows in {:.2} s: {:.1} M rows/s",
        table.rows_scanned,
        table.len(),
        table.workers.len(),
        table.errors.len(),
        secs,
        table.rows_scanned as f64 / secs / 1e6
    );
    Ok(())
}
