//! Forwarders: the transports that carry a forwarded link's WireGuard UDP
//! past a censor (`mesh.forwarder`), what each end of such a link runs, and
//! the NAT rules the host needs for them.
//!
//! A forwarded link's dialer runs the transport's client on
//! `127.0.0.1:<port>` (the link's WireGuard endpoint); its listener runs the
//! server on the link's port and delivers to its own WireGuard at
//! `127.0.0.1:<port>`. A transport that needs a TUN device per instance
//! (phantun) gets one per link with a name and addresses unique on the host.

use crate::endpoint::Dial;
use crate::prefix::IpPrefix;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};

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
/// `--tun-peer`).
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
    /// On the dialer: accept WireGuard UDP on `listen` (the link's endpoint)
    /// and carry it to the peer's forwarder server at `remote`.
    Client {
        /// The transport.
        transport: Transport,
        /// Local UDP address WireGuard sends to (`127.0.0.1:port`).
        listen: String,
        /// The peer's public endpoint the transport connects to.
        remote: Dial,
        /// The TUN device, for transports that need one.
        tun: Option<Tun>,
        /// The transport program's arguments (empty for `none`).
        args: Vec<String>,
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
        /// The transport program's arguments (empty for `none`).
        args: Vec<String>,
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

    /// The transport program's arguments.
    pub fn args(&self) -> &[String] {
        match self {
            Forwarder::Client { args, .. } | Forwarder::Server { args, .. } => args,
        }
    }

    /// Whether this end runs the client.
    pub fn is_client(&self) -> bool {
        matches!(self, Forwarder::Client { .. })
    }
}

/// A NAT rule of the host; the renderers (nftables) and the NixOS module
/// write these and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "action", rename_all = "lowercase")]
pub enum NatRule {
    /// New TCP connections to `port` on a local address, not arriving on
    /// `except_interface`, go to `to` (IPv4) or `to6` (IPv6): a forwarder
    /// server's TUN peer address.
    Dnat {
        /// Destination TCP port.
        port: u16,
        /// Interface whose packets are left alone (the forwarder's own TUN).
        except_interface: String,
        /// New IPv4 destination.
        to: Ipv4Addr,
        /// New IPv6 destination.
        to6: Ipv6Addr,
    },
    /// Packets from the forwarder client's TUN (`interface`, sources `from`
    /// and `from6`) leave with the host's address.
    Masquerade {
        /// The TUN device packets arrive on.
        interface: String,
        /// IPv4 source behind the TUN.
        from: Ipv4Addr,
        /// IPv6 source behind the TUN.
        from6: Ipv6Addr,
    },
    /// Packets from the mesh interfaces to `destinations` (the node's
    /// subnets) leave with the host's address on the LAN: LAN hosts need no
    /// route back, and a surviving router answers at once when another dies.
    #[serde(rename = "masquerade_subnets")]
    MasqueradeSubnets {
        /// The subnets, both families.
        destinations: Vec<IpPrefix>,
    },
    /// An exit's: packets from the mesh interfaces leaving through any other
    /// interface, except to `except`, leave with the host's address.
    #[serde(rename = "masquerade_exit")]
    MasqueradeExit {
        /// Destinations left alone (subnets whose gateway routes the mesh back).
        except: Vec<IpPrefix>,
    },
}
