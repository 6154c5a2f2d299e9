//! The PostgreSQL store: any number of stateless `gridbeat serve` replicas on one database
//! (DESIGN.md §6). Plain PostgreSQL ≥ 13, no extension.
//!
//! - **Pings** are range-partitioned by UTC month on `ts` (ms), key `(worker, ts)`. The
//!   partitions are made ahead by the application (the current and the next month at open, and
//!   a batch's months before it is written) under an advisory lock, so two replicas never race
//!   to create one; there is no default partition.
//! - **Ingest** is one transaction per batch: one `INSERT … SELECT FROM unnest($arrays) ON
//!   CONFLICT DO NOTHING RETURNING` for the batch's keys; only when a key was already there
//!   (or repeats inside the batch) are the stored and logged values read to tell a repeat
//!   from a conflict (DESIGN.md §4.2 step 1), the conflicts logged, all in the same
//!   transaction. Then the dirty marks, the latest positions and the counters.
//! - **The dirty queue** carries generations from a sequence; [`Store::claim`] takes due days
//!   with `FOR UPDATE SKIP LOCKED` and leases them to this replica for `claim_lease_s`, so no
//!   two replicas compute one worker-day at once; a replica that dies leaves its claims to
//!   lapse, and another takes them.
//! - **Counters** (pings, conflicts, summaries) are sharded rows summed on read, so
//!   concurrent batches do not queue on one row; the summaries and registry versions are one
//!   row each, bumped in the transaction that changes what they stand for (a replica's caches
//!   are keyed by them, so every replica sees every other's writes).
//! - **Migrations** are numbered (`gridbeat_schema`), applied under an advisory lock; a
//!   database of a newer schema is refused.
//! - **Errors**: a connection that cannot be made or is lost is [`StoreError::Unavailable`]
//!   (the HTTP door answers 503 with `Retry-After`); a deadlock or serialization failure is
//!   retried; anything else is [`StoreError::Database`]. Every query is parameterised.
//!
//! The trait is synchronous: the store runs its own small tokio runtime and each call waits
//! for its future there, so it works from any thread (the service's blocking pool, a CLI).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, TimeZone};
use deadpool_postgres::Transaction;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::{
    Affected, DirtyDay, Insert, NewPing, Position, Readiness, RegistryFile, Store, StoreError,
    StoreStats, SummaryRow,
};
use crate::config::StoreConfig;
use crate::model::{Month, Ping, UnixMs, WorkerId};

/// The schema, one entry per version; entry `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: pings (partitioned by month), the conflicts log, the registry files with versions,
    // summaries, the dirty queue with generations and claims, latest positions, meta, counters.
    r#"CREATE TABLE pings (
        worker text COLLATE "C" NOT NULL, ts bigint NOT NULL,
        lon double precision NOT NULL, lat double precision NOT NULL,
        acc real, speed real, bearing real, alt real, batt real,
        mock boolean NOT NULL DEFAULT false, checkin text,
        received bigint NOT NULL, source text NOT NULL, device text,
        PRIMARY KEY (worker, ts)) PARTITION BY RANGE (ts);
     CREATE TABLE duplicates (
        seq bigserial PRIMARY KEY, worker text COLLATE "C" NOT NULL, ts bigint NOT NULL,
        lon double precision NOT NULL, lat double precision NOT NULL,
        acc real, speed real, bearing real, alt real, batt real,
        mock boolean NOT NULL DEFAULT false, checkin text,
        received bigint NOT NULL, source text NOT NULL, device text,
        conflict boolean NOT NULL);
     CREATE INDEX duplicates_by_key ON duplicates (worker, ts);
     CREATE TABLE registry_files (
        file text NOT NULL, version integer NOT NULL, content text NOT NULL,
        updated bigint NOT NULL, PRIMARY KEY (file, version));
     CREATE TABLE summaries (
        worker text COLLATE "C" NOT NULL, day date NOT NULL, data bytea NOT NULL,
        window_start bigint NOT NULL, window_end bigint, computed bigint NOT NULL,
        PRIMARY KEY (worker, day));
     CREATE INDEX summaries_by_day ON summaries (day, worker);
     CREATE TABLE dirty (
        worker text COLLATE "C" NOT NULL, day date NOT NULL, generation bigint NOT NULL,
        since bigint NOT NULL, updated bigint NOT NULL,
        claimed_by text, claimed_until bigint,
        PRIMARY KEY (worker, day));
     CREATE INDEX dirty_by_claim ON dirty (claimed_by) WHERE claimed_by IS NOT NULL;
     CREATE TABLE latest (
        worker text COLLATE "C" PRIMARY KEY, ts bigint NOT NULL,
        lon double precision NOT NULL, lat double precision NOT NULL,
        acc real, received bigint NOT NULL);
     CREATE INDEX latest_by_ts ON latest (ts);
     CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
     CREATE TABLE counters (name text NOT NULL, shard integer NOT NULL, n bigint NOT NULL,
        PRIMARY KEY (name, shard));
     INSERT INTO counters (name, shard, n) VALUES ('summaries_version', 0, 1),
        ('registry_version', 0, 1);
     CREATE SEQUENCE generations;"#,
    // 2: what vehicle terminals report besides the position (issue 20): work state, water
    // pressure, ignition; NULL for a phone's pings. (Added to the partitioned table, so to
    // every partition.)
    "ALTER TABLE pings ADD COLUMN work boolean, ADD COLUMN pressure real, ADD COLUMN ignition boolean;
     ALTER TABLE duplicates ADD COLUMN work boolean, ADD COLUMN pressure real, ADD COLUMN ignition boolean;",
];

/// How many rows each counter is spread over (a batch adds to one at random).
const COUNTER_SHARDS: i32 = 16;

/// The most dirty days one claim takes (about 30 workers' months, so a round keeps every
/// recompute thread busy; the heartbeat keeps the claim while the round runs).
const CLAIM_BATCH: usize = 1024;

/// How often a transaction that hit a deadlock or a serialization failure is tried in all.
const ATTEMPTS: usize = 5;

/// The advisory-lock keys (one namespace: the first bytes of "gridbeat").
const LOCK_MIGRATE: i64 = 0x6772_6964_0001;
const LOCK_PARTITIONS: i64 = 0x6772_6964_0002;

/// The PostgreSQL store. See the module documentation.
pub struct PgStore {
    /// Where it connects, without the password (`host:port/database`), for messages.
    target: String,
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// This process's name in claims (`host-pid-random`).
    replica: String,
    lease_ms: i64,
    /// The months whose ping partition is known to exist.
    partitions: Mutex<HashSet<i32>>,
    /// Whether to make them (`[store] manage_partitions`).
    manage_partitions: bool,
    /// Whether the last call found the database unavailable (logged once each way).
    down: std::sync::atomic::AtomicBool,
}

/// The first and last ms of the UTC month with index `m` (`year * 12 + month0`).
fn month_bounds(m: i32) -> (i64, i64) {
    let start = |m: i32| {
        chrono::Utc
            .with_ymd_and_hms(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1, 0, 0, 0)
            .single()
            .map_or(0, |t| t.timestamp_millis())
    };
    (start(m), start(m + 1))
}

/// The UTC month index of an instant.
fn month_of(ts: UnixMs) -> i32 {
    let t = chrono::DateTime::from_timestamp_millis(ts).unwrap_or_default();
    t.year() * 12 + t.month0() as i32
}

/// Days as PostgreSQL's `date` takes them: years 1–9999 (`NaiveDate::MIN..MAX` means every
/// day).
fn clamp_day(day: NaiveDate) -> NaiveDate {
    let lo = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let hi = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    day.clamp(lo, hi)
}

fn now_ms() -> UnixMs {
    chrono::Utc::now().timestamp_millis()
}

/// A ping's stored values (everything the repeat rule compares).
#[derive(Clone, Debug, PartialEq)]
struct Values {
    lon: f64,
    lat: f64,
    acc: Option<f32>,
    speed: Option<f32>,
    bearing: Option<f32>,
    alt: Option<f32>,
    batt: Option<f32>,
    mock: bool,
    checkin: Option<String>,
    work: Option<bool>,
    pressure: Option<f32>,
    ignition: Option<bool>,
}

