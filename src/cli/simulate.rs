//! `gridbeat simulate` (placeholder until its module lands).

use std::process::ExitCode;

use clap::Args;

use crate::config::Config;

/// Arguments of `gridbeat simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {}

/// Runs `gridbeat simulate`.
///
/// # Errors
/// Always, until implemented.
pub fn run(_args: &SimulateArgs, _config: &Config) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gridbeat simulate is not implemented yet")
}
