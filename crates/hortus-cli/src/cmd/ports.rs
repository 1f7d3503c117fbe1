//! `hortus ports INVENTORY`: the pair-port table.

use crate::files::read_plan;
use crate::output::outln;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hortus ports`.
#[derive(clap::Args)]
pub struct Args {
    /// Inventory file (TOML, or JSON when it ends in .json).
    inventory: PathBuf,
}

/// One line per linked pair: `a b port path` (lower id first), then skipped pairs.
pub fn run(args: Args) -> Result<ExitCode> {
    let plan = read_plan(&args.inventory)?;
    let mut out = String::new();
    for (name, node) in &plan.nodes {
        for link in node.links.iter().filter(|l| l.peer_id > node.id) {
            out += &format!("{name} {} {} {}\n", link.peer, link.port, link.path.name());
        }
    }
    let mut lines: Vec<&str> = out.lines().collect();
    let id = |n: &str| plan.nodes[n].id;
    lines.sort_by_key(|l| {
        let mut f = l.split(' ');
        (id(f.next().unwrap_or_default()), id(f.next().unwrap_or_default()))
    });
    for line in lines {
        outln!("{line}")?;
    }
    for skip in plan.skipped_pairs() {
        outln!("{} {} - skipped ({})", skip.nodes[0], skip.nodes[1], skip.reason)?;
    }
    Ok(ExitCode::SUCCESS)
}
