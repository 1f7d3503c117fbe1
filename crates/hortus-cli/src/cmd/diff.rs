//! `hortus diff OLD NEW [--json]`: what deploying NEW over OLD changes,
//! per host, and what each host must do ([`hortus_diff`]). OLD and NEW are
//! inventories or plans (`hortus plan` JSON, e.g. two revisions' plans from
//! Nix). Exits 0 when nothing changes, 4 when something does, 1 on error.

use crate::exit;
use crate::files::read_plan_or_inventory;
use crate::output::write_stdout;
use anyhow::{Context, Result};
use hortus_diff::{HostChange, HostDiff, LinkChange, PlanDiff, Step};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hortus diff`.
#[derive(clap::Args)]
pub struct Args {
    /// The inventory or plan deployed now.
    old: PathBuf,
    /// The inventory or plan to deploy.
    new: PathBuf,
    /// Print the difference as JSON.
    #[arg(long)]
    json: bool,
}

/// Compares the two and prints the difference.
pub fn run(args: Args) -> Result<ExitCode> {
    let old = read_plan_or_inventory(&args.old)?;
    let new = read_plan_or_inventory(&args.new)?;
    let diff = hortus_diff::diff(&old, &new);
    let text = if args.json {
        serde_json::to_string_pretty(&diff).context("cannot encode the difference")? + "\n"
    } else {
        report(&diff)
    };
    write_stdout(text.as_bytes())?;
    Ok(exit::code(if diff.is_empty() { exit::SUCCESS } else { exit::DIFFERS }))
}

/// The difference for a reader: the flag day first, then each host that
/// changes with its links and steps.
fn report(diff: &PlanDiff) -> String {
    let mut out = String::new();
    if diff.is_empty() {
        out.push_str("no change: every host keeps its files\n");
        return out;
    }
    if let Some(flag_day) = &diff.flag_day {
        let _ = writeln!(out, "FLAG DAY: every host changes at once; deploy them together. Because of:");
        for cause in &flag_day.causes {
            let _ = writeln!(out, "  {cause}");
        }
    }
    for field in &diff.mesh {
        let _ = writeln!(out, "mesh.{}", hortus_diff::show(field));
    }
    for host in diff.hosts.iter().filter(|h| h.change != HostChange::Unchanged) {
        host_report(&mut out, host);
    }
    let unchanged: Vec<&str> =
        diff.hosts.iter().filter(|h| h.change == HostChange::Unchanged).map(|h| h.host.as_str()).collect();
    if !unchanged.is_empty() {
        let _ = writeln!(out, "unchanged: {}", unchanged.join(", "));
    }
    out
}

fn host_report(out: &mut String, host: &HostDiff) {
    match host.change {
        HostChange::Added => {
            let _ = writeln!(out, "{}: new host: set it up (keys, files, daemons)", host.host);
            return;
        }
        HostChange::Removed => {
            let _ =
                writeln!(out, "{}: leaves the mesh: stop hortus there; its peers drop their links to it", host.host);
            return;
        }
        _ => {}
    }
    let _ = writeln!(out, "{}:", host.host);
    for field in &host.node {
        let _ = writeln!(out, "  node.{}", hortus_diff::show(field));
    }
    for link in &host.links {
        match link.change {
            LinkChange::Added => {
                let _ = writeln!(out, "  + link to {} ({})", link.peer, link.interface);
            }
            LinkChange::Removed => {
                let _ = writeln!(out, "  - link to {} ({})", link.peer, link.interface);
            }
            LinkChange::Changed => {
                let _ = writeln!(out, "  ~ link to {} ({}):", link.peer, link.interface);
                for field in &link.fields {
                    let _ = writeln!(out, "      {}", hortus_diff::show(field));
                }
            }
        }
    }
    if host.steps.is_empty() {
        let _ = writeln!(out, "  do: nothing (no rendered file changes)");
    }
    for step in &host.steps {
        let _ = writeln!(out, "  do: {}", step_text(step));
        if let Step::Networkd { interfaces } = step {
            for interface in interfaces {
                let _ = writeln!(out, "        reconcile will {interface}");
            }
        }
    }
}

fn step_text(step: &Step) -> &'static str {
    match step {
        Step::Networkd { .. } => "install the networkd files, run `hortus reconcile` (reloads systemd-networkd)",
        Step::Sysctl => "install the sysctl.d file, run `systemd-sysctl`",
        Step::Firewall => "install the perimeter, restart hortus-firewall.service",
        Step::Forwarders => "install the forwarder units, restart them",
        Step::Bird => "install bird.conf, run `birdc configure`",
        Step::Babeld => "install babeld.conf, restart babeld",
        Step::Endpoints => "install hortus-endpoints.service, restart it",
        Step::Failover => "install hortus-failover.service, restart it",
    }
}
