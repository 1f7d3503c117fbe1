//! The lab's state directory: `state.json` (what was created, written
//! atomically after every creation so `down` can undo a crashed `up`),
//! `plan.json` and `inventory.json` (the lab's plan and inventory, public
//! keys only) and one directory per node with its private key (0600),
//! rendered configs, control sockets and logs.

use crate::error::{LabError, Result};
use crate::process::ProcessRecord;
use crate::underlay::ipv6_of;
use hortus_plan::{IpFamily, RoutingDaemon, Underlay};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// Version of `state.json`.
pub const STATE_VERSION: u32 = 4;

/// How WireGuard interfaces are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireGuardImpl {
    /// The kernel module (`ip link add ... type wireguard`).
    Kernel,
    /// One `wireguard-go -f` process per interface.
    Userspace,
}

/// How a cut link is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CutMode {
    /// nftables in A's namespace drop the link's underlay packets (the
    /// pair's UDP port both ways, and the forwarder's TCP on forwarded links).
    Underlay,
    /// A's WireGuard interface for the link is set down.
    InterfaceDown,
}

/// A cut link, applied in `node`'s namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    /// The node whose namespace holds the cut.
    pub node: String,
    /// The peer.
    pub peer: String,
    /// How.
    pub mode: CutMode,
    /// Only this family's packets (an underlay cut); both when none.
    pub family: Option<IpFamily>,
}

/// One node's underlay attachment, as `revive` needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeUnderlay {
    /// IPv4 address on `up0` (also the key of its IPv6 mirror).
    pub address: Ipv4Addr,
    /// Default gateway.
    pub gateway: Ipv4Addr,
    /// The families its uplink carries (the plan's `underlay`).
    pub families: Underlay,
}

impl NodeUnderlay {
    /// The addresses peers reach it at: IPv4 and/or the IPv6 mirror.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut out = vec![];
        if self.families.has(IpFamily::Ipv4) {
            out.push(IpAddr::V4(self.address));
        }
        if self.families.has(IpFamily::Ipv6) {
            out.push(IpAddr::V6(ipv6_of(self.address)));
        }
        out
    }
}

/// Everything the lab created, and what it did since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabState {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// Prefix of every namespace name.
    pub prefix: String,
    /// The routing daemon the nodes run.
    pub daemon: RoutingDaemon,
    /// How WireGuard runs.
    pub wireguard: WireGuardImpl,
    /// The `hortus` executable, for the stand-in relays (`hortus lab relay`),
    /// `hortus endpoints` and `hortus forwarder-client`.
    pub hortus_exe: PathBuf,
    /// Namespaces, in creation order; recorded before each is created.
    pub namespaces: Vec<String>,
    /// Every process started (stopped ones are removed).
    pub processes: Vec<ProcessRecord>,
    /// Nodes' underlay attachments.
    pub underlay: BTreeMap<String, NodeUnderlay>,
    /// Links currently cut.
    pub cuts: Vec<Cut>,
    /// Nodes currently killed.
    pub killed: BTreeSet<String>,
    /// Random underlay loss per node, percent (`hortus lab loss`).
    #[serde(default)]
    pub loss: BTreeMap<String, u8>,
    /// When the routing daemons were started (Unix milliseconds).
    pub daemons_started_unix_ms: Option<u64>,
    /// The last fault or repair (`cut`, `heal`, `kill`, `revive`, `loss`),
    /// which `lab wait` counts from.
    #[serde(default)]
    pub last_event: Option<LabEvent>,
}

/// A fault or repair applied to the lab, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabEvent {
    /// The command, e.g. `kill n1`.
    pub what: String,
    /// When it was applied, Unix milliseconds.
    pub unix_ms: u64,
}

impl LabState {
    /// The namespace of node `name`.
    pub fn node_ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// Paths inside the state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    /// The directory.
    pub root: PathBuf,
}

impl StateDir {
    /// The state directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// `state.json`.
    pub fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// `plan.json`: the lab's plan.
    pub fn plan_file(&self) -> PathBuf {
        self.root.join("plan.json")
    }

    /// `inventory.json`: the lab's inventory.
    pub fn inventory_file(&self) -> PathBuf {
        self.root.join("inventory.json")
    }

    /// Node `name`'s directory.
    pub fn node(&self, name: &str) -> NodeDir {
        NodeDir { root: self.root.join("nodes").join(name) }
    }

    /// Reads `state.json`.
    pub fn load(&self) -> Result<LabState> {
        let path = self.state_file();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LabError::NotUp(self.root.clone())),
            Err(e) => return Err(LabError::io(path, e)),
        };
        let state: LabState = serde_json::from_str(&text)
            .map_err(|e| LabError::BadState { path: path.clone(), message: e.to_string() })?;
        if state.version != STATE_VERSION {
            return Err(LabError::BadState {
                path,
                message: format!("version {} (expected {STATE_VERSION})", state.version),
            });
        }
        Ok(state)
    }

    /// Writes `state.json` atomically.
    pub fn save(&self, state: &LabState) -> Result<()> {
        let text = serde_json::to_string_pretty(state).expect("state serialises") + "\n";
        write_atomic(&self.state_file(), text.as_bytes(), 0o600)
    }
}

/// Paths inside one node's directory.
#[derive(Debug, Clone)]
pub struct NodeDir {
    /// The directory.
    pub root: PathBuf,
}

impl NodeDir {
    /// The node's private key (mode 0600).
    pub fn private_key(&self) -> PathBuf {
        self.root.join("private.key")
    }

    /// Bind-mounted on `/run/wireguard` for the node's wireguard-go and `wg`.
    pub fn wireguard_dir(&self) -> PathBuf {
        self.root.join("wireguard")
    }

    /// A file in the node's directory (configs, sockets, logs).
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// Writes `contents` to `path` through a temporary file and a rename, with
/// `mode` permissions, so readers never see a partial file.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    hortus_fs::write_atomic(path, contents, mode).map_err(|e| LabError::io(path, e))
}

/// Creates `dir` (and parents) and sets it to `mode`.
pub fn create_dir(dir: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).map_err(|e| LabError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_missing_state_is_not_up() {
        let root = std::env::temp_dir().join(format!("hortus-lab-state-test-{}", std::process::id()));
        let dir = StateDir::new(&root);
        create_dir(&root, 0o700).unwrap();
        assert!(matches!(dir.load(), Err(LabError::NotUp(_))));
        let state = LabState {
            version: STATE_VERSION,
            prefix: "t-".into(),
            daemon: RoutingDaemon::Bird,
            wireguard: WireGuardImpl::Userspace,
            hortus_exe: "/bin/hortus".into(),
            namespaces: vec!["t-_core".into()],
            processes: vec![],
            underlay: BTreeMap::new(),
            cuts: vec![Cut { node: "a".into(), peer: "b".into(), mode: CutMode::InterfaceDown, family: None }],
            killed: BTreeSet::from(["c".to_string()]),
            loss: BTreeMap::from([("a".to_string(), 2)]),
            daemons_started_unix_ms: Some(1),
            last_event: None,
        };
        dir.save(&state).unwrap();
        assert_eq!(dir.load().unwrap(), state);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(dir.state_file()).unwrap().permissions().mode() & 0o777, 0o600);
        fs::write(dir.state_file(), "{").unwrap();
        assert!(dir.load().unwrap_err().to_string().contains("not a lab state file"));
        fs::remove_dir_all(&root).unwrap();
    }
}
