//! The rtnetlink plumbing every reader and writer of this crate shares: one
//! request helper (a dump, or a change the kernel acknowledges) over
//! `netlink-request`, and one splitter of a received datagram into its
//! messages for the subscription in [`crate::routes`].

use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_request::netlink_request_rtnl;
use std::io;

/// Sends a dump request and returns every message of the kernel's answer.
pub(crate) fn dump(request: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
    let responses = netlink_request_rtnl(request, Some(NLM_F_REQUEST | NLM_F_DUMP))?;
    Ok(responses
        .into_iter()
        .filter_map(|response| match response.payload {
            NetlinkPayload::InnerMessage(message) => Some(message),
            _ => None,
        })
        .collect())
}

/// Sends a change (delete, create) and waits for the kernel's acknowledgement.
pub(crate) fn change(request: RouteNetlinkMessage) -> io::Result<()> {
    netlink_request_rtnl(request, Some(NLM_F_REQUEST | NLM_F_ACK)).map(drop)
}

/// Sends a creation that must not replace anything and waits for the
/// kernel's acknowledgement (EEXIST when it is there already).
pub(crate) fn create(request: RouteNetlinkMessage) -> io::Result<()> {
    netlink_request_rtnl(request, Some(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)).map(drop)
}

/// The messages of one received netlink datagram, in order.
pub(crate) fn payloads(datagram: &[u8]) -> io::Result<Vec<NetlinkPayload<RouteNetlinkMessage>>> {
    let mut out = vec![];
    let mut offset = 0;
    while offset < datagram.len() {
        let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("decode: {e}")))?;
        let length = message.header.length as usize;
        out.push(message.payload);
        if length == 0 {
            break;
        }
        offset += length;
    }
    Ok(out)
}
