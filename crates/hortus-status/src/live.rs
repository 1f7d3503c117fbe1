//! The live state of a host, read through three small traits so the same
//! code serves a real host and tests: WireGuard interfaces, Babel's view,
//! and the kernel's interfaces and routes.

use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// One WireGuard interface as the kernel or wireguard-go reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WgInterface {
    /// The UDP port it listens on.
    pub listen_port: Option<u16>,
    /// Its peers.
    pub peers: Vec<WgPeer>,
}

/// One WireGuard peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WgPeer {
    /// Base64 public key.
    pub public_key: String,
    /// Current endpoint (`ip:port`), if known.
    pub endpoint: Option<String>,
    /// Last handshake, Unix seconds; `None` if never.
    pub last_handshake_unix_s: Option<u64>,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Persistent keepalive, seconds.
    pub keepalive: Option<u16>,
}

/// A Babel neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbour {
    /// Interface it was heard on.
    pub interface: String,
    /// Its link-local address.
    pub address: Ipv6Addr,
    /// The link cost the daemon computes for it.
    pub cost: u32,
}

/// A route the Babel daemon selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BabelRoute {
    /// Destination host address (of a /128).
    pub destination: Ipv6Addr,
    /// Outgoing interface.
    pub interface: String,
    /// Next hop.
    pub next_hop: Option<Ipv6Addr>,
    /// Babel metric.
    pub metric: u32,
}

/// What the routing daemon knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BabelView {
    /// Neighbours heard.
    pub neighbours: Vec<Neighbour>,
    /// Selected routes to /128 destinations.
    pub routes: Vec<BabelRoute>,
}

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

/// Reads WireGuard interfaces.
pub trait WireGuardSource {
    /// The interface `name`; `Ok(None)` when there is no such WireGuard
    /// interface.
    fn interface(&self, name: &str) -> std::result::Result<Option<WgInterface>, String>;
}

/// Reads the routing daemon.
pub trait BabelSource {
    /// Neighbours and selected routes.
    fn view(&self) -> Result<BabelView>;
}

/// Reads the kernel's interfaces and IPv6 routes.
pub trait RouteSource {
    /// Every interface name and whether it is administratively up.
    fn interfaces(&self) -> Result<BTreeMap<String, bool>>;
    /// The lowest-metric IPv6 route of the main table per /128 destination.
    fn host_routes(&self) -> Result<BTreeMap<Ipv6Addr, KernelRoute>>;
}

/// One interface's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceState {
    /// Present in the kernel.
    pub present: bool,
    /// Administratively up.
    pub admin_up: bool,
    /// Its WireGuard state, if it could be read.
    pub wireguard: Option<WgInterface>,
    /// Why the WireGuard state could not be read.
    pub error: Option<String>,
}

/// Everything read at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When, Unix seconds.
    pub taken_unix_s: u64,
    /// Each planned interface.
    pub interfaces: BTreeMap<String, InterfaceState>,
    /// Babel's view, or why it could not be read.
    pub babel: std::result::Result<BabelView, String>,
    /// Kernel routes per /128 destination.
    pub routes: BTreeMap<Ipv6Addr, KernelRoute>,
}

/// Reads the state of `interfaces` and everything else at `now` (Unix
/// seconds). Kernel interfaces and routes must be readable; an unreadable
/// Babel daemon or WireGuard interface is recorded, not fatal.
pub fn collect(
    interfaces: &[String],
    wireguard: &dyn WireGuardSource,
    babel: &dyn BabelSource,
    kernel: &dyn RouteSource,
    now: u64,
) -> Result<Snapshot> {
    let links = kernel.interfaces()?;
    let interfaces = interfaces
        .iter()
        .map(|name| {
            let admin = links.get(name).copied();
            let (wg, error) = match admin {
                None => (None, None),
                Some(_) => match wireguard.interface(name) {
                    Ok(wg) => (wg, None),
                    Err(e) => (None, Some(e)),
                },
            };
            let state =
                InterfaceState { present: admin.is_some(), admin_up: admin.unwrap_or(false), wireguard: wg, error };
            (name.clone(), state)
        })
        .collect();
    Ok(Snapshot {
        taken_unix_s: now,
        interfaces,
        babel: babel.view().map_err(|e| e.to_string()),
        routes: kernel.host_routes()?,
    })
}