impl Values {
    fn of(p: &Ping) -> Values {
        Values {
            lon: p.lon,
            lat: p.lat,
            acc: p.acc_m,
            speed: p.speed_mps,
            bearing: p.bearing_deg,
            alt: p.alt_m,
            batt: p.batt_pct,
            mock: p.mock,
            checkin: p.checkin.as_deref().map(str::to_string),
            work: p.work,
            pressure: p.pressure_mpa,
            ignition: p.ignition,
        }
    }

    fn from_row(r: &Row, at: usize) -> Result<Values, tokio_postgres::Error> {
        Ok(Values {
            lon: r.try_get(at)?,
            lat: r.try_get(at + 1)?,
            acc: r.try_get(at + 2)?,
            speed: r.try_get(at + 3)?,
            bearing: r.try_get(at + 4)?,
            alt: r.try_get(at + 5)?,
            batt: r.try_get(at + 6)?,
            mock: r.try_get(at + 7)?,
            checkin: r.try_get(at + 8)?,
            work: r.try_get(at + 9)?,
            pressure: r.try_get(at + 10)?,
            ignition: r.try_get(at + 11)?,
        })
    }
}

/// Column arrays of a set of pings, for `unnest`.
#[derive(Default)]
struct Columns {
    worker: Vec<String>,
    ts: Vec<i64>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    acc: Vec<Option<f32>>,
    speed: Vec<Option<f32>>,
    bearing: Vec<Option<f32>>,
    alt: Vec<Option<f32>>,
    batt: Vec<Option<f32>>,
    mock: Vec<bool>,
    checkin: Vec<Option<String>>,
    received: Vec<i64>,
    source: Vec<String>,
    device: Vec<Option<String>>,
    work: Vec<Option<bool>>,
    pressure: Vec<Option<f32>>,
    ignition: Vec<Option<bool>>,
}

impl Columns {
    fn push(&mut self, n: &NewPing, now: UnixMs) {
        let p = &n.ping;
        self.worker.push(p.worker.as_str().to_string());
        self.ts.push(p.ts);
        self.lon.push(p.lon);
        self.lat.push(p.lat);
        self.acc.push(p.acc_m);
        self.speed.push(p.speed_mps);
        self.bearing.push(p.bearing_deg);
        self.alt.push(p.alt_m);
        self.batt.push(p.batt_pct);
        self.mock.push(p.mock);
        self.checkin.push(p.checkin.as_deref().map(str::to_string));
        self.received.push(p.received.unwrap_or(now));
        self.source.push(n.source.as_str().to_string());
        self.device.push(n.device.clone());
        self.work.push(p.work);
        self.pressure.push(p.pressure_mpa);
        self.ignition.push(p.ignition);
    }

    fn len(&self) -> usize {
        self.ts.len()
    }
}

/// The ping columns of the tables, in the order of [`Columns`].
const PING_COLUMNS: &str =
    "worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin, received, source, device, work, pressure, ignition";

/// `unnest` of the 17 arrays of [`Columns`] from `$1`.
const UNNEST_PINGS: &str = "unnest($1::text[], $2::int8[], $3::float8[], $4::float8[],
    $5::float4[], $6::float4[], $7::float4[], $8::float4[], $9::float4[], $10::bool[],
    $11::text[], $12::int8[], $13::text[], $14::text[], $15::bool[], $16::float4[], $17::bool[])";

/// What a read of a ping row gives (`SELECT worker, ts, lon, …, received`, and the vehicle
/// columns `work`, `pressure`, `ignition` by name).
fn ping_from_row(r: &Row) -> Result<Ping, tokio_postgres::Error> {
    let worker: String = r.try_get(0)?;
    let checkin: Option<String> = r.try_get(10)?;
    Ok(Ping {
        worker: WorkerId::new(&worker),
        ts: r.try_get(1)?,
        lon: r.try_get(2)?,
        lat: r.try_get(3)?,
        acc_m: r.try_get(4)?,
        speed_mps: r.try_get(5)?,
        bearing_deg: r.try_get(6)?,
        alt_m: r.try_get(7)?,
        batt_pct: r.try_get(8)?,
        mock: r.try_get(9)?,
        checkin: checkin.map(Into::into),
        received: r.try_get(11)?,
        work: r.try_get("work")?,
        pressure_mpa: r.try_get("pressure")?,
        ignition: r.try_get("ignition")?,
    })
}

fn summary_from_row(r: &Row) -> Result<SummaryRow, tokio_postgres::Error> {
    Ok(SummaryRow {
        worker: r.try_get(0)?,
        day: r.try_get(1)?,
        data: r.try_get(2)?,
        window: (r.try_get(3)?, r.try_get(4)?),
    })
}

const SUMMARY_COLUMNS: &str = "worker, day, data, window_start, window_end";

/// The target of a connection string without its password: `host:port/database`.
fn target_of(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .map(str::to_string)
        .or_else(|| config.get_user().map(str::to_string))
        .unwrap_or_default();
    format!("{host}:{port}/{db}")
}

/// Whether an error means the server cannot be reached or the connection was lost (as
/// opposed to a statement that failed).
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        None => true,
        Some(code) => {
            let c = code.code();
            c.starts_with("08")
                || c.starts_with("57P")
                || c == SqlState::TOO_MANY_CONNECTIONS.code()
                || c == SqlState::INVALID_PASSWORD.code()
                || c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION.code()
                || c == SqlState::INVALID_CATALOG_NAME.code()
        }
    }
}

