//! The addresses each interface carries. The networkd renderer, the NixOS
//! module and the lab all configure exactly these (the plan lists them), so
//! a lab run tests what production runs.
//!
//! Per WireGuard link (IPv6 only):
//! - the node's link-local /128 with the peer's link-local as point-to-point
//!   peer, scope link: Babel speaks from it and routes via the peer's;
//! - the node's ULA /128 with the peer's ULA as peer, whose kernel peer route
//!   gets the `peer` kernel metric, worse than the routing daemon's, so it is
//!   only a fallback and never beats a Babel route (failover).
//!
//! On the anchor: the ULA /128 and, when the mesh has one, the IPv4 /32.
//! The IPv4 address is deliberately *not* put on the WireGuard links: both
//! BIRD (`next hop prefer native`) and babeld advertise IPv4 routes with an
//! IPv4 next hop whenever the interface has an IPv4 address, and the design
//! carries IPv4 with IPv6 link-local next hops (RFC 9229, "extended next
//! hop"). `docs/renderers.md` has the details.

use crate::resolve::Resolved;
use hortus_plan::{InterfaceAddress, KernelMetrics, Mesh};
use std::net::IpAddr;

/// The kernel route metrics every host uses: own addresses 64, Babel's
/// routes 128 (BIRD `krt_metric`, babeld `kernel-priority`), a link's peer
/// route 1024.
pub const KERNEL_METRICS: KernelMetrics = KernelMetrics { anchor: 64, babel: 128, peer: 1024 };
const _: () = assert!(KERNEL_METRICS.anchor < KERNEL_METRICS.babel && KERNEL_METRICS.babel < KERNEL_METRICS.peer);

/// The addresses of `me`'s WireGuard interface toward `peer`, link-local first.
pub(crate) fn link_addresses(mesh: &Mesh, me: &Resolved, peer: &Resolved) -> Vec<InterfaceAddress> {
    vec![
        InterfaceAddress {
            address: me.link_local.into(),
            prefix_len: 128,
            peer: Some(peer.link_local.into()),
            scope_link: true,
            route_metric: None,
        },
        InterfaceAddress {
            address: me.address.into(),
            prefix_len: 128,
            peer: Some(peer.address.into()),
            scope_link: false,
            route_metric: Some(mesh.kernel_metrics.peer),
        },
    ]
}

/// The addresses of `me`'s anchor interface: the ULA /128, then the IPv4
/// /32 when the mesh has an IPv4 overlay.
pub(crate) fn anchor_addresses(me: &Resolved) -> Vec<InterfaceAddress> {
    let host = |address: IpAddr, prefix_len| InterfaceAddress {
        address,
        prefix_len,
        peer: None,
        scope_link: false,
        route_metric: None,
    };
    let mut addresses = vec![host(me.address.into(), 128)];
    addresses.extend(me.ipv4_address.map(|a| host(a.into(), 32)));
    addresses
}
