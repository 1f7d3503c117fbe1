//! The addresses each interface carries. The networkd renderer and the lab
//! both configure exactly these, so a lab run tests what production runs.
//!
//! Per WireGuard link (IPv6 only):
//! - the node's link-local /128 with the peer's link-local as point-to-point
//!   peer, scope link: Babel speaks from it and routes via the peer's;
//! - the node's ULA /128 with the peer's ULA as peer, whose kernel peer route
//!   gets metric [`PEER_ROUTE_METRIC`], worse than the routing daemon's 128,
//!   so it is only a fallback and never beats a Babel route (failover).
//!
//! On the anchor: the ULA /128 and, when the mesh has one, the IPv4 /32.
//! The IPv4 address is deliberately *not* put on the WireGuard links: both
//! BIRD (`next hop prefer native`) and babeld advertise IPv4 routes with an
//! IPv4 next hop whenever the interface has an IPv4 address, and the design
//! carries IPv4 with IPv6 link-local next hops (RFC 9229, "extended next
//! hop"). `docs/renderers.md` has the details.

use hortus_core::{Link, NodePlan};
use std::net::IpAddr;

/// Kernel metric of the peer route of a link's ULA: worse than the 128 the
/// routing daemons install Babel routes with, so Babel always wins.
pub const PEER_ROUTE_METRIC: u32 = 1024;
const _: () =
    assert!(PEER_ROUTE_METRIC > crate::bird::BABEL_ROUTE_METRIC && PEER_ROUTE_METRIC > crate::babeld::KERNEL_PRIORITY);

/// One address on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The local address.
    pub address: IpAddr,
    /// Prefix length of `address` (and of `peer`): 128 or 32.
    pub prefix_len: u8,
    /// Point-to-point peer address (same prefix length), if any.
    pub peer: Option<IpAddr>,
    /// Scope link (the link-locals); global otherwise.
    pub scope_link: bool,
    /// Kernel metric of the address's prefix route; `None` keeps the
    /// kernel's default (256 for IPv6).
    pub route_metric: Option<u32>,
}

impl InterfaceAddress {
    /// `address/prefix_len`, e.g. `fdcc::5/128`.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.address, self.prefix_len)
    }

    /// `peer/prefix_len`, when there is a peer.
    pub fn peer_cidr(&self) -> Option<String> {
        self.peer.map(|p| format!("{p}/{}", self.prefix_len))
    }

    /// Arguments for `ip address add <these> dev IFACE`, e.g.
    /// `fdcc::5/128 peer fdcc::1/128 metric 1024`.
    pub fn ip_address_args(&self) -> Vec<String> {
        let mut args = vec![self.cidr()];
        if let Some(peer) = self.peer_cidr() {
            args.extend(["peer".into(), peer]);
        }
        if self.scope_link {
            args.extend(["scope".into(), "link".into()]);
        }
        if let Some(metric) = self.route_metric {
            args.extend(["metric".into(), metric.to_string()]);
        }
        args
    }
}

/// The addresses of `node`'s WireGuard interface for `link`, link-local first.
pub fn link_addresses(node: &NodePlan, link: &Link) -> Vec<InterfaceAddress> {
    vec![
        InterfaceAddress {
            address: node.link_local.into(),
            prefix_len: 128,
            peer: Some(link.peer_link_local.into()),
            scope_link: true,
            route_metric: None,
        },
        InterfaceAddress {
            address: node.address.into(),
            prefix_len: 128,
            peer: Some(link.peer_address.into()),
            scope_link: false,
            route_metric: Some(PEER_ROUTE_METRIC),
        },
    ]
}

/// The addresses of `node`'s anchor interface: the ULA /128, then the IPv4
/// /32 when the mesh has an IPv4 overlay.
pub fn anchor_addresses(node: &NodePlan) -> Vec<InterfaceAddress> {
    let host = |address: IpAddr, prefix_len| InterfaceAddress {
        address,
        prefix_len,
        peer: None,
        scope_link: false,
        route_metric: None,
    };
    let mut addresses = vec![host(node.address.into(), 128)];
    addresses.extend(node.ipv4_address.map(|a| host(a.into(), 32)));
    addresses
}
