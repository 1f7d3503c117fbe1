//! Exits and the boundary of the mesh: the default routes each node
//! announces or carries, the policy routing that keeps a `use_exit` node's
//! own tunnels out of them, the masquerading of mesh traffic into subnets
//! and out of exits, and the perimeter. `hortus_plan::exit` says what each
//! plan field means.
//!
//! The rules of a node carrying the default routes, by priority:
//! - [`PRIORITY_MAIN`]: the main table, default routes ignored
//!   (`suppress_prefixlength 0`): the mesh's own routes, subnets and every
//!   connected or specific route win over the exit;
//! - [`PRIORITY_UNDERLAY`] (`use_exit` only): the main table for packets
//!   from the node's own endpoint addresses, to its peers' endpoint
//!   addresses and from its forwarders' TUNs (the tunnels' own traffic);
//! - [`PRIORITY_MESH`]: packets arriving on a mesh interface look up
//!   [`EXIT_TABLE`] (a node in the middle carries them to the exit);
//! - [`PRIORITY_OWN`] (`use_exit` only): packets not marked
//!   [`WIREGUARD_MARK`] look up [`EXIT_TABLE`].

use crate::resolve::Resolved;
use hortus_plan::{
    DefaultRoute, Forwarder, Host, IpFamily, IpPrefix, Ipv4Prefix, Ipv6Prefix, NatRule, NodePlan, Perimeter,
    PolicyRouting, PolicyRule, MAIN_TABLE,
};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

/// The kernel table of the mesh's default routes. babeld 1.12 installs
/// into tables up to 255 only (a larger id is accepted and silently
/// ignored: found in the lab), so not 6696 like the mark.
pub const EXIT_TABLE: u32 = 66;
/// The firewall mark of a `use_exit` node's WireGuard sockets (Babel's UDP
/// port, 0x1a28).
pub const WIREGUARD_MARK: u32 = 6696;
/// The kernel metric of the `unreachable` defaults in [`EXIT_TABLE`].
pub const UNREACHABLE_METRIC: u32 = 4_000_000_000;
/// Rule priority: the main table without its default routes.
pub const PRIORITY_MAIN: u32 = 32_700;
/// Rule priority: the main table for the tunnels' own underlay traffic.
pub const PRIORITY_UNDERLAY: u32 = 32_710;
/// Rule priority: traffic from the mesh to the exit table.
pub const PRIORITY_MESH: u32 = 32_720;
/// Rule priority: the node's own traffic to the exit table.
pub const PRIORITY_OWN: u32 = 32_730;

/// Both default routes, IPv6 first.
fn defaults() -> [IpPrefix; 2] {
    [IpPrefix::V6(Ipv6Prefix::DEFAULT), IpPrefix::V4(Ipv4Prefix::DEFAULT)]
}

/// What `r` does with the default routes, given the exits' router ids.
pub(crate) fn default_route(r: &Resolved, exits: &[Ipv4Addr]) -> DefaultRoute {
    if r.node.exit {
        DefaultRoute::Announce
    } else if exits.is_empty() {
        DefaultRoute::None
    } else {
        DefaultRoute::Carry { exits: exits.to_vec(), table: EXIT_TABLE }
    }
}

/// The perimeter of `r`: its subnets, and whether it is an exit.
pub(crate) fn perimeter(r: &Resolved) -> Perimeter {
    Perimeter { subnets: r.routes.clone(), exit: r.node.exit }
}

/// The masquerading `r` does: into its subnets (unless turned off), and
/// out of its uplink on an exit (except into subnets left unmasqueraded).
pub(crate) fn nat_rules(r: &Resolved) -> Vec<NatRule> {
    let mut rules = vec![];
    if !r.routes.is_empty() && r.node.masquerade_routes {
        rules.push(NatRule::MasqueradeSubnets { destinations: r.routes.clone() });
    }
    if r.node.exit {
        let except = if r.node.masquerade_routes { vec![] } else { r.routes.clone() };
        rules.push(NatRule::MasqueradeExit { except });
    }
    rules
}

