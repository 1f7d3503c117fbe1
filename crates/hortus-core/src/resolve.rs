//! The resolve stage: every node's derived values (ULA, IPv4 overlay
//! address, link-local, router id, parsed endpoints) from a validated
//! inventory. The derivations are the only place these values are
//! computed; [`crate::validate`] calls them to check that they exist.

use crate::addressing::{derived_link_local, parse_endpoint, router_id_from_id};
use crate::inventory::{Inventory, MeshSettings, Node};
use crate::keys::decode_key;
use hortus_plan::{Host, IpFamily, IpPrefix, Underlay};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A node with everything derived, before links are made.
pub(crate) struct Resolved<'a> {
    pub name: &'a str,
    pub node: &'a Node,
    pub address: Ipv6Addr,
    pub ipv4_address: Option<Ipv4Addr>,
    pub link_local: Ipv6Addr,
    pub router_id: Ipv4Addr,
    pub endpoints: Vec<Host>,
    pub lan_endpoints: Vec<Host>,
    pub underlay: Underlay,
    pub routes: Vec<IpPrefix>,
}

/// The node's ULA: explicit, or the mesh prefix + (id + 1) when it fits.
pub(crate) fn address(mesh: &MeshSettings, node: &Node) -> Option<Ipv6Addr> {
    node.address.or_else(|| mesh.prefix.nth(u128::from(node.id) + 1))
}

/// The node's IPv4 overlay address: none without `ipv4_prefix`, else
/// explicit or the prefix + (id + 1) when it fits.
pub(crate) fn ipv4_address(mesh: &MeshSettings, node: &Node) -> Option<Ipv4Addr> {
    let prefix = mesh.ipv4_prefix?;
    node.ipv4_address.or_else(|| node.id.checked_add(1).and_then(|n| prefix.nth(n)))
}

/// The node's link-local: explicit, or derived from its public key.
pub(crate) fn link_local(node: &Node) -> Option<Ipv6Addr> {
    node.link_local.or_else(|| decode_key(&node.public_key).ok().map(|k| derived_link_local(&k)))
}

/// The node's router id: its IPv4 overlay address, else `id + 1`.
pub(crate) fn router_id(mesh: &MeshSettings, node: &Node) -> Option<Ipv4Addr> {
    ipv4_address(mesh, node).or_else(|| router_id_from_id(node.id))
}

/// The node's underlay families: `explicit`, else those of its parsed
/// endpoints `hosts` (LAN ones too) when they are all literals, `dual` with
/// a DNS name, `ipv4` with no endpoint.
fn underlay(explicit: Option<Underlay>, hosts: &[&Host]) -> Underlay {
    if let Some(explicit) = explicit {
        return explicit;
    }
    let (mut v4, mut v6) = (hosts.is_empty(), false);
    for host in hosts {
        match host {
            Host::Ip(ip) if IpFamily::of(*ip) == IpFamily::Ipv4 => v4 = true,
            Host::Ip(_) => v6 = true,
            Host::Dns(_) => (v4, v6) = (true, true),
        }
    }
    match (v4, v6) {
        (true, true) => Underlay::Dual,
        (false, true) => Underlay::Ipv6,
        _ => Underlay::Ipv4,
    }
}

/// Every node resolved, sorted by id. The inventory must have passed
/// [`crate::validate::inventory`].
pub(crate) fn nodes(inventory: &Inventory) -> Vec<Resolved<'_>> {
    let mesh = &inventory.mesh;
    let mut resolved: Vec<Resolved> = inventory
        .nodes
        .iter()
        .map(|(name, node)| {
            let parse =
                |list: &[String]| -> Vec<Host> { list.iter().map(|e| parse_endpoint(e).expect("validated")).collect() };
            let (endpoints, lan_endpoints) = (parse(&node.endpoints), parse(&node.lan_endpoints));
            let hosts: Vec<&Host> = endpoints.iter().chain(&lan_endpoints).collect();
            Resolved {
                name,
                node,
                address: address(mesh, node).expect("validated"),
                ipv4_address: ipv4_address(mesh, node),
                link_local: link_local(node).expect("validated"),
                router_id: router_id(mesh, node).expect("validated"),
                underlay: underlay(node.underlay, &hosts),
                endpoints,
                lan_endpoints,
                routes: node.routes.iter().map(|r| r.parse().expect("validated")).collect(),
            }
        })
        .collect();
    resolved.sort_by_key(|r| r.node.id);
    resolved
}
