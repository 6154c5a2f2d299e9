//! `gridbeat demo` (placeholder until its module lands).

use std::process::ExitCode;

use clap::Args;

use crate::config::Config;

/// Arguments of `gridbeat demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// Runs `gridbeat demo`.
///
/// # Errors
/// Always, until implemented.
pub fn run(_args: &DemoArgs, _config: &Config) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gridbeat demo is not implemented yet")
}
