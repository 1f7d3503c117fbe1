//! A WireGuard interface's live state through `wireguard-control`: the
//! kernel's over generic netlink, wireguard-go's over its UAPI socket in
//! `/run/wireguard` (or `/var/run/wireguard`). Never its private key. The
//! one WireGuard state model of hortus, compared with the plan by both
//! `hortus reconcile` and `hortus status`.

use serde::{Deserialize, Serialize};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::UNIX_EPOCH;
use wireguard_control::{Backend, Device, DeviceUpdate, InterfaceName, Key, PeerConfigBuilder};

/// Where wireguard-go puts an interface's UAPI socket.
const USERSPACE_SOCKET_DIRS: [&str; 2] = ["/run/wireguard", "/var/run/wireguard"];

/// A WireGuard interface's settings and counters (never its private key).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WireGuardState {
    /// UDP listen port (the kernel picks one when none was set).
    pub listen_port: Option<u16>,
    /// Public key of the interface's private key, base64.
    pub public_key: Option<String>,
    /// The firewall mark of its packets (none when 0).
    pub fwmark: Option<u32>,
    /// The configured peers.
    pub peers: Vec<PeerState>,
}

/// One WireGuard peer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PeerState {
    /// The peer's public key, base64.
    pub public_key: String,
    /// The peer's current endpoint, if it has one.
    pub endpoint: Option<SocketAddr>,
    /// Persistent keepalive in seconds, if on.
    pub keepalive: Option<u16>,
    /// Last handshake, Unix seconds; `None` if never.
    pub last_handshake_unix_s: Option<u64>,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
}

/// Interface `name` and who runs it: wireguard-go when it has a UAPI
/// socket for it, else the kernel.
fn interface(name: &str) -> io::Result<(InterfaceName, Backend)> {
    let iface: InterfaceName =
        name.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: {e}")))?;
    let userspace = USERSPACE_SOCKET_DIRS.iter().any(|dir| Path::new(dir).join(format!("{name}.sock")).exists());
    Ok((iface, if userspace { Backend::Userspace } else { Backend::Kernel }))
}

/// Sets the endpoint of the peer `public_key` (base64) of interface `name`,
/// changing nothing else. The peer must exist (a new one would have no
/// allowed IPs).
pub fn set_endpoint(name: &str, public_key: &str, endpoint: SocketAddr) -> io::Result<()> {
    let (iface, backend) = interface(name)?;
    let key = Key::from_base64(public_key)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: peer key is not base64")))?;
    let peer = PeerConfigBuilder::new(&key).set_endpoint(endpoint);
    DeviceUpdate::new().add_peer(peer).apply(&iface, backend)
}

/// Reads interface `name`: from wireguard-go when it has a UAPI socket for
/// it, else from the kernel.
pub fn read(name: &str) -> io::Result<WireGuardState> {
    let (iface, backend) = interface(name)?;
    let device = Device::get(&iface, backend)?;
    Ok(WireGuardState {
        listen_port: device.listen_port,
        public_key: device.public_key.map(|k| k.to_base64()),
        fwmark: device.fwmark.filter(|&m| m != 0),
        peers: device
            .peers
            .iter()
            .map(|peer| PeerState {
                public_key: peer.config.public_key.to_base64(),
                endpoint: peer.config.endpoint,
                keepalive: peer.config.persistent_keepalive_interval.filter(|&k| k != 0),
                last_handshake_unix_s: peer
                    .stats
                    .last_handshake_time
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
                    .filter(|&s| s > 0),
                rx_bytes: peer.stats.rx_bytes,
                tx_bytes: peer.stats.tx_bytes,
            })
            .collect(),
    })
}
