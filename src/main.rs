//! The `gridbeat` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc: the service's memory stays flat under concurrent reads beside steady ingest,
/// where glibc's arenas fragment (issue 15; `benches/soak.sh` measures it).
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
