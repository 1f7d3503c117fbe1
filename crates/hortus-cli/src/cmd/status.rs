//! `hortus status`: this host's mesh compared with its plan (live
//! WireGuard, Babel's view, kernel routes). The work is done by the
//! `hortus-status` crate; this module parses arguments and prints.

use crate::daemon::Daemon;
use crate::exit;
use crate::files::read_plan_file;
use crate::output::{outln, write_stdout};
use anyhow::{bail, Context, Result};
use hortus_host::failover::StateFile;
use hortus_plan::RoutingDaemon;
use hortus_status::assess::PlanView;
use hortus_status::live::{BabelSource, Host};
use hortus_status::watch::RouteEvent;
use hortus_status::{assess, babeld, bird, collect, render};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the NixOS module installs the plan.
pub const DEFAULT_PLAN: &str = "/etc/hortus/plan.json";

/// Arguments of `hortus status`.
#[derive(clap::Args)]
pub struct Args {
    /// The plan: the whole mesh's (`hortus plan`) or this host's view (`--host`).
    #[arg(long, default_value = DEFAULT_PLAN)]
    plan: PathBuf,
    /// This host's node name (default: the view's host; for a whole plan, the machine's hostname).
    #[arg(long)]
    host: Option<String>,
    /// Routing daemon to ask (default: the plan's `mesh.routing`).
    #[arg(long, value_enum)]
    daemon: Option<Daemon>,
    /// BIRD's control socket.
    #[arg(long, default_value = bird::DEFAULT_SOCKET)]
    bird_socket: PathBuf,
    /// babeld's local socket (its `local-path`).
    #[arg(long, default_value = babeld::DEFAULT_SOCKET)]
    babeld_socket: PathBuf,
    /// `hortus failover`'s state file (read when the plan probes links).
    #[arg(long, value_name = "FILE", default_value = hortus_host::failover::DEFAULT_STATE)]
    failover_state: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also write node_exporter textfile metrics to this file (atomically).
    #[arg(long, value_name = "FILE")]
    prometheus: Option<PathBuf>,
    /// Exit with status 3 when a planned link has been down for longer than
    /// this (seconds, or with s/m/h), counted from its last handshake (a
    /// link never up counts at once). 2 is a usage error (`hortus --help`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    down_after: Option<Duration>,
    /// Instead of a snapshot, print every change of the route to each
    /// node as it happens (after the current route per node); with
    /// `--json`, one JSON object per line.
    #[arg(long, conflicts_with_all = ["prometheus", "down_after"])]
    watch: bool,
    /// With `--watch`: stop after this long (seconds, or with s/m/h).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration, requires = "watch")]
    watch_for: Option<Duration>,
}

/// Runs `hortus status`.
pub fn run(args: Args) -> Result<ExitCode> {
    let plan = PlanView::new(read_plan_file(&args.plan, args.host.as_deref())?);
    if args.watch {
        return watch(&plan, &args);
    }
    let daemon = args.daemon.map_or(plan.routing, |d| d.0);
    let babel: Box<dyn BabelSource> = match daemon {
        RoutingDaemon::Bird => Box::new(bird::Bird { socket: args.bird_socket.clone() }),
        RoutingDaemon::Babeld => Box::new(babeld::Babeld { socket: args.babeld_socket.clone() }),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let probes = plan.probes.then(|| StateFile::read(&args.failover_state).map_err(|e| e.to_string()));
    let snapshot = collect(&plan.interfaces(), &plan.prefix_keys(), &Host, babel.as_ref(), &Host, probes, now)?;
    let status = assess(&plan, &snapshot);
    if let Some(path) = &args.prometheus {
        hortus_fs::write_atomic(path, render::prometheus(&status).as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&status)?)?;
    } else {
        write_stdout(render::text(&status).as_bytes())?;
    }
    if let Some(limit) = args.down_after {
        let down = status.down_longer_than(limit);
        if !down.is_empty() {
            let names: Vec<&str> = down.iter().map(|l| l.interface.as_str()).collect();
            eprintln!("hortus status: down for longer than {} s: {}", limit.as_secs(), names.join(", "));
            return Ok(exit::code(exit::LINK_DOWN));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hortus status --watch`: one line per event until the time is up or
/// stdout fails.
fn watch(plan: &PlanView, args: &Args) -> Result<ExitCode> {
    let mut failed = None;
    let mut emit = |event: &RouteEvent| match print_event(event, args.json) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            failed = Some(e);
            ControlFlow::Break(())
        }
    };
    hortus_status::watch::watch(plan, args.watch_for, &mut emit)?;
    failed.map_or(Ok(ExitCode::SUCCESS), Err)
}

/// Prints one `--watch` event: its text, or one line of JSON.
pub(crate) fn print_event(event: &RouteEvent, json: bool) -> Result<()> {
    let line = if json { serde_json::to_string(event)? } else { event.to_string() };
    outln!("{line}")
}

/// `90`, `90s`, `5m`, `2h`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = number.parse().with_context(|| format!("`{text}`: expected seconds, or a number with s, m or h"))?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => bail!("`{text}`: unit must be s, m or h"),
    };
    Ok(Duration::from_secs(n * factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("x").is_err());
    }
}
