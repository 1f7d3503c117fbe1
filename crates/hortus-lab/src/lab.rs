//! A running lab: bringing it up from an inventory, opening it from its
//! state directory, and tearing it down (also after a crash).

use crate::error::{LabError, Result};
use crate::exec::{ip, Cmd};
use crate::lab_plan::{lab_plan, LabPlan};
use crate::lans::{segments, LanSegment};
use crate::network;
use crate::process::{started_badly, ProcessKind, ProcessRecord};
use crate::state::{create_dir, write_atomic, LabState, NodeUnderlay, StateDir, WireGuardImpl, STATE_VERSION};
use crate::tools;
use crate::underlay::{internet_uplink, layout, Underlay, CORE, INTERNET};
use hortus_core::Inventory;
use hortus_plan::{Link, NodePlan, Plan, PlanFile};
use hortus_plan::{RoutingDaemon, Underlay as Families};
use hortus_status::watch::unix_ms;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default namespace prefix.
pub const DEFAULT_PREFIX: &str = "hl-";
/// Default state directory.
pub const DEFAULT_STATE_DIR: &str = "/run/hortus-lab";
/// How long a daemon must survive its start to count as running.
const DAEMON_SETTLE: Duration = Duration::from_millis(300);

/// How to bring a lab up.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Where the state, keys, configs and logs go.
    pub state_dir: PathBuf,
    /// Prefix of every namespace name (1 to 12 of `[A-Za-z0-9_.-]`).
    pub prefix: String,
    /// Routing daemon, overriding the inventory's `mesh.routing`.
    pub daemon: Option<RoutingDaemon>,
    /// The `hortus` executable, run as `hortus lab relay ...` for the
    /// forwarders of `mesh.forwarder = "none"` plans, `hortus endpoints` and
    /// `hortus forwarder-client` (phantun clients dialling a name).
    pub hortus_exe: PathBuf,
}

/// A lab that is up: its state directory, state and plan.
#[derive(Debug)]
pub struct Lab {
    pub(crate) dir: StateDir,
    pub(crate) state: LabState,
    pub(crate) plan: Plan,
}

/// What `down` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    /// Processes stopped.
    pub processes: usize,
    /// Namespaces deleted.
    pub namespaces: usize,
    /// Whatever could not be removed (empty on a clean teardown).
    pub leftovers: Vec<String>,
}

impl Lab {
    /// Brings `inventory` up: underlay, nodes with their WireGuard links and
    /// forwarders, then every routing daemon. `progress` gets one line per node.
    /// On failure everything created is torn down again.
    pub fn up(inventory: &Inventory, opts: &UpOptions, progress: &mut dyn FnMut(&str)) -> Result<Lab> {
        check_prefix(&opts.prefix)?;
        if !tools::is_root() {
            return Err(LabError::NotRoot);
        }
        let dir = StateDir::new(&opts.state_dir);
        if dir.state_file().exists() {
            return Err(LabError::AlreadyUp(opts.state_dir.clone()));
        }
        let underlay = layout(inventory).map_err(LabError::TooBig)?;
        let lab_plan = lab_plan(inventory, &underlay, opts.daemon)?;
        let lans = segments(&lab_plan.plan).map_err(LabError::TooBig)?;
        let daemon = lab_plan.plan.mesh.routing;
        let wireguard = if tools::kernel_wireguard() { WireGuardImpl::Kernel } else { WireGuardImpl::Userspace };
        let mut missing = tools::missing(daemon, wireguard == WireGuardImpl::Userspace);
        missing.extend(tools::missing_forwarders(&lab_plan.plan));
        if !opts.hortus_exe.is_file() {
            missing.push(opts.hortus_exe.display().to_string());
        }
        if !missing.is_empty() {
            return Err(LabError::MissingTools(missing));
        }
        if wireguard == WireGuardImpl::Userspace {
            let interfaces: u64 = lab_plan.plan.nodes.values().map(|n| n.links.len() as u64).sum();
            if let Some((old, new)) = crate::limits::ensure_inotify_instances(interfaces)? {
                progress(&format!(
                    "hortus lab: raised fs.inotify.max_user_instances from {old} to {new} \
                     ({interfaces} wireguard-go processes hold one each)"
                ));
            }
        }
        create_dir(&opts.state_dir, 0o700)?;
        let state = LabState {
            version: STATE_VERSION,
            prefix: opts.prefix.clone(),
            daemon,
            wireguard,
            hortus_exe: opts.hortus_exe.clone(),
            namespaces: vec![],
            processes: vec![],
            underlay: BTreeMap::new(),
            cuts: vec![],
            killed: BTreeSet::new(),
            loss: BTreeMap::new(),
            daemons_started_unix_ms: None,
            last_event: None,
        };
        dir.save(&state)?;
        let mut lab = Lab { dir, state, plan: lab_plan.plan.clone() };
        match lab.build(&underlay, &lans, &lab_plan, progress) {
            Ok(()) => Ok(lab),
            Err(err) => {
                let _ = down(&opts.state_dir);
                Err(err)
            }
        }
    }

