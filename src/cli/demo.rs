//! `gridbeat demo`: runs gridbeat on the sample city that ships inside the binary (a street,
//! a few communities, ~12 grids, ~20 workers, a week of patrols; see `data/README.md`) and
//! prints what it finds, so a fresh checkout shows the whole pipeline with one command.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use std::sync::Arc;

use crate::assess::{period, Assessor, Params, WorkerDay};
use crate::config::Config;
use crate::ingest::csv::read_pings;
use crate::model::{Crs, Level, Ping, WorkerId};
use crate::registry::{LoadOptions, Registry, Source};
use crate::track::CleanMode;

/// The sample city's files, embedded so the demo runs from any directory.
pub mod sample {
    /// The grid hierarchy.
    pub const GRIDS: &str = include_str!("../../data/sample/grids.geojson");
    /// Worker assignments.
    pub const WORKERS: &str = include_str!("../../data/sample/workers.csv");
    /// Checkpoints.
    pub const CHECKPOINTS: &str = include_str!("../../data/sample/checkpoints.geojson");
    /// A week of pings.
    pub const PINGS: &str = include_str!("../../data/sample/pings.csv");
    /// What the simulated workers really did.
    pub const TRUTH: &str = include_str!("../../data/sample/truth.json");
    /// The city-management vehicles.
    pub const VEHICLES: &str = include_str!("../../data/sample/vehicles.csv");
    /// Their planned routes.
    pub const ROUTES: &str = include_str!("../../data/sample/routes.geojson");
    /// The vehicles' terminals.
    pub const DEVICES: &str = include_str!("../../data/sample/devices.csv");
    /// A week of the terminals' fixes.
    pub const VEHICLE_PINGS: &str = include_str!("../../data/sample/vehicle_pings.csv");
    /// What the simulated vehicles really did, and the faults injected.
    pub const VEHICLE_TRUTH: &str = include_str!("../../data/sample/vehicle_truth.json");
}

/// Arguments of `gridbeat demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Also write the sample city's files into this directory, to try the other commands on.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the figures and stop, without starting the service.
    #[arg(long)]
    pub no_serve: bool,
    /// The service's data directory (the sample is loaded into it on first start).
    #[arg(long, value_name = "DIR", default_value = "gridbeat-demo-data")]
    pub data: PathBuf,
    /// Where the service listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Replay the sample week's pings through the ingest path as if sent now, this many
    /// times faster than recorded (e.g. 60), into a fresh `replay` directory inside `--data`,
    /// so positions move and figures update on the map while you watch.
    #[arg(long, value_name = "SPEEDUP")]
    pub replay: Option<f64>,
}

/// Runs `gridbeat demo`.
///
/// # Errors
/// Only if the embedded sample is broken, or `--out` cannot be written.
pub fn run(args: &DemoArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let registry = Registry::from_sources(
        Source::new("sample/grids.geojson", sample::GRIDS),
        Some(Source::new("sample/workers.csv", sample::WORKERS)),
        Some(Source::new(
            "sample/checkpoints.geojson",
            sample::CHECKPOINTS,
        )),
        &LoadOptions::default(),
    )
    .context("the embedded sample city does not load")?;
    let decoded = read_pings(sample::PINGS.as_bytes(), "sample/pings.csv", Crs::Wgs84)?;

    println!("gridbeat demo — the embedded sample city\n");
    let count = |level: Level| registry.units.iter().filter(|u| u.level == level).count();
    let area_km2: f64 = registry.grids.iter().map(|g| g.area_m2).sum::<f64>() / 1e6;
    println!(
        "registry: {} district(s), {} street(s), {} communities, {} grids ({area_km2:.2} km²), {} workers, {} checkpoints",
        count(Level::District),
        count(Level::Street),
        count(Level::Community),
        registry.grids.len(),
        registry.workers.len(),
        registry.checkpoints.len()
    );
    println!(
        "pings:    {} read, {} unreadable\n",
        decoded.pings.len(),
        decoded.errors.len()
    );

    // Every worker's pings through the engine: worker-day summaries, as every door gets them.
    let registry = Arc::new(registry);
    let assessor = Assessor::new(
        registry.clone(),
        Params::new(config.clone(), CleanMode::Full),
    );
    let mut by_worker: BTreeMap<WorkerId, Vec<Ping>> = BTreeMap::new();
    for p in decoded.pings {
        by_worker.entry(p.worker.clone()).or_default().push(p);
    }
    let days: Vec<WorkerDay> = by_worker
        .iter()
        .flat_map(|(w, pings)| assessor.summarize_worker(w, pings))
        .collect();
    let totals = period::worker_totals(&days);

    println!(
        "{:<8} {:<32} {:>7} {:>5} {:>8} {:>8} {:>6} {:>8}  {:<28} name",
        "worker", "grid", "pings", "days", "patrol h", "km", "stays", "in grid", "flags (days)"
    );
    for w in &registry.workers {
        let grid = w
            .grids
            .iter()
            .filter_map(|&g| registry.grid(g))
            .map(|g| g.code.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let Some(t) = totals.iter().find(|t| t.worker == w.id) else {
            println!(
                "{:<8} {grid:<32} {:>7}  (no pings)  {}",
                w.id.as_str(),
                0,
                w.name
            );
            continue;
        };
        let mut flag_days: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &t.anomalies {
            *flag_days.entry(a.kind()).or_default() += 1;
        }
        let flag_text = flag_days
            .iter()
            .map(|(k, n)| format!("{k}({n})"))
            .collect::<Vec<_>>()
            .join(" ");
        // In-grid share: patrol time in the assigned grids (with the in-grid tolerance).
        let in_grid = 100.0 * t.in_grid_share();
        println!(
            "{:<8} {:<32} {:>7} {:>5} {:>8.1} {:>8.1} {:>6} {:>7.1}%  {:<28} {}",
            w.id.as_str(),
            grid,
            t.pings,
            t.days.len(),
            t.patrol_s / 3600.0,
            t.length_m / 1000.0,
            t.stays.len(),
            in_grid,
            flag_text,
            w.name
        );
    }

    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, text) in [
            ("grids.geojson", sample::GRIDS),
            ("workers.csv", sample::WORKERS),
            ("checkpoints.geojson", sample::CHECKPOINTS),
            ("pings.csv", sample::PINGS),
            ("truth.json", sample::TRUTH),
            ("vehicles.csv", sample::VEHICLES),
            ("routes.geojson", sample::ROUTES),
            ("devices.csv", sample::DEVICES),
            ("vehicle_pings.csv", sample::VEHICLE_PINGS),
            ("vehicle_truth.json", sample::VEHICLE_TRUTH),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        println!("\nwrote the sample city to {}", dir.display());
    }
    #[cfg(feature = "assess")]
    assessment(&assessor, &days, args.out.as_deref())?;
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    #[cfg(feature = "service")]
    return serve_sample(args, config, &days);
    #[cfg(not(feature = "service"))]
    {
        eprintln!("this build has no service (it was built without the `service` feature)");
        Ok(ExitCode::SUCCESS)
    }
}

