//! The plan the lab runs: the inventory's plan with fresh keys and
//! underlay endpoints, and nothing else changed.
//!
//! The lab rewrites the inventory (new public keys, each node's
//! `link_local` pinned to the one the original plan derived, literal
//! endpoints replaced by the node's underlay address, DNS names kept: the
//! lab resolves them in each namespace, see [`crate::names`]),
//! plans it again, restores the original link MTUs (the lab's IPv4 underlay
//! may need fewer header bytes than the real endpoints) and checks that
//! every other decision is the original's.

use crate::error::{LabError, Result};
use crate::underlay::{ipv6_of, Underlay};
use hortus_core::addressing::parse_endpoint;
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::{build_plan, Inventory, Link, NodePlan, Plan};
use hortus_plan::RoutingDaemon;
use hortus_plan::{Forwarder, Host};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// The lab's inventory and plan, with the private keys kept apart.
pub struct LabPlan {
    /// The rewritten inventory (public keys only).
    pub inventory: Inventory,
    /// Its plan, MTUs aligned with the original.
    pub plan: Plan,
    /// Each node's fresh private key (base64), by node name.
    pub private_keys: BTreeMap<String, String>,
}

/// A fresh WireGuard private key from the OS's randomness.
pub fn fresh_private_key() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| LabError::io("/dev/urandom", std::io::Error::other(e.to_string())))?;
    Ok(private_key_from_bytes(bytes))
}

