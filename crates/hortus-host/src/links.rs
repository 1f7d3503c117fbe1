//! The kernel's network interfaces (links) and their addresses over
//! rtnetlink: the one link model of hortus, read by `hortus status`,
//! `hortus reconcile` and the routes module, and deleted by reconcile;
//! one planned address added or removed (`hortus failover`).

use crate::netlink;
use crate::HostError;
use hortus_plan::InterfaceAddress;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;

/// One network interface as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelLink {
    /// Kernel interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Link kind (`wireguard`, `dummy`, ...), when the link has one.
    pub kind: Option<String>,
    /// MTU in bytes.
    pub mtu: Option<u32>,
    /// Administratively up.
    pub up: bool,
}

/// Every link of the current network namespace, in kernel order.
pub fn links() -> Result<Vec<KernelLink>, HostError> {
    let messages = netlink::dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
        .map_err(HostError::netlink("list links"))?;
    Ok(messages
        .into_iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewLink(link) => link_of(&link),
            _ => None,
        })
        .collect())
}

/// A link message decoded; `None` without a name.
fn link_of(message: &LinkMessage) -> Option<KernelLink> {
    let mut link = KernelLink {
        index: message.header.index,
        name: String::new(),
        kind: None,
        mtu: None,
        up: message.header.flags.contains(LinkFlags::Up),
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => link.name = name.clone(),
            LinkAttribute::Mtu(mtu) => link.mtu = Some(*mtu),
            LinkAttribute::LinkInfo(infos) => {
                link.kind = infos.iter().find_map(|info| match info {
                    LinkInfo::Kind(kind) => Some(kind.to_string()),
                    _ => None,
                })
            }
            _ => {}
        }
    }
    (!link.name.is_empty()).then_some(link)
}

/// Every interface's own addresses (the local end of a point-to-point
/// one), by kernel index ([`links`] gives the names).
pub fn addresses() -> Result<BTreeMap<u32, Vec<IpAddr>>, HostError> {
    let messages = netlink::dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))
        .map_err(HostError::netlink("list addresses"))?;
    let mut out: BTreeMap<u32, Vec<IpAddr>> = BTreeMap::new();
    for message in &messages {
        let RouteNetlinkMessage::NewAddress(address) = message else { continue };
        let local = address.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        });
        let plain = address.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        });
        if let Some(ip) = local.or(plain) {
            out.entry(address.header.index).or_default().push(ip);
        }
    }
    Ok(out)
}

/// Adds (`present`) or removes the planned `address` on the interface with
/// kernel index `index`, with its peer and scope, without duplicate
/// address detection (as systemd-networkd sets the plan's addresses).
/// Adding one that is there, or removing one that is not, is no error.
pub fn set_address(index: u32, address: &InterfaceAddress, present: bool) -> io::Result<()> {
    let mut message = AddressMessage::default();
    message.header.family = if address.address.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    message.header.prefix_len = address.prefix_len;
    message.header.index = index;
    message.header.scope = if address.scope_link { AddressScope::Link } else { AddressScope::Universe };
    message.header.flags = AddressHeaderFlags::Nodad;
    message.attributes.push(AddressAttribute::Local(address.address));
    message.attributes.push(AddressAttribute::Address(address.peer.unwrap_or(address.address)));
    message.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
    let result = if present {
        netlink::create(RouteNetlinkMessage::NewAddress(message))
    } else {
        netlink::change(RouteNetlinkMessage::DelAddress(message))
    };
    match result {
        Err(e) if present && e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) if !present && e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
        other => other,
    }
}

/// Deletes the link with kernel index `index`.
pub fn delete(index: u32) -> io::Result<()> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    netlink::change(RouteNetlinkMessage::DelLink(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_namespace() {
        let links = links().expect("link dump");
        let lo = links.iter().find(|l| l.name == "lo").expect("lo");
        assert!(lo.up, "{links:?}");
        assert_eq!(lo.kind, None);
    }
}
