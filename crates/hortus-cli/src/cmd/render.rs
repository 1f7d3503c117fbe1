//! `hortus render` (filled in by the render crate's work).

use anyhow::Result;
use std::process::ExitCode;

/// Arguments of `hortus render`.
#[derive(clap::Args)]
pub struct Args {}

/// Not built yet.
pub fn run(_args: Args) -> Result<ExitCode> {
    anyhow::bail!("`hortus render` is not built yet")
}