/// Builds the lab plan with fresh keys for every node.
pub fn lab_plan(inventory: &Inventory, underlay: &Underlay, daemon: Option<RoutingDaemon>) -> Result<LabPlan> {
    let keys = inventory
        .nodes
        .keys()
        .map(|name| Ok((name.clone(), fresh_private_key()?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    lab_plan_with_keys(inventory, underlay, daemon, keys)
}

/// Builds the lab plan with the given private keys (one per node).
pub fn lab_plan_with_keys(
    inventory: &Inventory,
    underlay: &Underlay,
    daemon: Option<RoutingDaemon>,
    private_keys: BTreeMap<String, String>,
) -> Result<LabPlan> {
    let original = build_plan(inventory)?;
    let mut lab = inventory.clone();
    if let Some(daemon) = daemon {
        lab.mesh.routing = daemon;
    }
    for (name, node) in &mut lab.nodes {
        let private = private_keys
            .get(name)
            .ok_or_else(|| LabError::PlanDrift { node: name.clone(), what: "no private key generated".into() })?;
        node.public_key = public_key(private).map_err(|e| LabError::PlanDrift { node: name.clone(), what: e })?;
        node.link_local = Some(original.nodes[name].link_local);
        node.underlay = Some(original.nodes[name].underlay);
        if !node.endpoints.is_empty() || !node.lan_endpoints.is_empty() {
            let uplink = underlay
                .nodes
                .get(name)
                .ok_or_else(|| LabError::PlanDrift { node: name.clone(), what: "no underlay address".into() })?;
            node.endpoints = on_underlay(&node.endpoints, uplink.address, &[]);
            node.lan_endpoints = on_underlay(&node.lan_endpoints, uplink.address, &node.endpoints);
        }
    }
    let mut plan = build_plan(&lab)?;
    for (name, node) in &mut plan.nodes {
        align_node(name, &original.nodes[name], node)?;
    }
    Ok(LabPlan { inventory: lab, plan, private_keys })
}

/// `endpoints` in the lab: DNS names kept (the lab resolves them to the
/// node's underlay addresses), an IPv4 literal replaced by the node's
/// underlay `address`, an IPv6 one by its mirror; nothing twice and
/// nothing of `taken`.
fn on_underlay(endpoints: &[String], address: Ipv4Addr, taken: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for e in endpoints {
        let lab = match parse_endpoint(e) {
            Ok(Host::Dns(_)) => e.clone(),
            Ok(Host::Ip(IpAddr::V6(_))) => ipv6_of(address).to_string(),
            _ => address.to_string(),
        };
        if !out.contains(&lab) && !taken.contains(&lab) {
            out.push(lab);
        }
    }
    out
}

/// Copies the original MTUs into `lab` and checks that nothing but keys,
/// endpoints and forwarder remotes changed.
fn align_node(name: &str, original: &NodePlan, lab: &mut NodePlan) -> Result<()> {
    let drift = |what: String| LabError::PlanDrift { node: name.into(), what };
    let same_node = original.id == lab.id
        && original.address == lab.address
        && original.ipv4_address == lab.ipv4_address
        && original.link_local == lab.link_local
        && original.router_id == lab.router_id
        && original.anchor == lab.anchor
        && original.firewall == lab.firewall
        && original.sysctl == lab.sysctl
        && original.links.len() == lab.links.len();
    if !same_node {
        return Err(drift("node addresses, ports or link count".into()));
    }
    for (o, l) in original.links.iter().zip(&mut lab.links) {
        l.mtu = o.mtu;
        if link_shape(o) != link_shape(l) {
            return Err(drift(format!("link to `{}`", o.peer)));
        }
    }
    Ok(())
}

/// The parts of a link the lab must not change.
fn link_shape(link: &Link) -> impl PartialEq + '_ {
    let forwarder = link.forwarder.as_ref().map(|f| match f {
        Forwarder::Client { transport, listen, tun, .. } => (*transport, listen.as_str(), None, tun),
        Forwarder::Server { transport, port, deliver, tun, .. } => (*transport, deliver.as_str(), Some(*port), tun),
    });
    (
        (&link.peer, link.peer_id, &link.interface, link.port, link.listen),
        (link.endpoint().is_some(), link.keepalive, link.path, forwarder, link.mtu),
        (link.peer_address, link.peer_ipv4_address, link.peer_link_local),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::underlay::layout;
    use hortus_plan::Path;

    fn six_nodes() -> Inventory {
        Inventory::from_toml_str(include_str!("../../../examples/six-nodes.toml")).unwrap()
    }

    fn keys(inv: &Inventory) -> BTreeMap<String, String> {
        inv.nodes.keys().enumerate().map(|(i, n)| (n.clone(), private_key_from_bytes([i as u8 + 1; 32]))).collect()
    }

    #[test]
    fn keeps_everything_but_keys_and_endpoints() {
        let inv = six_nodes();
        let u = layout(&inv).unwrap();
        let original = build_plan(&inv).unwrap();
        let lab = lab_plan_with_keys(&inv, &u, Some(RoutingDaemon::Babeld), keys(&inv)).unwrap();
        assert_eq!(lab.plan.mesh.routing, RoutingDaemon::Babeld);
        for (name, node) in &lab.plan.nodes {
            let o = &original.nodes[name];
            assert_eq!(node.link_local, o.link_local, "{name}: link-local pinned");
            assert_ne!(node.public_key, o.public_key, "{name}: fresh key");
            for (l, ol) in node.links.iter().zip(&o.links) {
                assert_eq!(l.mtu, ol.mtu);
                assert_eq!((l.port, l.listen, l.keepalive, l.path), (ol.port, ol.listen, ol.keepalive, ol.path));
            }
        }
        // kaambl's two literals became its underlay address; eihort's DNS
        // name stays (the lab's hosts files resolve it).
        let hastur = &lab.plan.nodes["hastur"];
        let to = |n: &NodePlan, p: &str| n.links.iter().find(|l| l.peer == p).unwrap().clone();
        assert_eq!(to(hastur, "kaambl").endpoint().map(|e| e.socket()).as_deref(), Some("198.18.2.2:51802"));
        assert_eq!(to(hastur, "eihort").endpoint().map(|e| e.socket()).as_deref(), Some("eihort.example.net:51805"));
        // Censored abhoth dials the forwarder uncensored hastur hosts, at
        // hastur's underlay address.
        let fwd = to(&lab.plan.nodes["abhoth"], "hastur");
        assert_eq!(fwd.path, Path::Forwarded);
        match fwd.forwarder {
            Some(Forwarder::Client { listen, remote, tun: Some(tun), .. }) => {
                assert_eq!((listen.as_str(), remote.socket().as_str()), ("127.0.0.1:51814", "198.18.1.2:51814"));
                assert_eq!(tun.name, "ph-hastur");
            }
            other => panic!("{other:?}"),
        }
        match &to(hastur, "abhoth").forwarder {
            Some(Forwarder::Server { port: 51814, deliver, tun: Some(tun), .. }) => {
                assert_eq!((deliver.as_str(), tun.name.as_str()), ("127.0.0.1:51814", "ph-abhoth"));
            }
            other => panic!("{other:?}"),
        }
        // No private key in the inventory or plan.
        let text = serde_json::to_string(&lab.plan).unwrap() + &serde_json::to_string(&lab.inventory).unwrap();
        for private in lab.private_keys.values() {
            assert!(!text.contains(private.as_str()));
        }
    }

    #[test]
    fn fresh_keys_differ() {
        assert_ne!(fresh_private_key().unwrap(), fresh_private_key().unwrap());
    }
}
