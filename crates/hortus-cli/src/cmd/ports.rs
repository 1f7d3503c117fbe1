//! `hortus ports INVENTORY [--host NAME]`: the pair-port table, or what one
//! host's router or cloud firewall must let through.

use crate::files::{read_host_plan, read_plan};
use crate::output::outln;
use anyhow::Result;
use hortus_plan::{Forwarder, HostPlan, Path, Transport};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hortus ports`.
#[derive(clap::Args)]
pub struct Args {
    /// Inventory file (TOML, or JSON when it ends in .json).
    inventory: PathBuf,
    /// List the ports this host's router (port forwards) or cloud firewall
    /// must let through, inbound and outbound, with why.
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
}

/// One line per linked pair: `a b port path` (lower id first), then skipped
/// pairs; with `--host`, that host's ports ([`host_ports`]).
pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(host) = &args.host {
        let plan = read_host_plan(&args.inventory, host)?;
        for line in host_ports(&plan) {
            outln!("{line}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
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

/// The host's ports, one per line: `in PROTO PORT from PEER: why` for what
/// peers open towards it (its `firewall.udp_ports`, `tcp_ports` and
/// `external_forwarder_ports`: port-forward these on a NAT router, open them
/// in a cloud firewall), then `out PROTO PORT to PEER HOST: why` for what
/// it opens itself (egress filters), then a pasteable summary of the
/// inbound ports per protocol.
pub fn host_ports(plan: &HostPlan) -> Vec<String> {
    let node = &plan.node;
    let firewall = &node.firewall;
    let peer = |port: &u16| node.links.iter().find(|l| l.port == *port).map_or("?", |l| l.peer.as_str());
    // What the plan's firewall opens, with the peer of the link on that port.
    let mut inbound: Vec<(&str, u16, String)> = vec![];
    for port in &firewall.udp_ports {
        let why = "WireGuard (the pair port; the peer dials)";
        inbound.push(("udp", *port, format!("in  udp {port} from {}: {why}", peer(port))));
    }
    for port in &firewall.tcp_ports {
        inbound.push((
            "tcp",
            *port,
            format!("in  tcp {port} from {}: phantun server of the forwarded link", peer(port)),
        ));
    }
    for port in &firewall.external_forwarder_ports {
        let why = "your forwarder's server (forwarder = \"none\")";
        inbound.push(("(your forwarder's protocol)", *port, format!("in  ? {port} from {}: {why}", peer(port))));
    }
    inbound.sort_by_key(|(_, port, _)| *port);
    let mut outbound = vec![];
    for link in &node.links {
        match (&link.forwarder, link.path) {
            (Some(Forwarder::Client { transport, remote, .. }), _) => {
                let proto = if *transport == Transport::Phantun { "tcp" } else { "?" };
                outbound.push(format!(
                    "out {proto} {} to {} {}: {} client of the forwarded link",
                    link.port,
                    link.peer,
                    remote.host,
                    transport.name()
                ));
            }
            (None, Path::Direct) => {
                if let Some(endpoint) = link.endpoint() {
                    outbound.push(format!(
                        "out udp {} to {} {}: WireGuard (this node dials)",
                        link.port, link.peer, endpoint.host
                    ));
                }
            }
            _ => {}
        }
    }
    let mut lines = vec![if inbound.is_empty() {
        format!("# `{}` accepts no inbound connection: it dials every peer it links to.", plan.host)
    } else {
        format!(
            "# `{}` must accept these from the Internet (port-forward them on its NAT router, or open them in its cloud firewall):",
            plan.host
        )
    }];
    lines.extend(inbound.iter().map(|(_, _, line)| line.clone()));
    if !outbound.is_empty() {
        lines.push("# It opens these itself (only an egress filter needs them):".into());
        lines.extend(outbound);
    }
    let mut protocols: Vec<&str> = inbound.iter().map(|(p, _, _)| *p).collect();
    protocols.sort_unstable();
    protocols.dedup();
    for protocol in protocols {
        let ports: Vec<String> =
            inbound.iter().filter(|(p, _, _)| *p == protocol).map(|(_, port, _)| port.to_string()).collect();
        lines.push(format!("# inbound {protocol}: {}", ports.join(",")));
    }
    lines
}
