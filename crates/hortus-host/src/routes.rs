//! The kernel's routes over rtnetlink: the main table's IPv6 routes to /128
//! destinations, dumped once ([`host_routes`], [`host_route_entries`]) or
//! followed as they change ([`RouteChanges`], for `hortus status --watch`);
//! and the routes of both families to given prefixes in given tables
//! ([`prefix_routes`]: subnets and the exits' default route).

use crate::links::links;
use crate::netlink;
use crate::HostError;
use hortus_plan::IpPrefix;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The route the kernel uses toward a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelRoute {
    /// `unicast`, or `unreachable` (a retracted Babel route), etc.
    pub kind: String,
    /// Output interface, if any.
    pub dev: Option<String>,
    /// Next hop, if not on-link.
    pub gateway: Option<Ipv6Addr>,
    /// Installing protocol: `bird`, `babel`, `kernel`, or a number.
    pub protocol: String,
    /// Kernel metric.
    pub metric: u32,
}

impl KernelRoute {
    /// Whether a routing daemon installed it as a usable route (not a
    /// kernel peer route, not an unreachable one).
    pub fn from_daemon(&self) -> bool {
        self.kind == "unicast" && matches!(self.protocol.as_str(), "bird" | "babel" | "12" | "42")
    }
}

/// Interface index → name, of the current network namespace.
type Names = BTreeMap<u32, String>;

/// Every link's name by index.
fn names() -> Result<Names, HostError> {
    Ok(links()?.into_iter().map(|l| (l.index, l.name)).collect())
}

/// The lowest-metric IPv6 route of the main table per /128 destination.
pub fn host_routes() -> Result<BTreeMap<Ipv6Addr, KernelRoute>, HostError> {
    let mut best: BTreeMap<Ipv6Addr, KernelRoute> = BTreeMap::new();
    for (destination, candidate) in host_route_entries()? {
        if best.get(&destination).is_none_or(|b| candidate.metric < b.metric) {
            best.insert(destination, candidate);
        }
    }
    Ok(best)
}

/// Every IPv6 route of the main table to a /128 (several per destination
/// when they differ in metric).
pub fn host_route_entries() -> Result<Vec<(Ipv6Addr, KernelRoute)>, HostError> {
    let names = names()?;
    let mut request = RouteMessage::default();
    request.header.address_family = AddressFamily::Inet6;
    let messages =
        netlink::dump(RouteNetlinkMessage::GetRoute(request)).map_err(HostError::netlink("list IPv6 routes"))?;
    Ok(messages
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewRoute(route) => host_route(route, &names),
            _ => None,
        })
        .collect())
}

/// A main-table /128 route, decoded.
fn host_route(route: &RouteMessage, names: &Names) -> Option<(Ipv6Addr, KernelRoute)> {
    if route.header.destination_prefix_length != 128 || table(route) != RouteHeader::RT_TABLE_MAIN as u32 {
        return None;
    }
    kernel_route(route, names)
}

/// The lowest-metric route of each `(prefix, table)` wanted, both families
/// (a prefix without a route is absent). IPv4 routes over an IPv6 next hop
/// (Babel's v4-via-v6) give that next hop as `gateway`.
pub fn prefix_routes(wanted: &[(IpPrefix, u32)]) -> Result<BTreeMap<(IpPrefix, u32), KernelRoute>, HostError> {
    let names = names()?;
    let mut best: BTreeMap<(IpPrefix, u32), KernelRoute> = BTreeMap::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut request = RouteMessage::default();
        request.header.address_family = family;
        let messages =
            netlink::dump(RouteNetlinkMessage::GetRoute(request)).map_err(HostError::netlink("list routes"))?;
        for message in &messages {
            let RouteNetlinkMessage::NewRoute(route) = message else { continue };
            let Some((prefix, candidate)) = prefix_route(route, &names) else { continue };
            let key = (prefix, table(route));
            if wanted.contains(&key) && best.get(&key).is_none_or(|b| candidate.metric < b.metric) {
                best.insert(key, candidate);
            }
        }
    }
    Ok(best)
}

/// A route of either family, decoded with its prefix.
fn prefix_route(route: &RouteMessage, names: &Names) -> Option<(IpPrefix, KernelRoute)> {
    let len = route.header.destination_prefix_length;
    // A default route has no destination attribute.
    let mut prefix = match route.header.address_family {
        AddressFamily::Inet => IpPrefix::of(Ipv4Addr::UNSPECIFIED.into(), len),
        AddressFamily::Inet6 => IpPrefix::of(Ipv6Addr::UNSPECIFIED.into(), len),
        _ => return None,
    };
    let mut out = KernelRoute {
        kind: route_type(route.header.kind),
        dev: None,
        gateway: None,
        protocol: protocol(route.header.protocol),
        metric: 0,
    };
    for attribute in &route.attributes {
        match attribute {
            RouteAttribute::Destination(RouteAddress::Inet(addr)) => prefix = IpPrefix::of((*addr).into(), len),
            RouteAttribute::Destination(RouteAddress::Inet6(addr)) => prefix = IpPrefix::of((*addr).into(), len),
            RouteAttribute::Gateway(RouteAddress::Inet6(a)) | RouteAttribute::Via(RouteVia::Inet6(a)) => {
                out.gateway = Some(*a)
            }
            RouteAttribute::Oif(i) => out.dev = names.get(i).cloned(),
            RouteAttribute::Priority(m) => out.metric = *m,
            _ => {}
        }
    }
    Some((prefix, out))
}

