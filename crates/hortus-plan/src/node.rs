//! What one node runs: its addresses, route policy, firewall, sysctls,
//! NAT rules, and one [`Link`] per peer (or a [`SkippedPeer`] saying why not).

use crate::endpoint::{Dial, Host, Underlay};
use crate::exit::{DefaultRoute, PolicyRouting};
use crate::forwarder::{Forwarder, NatRule};
use crate::prefix::{IpPrefix, Ipv4Prefix, Ipv6Prefix};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What one node runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePlan {
    /// The node's id.
    pub id: u32,
    /// The node's ULA (/128 on the anchor interface).
    pub address: Ipv6Addr,
    /// The node's IPv4 overlay address, when the mesh has an IPv4 prefix.
    pub ipv4_address: Option<Ipv4Addr>,
    /// The node's link-local, set on every one of its WireGuard interfaces.
    pub link_local: Ipv6Addr,
    /// Routing daemon router id.
    pub router_id: Ipv4Addr,
    /// Name of the anchor interface.
    pub anchor: String,
    /// The node's WireGuard public key.
    pub public_key: String,
    /// Region name.
    pub region: String,
    /// Behind NAT.
    pub nat: bool,
    /// Behind a censor.
    pub censored: bool,
    /// The underlay addresses peers may dial, in the inventory's order.
    pub endpoints: Vec<Host>,
    /// Addresses on its LAN only peers of its region dial, before `endpoints`.
    pub lan_endpoints: Vec<Host>,
    /// The underlay families it can send from.
    pub underlay: Underlay,
    /// Whether it runs `hortus endpoints`: some link it dials has a DNS
    /// name or more than one candidate.
    pub switches_endpoints: bool,
    /// The addresses of the anchor interface.
    pub anchor_addresses: Vec<InterfaceAddress>,
    /// What the node announces into Babel and accepts from it.
    pub routes: Routes,
    /// What the host's firewall opens and trusts.
    pub firewall: Firewall,
    /// Kernel settings (sysctl keys as in sysctl.d, a dot inside an
    /// interface name written `/`) a mesh router needs.
    pub sysctl: BTreeMap<String, u32>,
    /// NAT rules: the forwarders', and the masquerading of mesh traffic
    /// into the node's subnets and, on an exit, out of its uplink.
    pub nat_rules: Vec<NatRule>,
    /// The rules and table of the mesh's default routes, when the mesh has
    /// an exit and this node is not one.
    pub policy_routing: Option<PolicyRouting>,
    /// One entry per peer this node links to, by peer id.
    pub links: Vec<Link>,
    /// The peers this node has no link to, by peer id, and why.
    pub skipped: Vec<SkippedPeer>,
}

/// How the two ends of a link reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// Plain WireGuard UDP between the endpoints.
    Direct,
    /// The dialer sends to a local forwarder on `127.0.0.1:<port>`, which
    /// carries the packets past the censor to the listener.
    Forwarded,
}

impl Path {
    /// `direct` or `forwarded`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Forwarded => "forwarded",
        }
    }
}

/// One WireGuard interface toward one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Peer name.
    pub peer: String,
    /// Peer id.
    pub peer_id: u32,
    /// Interface name (`wg-<peer>`, shortened to 15 bytes when needed).
    pub interface: String,
    /// The pair's UDP port, the same on both ends.
    pub port: u16,
    /// Set ListenPort = `port`.
    pub listen: bool,
    /// What this end dials, preferred first (empty when it only listens):
    /// the peer's LAN endpoints when both are in one region, then its
    /// endpoints of the families this end has, the mesh's preferred family
    /// first. WireGuard is configured with the first; `hortus endpoints`
    /// moves to the next when the link goes quiet.
    pub endpoints: Vec<Dial>,
    /// PersistentKeepalive seconds, when this end keeps the path open.
    pub keepalive: Option<u16>,
    /// Direct or through a local forwarder.
    pub path: Path,
    /// The forwarder this end runs on a forwarded path.
    pub forwarder: Option<Forwarder>,
    /// Interface MTU, the same on both ends.
    pub mtu: u32,
    /// The link's Babel cost (`rxcost`), the same on both ends: the
    /// nodes' `link_costs` for each other, else the larger of their
    /// `cost`, else `mesh.babel.rxcost`.
    pub rxcost: u32,
    /// The peer's WireGuard public key.
    pub peer_public_key: String,
    /// The peer's ULA.
    pub peer_address: Ipv6Addr,
    /// The peer's IPv4 overlay address.
    pub peer_ipv4_address: Option<Ipv4Addr>,
    /// The peer's link-local.
    pub peer_link_local: Ipv6Addr,
    /// The addresses of this interface, link-local first.
    pub addresses: Vec<InterfaceAddress>,
}

impl Link {
    /// What WireGuard dials: the first endpoint.
    pub fn endpoint(&self) -> Option<&Dial> {
        self.endpoints.first()
    }
}

/// One address on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

