//! `hortus`: plan, render and test a WireGuard + Babel full mesh from one
//! inventory. Each subcommand lives in its own module under `cmd/`.

mod cmd;
mod daemon;
mod exit;
mod files;
mod output;
mod values;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// Plan, render and test a WireGuard + Babel full mesh from one inventory.
#[derive(Parser)]
#[command(name = "hortus", version, about, after_help = exit::HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the mesh plan (or one host's view) as JSON.
    Plan(cmd::plan::Args),
    /// Validate an inventory, printing every problem.
    Check(cmd::check::Args),
    /// Show the pair-port table.
    Ports(cmd::ports::Args),
    /// Generate WireGuard key pairs into files (private keys mode 0600).
    Keygen(cmd::keys::KeygenArgs),
    /// Read a private key on stdin and print its public key (like `wg pubkey`).
    Pubkey,
    /// Render a host's BIRD, babeld and systemd-networkd configs.
    Render(Box<cmd::render::Args>),
    /// Draw the mesh (SVG in-process, or DOT), optionally with status overlaid.
    Graph(cmd::graph::Args),
    /// What deploying NEW over OLD changes, per host, and what each host
    /// must do (inventories or plans); exit 4 when something changes.
    Diff(cmd::diff::Args),
    /// Compare this host's live mesh (WireGuard, Babel, routes) with its plan.
    Status(cmd::status::Args),
    /// Bring a plan up in network namespaces and test it (root only).
    Lab(cmd::lab::Args),
    /// On a live host: delete mesh interfaces the plan no longer has or that
    /// differ from it, then reload systemd-networkd (root only).
    Reconcile(cmd::reconcile::Args),
    /// On a live host: move each dialled link that receives nothing to its
    /// next endpoint candidate, re-resolving DNS names (root only).
    Endpoints(cmd::endpoints::Args),
    /// On a live host: run a forwarder client (phantun) on its remote DNS
    /// name's current address, restarting it when the name moves.
    ForwarderClient(cmd::forwarder_client::Args),
    /// On a live host running BIRD: probe every link and take a dead one
    /// out of BIRD's Babel within the plan's detection time (root only).
    Failover(cmd::failover::Args),
    /// Before babeld starts: give its state file a sequence number that
    /// grows with the clock, so that a babeld back from a crash is believed.
    BabeldSeqno(cmd::babeld_seqno::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with success; the rest is a usage error.
            let _ = err.print();
            return exit::code(if err.use_stderr() { exit::USAGE } else { exit::SUCCESS });
        }
    };
    let result = match cli.command {
        Command::Plan(args) => cmd::plan::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Ports(args) => cmd::ports::run(args),
        Command::Keygen(args) => cmd::keys::keygen(args),
        Command::Pubkey => cmd::keys::pubkey(),
        Command::Render(args) => cmd::render::run(*args),
        Command::Graph(args) => cmd::graph::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Lab(args) => cmd::lab::run(args),
        Command::Reconcile(args) => cmd::reconcile::run(args),
        Command::Endpoints(args) => cmd::endpoints::run(args),
        Command::ForwarderClient(args) => cmd::forwarder_client::run(args),
        Command::Failover(args) => cmd::failover::run(args),
        Command::BabeldSeqno(args) => cmd::babeld_seqno::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) if err.is::<output::StdoutClosed>() => ExitCode::SUCCESS,
        Err(err) => {
            // Redacted, escaped and cut: errors may quote inventory text or paths.
            let message = hortus_core::excerpt::sanitize_message(&format!("{err:#}"), 1000);
            let _ = writeln!(std::io::stderr(), "hortus: error: {message}");
            exit::code(exit::ERROR)
        }
    }
}
