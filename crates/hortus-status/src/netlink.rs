//! The kernel's interfaces and IPv6 routes over rtnetlink: dump requests
//! on a plain blocking netlink socket, and a subscription to route changes.

use crate::error::{Error, Result};
use crate::live::{KernelRoute, RouteSource};
use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The kernel of the current network namespace.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kernel;

impl RouteSource for Kernel {
    fn interfaces(&self) -> Result<BTreeMap<String, bool>> {
        Ok(links()?.into_values().collect())
    }

    fn host_routes(&self) -> Result<BTreeMap<Ipv6Addr, KernelRoute>> {
        let mut best: BTreeMap<Ipv6Addr, KernelRoute> = BTreeMap::new();
        for (destination, candidate) in host_route_entries()? {
            if best.get(&destination).is_none_or(|b| candidate.metric < b.metric) {
                best.insert(destination, candidate);
            }
        }
        Ok(best)
    }
}

/// Every IPv6 route of the main table to a /128 (several per destination
/// when they differ in metric).
pub fn host_route_entries() -> Result<Vec<(Ipv6Addr, KernelRoute)>> {
    let names = links()?;
    let mut request = RouteMessage::default();
    request.header.address_family = AddressFamily::Inet6;
    let mut out = vec![];
    for message in dump(RouteNetlinkMessage::GetRoute(request))? {
        let RouteNetlinkMessage::NewRoute(route) = message else { continue };
        out.extend(host_route(&route, &names));
    }
    Ok(out)
}

/// A main-table /128 route, decoded.
fn host_route(route: &RouteMessage, names: &BTreeMap<u32, (String, bool)>) -> Option<(Ipv6Addr, KernelRoute)> {
    if route.header.destination_prefix_length != 128 || table(route) != RouteHeader::RT_TABLE_MAIN as u32 {
        return None;
    }
    kernel_route(route, names)
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
    names: BTreeMap<u32, (String, bool)>,
    buffer: Vec<u8>,
}

impl RouteChanges {
    /// Subscribes; changes made from now on are delivered by [`RouteChanges::wait`].
    pub fn subscribe() -> Result<RouteChanges> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| io_error("socket", e))?;
        socket.bind_auto().map_err(|e| io_error("bind", e))?;
        socket.add_membership(RTNLGRP_IPV6_ROUTE).map_err(|e| io_error("join the IPv6 route group", e))?;
        socket.set_non_blocking(true).map_err(|e| io_error("non-blocking", e))?;
        Ok(RouteChanges { socket, names: links()?, buffer: vec![0; 1 << 16] })
    }

    /// Waits up to `timeout` for changes and returns all that are queued
    /// (none when the time ran out).
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<RouteChange>> {
        let mut poll = libc::pollfd { fd: self.socket.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, for the duration of the call.
        if unsafe { libc::poll(&mut poll, 1, ms) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(vec![]);
            }
            return Err(io_error("poll", e));
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
                Err(e) => return Err(io_error("recv", e)),
            };
            for payload in payloads(&self.buffer[..n])? {
                if let NetlinkPayload::InnerMessage(inner) = payload {
                    out.extend(self.change(inner)?);
                }
            }
        }
    }

    fn change(&mut self, message: RouteNetlinkMessage) -> Result<Option<RouteChange>> {
        let (route, added) = match message {
            RouteNetlinkMessage::NewRoute(r) => (r, true),
            RouteNetlinkMessage::DelRoute(r) => (r, false),
            _ => return Ok(None),
        };
        let unknown_interface =
            route.attributes.iter().any(|a| matches!(a, RouteAttribute::Oif(i) if !self.names.contains_key(i)));
        if unknown_interface {
            self.names = links()?;
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

/// Interface index → (name, administratively up).
fn links() -> Result<BTreeMap<u32, (String, bool)>> {
    let mut out = BTreeMap::new();
    for message in dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))? {
        let RouteNetlinkMessage::NewLink(link) = message else { continue };
        let name = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        if let Some(name) = name {
            out.insert(link.header.index, (name, link.header.flags.contains(LinkFlags::Up)));
        }
    }
    Ok(out)
}

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

fn kernel_route(route: &RouteMessage, names: &BTreeMap<u32, (String, bool)>) -> Option<(Ipv6Addr, KernelRoute)> {
    let mut destination = None;
    let mut out = KernelRoute {
        kind: route_type(route.header.kind),
        dev: None,
        gateway: None,
        protocol: protocol(route.header.protocol),
        metric: 0,
    };
    for attribute in &route.attributes {
        match attribute {
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => destination = Some(*a),
            RouteAttribute::Gateway(RouteAddress::Inet6(a)) => out.gateway = Some(*a),
            RouteAttribute::Oif(i) => out.dev = names.get(i).map(|(n, _)| n.clone()),
            RouteAttribute::Priority(m) => out.metric = *m,
            _ => {}
        }
    }
    Some((destination?, out))
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

/// Sends a dump request and collects every answer until `Done`.
fn dump(request: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>> {
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| io_error("socket", e))?;
    socket.bind_auto().map_err(|e| io_error("bind", e))?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(|e| io_error("connect", e))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::from(request));
    message.finalize();
    let mut buf = vec![0; message.buffer_len()];
    message.serialize(&mut buf);
    socket.send(&buf, 0).map_err(|e| io_error("send", e))?;
    let mut out = vec![];
    let mut receive = vec![0u8; 1 << 16];
    loop {
        let n = socket.recv(&mut &mut receive[..], 0).map_err(|e| io_error("recv", e))?;
        for payload in payloads(&receive[..n])? {
            match payload {
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => return Err(Error::Netlink(format!("{e:?}"))),
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                _ => {}
            }
        }
    }
}

/// The messages of one received netlink datagram, in order.
fn payloads(datagram: &[u8]) -> Result<Vec<NetlinkPayload<RouteNetlinkMessage>>> {
    let mut out = vec![];
    let mut offset = 0;
    while offset < datagram.len() {
        let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..])
            .map_err(|e| Error::Netlink(format!("decode: {e}")))?;
        let length = message.header.length as usize;
        out.push(message.payload);
        if length == 0 {
            break;
        }
        offset += length;
    }
    Ok(out)
}

/// A failed socket operation, named.
fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::Netlink(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_namespace() {
        let interfaces = Kernel.interfaces().expect("link dump");
        assert_eq!(interfaces.get("lo"), Some(&true), "{interfaces:?}");
        Kernel.host_routes().expect("route dump");
    }
}
