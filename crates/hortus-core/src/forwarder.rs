//! Forwarders: the transports that carry a forwarded link's WireGuard UDP
//! past a censor (`mesh.forwarder`), and what each end of such a link runs.
//!
//! A forwarded link's dialer runs the transport's client on
//! `127.0.0.1:<port>` (the link's WireGuard Endpoint); its listener runs the
//! server on the link's port and delivers to its own WireGuard at
//! `127.0.0.1:<port>`. A transport that needs a TUN device per instance
//! (phantun) gets one per link with a name and addresses unique on the host
//! and stable (they depend on the peer's name and id only).
//!
//! Adding a transport (udp2raw, hysteria2) means a [`Transport`] variant,
//! its [`Transport::overhead`], whether it needs a TUN, and a renderer.

use crate::ifname::interface_name;
use crate::prefix::{Ipv4Prefix, Ipv6Prefix};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Bytes per packet assumed for an operator's own forwarder
/// (`mesh.forwarder = "none"`) unless `mesh.forward_overhead` says otherwise.
pub const EXTERNAL_DEFAULT_OVERHEAD: u32 = 40;

/// Which forwarder runs on forwarded links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// phantun: UDP as fake TCP, one TUN device per instance, the server's
    /// TCP port DNATed to its TUN peer address, the client's TUN subnet
    /// masqueraded. hortus plans, renders and runs it.
    #[serde(rename = "phantun")]
    Phantun,
    /// The plan describes each forwarder (role, addresses, port); the
    /// operator brings and runs it.
    #[serde(rename = "none")]
    External,
}

impl Transport {
    /// Bytes the transport adds to each WireGuard packet on top of the UDP
    /// header it replaces; `None` when hortus does not know the transport.
    ///
    /// phantun: a 20-byte TCP header instead of the 8-byte UDP header, no
    /// framing, measured in the lab (docs/link-policy.md): a 1428-byte
    /// inner packet on a 1500-byte IPv4 underlay leaves as one 1500-byte
    /// frame payload.
    pub fn overhead(self) -> Option<u32> {
        match self {
            Transport::Phantun => Some(12),
            Transport::External => None,
        }
    }

    /// Prefix of the per-link TUN device names, for transports that need one.
    pub fn tun_prefix(self) -> Option<&'static str> {
        match self {
            Transport::Phantun => Some("ph-"),
            Transport::External => None,
        }
    }

    /// The protocol the server accepts on the link's port, for the firewall.
    pub fn protocol(self) -> Option<&'static str> {
        match self {
            Transport::Phantun => Some("tcp"),
            Transport::External => None,
        }
    }

    /// The name used in `mesh.forwarder`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Phantun => "phantun",
            Transport::External => "none",
        }
    }
}

/// A TUN device one forwarder instance creates, point-to-point: `local` is
/// the host's end, `peer` the forwarder's own (phantun's `--tun-local` and
/// `--tun-peer`). The server's TCP port is DNATed to `peer`; the client's
/// packets from `peer` are masqueraded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tun {
    /// Device name (≤ 15 bytes, unique on the host).
    pub name: String,
    /// The host's IPv4 address on the device.
    pub local: Ipv4Addr,
    /// The forwarder's IPv4 address behind the device.
    pub peer: Ipv4Addr,
    /// The host's IPv6 address on the device.
    pub local6: Ipv6Addr,
    /// The forwarder's IPv6 address behind the device.
    pub peer6: Ipv6Addr,
}

/// The side of a forwarded link's forwarder one end runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "role", rename_all = "lowercase")]
pub enum Forwarder {
    /// On the dialer: accept WireGuard UDP on `listen` (the link's Endpoint)
    /// and carry it to the peer's forwarder server at `remote`.
    Client {
        /// The transport.
        transport: Transport,
        /// Local UDP address WireGuard sends to (`127.0.0.1:port`).
        listen: String,
        /// The peer's public `host:port` the transport connects to.
        remote: String,
        /// The TUN device, for transports that need one.
        tun: Option<Tun>,
    },
    /// On the listener: accept the transport on `port` and deliver to the
    /// local WireGuard at `deliver`.
    Server {
        /// The transport.
        transport: Transport,
        /// Port the transport accepts on (the link's port).
        port: u16,
        /// Local WireGuard address to deliver to (`127.0.0.1:port`).
        deliver: String,
        /// The TUN device, for transports that need one.
        tun: Option<Tun>,
    },
}

