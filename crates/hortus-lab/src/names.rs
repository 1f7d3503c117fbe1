//! Endpoints that change: DNS names resolved in each node's namespace, a
//! node that moves to a new underlay address, and `hortus endpoints`
//! running on every node that dials a name or several candidates.
//!
//! Names resolve through `/etc/netns/<namespace>/hosts`, which `ip netns
//! exec` bind-mounts on `/etc/hosts` for everything the lab runs in that
//! namespace (WireGuard's `wg set`, phantun, `hortus endpoints`): each
//! inventory name maps to its node's current underlay address. `hortus lab
//! move NODE` gives the node a new address in its uplink subnet and
//! rewrites every hosts file; the links dialling it by name find it again
//! through `hortus endpoints`, without anything being restarted.

use crate::error::{LabError, Result};
use crate::exec::ip;
use crate::lab::Lab;
use crate::network;
use crate::process::ProcessKind;
use crate::underlay::{ipv6_of, UPLINK, UPLINK_PREFIX_LEN, UPLINK_PREFIX_LEN_V6};
use hortus_plan::{Host, IpFamily};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The directory `ip netns exec` takes per-namespace `/etc` files from.
fn netns_etc(ns: &str) -> PathBuf {
    PathBuf::from("/etc/netns").join(ns)
}

/// Removes the hosts file the lab wrote for namespace `ns` (and the
/// directory when that leaves it empty).
pub(crate) fn remove_hosts(ns: &str) {
    let dir = netns_etc(ns);
    let _ = std::fs::remove_file(dir.join("hosts"));
    let _ = std::fs::remove_dir(dir);
}

impl Lab {
    /// Every DNS name of the plan's endpoints with its node's current
    /// underlay address, as `/etc/hosts` lines.
    fn hosts_file(&self) -> String {
        let mut text = String::from("127.0.0.1 localhost\n::1 localhost\n");
        for (name, node) in &self.plan.nodes {
            let Some(underlay) = self.state.underlay.get(name) else { continue };
            let names: BTreeSet<&str> = node
                .endpoints
                .iter()
                .chain(&node.lan_endpoints)
                .filter_map(|h| match h {
                    Host::Dns(n) => Some(n.as_str()),
                    Host::Ip(_) => None,
                })
                .collect();
            for dns in names {
                for address in underlay.addresses() {
                    text += &format!("{address} {dns}\n");
                }
            }
        }
        text
    }

    /// Writes the hosts file of every node's namespace.
    pub(crate) fn write_hosts(&self) -> Result<()> {
        let text = self.hosts_file();
        for name in self.nodes() {
            let dir = netns_etc(&self.state.node_ns(&name));
            std::fs::create_dir_all(&dir).map_err(|e| LabError::io(&dir, e))?;
            // Rewritten in place, never replaced: the processes already
            // running see it through a bind mount of this very inode.
            let path = dir.join("hosts");
            std::fs::write(&path, &text).map_err(|e| LabError::io(&path, e))?;
        }
        Ok(())
    }

    /// Starts `hortus endpoints` on `name` when its plan says it switches
    /// endpoints.
    pub(crate) fn start_endpoints(&mut self, name: &str) -> Result<()> {
        if !self.node_plan(name)?.switches_endpoints {
            return Ok(());
        }
        self.start_hortus(name, ProcessKind::Endpoints, "endpoints", &[])
    }

    /// Gives node `name` a new address in its uplink subnet (the lowest of
    /// .100–.254 no node uses; its IPv6 mirror too), keeps its gateways,
    /// and points its DNS names there. Returns the new IPv4 address.
    pub fn move_node(&mut self, name: &str) -> Result<Ipv4Addr> {
        self.node_plan(name)?;
        if self.state.killed.contains(name) {
            return Err(LabError::Usage(format!("node `{name}` is killed; revive it first")));
        }
        let old = self.state.underlay[name].clone();
        let used: BTreeSet<Ipv4Addr> = self.state.underlay.values().map(|u| u.address).collect();
        let [a, b, c, _] = old.address.octets();
        let new = (100..=254u8)
            .map(|d| Ipv4Addr::new(a, b, c, d))
            .find(|candidate| !used.contains(candidate) && *candidate != old.gateway)
            .ok_or_else(|| LabError::Usage(format!("no free address left in {a}.{b}.{c}.0/{UPLINK_PREFIX_LEN}")))?;
        let ns = self.state.node_ns(name);
        ip(&ns, &["address", "del", &format!("{}/{UPLINK_PREFIX_LEN}", old.address), "dev", UPLINK])?;
        ip(&ns, &["address", "add", &format!("{new}/{UPLINK_PREFIX_LEN}"), "dev", UPLINK])?;
        if old.families.has(IpFamily::Ipv6) {
            let from = ipv6_of(old.address);
            ip(&ns, &["address", "del", &format!("{from}/{UPLINK_PREFIX_LEN_V6}"), "dev", UPLINK])?;
        }
        network::uplink_up(&ns, new, old.gateway, old.families)?;
        self.state.underlay.get_mut(name).expect("read above").address = new;
        self.write_hosts()?;
        self.record_event(format!("move {name} {} -> {new}", old.address));
        self.save()?;
        Ok(new)
    }
}
