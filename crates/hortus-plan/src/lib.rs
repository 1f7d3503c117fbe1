//! # hortus-plan
//!
//! The plan contract: the versioned JSON `hortus plan` writes and every
//! consumer reads — the renderers, the NixOS module (through the same
//! fields, checking [`PLAN_VERSION`]), the host runtime (`hortus reconcile`),
//! `hortus status`, `hortus graph` and the lab. `docs/plan-format.md`
//! documents every field.
//!
//! A plan holds decisions only: every setting resolved, every address,
//! port, endpoint, metric, sysctl, firewall port and NAT rule a host needs
//! written out, so that consumers map it and never derive anything.
//! [`PlanFile`] is the one loader (version check, whole plan or one host's
//! view). Private keys never appear: only public keys.
//!
//! hortus-core computes plans from an inventory; this crate only describes
//! them and does no I/O beyond reading a plan file.

pub mod endpoint;
pub mod exit;
pub mod forwarder;
pub mod fragility;
mod load;
pub mod mesh;
pub mod node;
pub mod prefix;

pub use endpoint::{Dial, EndpointSettings, Family, Host, Underlay};
pub use exit::{DefaultRoute, IpFamily, PolicyRouting, PolicyRule, MAIN_TABLE};
pub use forwarder::{Forwarder, NatRule, Transport, Tun};
pub use fragility::{ForwardedOnly, SinglePoint};
pub use load::{LoadError, PlanFile};
pub use mesh::{BabelSettings, FailoverSettings, KernelMetrics, Mesh, PortScheme, RoutingDaemon};
pub use node::{
    FamilyRoutes, Firewall, ForwardRule, InterfaceAddress, Learned, Link, NodePlan, Path, Perimeter, ReversePath,
    Routes, SkipReason, SkippedPeer,
};
pub use prefix::{IpPrefix, Ipv4Prefix, Ipv6Prefix};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the plan JSON format; bumped on any breaking change.
pub const PLAN_VERSION: u32 = 7;

/// The whole mesh's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The resolved mesh settings.
    pub mesh: Mesh,
    /// Every node's plan, by name.
    pub nodes: BTreeMap<String, NodePlan>,
    /// Things that work but deserve a look.
    pub warnings: Vec<String>,
}

/// One host's view of the plan (`hortus plan --host NAME`): the host's
/// node plan with the mesh-wide parts, nothing about pairs of two other nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostPlan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The resolved mesh settings.
    pub mesh: Mesh,
    /// The host's name.
    pub host: String,
    /// The host's node plan.
    pub node: NodePlan,
    /// The mesh's warnings.
    pub warnings: Vec<String>,
}

/// A pair left without a link, named lower id first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPair {
    /// The two node names, lower id first.
    pub nodes: [String; 2],
    /// Why.
    pub reason: SkipReason,
}

impl Plan {
    /// The view of one host: a selection, nothing is computed.
    pub fn host(&self, name: &str) -> Result<HostPlan, LoadError> {
        let node = self.nodes.get(name).ok_or_else(|| LoadError::unknown_host(name, self.nodes.keys()))?;
        Ok(HostPlan {
            version: self.version,
            mesh: self.mesh.clone(),
            host: name.into(),
            node: node.clone(),
            warnings: self.warnings.clone(),
        })
    }

    /// Every skipped pair once, in pair order (lower id, then higher id).
    pub fn skipped_pairs(&self) -> Vec<SkippedPair> {
        let mut pairs: Vec<(u32, u32, SkippedPair)> = self
            .nodes
            .iter()
            .flat_map(|(name, node)| {
                node.skipped.iter().filter(move |s| s.peer_id > node.id).map(move |s| {
                    (node.id, s.peer_id, SkippedPair { nodes: [name.clone(), s.peer.clone()], reason: s.reason })
                })
            })
            .collect();
        pairs.sort_by_key(|(a, b, _)| (*a, *b));
        pairs.into_iter().map(|(_, _, pair)| pair).collect()
    }
}