impl Forwarder {
    /// The transport.
    pub fn transport(&self) -> Transport {
        match self {
            Forwarder::Client { transport, .. } | Forwarder::Server { transport, .. } => *transport,
        }
    }

    /// The TUN device, if the transport uses one.
    pub fn tun(&self) -> Option<&Tun> {
        match self {
            Forwarder::Client { tun, .. } | Forwarder::Server { tun, .. } => tun.as_ref(),
        }
    }
}

/// The TUN device of the forwarder toward peer `peer` (id `peer_id`):
/// `<prefix><peer>` shortened like WireGuard interface names, and the
/// point-to-point pair `2(id+1)`, `2(id+1)+1` in each prefix. `Err` names
/// the prefix that is too small.
pub fn tun_for(
    transport: Transport,
    peer: &str,
    peer_id: u32,
    v4: Ipv4Prefix,
    v6: Ipv6Prefix,
) -> Result<Option<Tun>, &'static str> {
    let Some(prefix) = transport.tun_prefix() else { return Ok(None) };
    let base = peer_id.checked_add(1).and_then(|n| n.checked_mul(2));
    let pair4 = base.and_then(|b| Some((v4.nth(b)?, v4.nth(b + 1)?))).ok_or("forwarder_ipv4_prefix")?;
    let base = 2 * (u128::from(peer_id) + 1);
    let pair6 = v6.nth(base).zip(v6.nth(base + 1)).ok_or("forwarder_ipv6_prefix")?;
    Ok(Some(Tun { name: interface_name(prefix, peer), local: pair4.0, peer: pair4.1, local6: pair6.0, peer6: pair6.1 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> (Ipv4Prefix, Ipv6Prefix) {
        ("10.237.0.0/16".parse().unwrap(), "fcc8::/64".parse().unwrap())
    }

    #[test]
    fn tun_addresses_are_a_pair_per_peer_id() {
        let (v4, v6) = prefixes();
        let tun = tun_for(Transport::Phantun, "hastur", 0, v4, v6).unwrap().unwrap();
        assert_eq!(tun.name, "ph-hastur");
        assert_eq!((tun.local, tun.peer), (Ipv4Addr::new(10, 237, 0, 2), Ipv4Addr::new(10, 237, 0, 3)));
        assert_eq!((tun.local6, tun.peer6), ("fcc8::2".parse().unwrap(), "fcc8::3".parse().unwrap()));
        let other = tun_for(Transport::Phantun, "abhoth", 4, v4, v6).unwrap().unwrap();
        assert_eq!(other.local, Ipv4Addr::new(10, 237, 0, 10));
        let long = tun_for(Transport::Phantun, "a-very-long-peer-name", 7, v4, v6).unwrap().unwrap();
        assert!(long.name.len() <= 15 && long.name.starts_with("ph-a-very-l"), "{}", long.name);
    }

    #[test]
    fn too_big_an_id_names_the_prefix() {
        let (_, v6) = prefixes();
        let small: Ipv4Prefix = "10.237.0.0/24".parse().unwrap();
        assert!(tun_for(Transport::Phantun, "x", 125, small, v6).is_ok());
        assert_eq!(tun_for(Transport::Phantun, "x", 126, small, v6), Err("forwarder_ipv4_prefix"));
        assert_eq!(tun_for(Transport::Phantun, "x", u32::MAX, small, v6), Err("forwarder_ipv4_prefix"));
    }

    #[test]
    fn external_forwarders_have_no_tun_and_no_known_overhead() {
        let (v4, v6) = prefixes();
        assert_eq!(tun_for(Transport::External, "x", 1, v4, v6), Ok(None));
        assert_eq!(Transport::External.overhead(), None);
        assert_eq!(Transport::Phantun.overhead(), Some(12));
    }

    #[test]
    fn forwarder_json_names_role_and_transport() {
        let f = Forwarder::Server { transport: Transport::Phantun, port: 1, deliver: "127.0.0.1:1".into(), tun: None };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"role":"server","transport":"phantun","port":1,"deliver":"127.0.0.1:1","tun":null}"#);
        assert_eq!(serde_json::from_str::<Forwarder>(&json).unwrap(), f);
        assert!(serde_json::from_str::<Forwarder>(&json.replace("\"port\"", "\"extra\":1,\"port\"")).is_err());
    }
}