    /// Opens the lab that is up in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Lab> {
        if !tools::is_root() {
            return Err(LabError::NotRoot);
        }
        let dir = StateDir::new(state_dir);
        let state = dir.load()?;
        let plan = PlanFile::read(&dir.plan_file())?.whole()?;
        Ok(Lab { dir, state, plan })
    }

    /// The lab's state.
    pub fn state(&self) -> &LabState {
        &self.state
    }

    /// The lab's plan (fresh keys, underlay endpoints).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.dir.root
    }

    /// Node names in id order.
    pub fn nodes(&self) -> Vec<String> {
        let mut nodes: Vec<(&String, &NodePlan)> = self.plan.nodes.iter().collect();
        nodes.sort_by_key(|(_, n)| n.id);
        nodes.into_iter().map(|(name, _)| name.clone()).collect()
    }

    /// Nodes that are not killed, in id order.
    pub fn live_nodes(&self) -> Vec<String> {
        self.nodes().into_iter().filter(|n| !self.state.killed.contains(n)).collect()
    }

    /// The namespace of node `name`.
    pub fn namespace(&self, name: &str) -> Result<String> {
        self.node_plan(name)?;
        Ok(self.state.node_ns(name))
    }

    /// The namespace of the Internet host (`<prefix>_inet`, at
    /// [`crate::underlay::INTERNET_ADDRESS`] behind the core).
    pub fn internet_namespace(&self) -> String {
        format!("{}{INTERNET}", self.state.prefix)
    }

    /// The LAN segments of the lab's plan ([`crate::lans`]).
    pub fn lan_segments(&self) -> Result<Vec<LanSegment>> {
        segments(&self.plan).map_err(LabError::TooBig)
    }

    /// The namespace of a LAN segment's host (`<prefix>_lan<k>`).
    pub fn lan_namespace(&self, lan: &LanSegment) -> String {
        format!("{}{}", self.state.prefix, lan.namespace_suffix())
    }

    /// Node `name`'s plan.
    pub fn node_plan(&self, name: &str) -> Result<&NodePlan> {
        self.plan.nodes.get(name).ok_or_else(|| {
            LabError::UnknownNode(name.into(), self.plan.nodes.keys().cloned().collect::<Vec<_>>().join(", "))
        })
    }

    /// `a`'s link to `b`.
    pub fn link(&self, a: &str, b: &str) -> Result<&Link> {
        self.node_plan(b)?;
        self.node_plan(a)?.links.iter().find(|l| l.peer == b).ok_or_else(|| LabError::NoLink(a.into(), b.into()))
    }

    /// Records a process just started, failing if it already exited.
    pub(crate) fn record(&mut self, node: &str, kind: ProcessKind, pid: u32, log: &Path) -> Result<()> {
        let record =
            ProcessRecord::new(node, kind, pid).ok_or_else(|| started_badly(&format!("process {pid}"), log))?;
        self.state.processes.push(record);
        self.save()
    }

    /// Writes the state file.
    pub(crate) fn save(&self) -> Result<()> {
        self.dir.save(&self.state)
    }

    fn build(
        &mut self,
        underlay: &Underlay,
        lans: &[LanSegment],
        lab_plan: &LabPlan,
        progress: &mut dyn FnMut(&str),
    ) -> Result<()> {
        self.write_files(lab_plan)?;
        if self.state.wireguard == WireGuardImpl::Userspace {
            create_dir(Path::new("/run/wireguard"), 0o755)?;
        }
        let prefix = self.state.prefix.clone();
        let core = format!("{prefix}{CORE}");
        self.create_ns(&core)?;
        network::configure_core(&core)?;
        let internet = format!("{prefix}{INTERNET}");
        self.create_ns(&internet)?;
        network::attach(&prefix, &internet_uplink(), &internet, Families::Ipv4)?;
        for router in &underlay.routers {
            let ns = format!("{prefix}{}", router.name);
            self.create_ns(&ns)?;
            network::attach(&prefix, &router.uplink, &ns, Families::Dual)?;
            network::configure_router(&ns, router, &core)?;
        }
        for lan in lans {
            let ns = format!("{prefix}{}", lan.namespace_suffix());
            self.create_ns(&ns)?;
            network::configure_lan_host(&ns, lan)?;
            let routers: Vec<String> = lan.routers.iter().map(|r| format!("{} {}", r.node, r.address)).collect();
            progress(&format!(
                "hortus lab: LAN {} {}: namespace {ns}, host {}, router(s) {}",
                lan.index,
                lan.prefix,
                lan.host,
                routers.join(", ")
            ));
        }
        let nodes = self.nodes();
        // Every node's attachment first: the hosts files (which resolve the
        // inventory's names) must be there before a forwarder dials a name.
        for name in &nodes {
            let uplink = &underlay.nodes[name];
            let families = self.node_plan(name)?.underlay;
            let attachment = NodeUnderlay { address: uplink.address, gateway: uplink.gateway, families };
            self.state.underlay.insert(name.clone(), attachment);
        }
        self.save()?;
        self.write_hosts()?;
        for (i, name) in nodes.iter().enumerate() {
            let uplink = &underlay.nodes[name];
            let ns = self.state.node_ns(name);
            self.create_ns(&ns)?;
            let families = self.state.underlay[name].families;
            network::attach(&prefix, uplink, &ns, families)?;
            network::configure_node(&ns, self.node_plan(name)?)?;
            self.configure_boundary(name)?;
            self.load_forwarder_rules(name)?;
            for lan in lans {
                if let Some(i) = lan.routers.iter().position(|r| &r.node == name) {
                    network::attach_lan_router(&format!("{prefix}{}", lan.namespace_suffix()), lan, i, &ns)?;
                }
            }
            let addresses: Vec<String> = self.state.underlay[name].addresses().iter().map(|a| a.to_string()).collect();
            self.start_links(name)?;
            let node = self.node_plan(name)?;
            progress(&format!(
                "hortus lab: [{}/{}] {name}: namespace {ns}, underlay {} via {}, {} link(s)",
                i + 1,
                nodes.len(),
                addresses.join(" "),
                uplink.parent.trim_start_matches('_'),
                node.links.len()
            ));
        }
        self.configure_peers(&nodes)?;
        for name in &nodes {
            self.start_daemon(name)?;
            self.start_endpoints(name)?;
        }
        self.state.daemons_started_unix_ms = Some(unix_ms());
        self.save()?;
        std::thread::sleep(DAEMON_SETTLE);
        for name in &nodes {
            self.check_daemon_running(name)?;
        }
        progress(&format!(
            "hortus lab: {} node(s) up with {}; state in {}",
            nodes.len(),
            self.state.daemon.program(),
            self.dir.root.display()
        ));
        Ok(())
    }

    /// The lab's plan, inventory and each node's private key and directories.
    fn write_files(&self, lab_plan: &LabPlan) -> Result<()> {
        write_atomic(&self.dir.plan_file(), pretty_json(&lab_plan.plan).as_bytes(), 0o644)?;
        write_atomic(&self.dir.inventory_file(), pretty_json(&lab_plan.inventory).as_bytes(), 0o644)?;
        for (name, key) in &lab_plan.private_keys {
            let node = self.dir.node(name);
            create_dir(&node.root, 0o700)?;
            create_dir(&node.wireguard_dir(), 0o700)?;
            write_atomic(&node.private_key(), format!("{key}\n").as_bytes(), 0o600)?;
        }
        Ok(())
    }

    /// Records namespace `ns` in the state, then creates it.
    fn create_ns(&mut self, ns: &str) -> Result<()> {
        if Path::new("/run/netns").join(ns).exists() {
            return Err(LabError::Usage(format!(
                "namespace {ns} already exists (another lab with prefix `{}`?); choose another --name",
                self.state.prefix
            )));
        }
        self.state.namespaces.push(ns.into());
        self.save()?;
        Cmd::new("ip", ["netns", "add", ns]).run()?;
        network::loopback_up(ns)
    }
}

