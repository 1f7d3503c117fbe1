//! The kernel's interfaces and IPv6 routes over rtnetlink (dump requests
//! on a plain blocking netlink socket).

use crate::error::{Error, Result};
use crate::live::{KernelRoute, RouteSource};
use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// The kernel of the current network namespace.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kernel;

impl RouteSource for Kernel {
    fn interfaces(&self) -> Result<BTreeMap<String, bool>> {
        Ok(links()?.into_values().collect())
    }

    fn host_routes(&self) -> Result<BTreeMap<Ipv6Addr, KernelRoute>> {
        let names = links()?;
        let mut request = RouteMessage::default();
        request.header.address_family = AddressFamily::Inet6;
        let mut best: BTreeMap<Ipv6Addr, KernelRoute> = BTreeMap::new();
        for message in dump(RouteNetlinkMessage::GetRoute(request))? {
            let RouteNetlinkMessage::NewRoute(route) = message else { continue };
            if route.header.destination_prefix_length != 128 || table(&route) != RouteHeader::RT_TABLE_MAIN as u32 {
                continue;
            }
            let Some((destination, candidate)) = kernel_route(&route, &names) else { continue };
            if best.get(&destination).is_none_or(|b| candidate.metric < b.metric) {
                best.insert(destination, candidate);
            }
        }
        Ok(best)
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
    let fail = |what: &str, e: std::io::Error| Error::Netlink(format!("{what}: {e}"));
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| fail("socket", e))?;
    socket.bind_auto().map_err(|e| fail("bind", e))?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(|e| fail("connect", e))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::from(request));
    message.finalize();
    let mut buf = vec![0; message.buffer_len()];
    message.serialize(&mut buf);
    socket.send(&buf, 0).map_err(|e| fail("send", e))?;
    let mut out = vec![];
    let mut receive = vec![0u8; 1 << 16];
    loop {
        let n = socket.recv(&mut &mut receive[..], 0).map_err(|e| fail("recv", e))?;
        let mut offset = 0;
        while offset < n {
            let bytes = &receive[offset..n];
            let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                .map_err(|e| Error::Netlink(format!("decode: {e}")))?;
            let length = message.header.length as usize;
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => return Err(Error::Netlink(format!("{e:?}"))),
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                _ => {}
            }
            if length == 0 {
                break;
            }
            offset += length;
        }
    }
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
