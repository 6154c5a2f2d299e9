//! `gridbeat locate` (placeholder until its module lands).

use std::process::ExitCode;

use clap::Args;

use crate::config::Config;

/// Arguments of `gridbeat locate`.
#[derive(Debug, Args)]
pub struct LocateArgs {}

/// Runs `gridbeat locate`.
///
/// # Errors
/// Always, until implemented.
pub fn run(_args: &LocateArgs, _config: &Config) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gridbeat locate is not implemented yet")
}
