//! WireGuard state of a real host, read by [`hortus_host::wireguard::read`]
//! (wireguard-go's UAPI socket when the interface has one, else the kernel).

use crate::live::{WgInterface, WgPeer, WireGuardSource};

/// Reads interfaces from wireguard-go when it has a control socket for
/// them, else from the kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host;

impl WireGuardSource for Host {
    fn interface(&self, name: &str) -> Result<Option<WgInterface>, String> {
        let state =
            hortus_host::wireguard::read(name).map_err(|e| format!("{name}: not readable as WireGuard ({e})"))?;
        Ok(Some(WgInterface {
            listen_port: state.listen_port,
            peers: state
                .peers
                .into_iter()
                .map(|p| WgPeer {
                    public_key: p.public_key,
                    endpoint: p.endpoint.map(|e| e.to_string()),
                    last_handshake_unix_s: p.last_handshake_unix_s,
                    rx_bytes: p.rx_bytes,
                    tx_bytes: p.tx_bytes,
                    keepalive: p.keepalive,
                })
                .collect(),
        }))
    }
}
