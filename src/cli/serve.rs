//! The service's commands: `gridbeat serve`, `gridbeat import`, `gridbeat registry load` and
//! `gridbeat token new`. They parse flags, open the data directory and call [`crate::server`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::model::Crs;
use crate::server::{self, AppState};
use crate::store::{Location, NewPing, RegistryFile, Source, Store};

/// Arguments of `gridbeat serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory (default: `[server] data` of the config, `./gridbeat-data`).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where the API listens (default: `[server] listen`, 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Also serve the OsmAnd protocol at `/` on this address (the port Traccar Client uses).
    #[arg(long, value_name = "ADDR")]
    pub osmand_listen: Option<String>,
    /// Also take JT/T 808 vehicle terminals over TCP on this address (default: `[server]
    /// jt808_listen`, none).
    #[arg(long, value_name = "ADDR")]
    pub jt808_listen: Option<String>,
    /// Make a new, empty store in an existing empty (0-byte) database file. Without it only a
    /// missing file is created, and an empty one is refused (a failed copy or restore).
    #[arg(long)]
    pub init: bool,
    /// A PostgreSQL database (`postgres://user@host:port/database`) instead of the data
    /// directory: every replica started with the same URL shares it (default: `[store] url`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Wait up to this many seconds for the database to be reachable at start, retrying with
    /// backoff (a replica started before its database).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_store: u64,
}

/// Arguments of `gridbeat backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The data directory to copy (default: `[server] data` of the config).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The copy: a complete SQLite database; restore it as `gridbeat.db` of a new data
    /// directory. It must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `gridbeat backup`: SQLite's online backup of the data directory's database, while a
