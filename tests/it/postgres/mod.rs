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

/// Options for a test database: short lease (a killed replica's days come back quickly), the
/// defaults otherwise.
pub fn options(url: &str) -> gridbeat::store::PgOptions {
    let mut o = gridbeat::store::PgOptions::new(url);
    o.claim_lease_s = 5;
    o
}
