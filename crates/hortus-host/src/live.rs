//! The mesh's interfaces as they are: each [`KernelLink`] whose name has the
//! mesh's prefix, WireGuard ones with their [`WireGuardState`]. What
//! [`crate::reconcile`] compares with the plan.

use crate::links::{links, KernelLink};
use crate::wireguard::{self, WireGuardState};
use crate::HostError;

/// One live interface of the mesh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInterface {
    /// The kernel's link.
    pub link: KernelLink,
    /// WireGuard settings, for WireGuard links.
    pub wireguard: Option<WireGuardState>,
}

/// The interfaces whose names start with `prefix`, sorted by name,
/// WireGuard ones with their WireGuard settings.
pub fn interfaces(prefix: &str) -> Result<Vec<LiveInterface>, HostError> {
    let mut found = vec![];
    for link in links()?.into_iter().filter(|l| l.name.starts_with(prefix)) {
        let wireguard = match link.kind.as_deref() {
            Some("wireguard") => {
                Some(wireguard::read(&link.name).map_err(HostError::netlink(&format!("read {}", link.name)))?)
            }
            _ => None,
        };
        found.push(LiveInterface { link, wireguard });
    }
    found.sort_by(|a, b| a.link.name.cmp(&b.link.name));
    Ok(found)
}
