//! The PostgreSQL store against a real server: the `Store` contract, claims shared by
//! replicas, `store copy` both ways, replicas killed mid-run, and the database stopped during
//! ingest.
//!
//! **Which server.** `GRIDBEAT_TEST_PG` (a `postgres://` URL with a user allowed to create
//! databases), else `postgres://postgres@127.0.0.1:5432/postgres` (the server these machines
//! run; `.ci/run` makes sure it is up). Each test makes its own database (`gb_test_…`) and
//! drops it at the end, so tests run in parallel and leave nothing behind. With no server
//! reachable the tests fail and say how to start one; they are never skipped. The outage test
//! starts a throwaway cluster of its own with the machine's `initdb`/`pg_ctl`, because it
//! stops its server.

mod claims;
mod contract;
mod copy;
mod outage;
mod replicas;

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The server's maintenance URL (a database that exists, e.g. `postgres`).
pub fn admin_url() -> String {
    std::env::var("GRIDBEAT_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// How to get a server, for failure messages.
pub const HOW_TO_START: &str = "start PostgreSQL (`pg_ctlcluster 15 main start`, or `apt-get install -y postgresql` then that), or point GRIDBEAT_TEST_PG at a postgres:// URL whose user may create databases; `.ci/run` does the first itself";

/// Runs SQL on a database with `psql`, panicking with what went wrong.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run psql ({e}): install the PostgreSQL client; {HOW_TO_START}")
        });
    assert!(
        out.status.success(),
        "psql {sql:?} on {url} failed: {}\n{HOW_TO_START}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A database of its own for one test, dropped (with its connections) at the end.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    name: String,
    admin: String,
}

impl TestDb {
    /// A new, empty database on the test server.
    pub fn new() -> TestDb {
        TestDb::on(&admin_url())
    }

    /// A new, empty database on the server of `admin` (a maintenance URL).
    pub fn on(admin: &str) -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "gb_test_{}_{}_{:06x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>() & 0xff_ffff
        );
        let ready = Command::new("psql")
            .args(["-X", "-q", "-t", "-A", admin, "-c", "SELECT 1"])
            .output();
        match ready {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "PostgreSQL at {admin} is not reachable: {}\n{HOW_TO_START}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => panic!("cannot run psql ({e})\n{HOW_TO_START}"),
        }
        psql(admin, &format!("CREATE DATABASE {name}"));
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("GRIDBEAT_TEST_PG {admin:?} must end in /database"),
        };
        TestDb {
            url,
            name,
            admin: admin.to_string(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-X",
                "-q",
                &self.admin,
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// `[store]` for a test database: short lease (a killed replica's days come back quickly), the
/// defaults otherwise.
pub fn options() -> gridbeat::config::StoreConfig {
    gridbeat::config::StoreConfig {
        claim_lease_s: 5,
        ..gridbeat::config::StoreConfig::default()
    }
}

/// A throwaway PostgreSQL cluster of the machine's own `initdb`/`pg_ctl`, on a free port, for
/// a test that stops and starts its server; stopped when dropped. Run as the `postgres` user
/// when the tests run as root (PostgreSQL refuses root).
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Cluster {
    /// `initdb` a new cluster and start it.
    pub fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| {
                let mut v: Vec<_> = d
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .filter(|b| b.join("initdb").exists())
                    .collect();
                v.sort();
                v.pop()
            })
            .unwrap_or_else(|| {
                panic!("no initdb under /usr/lib/postgresql/*/bin: `apt-get install -y postgresql` ({HOW_TO_START})")
            });
        let dir = tempfile::tempdir().unwrap();
        let port = crate::util::free_port();
        let c = Cluster { dir, bin, port };
        if c.as_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(c.dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown of the cluster directory to postgres");
        }
        let data = c.dir.path().join("data");
        c.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        c.up();
        c
    }

    fn as_root(&self) -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// A command running one of the server's tools, as `postgres` when we are root.
    fn tool(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .tool(tool)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn up(&self) {
        let d = self.dir.path();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            d.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                d.join("data").to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                d.join("server.log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: sessions are ended, as when a DBA restarts it).
    pub fn down(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.dir.path().join("data").to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// Its maintenance URL.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .tool("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}