/// A node's route policy, per address family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// IPv6.
    pub ipv6: FamilyRoutes<Ipv6Addr, Ipv6Prefix>,
    /// IPv4, when the mesh has an IPv4 overlay.
    pub ipv4: Option<FamilyRoutes<Ipv4Addr, Ipv4Prefix>>,
}

/// What a node announces into Babel and accepts from it in one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyRoutes<A, P> {
    /// Preferred source of every route installed from Babel.
    pub source: A,
    /// The node's own addresses, which it announces (from the anchor).
    pub announce: Vec<P>,
    /// Networks behind this node (the inventory's `routes`), which it
    /// announces while the host has a route to them (an interface address
    /// in the prefix).
    pub subnets: Vec<P>,
    /// Prefixes (and anything inside them) it learns from any node,
    /// installs and passes on: the mesh's own addresses.
    pub accept: Vec<P>,
    /// The other nodes' subnets it learns, installs and passes on: exactly
    /// these prefixes, each only as announced by the routers listing it.
    pub learn: Vec<Learned<P>>,
    /// What the node does with the mesh's default route (exits).
    pub default_route: DefaultRoute,
}

/// A subnet one node learns: the prefix and the router ids of the nodes
/// announcing it (the inventory lists it on them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Learned<P> {
    /// The prefix, matched exactly.
    pub prefix: P,
    /// The router ids of the nodes that announce it, in id order.
    pub routers: Vec<Ipv4Addr>,
}

/// What the host's firewall opens and trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// UDP ports of the links this node listens on directly.
    pub udp_ports: Vec<u16>,
    /// TCP ports its forwarder servers accept on (phantun).
    pub tcp_ports: Vec<u16>,
    /// Ports of forwarder servers whose protocol hortus does not know
    /// (`forwarder = "none"`): the operator opens them.
    pub external_forwarder_ports: Vec<u16>,
    /// The mesh's interfaces (WireGuard links), which may be trusted.
    pub mesh_interfaces: Vec<String>,
    /// Babel's UDP port (RFC 8966): what a mesh interface must accept when
    /// it is not trusted.
    pub babel_udp_port: u16,
    /// The reverse-path check a firewall may apply.
    pub reverse_path: ReversePath,
    /// Forwarded traffic a forward-filtering firewall must accept (the
    /// forwarders' DNATed connections and their TUN traffic).
    pub forward_accept: Vec<ForwardRule>,
    /// What may be forwarded between the mesh and the rest of the host.
    pub perimeter: Perimeter,
}

/// The perimeter (the reference design's boundary-based defence): what a
/// node forwards between its mesh interfaces and everything else. From the
/// mesh: to the mesh (Babel's detours), to the node's subnets and, on an
/// exit, out of any other interface. Into the mesh: from the node's subnets.
/// Anything else crossing the boundary is dropped unless it is a reply
/// (connection tracking). TCP's MSS is clamped to the route's MTU on
/// packets entering a mesh interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Perimeter {
    /// The node's subnets (its inventory `routes`).
    pub subnets: Vec<IpPrefix>,
    /// Mesh traffic may leave through any interface (the node is an exit).
    pub exit: bool,
}

/// How strict a reverse-path check may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReversePath {
    /// A packet's source must be reachable through some interface, not
    /// necessarily the one it came in on: Babel picks each direction's path
    /// on its own, so a strict check drops packets that return over another
    /// link.
    Loose,
}

/// Forwarded packets to accept: those matching every field given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardRule {
    /// Arriving on this interface.
    pub input_interface: Option<String>,
    /// Leaving on this interface.
    pub output_interface: Option<String>,
    /// To this TCP port.
    pub tcp_port: Option<u16>,
}

/// A peer a node has no link to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedPeer {
    /// Peer name.
    pub peer: String,
    /// Peer id.
    pub peer_id: u32,
    /// The peer's ULA, which Babel reaches through other nodes.
    pub peer_address: Ipv6Addr,
    /// The peer's IPv4 overlay address.
    pub peer_ipv4_address: Option<Ipv4Addr>,
    /// Why there is no link.
    pub reason: SkipReason,
}

/// Why the policy left a pair without a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Both behind NAT in different regions.
    NatDifferentRegions,
    /// Neither side has an endpoint the other can reach.
    NoReachableEndpoint,
    /// Endpoints exist, but none of a family the other side can send from.
    NoCommonFamily,
    /// Censorship blocks direct UDP and no side can host the forwarder's server.
    NoForwarderServer,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::NatDifferentRegions => {
                "both behind NAT in different regions: neither can accept the other's connection"
            }
            SkipReason::NoReachableEndpoint => "neither side has an endpoint the other can reach",
            SkipReason::NoCommonFamily => {
                "no underlay family in common: neither side has an endpoint of a family the other can send from"
            }
            SkipReason::NoForwarderServer => {
                "censorship blocks direct UDP and neither side is a public node with an endpoint to host the forwarder"
            }
        })
    }
}