/// Whether a transaction that failed this way may simply be run again.
fn is_retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// The text of an error with its cause (tokio-postgres's `Display` alone says "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} ({})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            s.push_str(": ");
            s.push_str(detail);
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// An error of the client, as the store reports it.
struct Failure(tokio_postgres::Error);

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Failure {
        Failure(e)
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`; a
    /// libpq-style key/value string works too) with the pool size, timeouts, lease and
    /// partitioning of `opts` (the config's `[store]`; its `url` is not read here), applies
    /// the missing migrations and makes this month's and next month's partitions.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached or refuses the login
    /// (the message names the host and the cause); [`StoreError::TooNew`] for a newer schema;
    /// [`StoreError::Database`] for a bad URL or a failed migration.
    pub fn open(url: &str, opts: &StoreConfig) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Database {
                reason: format!(
                    "[store] url is not a PostgreSQL connection string (postgres://user@host:port/database): {e}"
                ),
            })?;
        let target = target_of(&config);
        config.connect_timeout(Duration::from_secs(opts.connect_timeout_s.max(1)));
        config.application_name("gridbeat");
        if opts.statement_timeout_ms > 0 {
            config.options(format!(
                "-c statement_timeout={}",
                opts.statement_timeout_ms
            ));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let wait = Duration::from_secs(opts.connect_timeout_s.max(1));
        let pool = Pool::builder(manager)
            .max_size(opts.pool_size.max(1))
            .wait_timeout(Some(wait))
            .create_timeout(Some(wait))
            .recycle_timeout(Some(wait))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database {
                reason: format!("cannot make the connection pool: {e}"),
            })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gridbeat-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database {
                reason: format!("cannot start the store's runtime: {e}"),
            })?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        let replica = format!(
            "{host}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let store = PgStore {
            target,
            rt: Some(rt),
            pool,
            replica,
            lease_ms: (opts.claim_lease_s.max(1) * 1000) as i64,
            partitions: Mutex::new(HashSet::new()),
            manage_partitions: opts.manage_partitions,
            down: std::sync::atomic::AtomicBool::new(false),
        };
        store.migrate()?;
        store.keep_claims();
        let this = month_of(now_ms());
        store.ensure_partitions(&[this, this + 1])?;
        Ok(store)
    }

    /// Renews this process's claims every third of the lease, for as long as it lives: a
    /// replica's claims lapse only when it has stopped (killed, hung without its runtime, cut
    /// off from the database), never because a round took long.
    fn keep_claims(&self) {
        let Some(rt) = self.rt.as_ref() else { return };
        let (pool, me, lease) = (self.pool.clone(), self.replica.clone(), self.lease_ms);
        rt.spawn(async move {
            let every = Duration::from_millis((lease / 3).max(100) as u64);
            loop {
                tokio::time::sleep(every).await;
                if let Ok(c) = pool.get().await {
                    let _ = c
                        .execute(
                            "UPDATE dirty SET claimed_until = $2 + $3 WHERE claimed_by = $1",
                            &[&me, &now_ms(), &lease],
                        )
                        .await;
                }
            }
        });
    }

    /// Where the store connects (`host:port/database`, no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// This process's name in the claims it takes.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The pool's connections: (open, idle, most).
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let s = self.pool.status();
        (s.size, s.available, s.max_size)
    }

    /// A client error as a [`StoreError`].
    fn error(&self, e: &tokio_postgres::Error) -> StoreError {
        if is_unavailable(e) {
            StoreError::Unavailable {
                target: self.target.clone(),
                reason: describe(e),
            }
        } else {
            StoreError::Database {
                reason: describe(e),
            }
        }
    }

    /// Runs `f` with a pooled connection on the store's runtime and waits for it; a
    /// transaction that hit a deadlock or serialization failure is run again.
    fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(deadpool_postgres::Object) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, Failure>> + Send + 'static,
    {
        let Some(rt) = self.rt.as_ref() else {
            return Err(StoreError::Closed);
        };
        let pool = self.pool.clone();
        let target = self.target.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let started = std::time::Instant::now();
        rt.spawn(async move {
            let mut attempt = 0;
            let out = loop {
                attempt += 1;
                let client = match pool.get().await {
                    Ok(c) => c,
                    Err(e) => {
                        break Err(Err(StoreError::Unavailable {
                            target: target.clone(),
                            reason: pool_error(&e),
                        }))
                    }
                };
                match f(client).await {
                    Ok(v) => break Ok(v),
                    Err(Failure(e)) if is_retryable(&e) && attempt < ATTEMPTS => {
                        tokio::time::sleep(Duration::from_millis(5 * attempt as u64)).await;
                    }
                    Err(Failure(e)) => break Err(Ok(e)),
                }
            };
            let _ = tx.send(out);
        });
        let out = rx.recv().map_err(|_| StoreError::Closed)?;
        let took = started.elapsed();
        // Each call's time with its wait for a pooled connection: the latency the service sees.
        metrics::histogram!("gridbeat_store_query_seconds").record(took.as_secs_f64());
        let out = match out {
            Ok(v) => Ok(v),
            Err(Ok(e)) => Err(self.error(&e)),
            Err(Err(e)) => Err(e),
        };
        match &out {
            Err(e @ StoreError::Unavailable { .. }) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "the database is unavailable: ingest answers 503 until it is back");
                }
            }
            _ => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(target = %self.target, "the database is reachable again");
                }
            }
        }
        out
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        let found = self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_MIGRATE])
                .await?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS gridbeat_schema (version integer NOT NULL, applied timestamptz NOT NULL DEFAULT now())")
                .await?;
            let found: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0)::int8 FROM gridbeat_schema",
                    &[],
                )
                .await?
                .try_get(0)?;
            if found > known {
                return Ok(found);
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO gridbeat_schema (version) VALUES ($1)",
                    &[&(i as i32 + 1)],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(found)
        })?;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.target.clone(),
                found,
                known,
            });
        }
        Ok(())
    }

    /// Makes the ping partitions of the months with these indices, where missing.
    fn ensure_partitions(&self, months: &[i32]) -> Result<(), StoreError> {
        if !self.manage_partitions {
            return Ok(());
        }
        let missing: Vec<i32> = {
            let known = self.partitions.lock().map_err(|_| StoreError::Closed)?;
            let mut m: Vec<i32> = months
                .iter()
                .copied()
                .filter(|m| !known.contains(m))
                .collect();
            m.sort_unstable();
            m.dedup();
            m
        };
        if missing.is_empty() {
            return Ok(());
        }
        let todo = missing.clone();
        self.run(move |mut c| {
            let todo = todo.clone();
            async move {
                let tx = c.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_PARTITIONS])
                    .await?;
                for m in todo {
                    let (from, to) = month_bounds(m);
                    // Names and bounds are numbers made here, never user input.
                    let name = format!("pings_{:04}{:02}", m.div_euclid(12), m.rem_euclid(12) + 1);
                    tx.batch_execute(&format!(
                        "CREATE TABLE IF NOT EXISTS {name} PARTITION OF pings FOR VALUES FROM ({from}) TO ({to})"
                    ))
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }
        })?;
        if let Ok(mut known) = self.partitions.lock() {
            known.extend(missing);
        }
        Ok(())
    }
}

/// Why the pool gave no connection, with the cause.
fn pool_error(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(pg) => describe(pg),
        deadpool_postgres::PoolError::Timeout(kind) => {
            format!("no connection within the connect timeout ({kind:?})")
        }
        other => other.to_string(),
    }
}

/// Adds to a sharded counter.
async fn add_counter(
    tx: &Transaction<'_>,
    name: &str,
    n: i64,
) -> Result<(), tokio_postgres::Error> {
    if n == 0 {
        return Ok(());
    }
    let shard = rand::random_range(0..COUNTER_SHARDS);
    tx.execute(
        "INSERT INTO counters (name, shard, n) VALUES ($1, $2, $3)
         ON CONFLICT (name, shard) DO UPDATE SET n = counters.n + excluded.n",
        &[&name, &shard, &n],
    )
    .await?;
    Ok(())
}

/// Bumps one of the single-row versions.
async fn bump(tx: &Transaction<'_>, name: &str) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE counters SET n = n + 1 WHERE name = $1 AND shard = 0",
        &[&name],
    )
    .await?;
    Ok(())
}

/// Marks (worker, day) pairs dirty at `gen` (sorted, so concurrent writers lock rows in one
/// order). `touch` also moves the last-marked instant (a ping's mark); otherwise only the
/// generation changes.
async fn mark(
    tx: &Transaction<'_>,
    days: &[(String, NaiveDate)],
    gen: i64,
    now: i64,
    touch: bool,
) -> Result<(), tokio_postgres::Error> {
    if days.is_empty() {
        return Ok(());
    }
    let mut days = days.to_vec();
    days.sort();
    days.dedup();
    let (w, d): (Vec<String>, Vec<NaiveDate>) = days.into_iter().unzip();
    let set = if touch {
        "generation = excluded.generation, updated = excluded.updated"
    } else {
        "generation = excluded.generation"
    };
    tx.execute(
        &format!(
            "INSERT INTO dirty (worker, day, generation, since, updated)
             SELECT w, d, $3, $4, $4 FROM unnest($1::text[], $2::date[]) AS t(w, d)
             ON CONFLICT (worker, day) DO UPDATE SET {set}"
        ),
        &[&w, &d, &gen, &now],
    )
    .await?;
    Ok(())
}

/// Marks what a registry change affects (the days with a stored summary).
async fn mark_affected(
    tx: &Transaction<'_>,
    affected: &Affected,
    gen: i64,
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    match affected {
        Affected::Nothing => Ok(()),
        Affected::Everything => tx
            .execute(
                "INSERT INTO dirty (worker, day, generation, since, updated)
                 SELECT worker, day, $1, $2, $2 FROM summaries ORDER BY worker, day
                 ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation",
                &[&gen, &now],
            )
            .await
            .map(|_| ()),
        Affected::Workers(ws) => {
            let ws: Vec<String> = ws.to_vec();
            tx.execute(
                "INSERT INTO dirty (worker, day, generation, since, updated)
                 SELECT worker, day, $1, $2, $2 FROM summaries WHERE worker = ANY($3)
                 ORDER BY worker, day
                 ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation",
                &[&gen, &now, &ws],
            )
            .await
            .map(|_| ())
        }
    }
}

async fn next_generation(tx: &Transaction<'_>) -> Result<i64, tokio_postgres::Error> {
    tx.query_one("SELECT nextval('generations')", &[])
        .await?
        .try_get(0)
}

/// One batch's ingest inside its transaction (see the module documentation); with `copy` the
/// batch reaches the server by binary COPY into a staging table (`gridbeat import`) instead of
/// as `unnest` arrays.
async fn ingest(
    tx: &Transaction<'_>,
    pings: &[NewPing],
    margin_ms: i64,
    now: i64,
    copy: bool,
) -> Result<Vec<Insert>, tokio_postgres::Error> {
    // The first ping of each key goes to the one INSERT; a later one of the same key in the
    // batch is decided after it, as if sent after it.
    let mut first: HashMap<(&str, i64), usize> = HashMap::with_capacity(pings.len());
    let mut cols = Columns::default();
    let mut later = Vec::new();
    for (i, n) in pings.iter().enumerate() {
        let key = (n.ping.worker.as_str(), n.ping.ts);
        if let std::collections::hash_map::Entry::Vacant(slot) = first.entry(key) {
            slot.insert(i);
            cols.push(n, now);
        } else {
            later.push(i);
        }
    }
    let rows = if copy {
        // `gridbeat import`: binary COPY into a staging table, then the same INSERT from it.
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE staging ON COMMIT DROP AS SELECT {PING_COLUMNS} FROM pings WITH NO DATA"
        ))
        .await?;
        let sink = tx
            .copy_in(&format!("COPY staging ({PING_COLUMNS}) FROM STDIN BINARY"))
            .await?;
        use tokio_postgres::types::Type;
        let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(
            sink,
            &[
                Type::TEXT,
                Type::INT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT4,
                Type::FLOAT4,
                Type::FLOAT4,
                Type::FLOAT4,
                Type::FLOAT4,
                Type::BOOL,
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::BOOL,
                Type::FLOAT4,
                Type::BOOL,
            ],
        );
        let mut writer = std::pin::pin!(writer);
        let c = &cols;
        for i in 0..c.len() {
            writer
                .as_mut()
                .write(&[
                    &c.worker[i],
                    &c.ts[i],
                    &c.lon[i],
                    &c.lat[i],
                    &c.acc[i],
                    &c.speed[i],
                    &c.bearing[i],
                    &c.alt[i],
                    &c.batt[i],
                    &c.mock[i],
                    &c.checkin[i],
                    &c.received[i],
                    &c.source[i],
                    &c.device[i],
                    &c.work[i],
                    &c.pressure[i],
                    &c.ignition[i],
                ])
                .await?;
        }
        writer.finish().await?;
        tx.query(
            &format!(
                "INSERT INTO pings ({PING_COLUMNS}) SELECT {PING_COLUMNS} FROM staging
                 ON CONFLICT (worker, ts) DO NOTHING RETURNING worker, ts"
            ),
            &[],
        )
        .await?
    } else {
        let sql = format!(
            "INSERT INTO pings ({PING_COLUMNS}) SELECT * FROM {UNNEST_PINGS}
             ON CONFLICT (worker, ts) DO NOTHING RETURNING worker, ts"
        );
        let stmt = tx.prepare_cached(&sql).await?;
        tx.query(
            &stmt,
            &[
                &cols.worker,
                &cols.ts,
                &cols.lon,
                &cols.lat,
                &cols.acc,
                &cols.speed,
                &cols.bearing,
                &cols.alt,
                &cols.batt,
                &cols.mock,
                &cols.checkin,
                &cols.received,
                &cols.source,
                &cols.device,
                &cols.work,
                &cols.pressure,
                &cols.ignition,
            ],
        )
        .await?
    };
    let mut out = vec![Insert::Accepted; pings.len()];
    let mut accepted: HashSet<(String, i64)> = HashSet::with_capacity(rows.len());
    for r in &rows {
        accepted.insert((r.try_get(0)?, r.try_get(1)?));
    }
    // The pings whose key was there before (or earlier in the batch): a repeat or a conflict.
    let mut undecided: Vec<usize> = first
        .values()
        .copied()
        .filter(|&i| {
            let p = &pings[i].ping;
            !accepted.contains(&(p.worker.as_str().to_string(), p.ts))
        })
        .collect();
    undecided.extend(later);
    undecided.sort_unstable();
    let stored = accepted.len() as i64;
    let mut logged = 0i64;
    if !undecided.is_empty() {
        let mut kw: Vec<String> = Vec::new();
        let mut kt: Vec<i64> = Vec::new();
        for &i in &undecided {
            kw.push(pings[i].ping.worker.as_str().to_string());
            kt.push(pings[i].ping.ts);
        }
        // Every value stored or logged under these keys (the batch's accepted firsts too).
        let known_rows = tx
            .query(
                "SELECT p.worker, p.ts, p.lon, p.lat, p.acc, p.speed, p.bearing, p.alt, p.batt, p.mock, p.checkin,
                    p.work, p.pressure, p.ignition
                 FROM pings p JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::int8[])) AS k(w, t)
                   ON p.worker = k.w AND p.ts = k.t
                 UNION ALL
                 SELECT d.worker, d.ts, d.lon, d.lat, d.acc, d.speed, d.bearing, d.alt, d.batt, d.mock, d.checkin,
                    d.work, d.pressure, d.ignition
                 FROM duplicates d JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::int8[])) AS k(w, t)
                   ON d.worker = k.w AND d.ts = k.t",
                &[&kw, &kt],
            )
            .await?;
        let mut known: HashMap<(String, i64), Vec<Values>> = HashMap::new();
        for r in &known_rows {
            known
                .entry((r.try_get(0)?, r.try_get(1)?))
                .or_default()
                .push(Values::from_row(r, 2)?);
        }
        let mut conflicts = Columns::default();
        for &i in &undecided {
            let p = &pings[i].ping;
            let values = Values::of(p);
            let seen = known
                .entry((p.worker.as_str().to_string(), p.ts))
                .or_default();
            if seen.contains(&values) {
                out[i] = Insert::Repeat;
            } else {
                out[i] = Insert::Conflict;
                seen.push(values);
                conflicts.push(&pings[i], now);
            }
        }
        if conflicts.len() > 0 {
            logged = conflicts.len() as i64;
            let c = &conflicts;
            tx.execute(
                &format!(
                    "INSERT INTO duplicates ({PING_COLUMNS}, conflict)
                     SELECT {PING_COLUMNS}, true
                     FROM {UNNEST_PINGS} WITH ORDINALITY AS t({PING_COLUMNS}, ord)
                     ORDER BY ord"
                ),
                &[
                    &c.worker,
                    &c.ts,
                    &c.lon,
                    &c.lat,
                    &c.acc,
                    &c.speed,
                    &c.bearing,
                    &c.alt,
                    &c.batt,
                    &c.mock,
                    &c.checkin,
                    &c.received,
                    &c.source,
                    &c.device,
                    &c.work,
                    &c.pressure,
                    &c.ignition,
                ],
            )
            .await?;
        }
    }

    // Per worker: the days touched, the earliest and latest ping, the newest accepted one.
    let mut days: Vec<(String, NaiveDate)> = Vec::new();
    let mut span: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut newest: HashMap<&str, &NewPing> = HashMap::new();
    for (n, outcome) in pings.iter().zip(&out) {
        if *outcome == Insert::Repeat {
            continue;
        }
        let p = &n.ping;
        let w = p.worker.as_str();
        days.push((w.to_string(), n.day));
        let e = span.entry(w).or_insert((p.ts, p.ts));
        e.0 = e.0.min(p.ts);
        e.1 = e.1.max(p.ts);
        if *outcome == Insert::Accepted {
            let slot = newest.entry(w).or_insert(n);
            if p.ts > slot.ping.ts {
                *slot = n;
            }
        }
    }
    if !days.is_empty() {
        let gen = next_generation(tx).await?;
        mark(tx, &days, gen, now, true).await?;
        // Stored windows the batch's span reaches into (a superset of those its pings reach:
        // marking one too many costs a recompute, never a figure).
        let mut spans: Vec<(&str, (i64, i64))> = span.into_iter().collect();
        spans.sort_unstable();
        let sw: Vec<&str> = spans.iter().map(|s| s.0).collect();
        let lo: Vec<i64> = spans.iter().map(|s| s.1 .0).collect();
        let hi: Vec<i64> = spans.iter().map(|s| s.1 .1).collect();
        tx.execute(
            "INSERT INTO dirty (worker, day, generation, since, updated)
             SELECT s.worker, s.day, $4, $5, $5
             FROM summaries s JOIN unnest($1::text[], $2::int8[], $3::int8[]) AS t(w, lo, hi)
               ON s.worker = t.w AND s.window_start - $6 <= t.hi
                  AND (s.window_end IS NULL OR t.lo <= s.window_end + $6)
             ORDER BY s.worker, s.day
             ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation, updated = excluded.updated",
            &[&sw, &lo, &hi, &gen, &now, &margin_ms],
        )
        .await?;
    }
    if !newest.is_empty() {
        let mut list: Vec<&NewPing> = newest.into_values().collect();
        list.sort_by(|a, b| a.ping.worker.as_str().cmp(b.ping.worker.as_str()));
        let w: Vec<&str> = list.iter().map(|n| n.ping.worker.as_str()).collect();
        let ts: Vec<i64> = list.iter().map(|n| n.ping.ts).collect();
        let lon: Vec<f64> = list.iter().map(|n| n.ping.lon).collect();
        let lat: Vec<f64> = list.iter().map(|n| n.ping.lat).collect();
        let acc: Vec<Option<f32>> = list.iter().map(|n| n.ping.acc_m).collect();
        let rec: Vec<i64> = list
            .iter()
            .map(|n| n.ping.received.unwrap_or(now))
            .collect();
        tx.execute(
            "INSERT INTO latest (worker, ts, lon, lat, acc, received)
             SELECT * FROM unnest($1::text[], $2::int8[], $3::float8[], $4::float8[], $5::float4[], $6::int8[])
             ON CONFLICT (worker) DO UPDATE SET ts = excluded.ts, lon = excluded.lon, lat = excluded.lat,
                 acc = excluded.acc, received = excluded.received
             WHERE excluded.ts > latest.ts",
            &[&w, &ts, &lon, &lat, &acc, &rec],
        )
        .await?;
    }
    add_counter(tx, "pings", stored).await?;
    add_counter(tx, "duplicates", logged).await?;
    Ok(out)
}

/// A read through the connection's cache of prepared statements (parsed and planned once per
/// connection, one round trip per call).
async fn q(
    c: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let st = c.prepare_cached(sql).await?;
    c.query(&st, params).await
}

/// [`q`] for exactly one row.
async fn q_one(
    c: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Row, tokio_postgres::Error> {
    let st = c.prepare_cached(sql).await?;
    c.query_one(&st, params).await
}

/// [`q`] for at most one row.
async fn q_opt(
    c: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<Row>, tokio_postgres::Error> {
    let st = c.prepare_cached(sql).await?;
    c.query_opt(&st, params).await
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime may block; a store dropped inside another runtime must not.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Sums a sharded counter.
async fn counter(c: &deadpool_postgres::Object, name: &str) -> Result<i64, tokio_postgres::Error> {
    c.query_one(
        "SELECT COALESCE(SUM(n), 0)::int8 FROM counters WHERE name = $1",
        &[&name],
    )
    .await?
    .try_get(0)
}

impl Store for PgStore {
    fn insert_pings(&self, pings: Vec<NewPing>, margin_ms: i64) -> Result<Vec<Insert>, StoreError> {
        self.write_pings(pings, margin_ms, false)
    }

    fn import_pings(&self, pings: Vec<NewPing>, margin_ms: i64) -> Result<Vec<Insert>, StoreError> {
        self.write_pings(pings, margin_ms, true)
    }

    fn pings(&self, worker: &str, range: Range<UnixMs>) -> Result<Vec<Ping>, StoreError> {
        let worker = worker.to_string();
        self.run(move |c| {
            let worker = worker.clone();
            async move {
                // Each in its index's order, both in flight at once; then each duplicate
                // right after the stored ping of its key (a stable merge).
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
                    [&worker, &range.start, &range.end];
                let (stored, dups) = tokio::join!(
                    q(&c, "SELECT worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin, received, work, pressure, ignition
                           FROM pings WHERE worker = $1 AND ts >= $2 AND ts < $3 ORDER BY ts", &params),
                    q(&c, "SELECT worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin, received, work, pressure, ignition
                           FROM duplicates WHERE worker = $1 AND ts >= $2 AND ts < $3 ORDER BY ts, seq", &params)
                );
                let (stored, dups) = (stored?, dups?);
                let mut out = Vec::with_capacity(stored.len() + dups.len());
                let mut d = dups.iter().peekable();
                for r in &stored {
                    let p = ping_from_row(r)?;
                    let ts = p.ts;
                    out.push(p);
                    while let Some(x) = d.next_if(|x| x.get::<_, i64>(1) <= ts) {
                        out.push(ping_from_row(x)?);
                    }
                }
                for x in d {
                    out.push(ping_from_row(x)?);
                }
                Ok(out)
            }
        })
    }

    fn neighbours(
        &self,
        worker: &str,
        ts: UnixMs,
    ) -> Result<(Option<UnixMs>, Option<UnixMs>), StoreError> {
        let worker = worker.to_string();
        self.run(move |c| {
            let worker = worker.clone();
            async move {
                let r = q_one(
                    &c,
                    "SELECT (SELECT MAX(ts) FROM pings WHERE worker = $1 AND ts < $2),
                                (SELECT MIN(ts) FROM pings WHERE worker = $1 AND ts >= $2)",
                    &[&worker, &ts],
                )
                .await?;
                Ok((r.try_get(0)?, r.try_get(1)?))
            }
        })
    }

    fn registry_file(&self, file: RegistryFile) -> Result<Option<String>, StoreError> {
        let name = file.as_str().to_string();
        self.run(move |c| {
            let name = name.clone();
            async move {
                let row = q_opt(&c,
                        "SELECT content FROM registry_files WHERE file = $1 ORDER BY version DESC LIMIT 1",
                        &[&name],
                    )
                    .await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }
        })
    }

    fn put_registry_file(
        &self,
        file: RegistryFile,
        content: &str,
        affected: &Affected,
    ) -> Result<(), StoreError> {
        let name = file.as_str().to_string();
        let content = std::sync::Arc::new(content.to_string());
        let affected = std::sync::Arc::new(affected.clone());
        self.run(move |mut c| {
            let (name, content, affected) = (
                name.clone(),
                std::sync::Arc::clone(&content),
                std::sync::Arc::clone(&affected),
            );
            async move {
                let now = now_ms();
                let tx = c.transaction().await?;
                tx.execute(
                    "INSERT INTO registry_files (file, version, content, updated)
                     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM registry_files WHERE file = $1",
                    &[&name, &*content, &now],
                )
                .await?;
                let gen = next_generation(&tx).await?;
                mark_affected(&tx, &affected, gen, now).await?;
                bump(&tx, "registry_version").await?;
                tx.commit().await?;
                Ok(())
            }
        })
    }

    fn mark_dirty(&self, days: &[(String, NaiveDate)]) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        let days: Vec<(String, NaiveDate)> = days
            .iter()
            .map(|(w, d)| (w.clone(), clamp_day(*d)))
            .collect();
        let days = std::sync::Arc::new(days);
        self.run(move |mut c| {
            let days = std::sync::Arc::clone(&days);
            async move {
                let tx = c.transaction().await?;
                let gen = next_generation(&tx).await?;
                mark(&tx, &days, gen, now_ms(), false).await?;
                tx.commit().await?;
                Ok(())
            }
        })
    }

    fn mark_all_dirty(&self) -> Result<(), StoreError> {
        self.run(move |mut c| async move {
            let tx = c.transaction().await?;
            let gen = next_generation(&tx).await?;
            mark_affected(&tx, &Affected::Everything, gen, now_ms()).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn due(
        &self,
        quiet_before: UnixMs,
        due_before: UnixMs,
        limit: usize,
    ) -> Result<Vec<DirtyDay>, StoreError> {
        let limit = limit.min(i64::MAX as usize) as i64;
        self.run(move |c| async move {
            let rows = q(
                &c,
                "SELECT worker, day, generation, since FROM dirty
                     WHERE updated <= $1 OR since <= $2 ORDER BY worker, day LIMIT $3",
                &[&quiet_before, &due_before, &limit],
            )
            .await?;
            Ok(rows
                .iter()
                .map(|r| {
                    Ok(DirtyDay {
                        worker: r.try_get(0)?,
                        day: r.try_get(1)?,
                        generation: r.try_get(2)?,
                        since: r.try_get(3)?,
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })
    }

    fn claim(
        &self,
        quiet_before: UnixMs,
        due_before: UnixMs,
        limit: usize,
    ) -> Result<Vec<DirtyDay>, StoreError> {
        let limit = limit.min(CLAIM_BATCH) as i64;
        let me = self.replica.clone();
        let lease = self.lease_ms;
        let mut days = self.run(move |mut c| {
            let me = me.clone();
            async move {
                let now = now_ms();
                let tx = c.transaction().await?;
                let rows = tx
                    .query(
                        "WITH c AS (
                            SELECT worker, day FROM dirty
                            WHERE (updated <= $1 OR since <= $2)
                              AND (claimed_until IS NULL OR claimed_until < $4)
                            ORDER BY worker, day LIMIT $3 FOR UPDATE SKIP LOCKED)
                         UPDATE dirty d SET claimed_by = $5, claimed_until = $4 + $6
                         FROM c WHERE d.worker = c.worker AND d.day = c.day
                         RETURNING d.worker, d.day, d.generation, d.since",
                        &[&quiet_before, &due_before, &limit, &now, &me, &lease],
                    )
                    .await?;
                tx.commit().await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        Ok(DirtyDay {
                            worker: r.try_get(0)?,
                            day: r.try_get(1)?,
                            generation: r.try_get(2)?,
                            since: r.try_get(3)?,
                        })
                    })
                    .collect::<Result<Vec<_>, tokio_postgres::Error>>()?)
            }
        })?;
        days.sort_by(|a, b| (&a.worker, a.day).cmp(&(&b.worker, b.day)));
        Ok(days)
    }

    fn put_summary(&self, row: &SummaryRow, generation: i64) -> Result<(), StoreError> {
        let row = std::sync::Arc::new(row.clone());
        let me = self.replica.clone();
        self.run(move |mut c| {
            let (row, me) = (std::sync::Arc::clone(&row), me.clone());
            async move {
                let now = now_ms();
                let tx = c.transaction().await?;
                // A summary is derived data: if this commit is lost in a crash, so is the
                // clearing of its mark, and the day is computed again (marks themselves and
                // pings are always committed synchronously).
                tx.batch_execute("SET LOCAL synchronous_commit = off").await?;
                let day = clamp_day(row.day);
                let inserted: bool = tx
                    .query_one(
                        "INSERT INTO summaries (worker, day, data, window_start, window_end, computed)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (worker, day) DO UPDATE SET data = excluded.data,
                             window_start = excluded.window_start, window_end = excluded.window_end,
                             computed = excluded.computed
                         RETURNING (xmax = 0)",
                        &[&row.worker, &day, &row.data, &row.window.0, &row.window.1, &now],
                    )
                    .await?
                    .try_get(0)?;
                clear(&tx, &row.worker, day, generation, &me).await?;
                if inserted {
                    add_counter(&tx, "summaries", 1).await?;
                }
                bump(&tx, "summaries_version").await?;
                tx.commit().await?;
                Ok(())
            }
        })
    }

    fn drop_summary(
        &self,
        worker: &str,
        day: NaiveDate,
        generation: i64,
    ) -> Result<(), StoreError> {
        let worker = worker.to_string();
        let me = self.replica.clone();
        let day = clamp_day(day);
        self.run(move |mut c| {
            let (worker, me) = (worker.clone(), me.clone());
            async move {
                let tx = c.transaction().await?;
                tx.batch_execute("SET LOCAL synchronous_commit = off")
                    .await?;
                let removed = tx
                    .execute(
                        "DELETE FROM summaries WHERE worker = $1 AND day = $2",
                        &[&worker, &day],
                    )
                    .await?;
                clear(&tx, &worker, day, generation, &me).await?;
                if removed > 0 {
                    add_counter(&tx, "summaries", -(removed as i64)).await?;
                    bump(&tx, "summaries_version").await?;
                }
                tx.commit().await?;
                Ok(())
            }
        })
    }

    fn summary(&self, worker: &str, day: NaiveDate) -> Result<Option<SummaryRow>, StoreError> {
        let worker = worker.to_string();
        let day = clamp_day(day);
        self.run(move |c| {
            let worker = worker.clone();
            async move {
                let row = q_opt(
                    &c,
                    &format!(
                        "SELECT {SUMMARY_COLUMNS} FROM summaries WHERE worker = $1 AND day = $2"
                    ),
                    &[&worker, &day],
                )
                .await?;
                Ok(row.as_ref().map(summary_from_row).transpose()?)
            }
        })
    }

    fn worker_summaries(
        &self,
        worker: &str,
        days: Range<NaiveDate>,
    ) -> Result<Vec<SummaryRow>, StoreError> {
        let worker = worker.to_string();
        let (from, to) = (clamp_day(days.start), clamp_day(days.end));
        self.run(move |c| {
            let worker = worker.clone();
            async move {
                let rows = q(&c,
                        &format!("SELECT {SUMMARY_COLUMNS} FROM summaries WHERE worker = $1 AND day >= $2 AND day < $3 ORDER BY day"),
                        &[&worker, &from, &to],
                    )
                    .await?;
                Ok(rows.iter().map(summary_from_row).collect::<Result<_, _>>()?)
            }
        })
    }

    fn summary_before(
        &self,
        worker: &str,
        day: NaiveDate,
    ) -> Result<Option<SummaryRow>, StoreError> {
        let worker = worker.to_string();
        let day = clamp_day(day);
        self.run(move |c| {
            let worker = worker.clone();
            async move {
                let row = q_opt(&c,
                        &format!("SELECT {SUMMARY_COLUMNS} FROM summaries WHERE worker = $1 AND day < $2 ORDER BY day DESC LIMIT 1"),
                        &[&worker, &day],
                    )
                    .await?;
                Ok(row.as_ref().map(summary_from_row).transpose()?)
            }
        })
    }

    fn summaries(&self, days: Range<NaiveDate>) -> Result<Vec<SummaryRow>, StoreError> {
        let (from, to) = (clamp_day(days.start), clamp_day(days.end));
        self.run(move |c| async move {
            let rows = q(&c,
                    &format!("SELECT {SUMMARY_COLUMNS} FROM summaries WHERE day >= $1 AND day < $2 ORDER BY worker, day"),
                    &[&from, &to],
                )
                .await?;
            Ok(rows.iter().map(summary_from_row).collect::<Result<_, _>>()?)
        })
    }

    fn summary_workers(&self, days: Range<NaiveDate>) -> Result<Vec<String>, StoreError> {
        let (from, to) = (clamp_day(days.start), clamp_day(days.end));
        self.run(move |c| async move {
            let rows = q(&c,
                    "SELECT DISTINCT worker FROM summaries WHERE day >= $1 AND day < $2 ORDER BY worker",
                    &[&from, &to],
                )
                .await?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
        })
    }

    fn summary_months(&self) -> Result<Vec<Month>, StoreError> {
        // Walks the day index from month to month rather than every row.
        self.run(move |c| async move {
            let mut months = Vec::new();
            let mut after = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
            let mut first = true;
            loop {
                let next: Option<NaiveDate> = q_one(
                    &c,
                    "SELECT MIN(day) FROM summaries WHERE day > $1 OR ($2 AND day = $1)",
                    &[&after, &first],
                )
                .await?
                .try_get(0)?;
                let Some(day) = next else { break };
                let month = Month::of(day);
                months.push(month);
                after = month.last_day();
                first = false;
            }
            Ok(months)
        })
    }

    fn days_after(
        &self,
        worker: &str,
        day: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let worker = worker.to_string();
        let (day, until) = (clamp_day(day), clamp_day(until));
        self.run(move |c| {
            let worker = worker.clone();
            async move {
                let rows = q(&c,
                        "SELECT day FROM summaries WHERE worker = $1 AND day > $2 AND day <= $3 ORDER BY day",
                        &[&worker, &day, &until],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
            }
        })
    }

    fn positions(&self) -> Result<Vec<Position>, StoreError> {
        self.run(move |c| async move {
            let rows = q(
                &c,
                "SELECT worker, ts, lon, lat, acc, received FROM latest ORDER BY worker",
                &[],
            )
            .await?;
            Ok(rows
                .iter()
                .map(|r| {
                    Ok(Position {
                        worker: r.try_get(0)?,
                        ts: r.try_get(1)?,
                        lon: r.try_get(2)?,
                        lat: r.try_get(3)?,
                        acc_m: r.try_get(4)?,
                        received: Some(r.try_get(5)?),
                    })
                })
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })
    }

    fn pending(&self) -> Result<Vec<(String, UnixMs)>, StoreError> {
        self.run(move |c| async move {
            let rows = q(&c, "SELECT worker, since FROM dirty", &[]).await?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })
    }

    fn concurrency(&self) -> usize {
        // Measured on the reference month (2 cores, the server on the same machine): from
        // import to every summary current took 95 s with 2 threads, 68 s with 6, 64 s with 8.
        4
    }

    fn gauges(&self) -> Vec<(&'static str, f64)> {
        let (open, idle, most) = self.pool_status();
        vec![
            ("gridbeat_store_pool_connections", open as f64),
            ("gridbeat_store_pool_idle", idle as f64),
            ("gridbeat_store_pool_max", most as f64),
        ]
    }

    fn summaries_version(&self) -> u64 {
        match self.version("summaries_version") {
            Ok(n) => n,
            Err(e) => {
                // An unavailable database is logged once by `run`, however often it is asked.
                if !e.is_condition() {
                    tracing::warn!(error = %e, "the summaries version cannot be read: nothing cached is served");
                }
                0
            }
        }
    }

    fn registry_version(&self) -> u64 {
        match self.version("registry_version") {
            Ok(n) => n,
            Err(e) => {
                if !e.is_condition() {
                    tracing::warn!(error = %e, "the registry version cannot be read");
                }
                0
            }
        }
    }

    fn copy_out(
        &self,
        part: super::Part,
        after: &super::Key,
        limit: usize,
    ) -> Result<super::Chunk, StoreError> {
        self.copy_rows(part, after, limit)
    }

    fn copy_in(&self, chunk: &super::Chunk, progress: (&str, &str)) -> Result<u64, StoreError> {
        self.load_rows(chunk, progress)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.run(move |c| async move {
            let r = q_one(
                &c,
                "SELECT COUNT(*)::int8, MIN(since), (SELECT MAX(ts) FROM latest),
                            pg_database_size(current_database())::int8
                     FROM dirty",
                &[],
            )
            .await?;
            let pending: i64 = r.try_get(0)?;
            let bytes: i64 = r.try_get(3)?;
            Ok(StoreStats {
                pings: counter(&c, "pings").await?.max(0) as u64,
                duplicates: counter(&c, "duplicates").await?.max(0) as u64,
                summaries: counter(&c, "summaries").await?.max(0) as u64,
                pending: pending as u64,
                oldest_pending: r.try_get(1)?,
                newest_ping: r.try_get(2)?,
                bytes: bytes.max(0) as u64,
                memory: 0,
            })
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        self.run(move |c| {
            let key = key.clone();
            async move {
                let row = q_opt(&c, "SELECT value FROM meta WHERE key = $1", &[&key]).await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }
        })
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run(move |c| {
            let (key, value) = (key.clone(), value.clone());
            async move {
                c.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &value],
                )
                .await?;
                Ok(())
            }
        })
    }

    fn readiness(&self) -> Readiness {
        let probe = self.replica.clone();
        let result = self.run(move |c| {
            let probe = probe.clone();
            async move {
                q_one(
                    &c,
                    "SELECT n FROM counters WHERE name = 'summaries_version' AND shard = 0",
                    &[],
                )
                .await?;
                c.execute(
                    "INSERT INTO meta (key, value) VALUES ('ready_probe', $1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&probe],
                )
                .await?;
                Ok(())
            }
        });
        match result {
            Ok(()) => Readiness::Ready,
            Err(e) => Readiness::NotReady("unavailable", e.to_string()),
        }
    }
}

impl PgStore {
    /// [`Store::insert_pings`] (`copy`: [`Store::import_pings`]).
    fn write_pings(
        &self,
        pings: Vec<NewPing>,
        margin_ms: i64,
        copy: bool,
    ) -> Result<Vec<Insert>, StoreError> {
        if pings.is_empty() {
            return Ok(Vec::new());
        }
        let months: Vec<i32> = pings.iter().map(|n| month_of(n.ping.ts)).collect();
        self.ensure_partitions(&months)?;
        let pings = std::sync::Arc::new(pings);
        self.run(move |mut c| {
            let pings = std::sync::Arc::clone(&pings);
            async move {
                let now = now_ms();
                let tx = c.transaction().await?;
                let out = ingest(&tx, &pings, margin_ms, now, copy).await?;
                tx.commit().await?;
                Ok(out)
            }
        })
    }

    fn version(&self, name: &'static str) -> Result<u64, StoreError> {
        let n: i64 = self.run(move |c| async move {
            Ok(c.query_one(
                "SELECT n FROM counters WHERE name = $1 AND shard = 0",
                &[&name],
            )
            .await?
            .try_get(0)?)
        })?;
        Ok(n.max(0) as u64)
    }
}

/// Clears a day's mark if it is still at `generation`; otherwise only this replica's claim
/// on it ends (a newer ping re-marked it: it is due again, for any replica).
async fn clear(
    tx: &Transaction<'_>,
    worker: &str,
    day: NaiveDate,
    generation: i64,
    me: &str,
) -> Result<(), tokio_postgres::Error> {
    let cleared = tx
        .execute(
            "DELETE FROM dirty WHERE worker = $1 AND day = $2 AND generation = $3",
            &[&worker, &day, &generation],
        )
        .await?;
    if cleared == 0 {
        tx.execute(
            "UPDATE dirty SET claimed_by = NULL, claimed_until = NULL
             WHERE worker = $1 AND day = $2 AND claimed_by = $3",
            &[&worker, &day, &me],
        )
        .await?;
    }
    Ok(())
}

/// A stored ping of a copy from a row `worker, ts, …, received, source, device, work,
/// pressure, ignition[, conflict]`.
fn stored_from_row(r: &Row) -> Result<(super::StoredPing, bool), tokio_postgres::Error> {
    let source: String = r.try_get(12)?;
    let conflict = if r.len() > 17 { r.try_get(17)? } else { false };
    Ok((
        super::StoredPing {
            ping: ping_from_row(r)?,
            source: super::Source::parse(&source).unwrap_or(super::Source::Import),
            device: r.try_get(13)?,
        },
        conflict,
    ))
}

impl PgStore {
    /// [`Store::copy_out`].
    fn copy_rows(
        &self,
        part: super::Part,
        after: &super::Key,
        limit: usize,
    ) -> Result<super::Chunk, StoreError> {
        use super::{Chunk, Key, Part};
        let after = after.clone();
        let limit = limit as i64;
        self.run(move |c| {
            let after = after.clone();
            async move {
                let mut chunk = Chunk::empty(part);
                match part {
                    Part::Pings => {
                        let rows = c
                            .query(
                                &format!("SELECT {PING_COLUMNS} FROM pings WHERE (worker, ts) > ($1, $2) ORDER BY worker, ts LIMIT $3"),
                                &[&after.worker, &after.n, &limit],
                            )
                            .await?;
                        for r in &rows {
                            chunk.pings.push(stored_from_row(r)?);
                        }
                        chunk.last = chunk.pings.last().map(|(p, _)| Key {
                            worker: p.ping.worker.as_str().to_string(),
                            n: p.ping.ts,
                        });
                    }
                    Part::Duplicates => {
                        let rows = c
                            .query(
                                &format!("SELECT {PING_COLUMNS}, conflict, seq FROM duplicates WHERE seq > $1 ORDER BY seq LIMIT $2"),
                                &[&after.n, &limit],
                            )
                            .await?;
                        for r in &rows {
                            chunk.pings.push(stored_from_row(r)?);
                        }
                        if let Some(r) = rows.last() {
                            chunk.last = Some(Key {
                                worker: String::new(),
                                n: r.try_get("seq")?,
                            });
                        }
                    }
                    Part::Summaries => {
                        let rows = c
                            .query(
                                &format!("SELECT {SUMMARY_COLUMNS} FROM summaries WHERE (worker, day) > ($1, $2) ORDER BY worker, day LIMIT $3"),
                                &[&after.worker, &clamp_day(after.day()), &limit],
                            )
                            .await?;
                        for r in &rows {
                            chunk.summaries.push(summary_from_row(r)?);
                        }
                        chunk.last = chunk.summaries.last().map(|s| Key::of_day(&s.worker, s.day));
                    }
                    Part::Dirty => {
                        let rows = c
                            .query(
                                "SELECT worker, day, generation, since FROM dirty WHERE (worker, day) > ($1, $2) ORDER BY worker, day LIMIT $3",
                                &[&after.worker, &clamp_day(after.day()), &limit],
                            )
                            .await?;
                        for r in &rows {
                            chunk.dirty.push(DirtyDay {
                                worker: r.try_get(0)?,
                                day: r.try_get(1)?,
                                generation: r.try_get(2)?,
                                since: r.try_get(3)?,
                            });
                        }
                        chunk.last = chunk.dirty.last().map(|d| Key::of_day(&d.worker, d.day));
                    }
                    Part::Positions => {
                        let rows = c
                            .query(
                                "SELECT worker, ts, lon, lat, acc, received FROM latest WHERE worker > $1 ORDER BY worker LIMIT $2",
                                &[&after.worker, &limit],
                            )
                            .await?;
                        for r in &rows {
                            chunk.positions.push(Position {
                                worker: r.try_get(0)?,
                                ts: r.try_get(1)?,
                                lon: r.try_get(2)?,
                                lat: r.try_get(3)?,
                                acc_m: r.try_get(4)?,
                                received: Some(r.try_get(5)?),
                            });
                        }
                        chunk.last = chunk.positions.last().map(|p| Key {
                            worker: p.worker.clone(),
                            n: 0,
                        });
                    }
                }
                Ok(chunk)
            }
        })
    }

    /// [`Store::copy_in`].
    fn load_rows(&self, chunk: &super::Chunk, progress: (&str, &str)) -> Result<u64, StoreError> {
        use super::Part;
        if matches!(chunk.part, Part::Pings | Part::Duplicates) {
            let months: Vec<i32> = chunk
                .pings
                .iter()
                .map(|(p, _)| month_of(p.ping.ts))
                .collect();
            self.ensure_partitions(&months)?;
        }
        let chunk = std::sync::Arc::new(chunk.clone());
        let progress = (progress.0.to_string(), progress.1.to_string());
        self.run(move |mut c| {
            let chunk = std::sync::Arc::clone(&chunk);
            let progress = progress.clone();
            async move {
                let tx = c.transaction().await?;
                let now = now_ms();
                let mut cols = Columns::default();
                let mut conflict = Vec::new();
                for (p, flag) in &chunk.pings {
                    cols.push(&p.as_new(), now);
                    conflict.push(*flag);
                }
                let p = &cols;
                let written = match chunk.part {
                    Part::Pings => {
                        let n = tx
                            .execute(
                                &format!("INSERT INTO pings ({PING_COLUMNS}) SELECT * FROM {UNNEST_PINGS} ON CONFLICT DO NOTHING"),
                                &[
                                    &p.worker, &p.ts, &p.lon, &p.lat, &p.acc, &p.speed, &p.bearing,
                                    &p.alt, &p.batt, &p.mock, &p.checkin, &p.received, &p.source,
                                    &p.device, &p.work, &p.pressure, &p.ignition,
                                ],
                            )
                            .await?;
                        add_counter(&tx, "pings", n as i64).await?;
                        n
                    }
                    Part::Duplicates => {
                        let n = tx
                            .execute(
                                &format!(
                                    "INSERT INTO duplicates ({PING_COLUMNS}, conflict)
                                     SELECT {PING_COLUMNS}, conflict FROM unnest($1::text[], $2::int8[], $3::float8[], $4::float8[],
                                        $5::float4[], $6::float4[], $7::float4[], $8::float4[], $9::float4[], $10::bool[],
                                        $11::text[], $12::int8[], $13::text[], $14::text[], $15::bool[],
                                        $16::float4[], $17::bool[], $18::bool[])
                                        WITH ORDINALITY AS t({PING_COLUMNS}, conflict, ord)
                                     ORDER BY ord"
                                ),
                                &[
                                    &p.worker, &p.ts, &p.lon, &p.lat, &p.acc, &p.speed, &p.bearing,
                                    &p.alt, &p.batt, &p.mock, &p.checkin, &p.received, &p.source,
                                    &p.device, &p.work, &p.pressure, &p.ignition, &conflict,
                                ],
                            )
                            .await?;
                        add_counter(&tx, "duplicates", n as i64).await?;
                        n
                    }
                    Part::Summaries => {
                        let s = &chunk.summaries;
                        let w: Vec<&str> = s.iter().map(|r| r.worker.as_str()).collect();
                        let d: Vec<NaiveDate> = s.iter().map(|r| clamp_day(r.day)).collect();
                        let data: Vec<&[u8]> = s.iter().map(|r| r.data.as_slice()).collect();
                        let ws: Vec<i64> = s.iter().map(|r| r.window.0).collect();
                        let we: Vec<Option<i64>> = s.iter().map(|r| r.window.1).collect();
                        let n = tx
                            .execute(
                                "INSERT INTO summaries (worker, day, data, window_start, window_end, computed)
                                 SELECT w, d, b, s, e, $6 FROM unnest($1::text[], $2::date[], $3::bytea[], $4::int8[], $5::int8[]) AS t(w, d, b, s, e)
                                 ON CONFLICT DO NOTHING",
                                &[&w, &d, &data, &ws, &we, &now],
                            )
                            .await?;
                        add_counter(&tx, "summaries", n as i64).await?;
                        bump(&tx, "summaries_version").await?;
                        n
                    }
                    Part::Dirty => {
                        let gen = next_generation(&tx).await?;
                        let w: Vec<&str> = chunk.dirty.iter().map(|r| r.worker.as_str()).collect();
                        let d: Vec<NaiveDate> = chunk.dirty.iter().map(|r| clamp_day(r.day)).collect();
                        let since: Vec<i64> = chunk.dirty.iter().map(|r| r.since).collect();
                        tx.execute(
                            "INSERT INTO dirty (worker, day, generation, since, updated)
                             SELECT w, d, $4, s, s FROM unnest($1::text[], $2::date[], $3::int8[]) AS t(w, d, s)
                             ON CONFLICT DO NOTHING",
                            &[&w, &d, &since, &gen],
                        )
                        .await?
                    }
                    Part::Positions => {
                        let ps = &chunk.positions;
                        let w: Vec<&str> = ps.iter().map(|p| p.worker.as_str()).collect();
                        let ts: Vec<i64> = ps.iter().map(|p| p.ts).collect();
                        let lon: Vec<f64> = ps.iter().map(|p| p.lon).collect();
                        let lat: Vec<f64> = ps.iter().map(|p| p.lat).collect();
                        let acc: Vec<Option<f32>> = ps.iter().map(|p| p.acc_m).collect();
                        let rec: Vec<i64> = ps.iter().map(|p| p.received.unwrap_or(now)).collect();
                        tx.execute(
                            "INSERT INTO latest (worker, ts, lon, lat, acc, received)
                             SELECT * FROM unnest($1::text[], $2::int8[], $3::float8[], $4::float8[], $5::float4[], $6::int8[])
                             ON CONFLICT (worker) DO UPDATE SET ts = excluded.ts, lon = excluded.lon, lat = excluded.lat,
                                 acc = excluded.acc, received = excluded.received
                             WHERE excluded.ts > latest.ts",
                            &[&w, &ts, &lon, &lat, &acc, &rec],
                        )
                        .await?
                    }
                };
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&progress.0, &progress.1],
                )
                .await?;
                tx.commit().await?;
                Ok(written)
            }
        })
    }
}
