//! `hortus lab`: bring an inventory up in network namespaces (root only),
//! break it, watch Babel repair it, tear it down. The work is done by the
//! `hortus-lab` crate; this module parses arguments and prints.

use crate::daemon::Daemon;
use crate::files::read_inventory;
use crate::output::outln;
use anyhow::{Context, Result};
use clap::Subcommand;
use hortus_lab::{CutMode, Lab, UpOptions, DEFAULT_PREFIX, DEFAULT_STATE_DIR};
use hortus_plan::IpFamily;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `hortus lab`.
#[derive(clap::Args)]
pub struct Args {
    /// The lab's state directory (state file, keys, configs, logs).
    #[arg(long, global = true, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: LabCommand,
}

#[derive(Subcommand)]
enum LabCommand {
    /// Bring INVENTORY up: one namespace per node, WireGuard, forwarders, routing daemons.
    Up {
        /// The inventory (TOML, or JSON by extension).
        inventory: PathBuf,
        /// Routing daemon, overriding the inventory's `mesh.routing`.
        #[arg(long, value_enum)]
        daemon: Option<Daemon>,
        /// Prefix of every namespace name.
        #[arg(long = "name", default_value = DEFAULT_PREFIX)]
        prefix: String,
    },
    /// Per node: links (up, last handshake) and the selected route to every other node.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Wait until every node reaches every other over Babel routes; print the
    /// seconds since the daemons started.
    Wait {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 120.0)]
        timeout: f64,
    },
    /// Ping B's ULA from A's ULA, or any IP address from A's namespace.
    Ping {
        /// Source node.
        a: String,
        /// Destination: a node (its ULA, from A's ULA), or an IPv6 address
        /// (from A's ULA) or IPv4 address (from A's IPv4 overlay address when
        /// the mesh has one, else the kernel's choice).
        #[arg(value_name = "B|ADDRESS")]
        b: String,
        /// Echo requests.
        #[arg(long, short = 'c', default_value_t = 5)]
        count: u32,
        /// Seconds between requests.
        #[arg(long, short = 'i', default_value_t = 0.2)]
        interval: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a command in NODE's namespace (with its WireGuard sockets, so
    /// `wg show` works); exits with the command's status.
    Exec {
        /// The node.
        node: String,
        /// The command and its arguments (after `--`).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Cut A's link to B in A's namespace (underlay packets dropped by nftables).
    Cut {
        /// The node whose side is cut.
        a: String,
        /// Its peer.
        b: String,
        /// Set A's WireGuard interface down instead of dropping packets.
        #[arg(long, conflicts_with = "family")]
        interface_down: bool,
        /// Drop only this underlay family's packets (`ipv4` or `ipv6`): the
        /// pair can still talk over the other.
        #[arg(long, value_name = "ipv4|ipv6", value_parser = crate::values::ip_family)]
        family: Option<IpFamily>,
    },
    /// Undo `cut` between A and B.
    Heal {
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// Kill NODE like a power loss: SIGKILL its daemon, WireGuard and forwarders, uplink down.
    Kill {
        /// The node.
        node: String,
        /// Only crash the forwarder (phantun) of NODE's link to PEER.
        #[arg(long, value_name = "PEER")]
        forwarder: Option<String>,
    },
    /// Boot a killed NODE again, or restart the forwarders of NODE that are not running.
    Revive {
        /// The node.
        node: String,
    },
    /// Give NODE a new underlay address (its DNS names follow): the links
    /// dialling it by name find it again through `hortus endpoints`.
    Move {
        /// The node.
        node: String,
    },
    /// Drop PERCENT % of what NODES (every node if none) receive over the
    /// underlay, at random (nftables numgen); 0 ends it.
    Loss {
        /// Share of packets dropped, 0..=100.
        percent: u8,
        /// The nodes (default: all).
        nodes: Vec<String>,
    },
    /// Print every node's route to every other node, then each change as it
    /// happens (`hortus status --watch` in each namespace).
    Watch {
        /// Stop after this long (seconds, or with s/m/h); default: until interrupted.
        #[arg(long = "for", value_name = "DURATION", value_parser = super::status::parse_duration)]
        watch_for: Option<Duration>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Tear everything down (also after a crash), by the PIDs and namespaces in the state.
    Down,
    /// The UDP-over-TCP relay the lab runs for `mesh.forwarder = "none"`.
    #[command(hide = true, subcommand)]
    Relay(RelayCommand),
}

#[derive(Subcommand)]
enum RelayCommand {
    /// Dialer side: UDP on LISTEN, TCP to REMOTE.
    Client {
        /// Local UDP address WireGuard sends to.
        #[arg(long)]
        listen: SocketAddr,
        /// The peer's relay server, host:port.
        #[arg(long)]
        remote: String,
    },
    /// Listener side: TCP on PORT, datagrams delivered to DELIVER.
    Server {
        /// TCP port to accept on.
        #[arg(long)]
        port: u16,
        /// Local WireGuard address.
        #[arg(long)]
        deliver: SocketAddr,
    },
}

/// Runs `hortus lab ...`.
pub fn run(args: Args) -> Result<ExitCode> {
    let dir = args.state_dir;
    let open = || Lab::open(&dir).context("cannot open the lab");
    match args.command {
        LabCommand::Up { inventory, daemon, prefix } => {
            let inventory = read_inventory(&inventory)?;
            let opts = UpOptions {
                state_dir: dir.clone(),
                prefix,
                daemon: daemon.map(|d| d.0),
                hortus_exe: std::env::current_exe().context(
                    "cannot find the hortus executable (the lab runs it for relays, endpoints and forwarder clients)",
                )?,
            };
            Lab::up(&inventory, &opts, &mut |line| eprintln!("{line}"))?;
        }
        LabCommand::Status { json } => {
            let status = open()?.status()?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&status)?)?;
            } else {
                for s in &status {
                    crate::output::write_stdout(s.to_string().as_bytes())?;
                }
            }
        }
        LabCommand::Wait { timeout } => {
            let timeout = Duration::try_from_secs_f64(timeout).context("--timeout must be a non-negative number")?;
            let lab = open()?;
            let waited = lab.wait_connected(timeout)?;
            let since = match lab.since_last_event() {
                Some((what, since)) => format!("{:.2} s since the last event, `{what}`", since.as_secs_f64()),
                None => format!("{:.2} s since the daemons started", lab.since_daemons_started().as_secs_f64()),
            };
            outln!("full connectivity after waiting {:.2} s ({since})", waited.as_secs_f64())?;
        }
        LabCommand::Ping { a, b, count, interval, json } => {
            let r = open()?.ping(&a, &b, count, interval)?;
            if json {
                outln!("{}", serde_json::to_string(&r)?)?;
            } else {
                let rtt = r
                    .rtt_ms
                    .map_or("no reply".into(), |(min, avg, max)| format!("rtt min/avg/max {min}/{avg}/{max} ms"));
                outln!("{a} -> {b}: {} sent, {} received, {} lost; {rtt}", r.transmitted, r.received, r.lost())?;
            }
            if r.received == 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        LabCommand::Exec { node, command } => {
            return Ok(crate::exit::of_child(open()?.exec(&node, &command)?));
        }
        LabCommand::Cut { a, b, interface_down, family } => {
            let mode = if interface_down { CutMode::InterfaceDown } else { CutMode::Underlay };
            open()?.cut_family(&a, &b, mode, family)?;
        }
        LabCommand::Heal { a, b } => open()?.heal(&a, &b)?,
        LabCommand::Kill { node, forwarder: None } => open()?.kill(&node)?,
        LabCommand::Kill { node, forwarder: Some(peer) } => open()?.kill_forwarder(&node, &peer)?,
        LabCommand::Revive { node } => open()?.revive(&node)?,
        LabCommand::Move { node } => {
            let address = open()?.move_node(&node)?;
            println!("hortus lab: {node} moved to {address}");
        }
        LabCommand::Loss { percent, nodes } => open()?.set_loss(percent, &nodes)?,
        LabCommand::Watch { watch_for, json } => {
            let mut failed = None;
            open()?.watch(watch_for, &mut |event| {
                if failed.is_some() {
                    return;
                }
                failed = super::status::print_event(&event, json).err();
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        LabCommand::Down => {
            let report = hortus_lab::down(&dir)?;
            eprintln!(
                "hortus lab: stopped {} process(es), deleted {} namespace(s)",
                report.processes, report.namespaces
            );
            if !report.leftovers.is_empty() {
                anyhow::bail!("could not remove: {}", report.leftovers.join("; "));
            }
        }
        LabCommand::Relay(RelayCommand::Client { listen, remote }) => {
            hortus_lab::relay::run_client(listen, &remote)
                .with_context(|| format!("relay client {listen} -> {remote}"))?;
        }
        LabCommand::Relay(RelayCommand::Server { port, deliver }) => {
            hortus_lab::relay::run_server(port, deliver)
                .with_context(|| format!("relay server :{port} -> {deliver}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
