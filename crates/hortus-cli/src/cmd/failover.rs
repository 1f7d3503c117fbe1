//! `hortus failover [--plan FILE] [--host NAME] [--state FILE]`: on a live
//! host running BIRD, probe every link (ICMPv6 echo over it to the peer's
//! mesh address, every `mesh.failover.probe_interval_ms`) and take a link
//! that stops answering out of BIRD's Babel at once (its link-local address
//! removed), back in after the hold-down ([`hortus_host::failover`]). Each
//! change is printed (the journal, under systemd); FILE holds every link's
//! state and probe loss for `hortus status`. A changed plan file is
//! followed within a second. On SIGTERM or SIGINT, or when the plan stops
//! probing, every link-local is put back before exiting. Needs CAP_NET_RAW
//! and CAP_NET_ADMIN.

use crate::files::InstalledPlan;
use anyhow::{Context, Result};
use hortus_host::failover::{self, Event, Prober};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often the state file is written and the addresses checked.
const EVERY: Duration = Duration::from_secs(1);

/// Arguments of `hortus failover`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    plan: InstalledPlan,
    /// Where to write every link's state and loss (replaced each second).
    #[arg(long, value_name = "FILE", default_value = failover::DEFAULT_STATE)]
    state: PathBuf,
}

/// Probes until stopped.
pub fn run(args: Args) -> Result<ExitCode> {
    let plan = args.plan.read()?;
    let settings = &plan.mesh.failover;
    if !settings.probe {
        println!(
            "hortus failover: host {}: the plan probes no link (babeld, or mesh.failover.probe = false)",
            plan.host
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dir) = args.state.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    failover::stop_on_signals();
    let mut prober = Prober::new(&plan, Instant::now()).context("cannot open a raw ICMPv6 socket (CAP_NET_RAW)")?;
    println!(
        "hortus failover: host {}: probing {} link(s) every {} ms, down after {} ms without a reply, back after {} ms of replies",
        plan.host,
        prober.links.len(),
        settings.probe_interval_ms,
        settings.detection().as_millis(),
        settings.hold_down_ms
    );
    let mut last_errors: Vec<String> = vec![];
    let mut checked = Instant::now() - EVERY;
    let mut plan_seen = stamp(&args.plan.plan);
    while !failover::stopping() {
        let start = Instant::now();
        let mut events = prober.send(start);
        prober.receive_until(start + prober.interval());
        let now = Instant::now();
        let changed = prober.tick(now);
        let periodic = now.saturating_duration_since(checked) >= EVERY;
        if !changed.is_empty() || periodic {
            events.extend(prober.enforce(false));
        }
        for event in changed {
            println!("{event}");
        }
        // A failure is printed when it starts, not every probe.
        let errors: Vec<String> = events.iter().map(Event::to_string).collect();
        for error in errors.iter().filter(|e| !last_errors.contains(e)) {
            println!("{error}");
        }
        last_errors = errors;
        if periodic {
            checked = now;
            let plan_now = stamp(&args.plan.plan);
            if plan_now != plan_seen {
                plan_seen = plan_now;
                match args.plan.read() {
                    Ok(plan) if plan.mesh.failover.probe => {
                        prober.replan(&plan, now);
                        println!("hortus failover: the plan changed: probing {} link(s)", prober.links.len());
                    }
                    Ok(plan) => {
                        println!("hortus failover: the plan changed and probes no link any more");
                        // Its links, so that the link-locals put back are the planned ones.
                        prober.replan(&plan, now);
                        break;
                    }
                    Err(e) => {
                        println!("hortus failover: the plan changed but cannot be read ({e:#}); probing as before")
                    }
                }
            }
            if let Err(e) = write_state(&args.state, &prober) {
                println!("cannot write {}: {e}", args.state.display());
            }
        }
        std::io::stdout().flush()?;
    }
    let failed = prober.enforce(true);
    for event in &failed {
        println!("{event}");
    }
    println!("hortus failover: stopped; every link-local is back");
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(crate::exit::ERROR) })
}

/// When the plan file was last replaced, and its size: a change means a
/// new plan (`None` while it cannot be read).
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The state file, replaced whole.
fn write_state(path: &Path, prober: &Prober) -> Result<()> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    hortus_fs::write_atomic(path, &serde_json::to_vec_pretty(&prober.report(now))?, 0o644)?;
    Ok(())
}
