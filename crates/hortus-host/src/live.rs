//! The kernel's view of a host's interfaces, over netlink: links (name,
//! kind, MTU) from rtnetlink, WireGuard state (listen port, key, peers) from
//! [`wireguard::read`]. Never reads another tool's output.

use crate::wireguard::{self, WireGuardState};
use crate::HostError;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::link::{LinkAttribute, LinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_request::netlink_request_rtnl;
use std::io;

/// One live network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInterface {
    /// Kernel interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Link kind (`wireguard`, `dummy`, ...), when the link has one.
    pub kind: Option<String>,
    /// MTU in bytes.
    pub mtu: Option<u32>,
    /// WireGuard settings, for WireGuard links.
    pub wireguard: Option<WireGuardState>,
}

/// The interfaces whose names start with `prefix`, WireGuard ones with
/// their WireGuard settings.
pub fn interfaces(prefix: &str) -> Result<Vec<LiveInterface>, HostError> {
    let netlink = |what: &str| {
        let what = what.to_string();
        move |source| HostError::Netlink { what, source }
    };
    let responses =
        netlink_request_rtnl(RouteNetlinkMessage::GetLink(LinkMessage::default()), Some(NLM_F_REQUEST | NLM_F_DUMP))
            .map_err(netlink("list links"))?;
    let mut found = vec![];
    for response in responses {
        let NetlinkMessage { payload: NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)), .. } = response
        else {
            continue;
        };
        let mut interface =
            LiveInterface { index: link.header.index, name: String::new(), kind: None, mtu: None, wireguard: None };
        for attribute in &link.attributes {
            match attribute {
                LinkAttribute::IfName(name) => interface.name = name.clone(),
                LinkAttribute::Mtu(mtu) => interface.mtu = Some(*mtu),
                LinkAttribute::LinkInfo(infos) => {
                    interface.kind = infos.iter().find_map(|info| match info {
                        LinkInfo::Kind(kind) => Some(kind.to_string()),
                        _ => None,
                    })
                }
                _ => {}
            }
        }
        if !interface.name.starts_with(prefix) {
            continue;
        }
        if interface.kind.as_deref() == Some("wireguard") {
            interface.wireguard =
                Some(wireguard::read(&interface.name).map_err(netlink(&format!("read {}", interface.name)))?);
        }
        found.push(interface);
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Deletes the link with kernel index `index`.
pub fn delete(index: u32) -> io::Result<()> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    netlink_request_rtnl(RouteNetlinkMessage::DelLink(message), Some(NLM_F_REQUEST | NLM_F_ACK)).map(|_| ())
}
