//! The mesh's interfaces as they are: each [`KernelLink`] whose name has the
//! mesh's prefix, WireGuard ones with their [`WireGuardState`]. What
//! [`crate::reconcile`] compares with the plan.

use crate::links::{links, KernelLink};
use crate::wireguard::{self, PeerState, WireGuardState};
use crate::HostError;
use hortus_plan::{HostPlan, Link};
use std::net::{Ipv4Addr, SocketAddr};

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

/// The interfaces a host has once `plan` is applied (kernel indexes from 1;
/// a dialled endpoint's address unknown, its port planned): what `hortus
/// diff` hands [`crate::diff::actions`] to tell what reconcile will do when
/// a new plan replaces this one.
pub fn as_planned(plan: &HostPlan) -> Vec<LiveInterface> {
    let mut interfaces: Vec<_> =
        plan.node.links.iter().zip(1..).map(|(link, index)| planned(plan, link, index)).collect();
    interfaces.sort_by(|a, b| a.link.name.cmp(&b.link.name));
    interfaces
}

/// `link` of `plan` as the kernel has it once applied, with kernel index
/// `index` (a listening port the kernel picks, when the plan sets none).
pub(crate) fn planned(plan: &HostPlan, link: &Link, index: u32) -> LiveInterface {
    LiveInterface {
        link: KernelLink {
            index,
            name: link.interface.clone(),
            kind: Some("wireguard".into()),
            mtu: Some(link.mtu),
            up: true,
        },
        wireguard: Some(WireGuardState {
            listen_port: Some(if link.listen { link.port } else { 40000 }),
            public_key: Some(plan.node.public_key.clone()),
            fwmark: plan.node.policy_routing.as_ref().and_then(|p| p.wireguard_mark),
            peers: vec![PeerState {
                public_key: link.peer_public_key.clone(),
                endpoint: link.endpoint().map(|e| SocketAddr::from((Ipv4Addr::UNSPECIFIED, e.port))),
                keepalive: link.keepalive,
                ..PeerState::default()
            }],
        }),
    }
}
