//! Building the underlay: namespaces, veth pairs, routers with their
//! nftables (NAT, censor), and each node's base (sysctls, anchor, the lab's
//! nftables table used for cuts and Babel counters).

use crate::error::Result;
use crate::exec::{ip, nft, sysctls};
use crate::lans::{LanSegment, BRIDGE};
use crate::underlay::{
    ipv6_of, Router, RouterRole, Uplink, CENSORED_ZONE, CENSORED_ZONE_V6, UPLINK, UPLINK_PREFIX_LEN,
    UPLINK_PREFIX_LEN_V6,
};
use hortus_plan::{InterfaceAddress, IpFamily, NodePlan, Underlay};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The Babel UDP port, counted in each node's nftables table.
pub const BABEL_PORT: u16 = 6696;
/// Name of the lab's nftables table in every namespace.
pub const TABLE: &str = "hortus_lab";
/// The chain of a node's table that drops a random share of what reaches
/// the node over its underlay (`hortus lab loss`), before NAT.
pub const LOSS_CHAIN: &str = "loss";

/// Connects `child_ns` to its parent with a veth pair and gives it its
/// addresses and default routes: IPv4 always (an IPv6-only node's is
/// dropped by its nftables table and has no default route), the IPv6
/// mirror when `families` has IPv6. A routed parent end gets both
/// families' gateways.
pub fn attach(prefix: &str, uplink: &Uplink, child_ns: &str, families: Underlay) -> Result<()> {
    let parent = format!("{prefix}{}", uplink.parent);
    let pif = uplink.parent_interface.as_str();
    ip(&parent, &["link", "add", pif, "type", "veth", "peer", "name", UPLINK, "netns", child_ns])?;
    if uplink.routed {
        ip(&parent, &["address", "add", &format!("{}/{}", uplink.gateway, uplink.prefix_len), "dev", pif])?;
        let gateway6 = format!("{}/{UPLINK_PREFIX_LEN_V6}", ipv6_of(uplink.gateway));
        ip(&parent, &["address", "add", &gateway6, "dev", pif, "nodad"])?;
    } else {
        ip(&parent, &["link", "set", pif, "master", "lan"])?;
    }
    ip(&parent, &["link", "set", pif, "up"])?;
    ip(child_ns, &["address", "add", &format!("{}/{}", uplink.address, uplink.prefix_len), "dev", UPLINK])?;
    uplink_up(child_ns, uplink.address, uplink.gateway, families)
}

/// Brings a box's uplink up with its IPv6 mirror address (the kernel drops
/// IPv6 addresses when a link goes down; IPv4 ones stay) and its default
/// routes: at `attach`, when a killed node is revived, and at a new
/// address after a move.
pub fn uplink_up(ns: &str, address: Ipv4Addr, gateway: Ipv4Addr, families: Underlay) -> Result<()> {
    if families.has(IpFamily::Ipv6) {
        let address6 = format!("{}/{UPLINK_PREFIX_LEN_V6}", ipv6_of(address));
        ip(ns, &["address", "replace", &address6, "dev", UPLINK, "nodad"])?;
    }
    ip(ns, &["link", "set", UPLINK, "up"])?;
    default_routes(ns, gateway, families)
}

/// The default routes of a box whose uplink gateway is `gateway` (and its
/// IPv6 mirror), one per family it has.
fn default_routes(ns: &str, gateway: Ipv4Addr, families: Underlay) -> Result<()> {
    if families.has(IpFamily::Ipv4) {
        ip(ns, &["route", "replace", "default", "via", &gateway.to_string()])?;
    }
    if families.has(IpFamily::Ipv6) {
        ip(ns, &["-6", "route", "replace", "default", "via", &ipv6_of(gateway).to_string()])?;
    }
    Ok(())
}

/// Brings up loopback in a fresh namespace.
pub fn loopback_up(ns: &str) -> Result<()> {
    ip(ns, &["link", "set", "lo", "up"]).map(drop)
}

/// Makes the core a router.
pub fn configure_core(ns: &str) -> Result<()> {
    sysctls(ns, &FORWARDING)
}

/// A router forwards both families.
const FORWARDING: [(&str, &str); 2] = [("net/ipv4/ip_forward", "1"), ("net/ipv6/conf/all/forwarding", "1")];

/// Configures router `router` (already attached) in namespace `ns`;
/// `core_ns` learns the route to the censored zone when it is the censor.
pub fn configure_router(ns: &str, router: &Router, core_ns: &str) -> Result<()> {
    sysctls(ns, &FORWARDING)?;
    match router.role {
        RouterRole::Censor => {
            let (zone, len) = CENSORED_ZONE;
            ip(core_ns, &["route", "add", &format!("{zone}/{len}"), "via", &router.uplink.address.to_string()])?;
            let (zone6, len6) = CENSORED_ZONE_V6;
            let via6 = ipv6_of(router.uplink.address).to_string();
            ip(core_ns, &["-6", "route", "add", &format!("{zone6}/{len6}"), "via", &via6])?;
            nft(ns, censor_rules())
        }
        RouterRole::Nat { lan_gateway } => {
            ip(ns, &["link", "add", "lan", "type", "bridge"])?;
            ip(ns, &["address", "add", &format!("{lan_gateway}/{UPLINK_PREFIX_LEN}"), "dev", "lan"])?;
            let gateway6 = format!("{}/{UPLINK_PREFIX_LEN_V6}", ipv6_of(lan_gateway));
            ip(ns, &["address", "add", &gateway6, "dev", "lan", "nodad"])?;
            ip(ns, &["link", "set", "lan", "up"])?;
            nft(ns, nat_rules())
        }
    }
}

