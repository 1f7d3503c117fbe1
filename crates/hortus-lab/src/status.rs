//! What each node sees: `hortus status` (the very command an operator runs
//! on a host) run inside the node's namespace with its WireGuard control
//! sockets and its daemon's socket, plus what only the lab knows: cuts,
//! kills and Babel packet counters.

use crate::error::{LabError, Result};
use crate::exec::Cmd;
use crate::lab::Lab;
use crate::network::TABLE;
use crate::state::CutMode;
use hortus_status::HostStatus;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;

pub use hortus_host::routes::KernelRoute as Route;

/// One node's view.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Node name.
    pub node: String,
    /// Its namespace.
    pub namespace: String,
    /// Killed (`hortus lab kill`).
    pub killed: bool,
    /// Links cut from this side, by peer.
    pub cuts: BTreeMap<String, CutMode>,
    /// Random loss on what reaches it over the underlay, percent (`hortus lab loss`).
    pub loss_percent: Option<u8>,
    /// Babel packets received and sent (nftables counters on UDP 6696).
    pub babel_packets: Option<(u64, u64)>,
    /// What `hortus status` reports in the node's namespace.
    pub host: HostStatus,
}

impl Lab {
    /// Every node's status, in id order.
    pub fn status(&self) -> Result<Vec<NodeStatus>> {
        self.nodes().iter().map(|n| self.node_status(n)).collect()
    }

    /// Node `name`'s status.
    pub fn node_status(&self, name: &str) -> Result<NodeStatus> {
        Ok(NodeStatus {
            node: name.into(),
            namespace: self.state.node_ns(name),
            killed: self.state.killed.contains(name),
            cuts: self.state.cuts.iter().filter(|c| c.node == name).map(|c| (c.peer.clone(), c.mode)).collect(),
            loss_percent: self.state.loss.get(name).copied(),
            babel_packets: self.babel_counters(name),
            host: self.host_status(name)?,
        })
    }

    /// `hortus status --json` in `name`'s namespace, against the lab's plan.
    pub fn host_status(&self, name: &str) -> Result<HostStatus> {
        self.node_plan(name)?;
        let node = self.dir.node(name);
        let path = |file: &str| node.file(file).to_string_lossy().into_owned();
        let plan = self.dir.plan_file().to_string_lossy().into_owned();
        let daemon = self.state.daemon.program();
        let args = [
            "status",
            "--plan",
            &plan,
            "--host",
            name,
            "--daemon",
            daemon,
            "--bird-socket",
            &path("bird.ctl"),
            "--babeld-socket",
            &path("babeld.sock"),
            "--failover-state",
            &path("failover.json"),
            "--json",
        ];
        let exe = self.state.hortus_exe.to_string_lossy().into_owned();
        let json =
            Cmd::new(&exe, args).with_wireguard_dir(&node.wireguard_dir()).in_ns(&self.state.node_ns(name)).run()?;
        serde_json::from_str(&json).map_err(|e| LabError::Command {
            command: format!("hortus status on `{name}`"),
            status: "unreadable JSON".into(),
            stderr: e.to_string(),
        })
    }

    /// The kernel's route per destination ULA in `name`'s namespace.
    pub fn routes(&self, name: &str) -> Result<BTreeMap<Ipv6Addr, Route>> {
        let status = self.host_status(name)?;
        Ok(status.destinations.into_iter().filter_map(|d| Some((d.address, d.route?))).collect())
    }

    /// Babel packets (in, out) counted in `name`'s namespace.
    pub fn babel_counters(&self, name: &str) -> Option<(u64, u64)> {
        let text = Cmd::new("nft", ["-j", "list", "counters", "table", "inet", TABLE])
            .in_ns(&self.state.node_ns(name))
            .run()
            .ok()?;
        let counters = parse_counters(&text);
        Some((*counters.get("babel_in")?, *counters.get("babel_out")?))
    }
}

/// Counter name → packets, from `nft -j list counters`.
fn parse_counters(json: &str) -> BTreeMap<String, u64> {
    let v: Value = serde_json::from_str(json).unwrap_or_default();
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let c = e.get("counter")?;
            Some((c["name"].as_str()?.to_string(), c["packets"].as_u64()?))
        })
        .collect()
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.namespace)?;
        if self.killed {
            write!(f, " KILLED")?;
        }
        if let Some((rx, tx)) = self.babel_packets {
            write!(f, "  babel packets in {rx} out {tx}")?;
        }
        for (peer, mode) in &self.cuts {
            write!(f, "  CUT to {peer} ({mode:?})")?;
        }
        if let Some(percent) = self.loss_percent {
            write!(f, "  LOSS {percent} % in")?;
        }
        writeln!(f)?;
        f.write_str(&hortus_status::render::text(&self.host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counters() {
        let c = parse_counters(
            r#"{"nftables":[{"metainfo":{}},{"counter":{"family":"inet","name":"babel_in","table":"hortus_lab","handle":1,"packets":5,"bytes":100}}]}"#,
        );
        assert_eq!(c["babel_in"], 5);
    }
}