/// The policy routing of a node carrying the default routes (none on an
/// exit, or without exits), from its finished links.
pub(crate) fn policy_routing(r: &Resolved, node: &NodePlan) -> Option<PolicyRouting> {
    if !matches!(node.routes.ipv6.default_route, DefaultRoute::Carry { .. }) {
        return None;
    }
    let families: Vec<IpFamily> =
        if node.ipv4_address.is_some() { vec![IpFamily::Ipv6, IpFamily::Ipv4] } else { vec![IpFamily::Ipv6] };
    let rule = |priority, family, table| PolicyRule {
        priority,
        family,
        table,
        suppress_prefix_length: None,
        fwmark: None,
        invert: false,
        input_interface: None,
        from: None,
        to: None,
    };
    let mut rules = vec![];
    for &family in &families {
        rules.push(PolicyRule { suppress_prefix_length: Some(0), ..rule(PRIORITY_MAIN, family, MAIN_TABLE) });
    }
    let using = r.node.use_exit.wanted();
    if using {
        let own: BTreeSet<IpAddr> = r.endpoints.iter().filter_map(ip).collect();
        for address in own {
            rules.push(PolicyRule {
                from: Some(host_prefix(address)),
                ..rule(PRIORITY_UNDERLAY, IpFamily::of(address), MAIN_TABLE)
            });
        }
        for address in peer_endpoints(node) {
            rules.push(PolicyRule {
                to: Some(host_prefix(address)),
                ..rule(PRIORITY_UNDERLAY, IpFamily::of(address), MAIN_TABLE)
            });
        }
        for tun in node.links.iter().filter_map(|l| l.forwarder.as_ref().and_then(Forwarder::tun)) {
            for &family in &families {
                rules.push(PolicyRule {
                    input_interface: Some(tun.name.clone()),
                    ..rule(PRIORITY_UNDERLAY, family, MAIN_TABLE)
                });
            }
        }
    }
    for link in &node.links {
        for &family in &families {
            rules.push(PolicyRule {
                input_interface: Some(link.interface.clone()),
                ..rule(PRIORITY_MESH, family, EXIT_TABLE)
            });
        }
    }
    if using {
        for &family in &families {
            rules.push(PolicyRule {
                fwmark: Some(WIREGUARD_MARK),
                invert: true,
                ..rule(PRIORITY_OWN, family, EXIT_TABLE)
            });
        }
    }
    let unreachable = defaults().into_iter().filter(|d| node.ipv4_address.is_some() || !d.is_ipv4()).collect();
    Some(PolicyRouting {
        table: EXIT_TABLE,
        wireguard_mark: using.then_some(WIREGUARD_MARK),
        rules,
        unreachable,
        unreachable_metric: UNREACHABLE_METRIC,
    })
}

/// The peers' underlay addresses this node sends to: its links' endpoints
/// and its forwarder clients' remotes, literals only (loopback, where a
/// forwarded link's WireGuard sends, is local anyway).
fn peer_endpoints(node: &NodePlan) -> BTreeSet<IpAddr> {
    let remotes = node.links.iter().filter_map(|l| match &l.forwarder {
        Some(Forwarder::Client { remote, .. }) => Some(&remote.host),
        _ => None,
    });
    node.links
        .iter()
        .flat_map(|l| l.endpoints.iter().map(|d| &d.host))
        .chain(remotes)
        .filter_map(ip)
        .filter(|a| !a.is_loopback())
        .collect()
}

fn ip(host: &Host) -> Option<IpAddr> {
    match host {
        Host::Ip(a) => Some(*a),
        Host::Dns(_) => None,
    }
}

/// `address` as a /32 or /128.
fn host_prefix(address: IpAddr) -> IpPrefix {
    IpPrefix::of(address, if address.is_ipv4() { 32 } else { 128 })
}
