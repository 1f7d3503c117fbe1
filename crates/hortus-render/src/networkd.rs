//! systemd-networkd files (for hosts that are not NixOS): per link a
//! WireGuard `.netdev` and its `.network`, plus the anchor (a dummy
//! interface carrying the node's own addresses).
//!
//! Keys are checked against systemd.netdev(5)/systemd.network(5) of systemd
//! 252 (Debian 12) and current systemd; `RouteTable=` in `[WireGuard]` and
//! `[WireGuardPeer]` needs systemd 250 or later. Only key *file paths* are
//! written (`PrivateKeyFile=`, `PresharedKeyFile=`), never keys.

use crate::text::{check_path, line};
use crate::{RenderError, RenderedFile, HEADER};
use hortus_plan::{HostPlan, InterfaceAddress, IpFamily, Link, PolicyRouting, MAIN_TABLE};

/// `[Link]` of every hortus `.network`: the mesh never holds up boot.
pub const LINK_SETTINGS: &[(&str, &str)] = &[("RequiredForOnline", "no")];
/// `[Network]` of every hortus `.network`: only the plan's addresses (no
/// automatic link-local, no router advertisements, no DHCP), configured
/// whether or not the link has a carrier.
pub const NETWORK_SETTINGS: &[(&str, &str)] =
    &[("LinkLocalAddressing", "no"), ("IPv6AcceptRA", "no"), ("DHCP", "no"), ("ConfigureWithoutCarrier", "yes")];
/// `RouteTable=` of every WireGuard netdev and peer: routes come from Babel only.
pub const ROUTE_TABLE: &str = "off";
/// `AllowedIPs=` of every peer: anything, since Babel decides what goes where.
pub const ALLOWED_IPS: &[&str] = &["::/0", "0.0.0.0/0"];
/// `Kind=` of the anchor netdev.
pub const ANCHOR_KIND: &str = "dummy";

/// Key file paths the netdevs point at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Absolute path of this host's WireGuard private key file (required;
    /// readable by the `systemd-network` user, e.g. 0640 root:systemd-network).
    pub private_key_file: String,
    /// Absolute path of a preshared key file used on every link, if any.
    pub preshared_key_file: Option<String>,
}