/// Pretty JSON with a final newline.
fn pretty_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("plan and inventory serialise") + "\n"
}

/// Tears down the lab in `state_dir`: stops every recorded process, kills
/// anything else left in its namespaces, deletes the namespaces (and with
/// them every interface) and removes the state files (private keys
/// included). Works on the state of a crashed or half-done `up`.
pub fn down(state_dir: &Path) -> Result<DownReport> {
    if !tools::is_root() {
        return Err(LabError::NotRoot);
    }
    let dir = StateDir::new(state_dir);
    let state = dir.load()?;
    let mut report = DownReport::default();
    // Daemons first (no route churn while tunnels go), then forwarders and WireGuard.
    let mut order: Vec<&ProcessRecord> = state.processes.iter().collect();
    order.sort_by_key(|p| match p.kind {
        ProcessKind::Routing | ProcessKind::Endpoints | ProcessKind::Failover => 0,
        ProcessKind::Forwarder { .. } => 1,
        ProcessKind::WireGuard { .. } => 2,
    });
    for p in &order {
        p.signal(libc::SIGTERM);
    }
    for p in &order {
        if p.stop(Duration::from_secs(3)) {
            report.processes += 1;
        } else {
            report.leftovers.push(format!("process {} ({:?} of {})", p.pid, p.kind, p.node));
        }
    }
    for ns in state.namespaces.iter().rev() {
        if !Path::new("/run/netns").join(ns).exists() {
            continue;
        }
        kill_remaining(ns);
        match Cmd::new("ip", ["netns", "del", ns]).run() {
            Ok(_) => report.namespaces += 1,
            Err(e) => report.leftovers.push(format!("namespace {ns}: {e}")),
        }
    }
    for name in state.underlay.keys() {
        crate::names::remove_hosts(&state.node_ns(name));
    }
    remove_state_files(&dir, &state, &mut report);
    Ok(report)
}

