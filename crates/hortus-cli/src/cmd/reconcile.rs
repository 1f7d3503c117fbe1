//! `hortus reconcile [--plan FILE] [--host NAME] [--dry-run] [--no-reload]`: on a host
//! whose mesh interfaces systemd-networkd manages, delete the WireGuard
//! interfaces the plan no longer has and the ones whose kernel state differs
//! from it, then, when a planned interface is missing or networkd has not
//! applied a setting of its files (a WireGuard firewall mark, policy rules),
//! `networkctl reload` (which recreates interfaces from their current files
//! and applies the rest). The NixOS module runs it as `hortus-reconcile.service`.

use crate::files::InstalledPlan;
use anyhow::{bail, Result};
use hortus_host::{Change, Options};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `hortus reconcile`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    plan: InstalledPlan,
    /// Print what would be deleted, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Do not run `networkctl reload` (nor wait for the planned interfaces).
    #[arg(long)]
    no_reload: bool,
    /// Seconds to wait for systemd-networkd to create every planned interface.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    wait: u64,
}

/// Runs the reconciliation and prints one line per deleted interface.
pub fn run(args: Args) -> Result<ExitCode> {
    let plan = args.plan.read()?;
    let mut opts = Options { dry_run: args.dry_run, wait: Duration::from_secs(args.wait), ..Options::default() };
    if args.no_reload {
        opts.reload_command.clear();
        opts.wait = Duration::ZERO;
    }
    let report = hortus_host::reconcile(&plan, &opts)?;
    let prefix = if args.dry_run { "would " } else { "" };
    for action in &report.actions {
        println!("{prefix}{action}");
    }
    for stale in &report.stale {
        println!("{prefix}reload systemd-networkd: {stale}");
    }
    let removed = report.actions.iter().filter(|a| a.change == Change::Remove).count();
    let recreated = report.actions.len() - removed;
    if !args.dry_run && !args.no_reload && !report.missing.is_empty() {
        bail!(
            "systemd-networkd did not create {} within {} s (check `networkctl status` and its log)",
            report.missing.join(", "),
            args.wait
        );
    }
    println!(
        "hortus reconcile: host {}: {} planned link(s), {removed} removed, {recreated} recreated{}",
        plan.host,
        plan.node.links.len(),
        if args.dry_run { " (dry run)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}
