//! Worker-day summaries on the reference workload (`gridbeat simulate --seed 7 --workers 200
//! --days 30`): how fast the engine summarises a month (all figures of every worker-day, as
//! every door computes them) and how many bytes a stored worker-day takes (the compact form of
//! `assess::stored`: coverage masks, visits, fingerprint, path and carry included).
//!
//! Run: `cargo bench --no-default-features --bench summaries` (a plain program, not criterion:
//! it prints one measurement: wall time, and CPU time as worker-days per core-second). Generating the workload in memory takes ~20 s first.

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use gridbeat::assess::{Assessor, Params};
use gridbeat::config::Config;
use gridbeat::model::{Ping, WorkerId};
use gridbeat::registry::{LoadOptions, Registry, Source};
use gridbeat::sim::output::{write_checkpoints, write_grids, write_workers};
use gridbeat::sim::{self, SimOptions, Simulation};
use gridbeat::track::CleanMode;
use rayon::prelude::*;

fn text(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut buf = Vec::new();
    f(&mut buf).expect("the reference city serialises");
    String::from_utf8(buf).expect("utf-8")
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let opts = SimOptions::default(); // seed 7, 200 workers, 30 days: the reference workload
    let city = sim::generate_city(&opts).expect("the reference city generates");
    let (grids, workers, cps) = (
        text(|b| write_grids(&city, b)),
        text(|b| write_workers(&city, b)),
        text(|b| write_checkpoints(&city, b)),
    );
    let registry = Registry::from_sources(
        Source::new("grids.geojson", &grids),
        Some(Source::new("workers.csv", &workers)),
        Some(Source::new("checkpoints.geojson", &cps)),
        &LoadOptions::default(),
    )
    .expect("the reference city loads");
    let mut by_worker: Vec<Vec<Ping>> = vec![Vec::new(); city.workers.len()];
    for day in Simulation::new(&city, &opts) {
        for row in &day.rows {
            by_worker[row.worker as usize].push(row.to_ping(&city));
        }
    }
    let pings: usize = by_worker.iter().map(Vec::len).sum();
    let assessor = Assessor::new(
        Arc::new(registry),
        Params::new(Config::default(), CleanMode::Full),
    );
    let ids: Vec<WorkerId> = by_worker
        .iter()
        .map(|p| p.first().map_or(WorkerId::new("-"), |p| p.worker.clone()))
        .collect();
    let threads = rayon::current_num_threads();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let days: Vec<_> = by_worker
        .par_iter()
        .zip(&ids)
        .flat_map_iter(|(p, w)| assessor.summarize_worker(w, p))
        .collect();
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let mut sizes: Vec<usize> = days.iter().map(|d| assessor.encode(d).len()).collect();
    sizes.sort_unstable();
    let total: usize = sizes.iter().sum();
    let at = |q: f64| sizes[((sizes.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{pings} pings, {} worker-days summarised in {secs:.2} s on {threads} threads ({:.2} M pings/s)",
        days.len(),
        pings as f64 / secs / 1e6
    );
    // The budget is per core-second: CPU time, which a shared machine's other load inflates
    // far less than wall time.
    println!(
        "CPU time {cpu:.2} s: {:.0} worker-days per core-second",
        days.len() as f64 / cpu
    );
    println!(
        "stored bytes per worker-day: mean {:.0}, median {}, p95 {}, max {}; all {:.1} MB",
        total as f64 / sizes.len() as f64,
        at(0.5),
        at(0.95),
        at(1.0),
        total as f64 / 1e6
    );
}

/// This process's user + system CPU time so far, seconds (Linux: `/proc/self/stat`, in clock
/// ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