/// `RTNLGRP_IPV6_ROUTE` (linux/rtnetlink.h): the multicast group of IPv6
/// route changes.
const RTNLGRP_IPV6_ROUTE: u32 = 11;

/// A change to a main-table /128 IPv6 route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    /// A route was added or replaced (same destination and metric).
    Added(Ipv6Addr, KernelRoute),
    /// A route was removed.
    Removed(Ipv6Addr, KernelRoute),
    /// The kernel dropped notifications (socket buffer full): read the
    /// whole table again with [`host_route_entries`].
    Overrun,
}

/// A subscription to the kernel's IPv6 route changes in the network
/// namespace it was made in.
pub struct RouteChanges {
    socket: Socket,
    names: Names,
    buffer: Vec<u8>,
}

impl RouteChanges {
    /// Subscribes; changes made from now on are delivered by [`RouteChanges::wait`].
    pub fn subscribe() -> Result<RouteChanges, HostError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(HostError::netlink("open a route socket"))?;
        socket.bind_auto().map_err(HostError::netlink("bind the route socket"))?;
        socket.add_membership(RTNLGRP_IPV6_ROUTE).map_err(HostError::netlink("join the IPv6 route group"))?;
        socket.set_non_blocking(true).map_err(HostError::netlink("make the route socket non-blocking"))?;
        Ok(RouteChanges { socket, names: names()?, buffer: vec![0; 1 << 16] })
    }

    /// Waits up to `timeout` for changes and returns all that are queued
    /// (none when the time ran out).
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<RouteChange>, HostError> {
        let mut poll = libc::pollfd { fd: self.socket.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, for the duration of the call.
        if unsafe { libc::poll(&mut poll, 1, ms) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(vec![]);
            }
            return Err(HostError::netlink("poll the route socket")(e));
        }
        let mut out = vec![];
        loop {
            let n = match self.socket.recv(&mut &mut self.buffer[..], 0) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    out.push(RouteChange::Overrun);
                    continue;
                }
                Err(e) => return Err(HostError::netlink("receive route changes")(e)),
            };
            let payloads = netlink::payloads(&self.buffer[..n]).map_err(HostError::netlink("read route changes"))?;
            for payload in payloads {
                if let NetlinkPayload::InnerMessage(inner) = payload {
                    out.extend(self.change(inner)?);
                }
            }
        }
    }

    /// The change one message makes, if it is about a main-table /128 route.
    fn change(&mut self, message: RouteNetlinkMessage) -> Result<Option<RouteChange>, HostError> {
        let (route, added) = match message {
            RouteNetlinkMessage::NewRoute(r) => (r, true),
            RouteNetlinkMessage::DelRoute(r) => (r, false),
            _ => return Ok(None),
        };
        let unknown_interface =
            route.attributes.iter().any(|a| matches!(a, RouteAttribute::Oif(i) if !self.names.contains_key(i)));
        if unknown_interface {
            self.names = names()?;
        }
        Ok(host_route(&route, &self.names).map(|(destination, r)| {
            if added {
                RouteChange::Added(destination, r)
            } else {
                RouteChange::Removed(destination, r)
            }
        }))
    }
}

/// The route's table (the attribute, which holds ids over 255, else the header's).
fn table(route: &RouteMessage) -> u32 {
    route
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(route.header.table as u32)
}

/// An IPv6 route's destination address and what the kernel does with it.
fn kernel_route(route: &RouteMessage, names: &Names) -> Option<(Ipv6Addr, KernelRoute)> {
    match prefix_route(route, names)? {
        (IpPrefix::V6(prefix), out) => Some((prefix.addr, out)),
        (IpPrefix::V4(_), _) => None,
    }
}

/// Names as `ip route` prints them.
fn route_type(kind: RouteType) -> String {
    match kind {
        RouteType::Unicast => "unicast".into(),
        RouteType::Unreachable => "unreachable".into(),
        RouteType::BlackHole => "blackhole".into(),
        RouteType::Prohibit => "prohibit".into(),
        RouteType::Local => "local".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Names as `/etc/iproute2/rt_protos` gives them, numbers otherwise.
fn protocol(protocol: RouteProtocol) -> String {
    match protocol {
        RouteProtocol::Kernel => "kernel".into(),
        RouteProtocol::Boot => "boot".into(),
        RouteProtocol::Static => "static".into(),
        RouteProtocol::Bird => "bird".into(),
        RouteProtocol::Babel => "babel".into(),
        RouteProtocol::Ra => "ra".into(),
        other => u8::from(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_namespace() {
        host_routes().expect("route dump");
    }
}