/// The networkd files of `host`, sorted by name: `10-<anchor>.netdev`,
/// `10-<anchor>.network`, then `20-<interface>.netdev`/`.network` per link.
pub fn render(host: &HostPlan, opts: &Options) -> Result<Vec<RenderedFile>, RenderError> {
    if opts.private_key_file.is_empty() {
        return Err(RenderError::Missing {
            renderer: "networkd",
            field: "private_key_file",
            what: "the path of this host's WireGuard private key file",
        });
    }
    check_path("networkd", "private_key_file", &opts.private_key_file)?;
    if let Some(psk) = &opts.preshared_key_file {
        check_path("networkd", "preshared_key_file", psk)?;
    }
    let node = &host.node;
    let mut files = vec![
        file(format!("10-{}.netdev", node.anchor), anchor_netdev(host)),
        file(
            format!("10-{}.network", node.anchor),
            network(host, &node.anchor, &node.anchor_addresses)
                + &node.policy_routing.as_ref().map(policy).unwrap_or_default(),
        ),
    ];
    for link in &node.links {
        files.push(file(format!("20-{}.netdev", link.interface), link_netdev(host, link, opts)));
        files.push(file(format!("20-{}.network", link.interface), network(host, &link.interface, &link.addresses)));
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn file(name: String, contents: String) -> RenderedFile {
    RenderedFile { name, contents }
}

fn header(host: &HostPlan) -> String {
    let mut w = String::new();
    line(&mut w, HEADER);
    line(&mut w, &format!("# Host `{}` (id {}).", host.host, host.node.id));
    line(&mut w, "");
    w
}

fn anchor_netdev(host: &HostPlan) -> String {
    let mut w = header(host);
    line(&mut w, "[NetDev]");
    line(&mut w, &format!("Name={}", host.node.anchor));
    line(&mut w, &format!("Kind={ANCHOR_KIND}"));
    line(&mut w, "Description=hortus anchor: this node's own mesh addresses");
    w
}

fn link_netdev(host: &HostPlan, link: &Link, opts: &Options) -> String {
    let mut w = header(host);
    let path = link.path.name();
    line(&mut w, "[NetDev]");
    line(&mut w, &format!("Name={}", link.interface));
    line(&mut w, "Kind=wireguard");
    line(&mut w, &format!("MTUBytes={}", link.mtu));
    line(&mut w, &format!("Description=hortus link to {} (port {}, {path})", link.peer, link.port));
    line(&mut w, "");
    line(&mut w, "[WireGuard]");
    line(&mut w, &format!("PrivateKeyFile={}", opts.private_key_file));
    if link.listen {
        line(&mut w, &format!("ListenPort={}", link.port));
    }
    if let Some(mark) = host.node.policy_routing.as_ref().and_then(|p| p.wireguard_mark) {
        line(&mut w, "# Marked packets skip the exit's table: the tunnel itself stays on the underlay.");
        line(&mut w, &format!("FirewallMark={mark}"));
    }
    line(&mut w, &format!("RouteTable={ROUTE_TABLE}"));
    line(&mut w, "");
    line(&mut w, "[WireGuardPeer]");
    line(&mut w, &format!("PublicKey={}", link.peer_public_key));
    if let Some(psk) = &opts.preshared_key_file {
        line(&mut w, &format!("PresharedKeyFile={psk}"));
    }
    for allowed in ALLOWED_IPS {
        line(&mut w, &format!("AllowedIPs={allowed}"));
    }
    if let Some(endpoint) = link.endpoint() {
        line(&mut w, &format!("Endpoint={}", endpoint.socket()));
    }
    if let Some(keepalive) = link.keepalive {
        line(&mut w, &format!("PersistentKeepalive={keepalive}"));
    }
    line(&mut w, &format!("RouteTable={ROUTE_TABLE}"));
    w
}

fn network(host: &HostPlan, interface: &str, addresses: &[InterfaceAddress]) -> String {
    let mut w = header(host);
    line(&mut w, "[Match]");
    line(&mut w, &format!("Name={interface}"));
    line(&mut w, "");
    line(&mut w, "[Link]");
    for (key, value) in LINK_SETTINGS {
        line(&mut w, &format!("{key}={value}"));
    }
    line(&mut w, "");
    line(&mut w, "[Network]");
    for (key, value) in NETWORK_SETTINGS {
        line(&mut w, &format!("{key}={value}"));
    }
    for address in addresses {
        line(&mut w, "");
        line(&mut w, "[Address]");
        line(&mut w, &format!("Address={}", address.cidr()));
        if let Some(peer) = address.peer_cidr() {
            line(&mut w, &format!("Peer={peer}"));
        }
        if address.scope_link {
            line(&mut w, "Scope=link");
        }
        if let Some(metric) = address.route_metric {
            line(&mut w, &format!("RouteMetric={metric}"));
        }
    }
    w
}

/// The plan's policy routing, on the anchor's `.network`: the rules, and
/// the `unreachable` defaults of the exit table.
fn policy(p: &PolicyRouting) -> String {
    let mut w = String::new();
    for rule in &p.rules {
        line(&mut w, "");
        line(&mut w, "[RoutingPolicyRule]");
        line(&mut w, &format!("Priority={}", rule.priority));
        line(&mut w, &format!("Family={}", family(rule.family)));
        let table = if rule.table == MAIN_TABLE { "main".to_string() } else { rule.table.to_string() };
        line(&mut w, &format!("Table={table}"));
        if let Some(len) = rule.suppress_prefix_length {
            line(&mut w, &format!("SuppressPrefixLength={len}"));
        }
        if let Some(mark) = rule.fwmark {
            line(&mut w, &format!("FirewallMark={mark}"));
        }
        if rule.invert {
            line(&mut w, "InvertRule=yes");
        }
        if let Some(interface) = &rule.input_interface {
            line(&mut w, &format!("IncomingInterface={interface}"));
        }
        if let Some(from) = &rule.from {
            line(&mut w, &format!("From={from}"));
        }
        if let Some(to) = &rule.to {
            line(&mut w, &format!("To={to}"));
        }
    }
    for prefix in &p.unreachable {
        line(&mut w, "");
        line(&mut w, "[Route]");
        line(&mut w, &format!("Destination={prefix}"));
        line(&mut w, "Type=unreachable");
        line(&mut w, &format!("Table={}", p.table));
        line(&mut w, &format!("Metric={}", p.unreachable_metric));
    }
    w
}

fn family(family: IpFamily) -> &'static str {
    match family {
        IpFamily::Ipv4 => "ipv4",
        IpFamily::Ipv6 => "ipv6",
    }
}