/// server may be running (it only reads, so it needs no lock on the directory).
///
/// # Errors
/// When the database cannot be read or the copy cannot be written.
pub fn run_backup(args: &BackupArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let dir = data_dir(args.data.as_deref(), config);
    let start = std::time::Instant::now();
    let pages = crate::store::sqlite::backup(&dir, &args.out)?;
    println!(
        "backed up {} ({pages} pages) to {} in {:.1} s; restore: copy it as gridbeat.db into a new data directory",
        dir.join(crate::store::sqlite::DB_FILE).display(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Starts the structured log (`RUST_LOG` filters; `GRIDBEAT_LOG=json` for JSON lines).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("GRIDBEAT_LOG").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}

fn addr(text: &str, flag: &str) -> anyhow::Result<SocketAddr> {
    text.parse()
        .with_context(|| format!("{flag} {text:?}: expected an address such as 127.0.0.1:8080"))
}

/// The data directory of the flags, else of the config.
pub fn data_dir(flag: Option<&Path>, config: &Config) -> PathBuf {
    flag.map_or_else(|| PathBuf::from(&config.server.data), Path::to_path_buf)
}

/// A multi-threaded runtime for the service.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs `gridbeat serve`.
///
/// # Errors
/// When the data directory cannot be opened, an address is bad or busy, or the server is open
/// (no tokens) and asked to listen beyond loopback.
pub fn run(args: &ServeArgs, config: &Config) -> anyhow::Result<ExitCode> {
    init_logging();
    let listen = addr(
        args.listen.as_deref().unwrap_or(&config.server.listen),
        "--listen",
    )?;
    let osmand = match args
        .osmand_listen
        .as_deref()
        .or(Some(config.server.osmand_listen.as_str()))
    {
        Some("") | None => None,
        Some(a) => Some(addr(a, "--osmand-listen")?),
    };
    let jt808 = match args
        .jt808_listen
        .as_deref()
        .or(Some(config.server.jt808_listen.as_str()))
    {
        Some("") | None => None,
        Some(a) => Some(addr(a, "--jt808-listen")?),
    };
    let tokens = server::auth::Tokens::from_config(&config.tokens).map_err(anyhow::Error::msg)?;
    let mut addrs = vec![listen];
    addrs.extend(osmand);
    server::check_open_listen(&tokens, &addrs)?;
    let location = Location::of(args.store.as_deref(), args.data.as_deref(), config);
    let opts = crate::store::OpenOptions {
        init: args.init,
        note: Some(format!("listen {listen}")),
    };
    let state = AppState::open_at(
        config.clone(),
        &location,
        &opts,
        std::time::Duration::from_secs(args.wait_for_store),
    )
    .with_context(|| format!("cannot open the store {}", location.name()))?;
    tracing::info!(store = %location.name(), "store open");
    runtime()?.block_on(server::serve(
        state,
        server::ServeOptions {
            listen,
            osmand_listen: osmand,
            jt808_listen: jt808,
        },
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `gridbeat import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The data directory.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// A PostgreSQL database instead of the data directory (default: `[store] url`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The coordinate system of the files.
    #[arg(long, default_value = "wgs84")]
    pub crs: Crs,
    /// Ping files or glob patterns (CSV, Parquet, GPX).
    #[arg(required = true, num_args = 1.., value_name = "FILE_OR_GLOB")]
    pub files: Vec<String>,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Rows stored.
    pub accepted: usize,
    /// Rows whose (worker, ts) was already stored.
    pub duplicates: usize,
    /// Rows refused (unreadable, or timestamps ahead of the import).
    pub rejected: usize,
}

/// Reads ping files with the row rules every door shares and stores them as the service's
/// ingest does (same keys, duplicates, dirty marks); timestamps more than `max_future_s` ahead
/// of now are refused as at the HTTP door.
///
/// # Errors
/// When a file cannot be read or the store fails.
pub fn import_files(
    store: &dyn Store,
    config: &Config,
    paths: &[PathBuf],
    crs: Crs,
) -> anyhow::Result<ImportCounts> {
    let table = crate::ingest::read_table(
        paths,
        &crate::ingest::ReadOptions {
            crs,
            range: None,
            worker: None,
        },
    )?;
    super::warn_rows(&table.errors);
    let mut counts = ImportCounts {
        rejected: table.errors.len(),
        ..ImportCounts::default()
    };
    let tz = config.tz();
    let received = chrono::Utc::now().timestamp_millis();
    let margin = (config.max_gap_s * 1000.0) as i64;
    let mut batch: Vec<NewPing> = Vec::with_capacity(100_000);
    let flush = |batch: &mut Vec<NewPing>, counts: &mut ImportCounts| -> anyhow::Result<()> {
        for o in store.import_pings(std::mem::take(batch), margin)? {
            if o == crate::store::Insert::Accepted {
                counts.accepted += 1;
            } else {
                counts.duplicates += 1;
            }
        }
        Ok(())
    };
    for (w, worker) in table.workers.iter().enumerate() {
        for p in table.pings(w) {
            // The service's admission rule: `ingest::admit`.
            let admitted = match crate::ingest::admit(p, received, config.max_future_s, tz) {
                Ok(a) => a,
                Err(crate::ingest::AdmitError::Future { ts, .. }) => {
                    eprintln!(
                        "warning: skipped worker {} ts {}: more than {} s after now (future_timestamp)",
                        worker.as_str(),
                        crate::model::format_timestamp(ts),
                        config.max_future_s
                    );
                    counts.rejected += 1;
                    continue;
                }
                Err(crate::ingest::AdmitError::OutOfRange(_)) => {
                    counts.rejected += 1;
                    continue;
                }
            };
            batch.push(NewPing {
                ping: admitted.ping,
                day: admitted.day,
                source: Source::Import,
                device: None,
            });
            if batch.len() >= 100_000 {
                flush(&mut batch, &mut counts)?;
            }
        }
    }
    flush(&mut batch, &mut counts)?;
    Ok(counts)
}

/// Runs `gridbeat import`.
///
/// # Errors
/// As [`import_files`].
pub fn run_import(args: &ImportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let location = Location::of(args.store.as_deref(), args.data.as_deref(), config);
    let store = location
        .open(
            &config.store,
            &crate::store::OpenOptions::default(),
            std::time::Duration::ZERO,
        )
        .with_context(|| format!("cannot open the store {}", location.name()))?;
    let paths = super::expand_globs(&args.files)?;
    let start = std::time::Instant::now();
    let c = import_files(store.as_ref(), config, &paths, args.crs)?;
    let serve = match &location {
        Location::Dir(d) => format!("--data {}", d.display()),
        Location::Url(_) => format!("--store {}", location.name()),
    };
    println!(
        "imported {} pings ({} duplicates, {} rejected) from {} into {} in {:.1} s; `gridbeat serve {serve}` brings the summaries up to date",
        c.accepted,
        c.duplicates,
        c.rejected,
        super::file_list(&paths),
        location.name(),
        start.elapsed().as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `gridbeat registry`.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RegistryCommand,
}

/// `gridbeat registry` subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Load registry files into a data directory (each validated as `PUT
    /// /api/v1/registry/...` validates it; what they affect is recomputed by `serve`).
    Load(RegistryLoadArgs),
}

/// Arguments of `gridbeat registry load`.
#[derive(Debug, Args)]
pub struct RegistryLoadArgs {
    /// The data directory.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// A PostgreSQL database instead of the data directory (default: `[store] url`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The grid hierarchy (GeoJSON).
    #[arg(long, value_name = "FILE")]
    pub grids: Option<PathBuf>,
    /// Worker assignments (CSV: worker,name,grid).
    #[arg(long, value_name = "FILE")]
    pub workers: Option<PathBuf>,
    /// Checkpoints (GeoJSON points).
    #[arg(long, value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,
    /// Devices (CSV: device,worker[,vehicle]).
    #[arg(long, value_name = "FILE")]
    pub devices: Option<PathBuf>,
    /// Vehicles (CSV: vehicle,plate,kind,unit).
    #[arg(long, value_name = "FILE")]
    pub vehicles: Option<PathBuf>,
    /// Planned routes of the vehicles (GeoJSON lines).
    #[arg(long, value_name = "FILE")]
    pub routes: Option<PathBuf>,
}

/// Loads registry files into a state's store, in order (grids first), through the same
/// validation and dirty marking as the HTTP door.
///
/// # Errors
/// The faults of a file (nothing of that file changed), or a store failure.
pub async fn load_registry_files(
    state: &AppState,
    files: &[(RegistryFile, String)],
) -> anyhow::Result<()> {
    for (file, content) in files {
        server::registry::replace(state, *file, content.clone())
            .await
            .map_err(|e| {
                if let Some(cause) = e.cause() {
                    tracing::error!(cause = %cause, "internal error");
                }
                anyhow::anyhow!(
                    "{}: {}{}",
                    file.as_str(),
                    e,
                    e.faults()
                        .iter()
                        .map(|f| format!("\n  {f}"))
                        .collect::<String>()
                )
            })?;
    }
    Ok(())
}

/// Runs `gridbeat registry load`.
///
/// # Errors
/// As [`load_registry_files`].
pub fn run_registry(args: &RegistryArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let RegistryCommand::Load(a) = &args.command;
    let location = Location::of(a.store.as_deref(), a.data.as_deref(), config);
    let mut files = Vec::new();
    for (file, path) in [
        (RegistryFile::Grids, &a.grids),
        (RegistryFile::Workers, &a.workers),
        (RegistryFile::Checkpoints, &a.checkpoints),
        // Vehicles before the routes and devices that name them.
        (RegistryFile::Vehicles, &a.vehicles),
        (RegistryFile::Routes, &a.routes),
        (RegistryFile::Devices, &a.devices),
    ] {
        if let Some(p) = path {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            files.push((file, text));
        }
    }
    if files.is_empty() {
        bail!("give at least one of --grids, --workers, --checkpoints, --vehicles, --routes, --devices");
    }
    let state = AppState::open_at(
        config.clone(),
        &location,
        &crate::store::OpenOptions::default(),
        std::time::Duration::ZERO,
    )
    .with_context(|| format!("cannot open the store {}", location.name()))?;
    runtime()?.block_on(load_registry_files(&state, &files))?;
    println!(
        "loaded {} into {}",
        files
            .iter()
            .map(|(f, _)| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        location.name()
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `gridbeat token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// `gridbeat token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a fresh token and the `[[tokens]]` entry that admits it (only its hash).
    New(TokenNewArgs),
}

/// Arguments of `gridbeat token new`.
#[derive(Debug, Args)]
pub struct TokenNewArgs {
    /// `device`, `viewer` or `admin`.
    #[arg(long)]
    pub role: String,
    /// The unit whose subtree the token sees (omit for everything).
    #[arg(long, value_name = "CODE")]
    pub unit: Option<String>,
    /// Device tokens: a worker it may post for (repeatable).
    #[arg(long = "worker", value_name = "ID")]
    pub workers: Vec<String>,
    /// The name shown in logs (default: role and unit).
    #[arg(long)]
    pub name: Option<String>,
}

/// Runs `gridbeat token new`.
///
/// # Errors
/// A bad role, or a device token without workers.
pub fn run_token(args: &TokenArgs, _config: &Config) -> anyhow::Result<ExitCode> {
    let TokenCommand::New(a) = &args.command;
    let role = server::auth::Role::parse(&a.role).map_err(anyhow::Error::msg)?;
    if role == server::auth::Role::Device && a.workers.is_empty() {
        bail!("a device token needs --worker ID (repeatable): the workers it may post for");
    }
    let token = server::auth::new_token();
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", role.as_str(), a.unit.as_deref().unwrap_or("all")));
    let entry = crate::config::TokenConfig {
        name,
        sha256: server::auth::token_hash(&token),
        role: role.as_str().into(),
        unit: a.unit.clone(),
        workers: a.workers.clone(),
    };
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        tokens: [&'a crate::config::TokenConfig; 1],
    }
    println!("token (give it to its holder; it is not stored anywhere):\n  {token}\n");
    println!("config entry (add it to the config file):\n");
    print!(
        "{}",
        toml::to_string(&Entry { tokens: [&entry] }).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// Stores a registry and the sample pings in an empty data directory through the HTTP ingest
/// path (for `demo`): the pings are posted as NDJSON batches to the router.
///
/// # Errors
/// When a request is refused.
pub async fn seed_through_http(
    state: &Arc<AppState>,
    registry: &[(RegistryFile, String)],
    pings_csv: &str,
    bearer: Option<&str>,
) -> anyhow::Result<usize> {
    load_registry_files(state, registry).await?;
    let decoded =
        crate::ingest::csv::read_pings(pings_csv.as_bytes(), "sample/pings.csv", Crs::Wgs84)?;
    let mut sent = 0;
    for chunk in decoded.pings.chunks(5_000) {
        sent += post_pings(state, chunk, bearer).await?;
    }
    Ok(sent)
}

/// Posts pings as NDJSON through the service's own router, as a phone would.
///
/// # Errors
/// When the server refuses the batch.
pub async fn post_pings(
    state: &Arc<AppState>,
    pings: &[crate::model::Ping],
    bearer: Option<&str>,
) -> anyhow::Result<usize> {
    use tower::ServiceExt;
    let mut body = String::new();
    for p in pings {
        let mut v = serde_json::json!({"worker": p.worker.as_str(), "ts": p.ts, "lat": p.lat, "lon": p.lon});
        for (k, x) in [
            ("acc", p.acc_m),
            ("speed", p.speed_mps),
            ("bearing", p.bearing_deg),
            ("alt", p.alt_m),
            ("batt", p.batt_pct),
        ] {
            if let Some(x) = x {
                v[k] = serde_json::json!(x);
            }
        }
        if p.mock {
            v["mock"] = serde_json::json!(true);
        }
        if let Some(x) = p.pressure_mpa {
            v["pressure"] = serde_json::json!(x);
        }
        for (k, x) in [("work", p.work), ("ignition", p.ignition)] {
            if let Some(x) = x {
                v[k] = serde_json::json!(x);
            }
        }
        if let Some(c) = &p.checkin {
            v["checkin"] = serde_json::json!(c.as_ref());
        }
        body.push_str(&v.to_string());
        body.push('\n');
    }
    let mut request =
        axum::http::Request::post("/api/v1/pings").header("content-type", "application/x-ndjson");
    if let Some(t) = bearer {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let request = request.body(axum::body::Body::from(body))?;
    let response = server::router(Arc::clone(state)).oneshot(request).await?;
    if !response.status().is_success() {
        bail!("the pings were refused: {}", response.status());
    }
    Ok(pings.len())
}

/// Arguments of `gridbeat store`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// `gridbeat store` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Move a deployment between stores, either way: a data directory (SQLite) or a
    /// PostgreSQL URL. Registry, pings (receipt times, sources, devices), the duplicates log,
    /// summaries, the dirty queue and positions; verified by counts and a digest; run it
    /// again to resume an interrupted copy. Stop the servers of the source first.
    Copy(StoreCopyArgs),
}

/// Arguments of `gridbeat store copy`.
#[derive(Debug, Args)]
pub struct StoreCopyArgs {
    /// The source: a data directory, or `postgres://…`.
    #[arg(long, value_name = "DIR|URL")]
    pub from: String,
    /// The destination (empty, or an interrupted copy of the same source): a data directory,
    /// or `postgres://…`.
    #[arg(long, value_name = "URL|DIR")]
    pub to: String,
    /// Rows per committed chunk (each chunk is one transaction and one resume point).
    #[arg(long, value_name = "N", default_value_t = crate::store::copy::CHUNK_ROWS)]
    pub chunk_rows: usize,
}

/// A `--from`/`--to` value as a location.
fn location_of(text: &str) -> Location {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Location::Url(text.to_string())
    } else {
        Location::Dir(PathBuf::from(text))
    }
}

/// Runs `gridbeat store copy`.
///
/// # Errors
/// When a store cannot be opened, the destination holds other data, a store fails (run it
/// again to resume) or the verification fails.
pub fn run_store(args: &StoreArgs, config: &Config) -> anyhow::Result<ExitCode> {
    init_logging();
    let StoreCommand::Copy(a) = &args.command;
    let (from, to) = (location_of(&a.from), location_of(&a.to));
    if from == to {
        bail!("--from and --to are the same store ({})", from.name());
    }
    let open = |l: &Location| {
        l.open(
            &config.store,
            &crate::store::OpenOptions::default(),
            std::time::Duration::ZERO,
        )
        .with_context(|| format!("cannot open the store {}", l.name()))
    };
    let (source, dest) = (open(&from)?, open(&to)?);
    let start = std::time::Instant::now();
    let report = crate::store::copy::copy(
        source.as_ref(),
        dest.as_ref(),
        &from.name(),
        &to.name(),
        a.chunk_rows,
        &mut |line| eprintln!("{line}"),
    )
    .with_context(|| {
        format!(
            "copy {} -> {} stopped (run the same command again to resume)",
            from.name(),
            to.name()
        )
    })?;
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|(p, n)| format!("{n} {}", p.name()))
        .collect();
    println!(
        "copied {} -> {} in {:.1} s{}: {}; verified: counts equal, digest {}",
        from.name(),
        to.name(),
        start.elapsed().as_secs_f64(),
        if report.resumed { " (resumed)" } else { "" },
        rows.join(", "),
        &report.digest[..16]
    );
    Ok(ExitCode::SUCCESS)
}
