//! Exits: the mesh's default routes and the policy routing that keeps a
//! node's own tunnels out of them.
//!
//! An exit (`exit = true`) announces the default route of its own uplink
//! into Babel while it has one. Every other node learns it from the exits
//! only, passes it on and installs it in a kernel table of its own
//! ([`PolicyRouting::table`]), never in the main table: traffic arriving
//! from the mesh is routed by it (a node in the middle carries a
//! `use_exit` node's traffic towards the exit), the node's own traffic is
//! not — unless the node asked for it (`use_exit = true`). Then its own
//! traffic goes through the exit too, except what carries the mesh itself:
//! packets of its WireGuard sockets (marked [`PolicyRouting::wireguard_mark`]),
//! of its forwarders' TUNs, and to and from the underlay endpoints the plan
//! knows by address, which keep using the main table.

use crate::prefix::IpPrefix;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// What a node does with the mesh's default route in one address family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
pub enum DefaultRoute {
    /// Nothing: the mesh has no exit.
    None,
    /// An exit: announces the default route of its main table (its uplink)
    /// while it has one, and learns none.
    Announce,
    /// Learns the default route from the exits only, passes it on and
    /// installs it in kernel table `table`.
    Carry {
        /// The router ids of the exits, in id order.
        exits: Vec<Ipv4Addr>,
        /// The kernel table it is installed in.
        table: u32,
    },
}

/// A node's policy routing: the rules that send traffic into the table of
/// the mesh's default routes, and that table's fallbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRouting {
    /// The kernel table holding the default routes learned from Babel.
    pub table: u32,
    /// The firewall mark of the node's WireGuard sockets (networkd
    /// `FirewallMark=`, `wg set … fwmark`), when the node uses an exit:
    /// marked packets skip the exit table.
    pub wireguard_mark: Option<u32>,
    /// The rules, in priority order.
    pub rules: Vec<PolicyRule>,
    /// Default routes of type `unreachable` in `table` at
    /// `unreachable_metric`, worse than Babel's: with no exit reachable,
    /// traffic meant for one is refused instead of leaking out the uplink.
    pub unreachable: Vec<IpPrefix>,
    /// The kernel metric of the `unreachable` routes.
    pub unreachable_metric: u32,
}

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl std::fmt::Display for IpFamily {
    /// As the plan spells it: `ipv4` or `ipv6`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IpFamily::Ipv4 => "ipv4",
            IpFamily::Ipv6 => "ipv6",
        })
    }
}

impl IpFamily {
    /// The family of `ip`.
    pub fn of(ip: std::net::IpAddr) -> IpFamily {
        if ip.is_ipv4() {
            IpFamily::Ipv4
        } else {
            IpFamily::Ipv6
        }
    }
}

/// The kernel's main table, as [`PolicyRule::table`] names it.
pub const MAIN_TABLE: u32 = 254;

/// One routing policy rule (`ip rule`, networkd `[RoutingPolicyRule]`):
/// packets matching every selector given look up `table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Rule priority (lower first).
    pub priority: u32,
    /// Address family.
    pub family: IpFamily,
    /// The table looked up ([`MAIN_TABLE`] is `main`).
    pub table: u32,
    /// Ignore a route found in `table` whose prefix is this long or
    /// shorter (0: everything but default routes).
    pub suppress_prefix_length: Option<u8>,
    /// Packets carrying this firewall mark…
    pub fwmark: Option<u32>,
    /// …or, with `invert`, packets not matching the selectors.
    pub invert: bool,
    /// Packets arriving on this interface.
    pub input_interface: Option<String>,
    /// Packets from this prefix.
    pub from: Option<IpPrefix>,
    /// Packets to this prefix.
    pub to: Option<IpPrefix>,
}
