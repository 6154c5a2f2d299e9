//! The `gridbeat` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc: the service's memory stays flat under concurrent reads beside steady ingest,
/// where glibc's arenas fragment (issue 15; `benches/soak.sh` measures it).
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: freed pages go back to the system within a second, by a background
/// thread, so the resident size follows what a report or a layer really holds rather than the
/// garbage of the last ten seconds of builds (`MALLOC_CONF` overrides it). jemalloc is built
/// unprefixed (it is `malloc` for SQLite too), so the symbol it reads is `malloc_conf`.
#[cfg(all(unix, not(target_env = "musl")))]
#[allow(non_upper_case_globals)]
#[export_name = "malloc_conf"]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    let cli = gridbeat::cli::Cli::parse();
    match gridbeat::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