/// Starts the service on the sample city: on first start the registry is loaded and the
/// sample pings are posted through the HTTP ingest path; then it prints the URL, a viewer
/// token for one community and three `curl` commands, and serves until stopped.
#[cfg(feature = "service")]
fn serve_sample(args: &DemoArgs, config: &Config, days: &[WorkerDay]) -> anyhow::Result<ExitCode> {
    use crate::server::auth::{new_token, token_hash};
    use crate::store::RegistryFile;
    super::serve::init_logging();
    let listen: std::net::SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?}: expected an address such as 127.0.0.1:8080",
            args.listen
        )
    })?;
    if let Some(speed) = args.replay {
        if !(1.0..=100_000.0).contains(&speed) {
            anyhow::bail!("--replay {speed}: expected a speed-up between 1 and 100000, e.g. 60");
        }
    }
    // A replay starts from an empty store of its own, so the stored week stays as it was.
    let data = match args.replay {
        None => args.data.clone(),
        Some(_) => {
            let dir = args.data.join("replay");
            for name in ["gridbeat.db", "gridbeat.db-wal", "gridbeat.db-shm"] {
                match std::fs::remove_file(dir.join(name)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot empty {}", dir.display()))
                    }
                }
            }
            dir
        }
    };
    let registry = Registry::from_sources(
        Source::new("sample/grids.geojson", sample::GRIDS),
        None,
        None,
        &LoadOptions::default(),
    )?;
    let community = registry
        .units
        .iter()
        .find(|u| u.level == Level::Community)
        .map(|u| (u.code.as_str().to_string(), u.name.clone()))
        .context("the sample city has no community")?;
    // Fresh tokens each start: a viewer for one community, a viewer for the whole city (the
    // map link) and an admin (not printed).
    let viewer = new_token();
    let city_viewer = new_token();
    let admin = new_token();
    let mut config = config.clone();
    config.tokens = vec![
        crate::config::TokenConfig {
            name: format!("demo-viewer-{}", community.0),
            sha256: token_hash(&viewer),
            role: "viewer".into(),
            unit: Some(community.0.clone()),
            workers: vec![],
        },
        crate::config::TokenConfig {
            name: "demo-viewer-city".into(),
            sha256: token_hash(&city_viewer),
            role: "viewer".into(),
            unit: None,
            workers: vec![],
        },
        crate::config::TokenConfig {
            name: "demo-admin".into(),
            sha256: token_hash(&admin),
            role: "admin".into(),
            unit: None,
            workers: vec![],
        },
    ];
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create the demo data directory {}", data.display()))?;
    let state = crate::server::AppState::open(config, &data)
        .with_context(|| format!("cannot open the demo data directory {}", data.display()))?;
    let rt = super::serve::runtime()?;
    let first = state.store.registry_file(RegistryFile::Grids)?.is_none();
    let files = vec![
        (RegistryFile::Grids, sample::GRIDS.to_string()),
        (RegistryFile::Workers, sample::WORKERS.to_string()),
        (RegistryFile::Checkpoints, sample::CHECKPOINTS.to_string()),
        // The fleet: vehicles before the routes and terminals that name them.
        (RegistryFile::Vehicles, sample::VEHICLES.to_string()),
        (RegistryFile::Routes, sample::ROUTES.to_string()),
        (RegistryFile::Devices, sample::DEVICES.to_string()),
    ];
    if let Some(speed) = args.replay {
        rt.block_on(super::serve::load_registry_files(&state, &files))?;
        let decoded = read_pings(sample::PINGS.as_bytes(), "sample/pings.csv", Crs::Wgs84)?;
        let replay = super::replay::Replay::plan(
            decoded.pings,
            speed,
            chrono::Utc::now().timestamp_millis(),
        );
        let days = replay.shift_ms / 86_400_000;
        println!(
            "\nreplaying {} sample pings {speed}× faster than recorded, moved {days} days forward, into {}",
            replay.len(),
            data.display()
        );
        rt.spawn(super::replay::run(
            std::sync::Arc::clone(&state),
            replay,
            admin.clone(),
        ));
    } else if first {
        let sent = rt.block_on(super::serve::seed_through_http(
            &state,
            &files,
            sample::PINGS,
            Some(&admin),
        ))?;
        let decoded = read_pings(
            sample::VEHICLE_PINGS.as_bytes(),
            "sample/vehicle_pings.csv",
            Crs::Wgs84,
        )?;
        let mut fleet = 0;
        for chunk in decoded.pings.chunks(5_000) {
            fleet += rt.block_on(super::serve::post_pings(&state, chunk, Some(&admin)))?;
        }
        println!(
            "\nloaded the sample city into {} and posted {sent} pings of its workers and {fleet} of its vehicles through /api/v1/pings",
            data.display()
        );
    }
    let n = state.settle()?;
    if n > 0 {
        println!("summarised {n} worker-days");
    }
    let month = match args.replay {
        // The replayed week ends today.
        Some(_) => crate::model::Month::of(
            chrono::Utc::now()
                .with_timezone(&state.engine().assessor.tz)
                .date_naive(),
        )
        .to_string(),
        None => days
            .iter()
            .map(|d| crate::model::Month::of(d.day))
            .max()
            .map_or_else(|| "2026-10".to_string(), |m| m.to_string()),
    };
    let url = format!("http://{listen}");
    println!("\ngridbeat is serving the sample city at {url}  (Ctrl-C stops it)");
    println!("the map (a city-wide viewer token in the link):\n  {url}/#token={city_viewer}\n");
    println!(
        "viewer token for community {} {}:\n  {viewer}\n",
        community.0, community.1
    );
    println!("try:");
    println!("  curl -H 'Authorization: Bearer {viewer}' {url}/api/v1/workers");
    println!(
        "  curl -H 'Authorization: Bearer {viewer}' '{url}/api/v1/reports/{month}?format=json'"
    );
    println!("  curl -H 'Authorization: Bearer {viewer}' -o report.html '{url}/api/v1/reports/{month}?format=html&lang=zh'");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    rt.block_on(crate::server::serve(
        state,
        crate::server::ServeOptions {
            listen,
            osmand_listen: None,
            jt808_listen: None,
        },
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The monthly assessment of the sample week, as `gridbeat report` makes it: the community
/// roll-up on the terminal, and the whole report (JSON, CSV, XLSX, HTML) beside the sample
/// files when `--out` is given.
#[cfg(feature = "assess")]
fn assessment(
    assessor: &Assessor,
    days: &[WorkerDay],
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::assess::month::{assess_month, MonthInput};
    let month = crate::model::Month {
        year: 2026,
        month: 10,
    };
    let report = assess_month(
        days,
        &MonthInput {
            assessor,
            month,
            attainable: None,
            unit: None,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
    )?;
    println!(
        "\nassessment {} (one week of data: days and hours are far from the monthly targets)",
        report.month
    );
    println!(
        "{:<14} {:<10} {:>7} {:>6} {:>13} {:>10}  weakest worker",
        "unit", "level", "workers", "grids", "team coverage", "mean score"
    );
    for u in &report.units {
        let weakest = u.weakest_workers.first().map_or(String::new(), |w| {
            format!("{} {} ({:.1})", w.code, w.name, w.value)
        });
        println!(
            "{:<14} {:<10} {:>7} {:>6} {:>12.1}% {:>10.1}  {}",
            u.code,
            u.level,
            u.workers,
            u.grids,
            100.0 * u.team_coverage,
            u.mean_score,
            weakest
        );
    }
    println!("score: {}", report.formula);
    if let Some(dir) = out {
        let written = crate::report::write_all(
            &report,
            &dir.join("report"),
            &crate::report::Format::ALL,
            crate::report::Lang::Zh,
        )?;
        println!(
            "wrote the report: {}",
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
