//! WireGuard state through `wireguard-control`: the kernel's interfaces
//! over generic netlink, wireguard-go's over its UAPI socket in
//! `/var/run/wireguard` (or `/run/wireguard`).

use crate::live::{WgInterface, WgPeer, WireGuardSource};
use std::path::Path;
use std::time::UNIX_EPOCH;
use wireguard_control::{Backend, Device, InterfaceName};

/// Reads interfaces from wireguard-go when it has a control socket for
/// them, else from the kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host;

impl WireGuardSource for Host {
    fn interface(&self, name: &str) -> Result<Option<WgInterface>, String> {
        let iface: InterfaceName = name.parse().map_err(|e| format!("{name}: {e}"))?;
        let userspace = ["/var/run/wireguard", "/run/wireguard"]
            .iter()
            .any(|dir| Path::new(dir).join(format!("{name}.sock")).exists());
        let backend = if userspace { Backend::Userspace } else { Backend::Kernel };
        Device::get(&iface, backend)
            .map(|device| Some(from_device(&device)))
            .map_err(|e| format!("{name}: not readable as WireGuard ({e})"))
    }
}

fn from_device(device: &Device) -> WgInterface {
    WgInterface {
        listen_port: device.listen_port,
        peers: device
            .peers
            .iter()
            .map(|p| WgPeer {
                public_key: p.config.public_key.to_base64(),
                endpoint: p.config.endpoint.map(|e| e.to_string()),
                last_handshake_unix_s: p
                    .stats
                    .last_handshake_time
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
                    .filter(|&s| s > 0),
                rx_bytes: p.stats.rx_bytes,
                tx_bytes: p.stats.tx_bytes,
                keepalive: p.config.persistent_keepalive_interval.filter(|&k| k > 0),
            })
            .collect(),
    }
}
