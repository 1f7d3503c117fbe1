//! `hortus endpoints [--plan FILE] [--host NAME] [--once]`: on a live host,
//! keep every link this host dials on an endpoint that works. A link that
//! received nothing for `mesh.endpoints.switch_after_s` moves to its next
//! candidate (re-resolving a DNS name when it gets to one); a link that
//! receives is never touched. Each move is printed (the journal, under
//! systemd) with the link, the old and the new endpoint. A name that does
//! not resolve, a missing interface or peer are printed and retried, never
//! fatal. The NixOS module runs it as `hortus-endpoints.service`.

use crate::files::InstalledPlan;
use anyhow::Result;
use hortus_host::endpoints::{check_interval, System, Watch};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `hortus endpoints`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    plan: InstalledPlan,
    /// One pass, then exit (a link without an endpoint gets its first
    /// candidate; nothing has been quiet long enough for more).
    #[arg(long)]
    once: bool,
}

/// Watches the links until killed (or one pass with `--once`).
pub fn run(args: Args) -> Result<ExitCode> {
    let plan = args.plan.read()?;
    let interval = check_interval(&plan.mesh.endpoints);
    let mut watch = Watch::new(&plan, Instant::now());
    let links: Vec<&str> = watch.interfaces().collect();
    println!(
        "hortus endpoints: host {}: watching {} dialled link(s){}, every {} s, switching after {} s quiet",
        plan.host,
        links.len(),
        match links.len() {
            0 => String::new(),
            1..=8 => format!(" ({})", links.join(", ")),
            _ => format!(" ({}, ...)", links[..8].join(", ")),
        },
        interval.as_secs(),
        plan.mesh.endpoints.switch_after_s
    );
    loop {
        for event in watch.step(Instant::now(), &System) {
            println!("{event}");
        }
        std::io::stdout().flush()?;
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(interval);
    }
}