/// A LAN segment's host namespace `ns`: the bridge with the host's
/// address, and its default route via the segment's first router (the
/// node is the LAN's gateway: the host reaches the mesh and the other LANs
/// through it).
pub fn configure_lan_host(ns: &str, lan: &LanSegment) -> Result<()> {
    ip(ns, &["link", "add", BRIDGE, "type", "bridge"])?;
    let mut add = vec!["address", "add"];
    let host = format!("{}/{}", lan.host, lan.prefix_len);
    add.extend([host.as_str(), "dev", BRIDGE]);
    if lan.host.is_ipv6() {
        add.push("nodad");
    }
    ip(ns, &add)?;
    ip(ns, &["link", "set", BRIDGE, "up"])?;
    ip(ns, &["route", "add", "default", "via", &lan.gateway().to_string()]).map(drop)
}

/// Puts router `index` of `lan` (its namespace `node_ns`) on the segment
/// whose host namespace is `lan_ns`: a veth `lan<k>` with the router's
/// address, its bridge port `n<id>`. No route: the connected one is what
/// the node's routing daemon announces.
pub fn attach_lan_router(lan_ns: &str, lan: &LanSegment, index: usize, node_ns: &str) -> Result<()> {
    let router = &lan.routers[index];
    let port = format!("n{}", router.id);
    let iface = lan.interface();
    ip(lan_ns, &["link", "add", &port, "type", "veth", "peer", "name", &iface, "netns", node_ns])?;
    ip(lan_ns, &["link", "set", &port, "master", BRIDGE])?;
    ip(lan_ns, &["link", "set", &port, "up"])?;
    let address = format!("{}/{}", router.address, lan.prefix_len);
    let mut add = vec!["address", "add", address.as_str(), "dev", iface.as_str()];
    if router.address.is_ipv6() {
        add.push("nodad");
    }
    ip(node_ns, &add)?;
    ip(node_ns, &["link", "set", &iface, "up"]).map(drop)
}

/// The censor drops UDP crossing its uplink; TCP and ICMP pass.
fn censor_rules() -> String {
    format!(
        "table inet {TABLE} {{
  chain forward {{
    type filter hook forward priority 0; policy accept;
    iifname \"{UPLINK}\" meta l4proto udp counter drop
    oifname \"{UPLINK}\" meta l4proto udp counter drop
  }}
}}
"
    )
}

/// A NAT router masquerades its LAN (both families) and admits only
/// replies from outside.
fn nat_rules() -> String {
    format!(
        "table inet {TABLE}_nat {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname \"{UPLINK}\" masquerade
  }}
}}
table inet {TABLE} {{
  chain forward {{
    type filter hook forward priority 0; policy accept;
    iifname \"{UPLINK}\" ct state established,related accept
    iifname \"{UPLINK}\" counter drop
  }}
}}
"
    )
}

/// A node's base: an ephemeral port range clear of its link ports (a lab
/// need: its nodes share one kernel's port allocator per namespace), the
/// anchor with its addresses, and the lab's nftables table. The plan's own
/// sysctls are applied once the links exist ([`apply_sysctl`]).
pub fn configure_node(ns: &str, node: &NodePlan) -> Result<()> {
    let ports: Vec<u16> = node.links.iter().map(|l| l.port).collect();
    if let Some((lo, hi)) = ephemeral_range(&ports) {
        sysctls(ns, &[("net/ipv4/ip_local_port_range", &format!("{lo} {hi}"))])?;
    }
    add_anchor(ns, node)?;
    nft(ns, node_rules(node.underlay))
}

/// Applies a plan's `node.sysctl` in namespace `ns`. Keys are in sysctl.d
/// syntax: dots separate the path, a `/` stands for a dot inside a name.
pub fn apply_sysctl(ns: &str, sysctl: &BTreeMap<String, u32>) -> Result<()> {
    let values: Vec<(String, String)> = sysctl.iter().map(|(key, value)| (proc_path(key), value.to_string())).collect();
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sysctls(ns, &values)
}

