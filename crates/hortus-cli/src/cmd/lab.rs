//! `hortus lab` (filled in by the lab crate's work).

use anyhow::Result;
use std::process::ExitCode;

/// Arguments of `hortus lab`.
#[derive(clap::Args)]
pub struct Args {}

/// Not built yet.
pub fn run(_args: Args) -> Result<ExitCode> {
    anyhow::bail!("`hortus lab` is not built yet")
}