/// SIGKILLs every process still in namespace `ns` (one a crashed `up`
/// started but never recorded).
fn kill_remaining(ns: &str) {
    let Ok(pids) = Cmd::new("ip", ["netns", "pids", ns]).run() else {
        return;
    };
    for pid in pids.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        if let Some(record) = ProcessRecord::new("", ProcessKind::Routing, pid) {
            record.crash();
        }
    }
}

fn remove_state_files(dir: &StateDir, state: &LabState, report: &mut DownReport) {
    let nodes = dir.root.join("nodes");
    if nodes.exists() {
        if let Err(e) = std::fs::remove_dir_all(&nodes) {
            report.leftovers.push(format!("{}: {e}", nodes.display()));
        }
    }
    for file in [dir.plan_file(), dir.inventory_file()] {
        let _ = std::fs::remove_file(file);
    }
    // Temporary files of atomic writes a crash interrupted.
    for entry in std::fs::read_dir(&dir.root).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    // The state file goes last, and only when nothing is left to undo.
    if report.leftovers.is_empty() {
        let _ = std::fs::remove_file(dir.state_file());
        let _ = std::fs::remove_dir(&dir.root);
    } else {
        let _ = dir.save(state);
    }
}

fn check_prefix(prefix: &str) -> Result<()> {
    let ok = (1..=12).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(LabError::Usage(format!("--name `{prefix}`: expected 1 to 12 characters of [A-Za-z0-9_.-]")))
    }
}

/// Deletes `name`'s kernel WireGuard interfaces (userspace ones vanish with
/// their wireguard-go).
pub(crate) fn delete_kernel_interfaces(lab: &Lab, name: &str) -> Result<()> {
    if lab.state.wireguard == WireGuardImpl::Kernel {
        let ns = lab.state.node_ns(name);
        for link in &lab.node_plan(name)?.links {
            let _ = ip(&ns, &["link", "del", &link.interface]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(check_prefix("hl-").is_ok());
        assert!(check_prefix("t.1_x-").is_ok());
        for bad in ["", "a/b", "with space", "much-too-long-prefix"] {
            assert!(check_prefix(bad).unwrap_err().to_string().contains("--name"), "{bad}");
        }
    }
}