/// `net.ipv4.conf.wg/x.rp_filter` → `net/ipv4/conf/wg.x/rp_filter`.
fn proc_path(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

/// The anchor: a dummy interface where the kernel has them, else ifb.
fn add_anchor(ns: &str, node: &NodePlan) -> Result<()> {
    let anchor = node.anchor.as_str();
    if ip(ns, &["link", "add", anchor, "type", "dummy"]).is_err() {
        ip(ns, &["link", "add", anchor, "type", "ifb"])?;
    }
    ip(ns, &["link", "set", anchor, "up"])?;
    for address in &node.anchor_addresses {
        add_address(ns, anchor, address)?;
    }
    Ok(())
}

/// `ip address replace ARGS dev IFACE`, without duplicate address
/// detection for IPv6 (the lab's addresses are unique by construction and
/// must be usable at once).
pub fn add_address(ns: &str, iface: &str, address: &InterfaceAddress) -> Result<()> {
    let mut argv: Vec<String> = vec!["address".into(), "replace".into(), address.cidr()];
    if let Some(peer) = address.peer_cidr() {
        argv.extend(["peer".into(), peer]);
    }
    if address.scope_link {
        argv.extend(["scope".into(), "link".into()]);
    }
    if let Some(metric) = address.route_metric {
        argv.extend(["metric".into(), metric.to_string()]);
    }
    argv.extend(["dev".into(), iface.into()]);
    if address.address.is_ipv6() {
        argv.push("nodad".into());
    }
    ip(ns, &argv.iter().map(String::as_str).collect::<Vec<_>>()).map(drop)
}

/// A node's nftables: named sets of cut ports (dropped on the underlay and
/// loopback only, never inside tunnels; also when forwarded between the
/// uplink and a phantun TUN; `cut_udp4`/`cut_udp6` for one family only),
/// Babel packet counters, and on a node without IPv4 every IPv4 packet of
/// its uplink dropped.
fn node_rules(families: Underlay) -> String {
    let drops = |dir: &str| {
        let mut rules: String = [
            "udp dport @cut_udp",
            "udp sport @cut_udp",
            "tcp dport @cut_tcp",
            "tcp sport @cut_tcp",
            "meta nfproto ipv4 udp dport @cut_udp4",
            "meta nfproto ipv4 udp sport @cut_udp4",
            "meta nfproto ipv6 udp dport @cut_udp6",
            "meta nfproto ipv6 udp sport @cut_udp6",
        ]
        .iter()
        .map(|m| format!("    {dir}name {{ \"{UPLINK}\", \"lo\" }} {m} drop\n"))
        .collect();
        if !families.has(IpFamily::Ipv4) {
            rules += &format!("    {dir}name \"{UPLINK}\" meta nfproto ipv4 drop\n");
        }
        rules
    };
    format!(
        "table inet {TABLE} {{
  set cut_udp {{ type inet_service; }}
  set cut_tcp {{ type inet_service; }}
  set cut_udp4 {{ type inet_service; }}
  set cut_udp6 {{ type inet_service; }}
  counter babel_in {{ }}
  counter babel_out {{ }}
  chain input {{
    type filter hook input priority 0; policy accept;
    udp dport {BABEL_PORT} counter name \"babel_in\"
{}  }}
  chain output {{
    type filter hook output priority 0; policy accept;
    udp dport {BABEL_PORT} counter name \"babel_out\"
{}  }}
  chain forward {{
    type filter hook forward priority 0; policy accept;
{}{}  }}
  chain {LOSS_CHAIN} {{
    type filter hook prerouting priority -300; policy accept;
  }}
}}
",
        drops("iif"),
        drops("oif"),
        drops("iif"),
        drops("oif")
    )
}

/// An ephemeral port range holding none of `ports`, so no random source
/// port (WireGuard's when it does not listen, the forwarders') ever equals a
/// link port and gets caught by a cut.
pub fn ephemeral_range(ports: &[u16]) -> Option<(u16, u16)> {
    const CANDIDATES: [(u16, u16); 6] =
        [(20000, 29999), (40000, 49999), (10000, 19999), (30000, 39999), (60000, 64999), (2000, 9999)];
    CANDIDATES.into_iter().find(|(lo, hi)| !ports.iter().any(|p| (lo..=hi).contains(&p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_become_proc_paths() {
        assert_eq!(proc_path("net.ipv6.conf.all.forwarding"), "net/ipv6/conf/all/forwarding");
        assert_eq!(proc_path("net.ipv4.conf.wg-a/b.rp_filter"), "net/ipv4/conf/wg-a.b/rp_filter");
    }

    #[test]
    fn ephemeral_range_avoids_link_ports() {
        assert_eq!(ephemeral_range(&[51802, 51805]), Some((20000, 29999)));
        assert_eq!(ephemeral_range(&[25000]), Some((40000, 49999)));
        let everywhere: Vec<u16> = (2000..65000).step_by(1000).collect();
        assert_eq!(ephemeral_range(&everywhere), None);
    }

    #[test]
    fn node_rules_drop_only_outside_tunnels() {
        let rules = node_rules(Underlay::Ipv6);
        assert!(rules.contains("iifname \"up0\" meta nfproto ipv4 drop"));
        assert!(!node_rules(Underlay::Dual).contains("meta nfproto ipv4 drop"));
        assert!(rules.contains("iifname { \"up0\", \"lo\" } udp dport @cut_udp drop"));
        assert!(rules.contains("oifname { \"up0\", \"lo\" } tcp sport @cut_tcp drop"));
        assert!(rules.contains("udp dport 6696 counter name \"babel_out\""));
    }
}
