//! `hortus check INVENTORY`

use crate::files::read_plan;
use crate::output::outln;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hortus check`.
#[derive(clap::Args)]
pub struct Args {
    /// Inventory file (TOML, or JSON when it ends in .json).
    inventory: PathBuf,
}

/// Validates the inventory; every problem is in the error, one per line.
pub fn run(args: Args) -> Result<ExitCode> {
    let plan = read_plan(&args.inventory)?;
    let links: usize = plan.nodes.values().map(|n| n.links.len()).sum::<usize>() / 2;
    for warning in &plan.warnings {
        outln!("warning: {warning}")?;
    }
    for skip in &plan.skipped {
        outln!("skipped: {}–{}: {}", skip.nodes[0], skip.nodes[1], skip.reason)?;
    }
    outln!("ok: {} nodes, {links} links, {} pairs skipped", plan.nodes.len(), plan.skipped.len())?;
    Ok(ExitCode::SUCCESS)
}
