//! Shared scaffolding of the lab tests: the skip/require gate, the hortus
//! binary the relays run, a guard that always tears the lab down and checks
//! nothing is left, and polling helpers.

#![allow(dead_code)] // each test file uses part of this module

use hortus_core::inventory::RoutingDaemon;
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::Inventory;
use hortus_lab::process::ProcessRecord;
use hortus_lab::{Lab, UpOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether the lab tests can run: `HORTUS_LAB_TESTS=1`, root, and the
/// tools for `daemon`. Prints `SKIPPED: ...` and returns false otherwise,
/// or panics when `HORTUS_REQUIRE_TOOLS=1` and something is missing.
pub fn lab_ready(test: &str, daemon: RoutingDaemon) -> bool {
    if std::env::var("HORTUS_LAB_TESTS").as_deref() != Ok("1") {
        skipped(&format!("{test}: lab tests take minutes; set HORTUS_LAB_TESTS=1 to run them"));
        return false;
    }
    let mut missing = hortus_lab::tools::missing(daemon, !hortus_lab::tools::kernel_wireguard());
    // Forwarded links run the real phantun.
    missing.extend(hortus_lab::tools::missing_phantun());
    if !hortus_lab::tools::is_root() {
        missing.push("root".into());
    }
    if missing.is_empty() {
        return true;
    }
    if std::env::var("HORTUS_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test}: HORTUS_REQUIRE_TOOLS=1 but missing: {}", missing.join(", "));
    }
    skipped(&format!("{test}: missing {}", missing.join(", ")));
    false
}

/// Prints `SKIPPED: why` straight to stderr, past libtest's output capture
/// (which only takes `print!`/`eprint!`), so a skip is always visible.
fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// The `hortus` binary (relays run as `hortus lab relay`): `$HORTUS_BIN`,
/// else built next to this test binary with cargo.
pub fn hortus_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("HORTUS_BIN") {
            return bin.into();
        }
        // target/<profile>/deps/<test> -> target/<profile>/hortus
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "-q", "-p", "hortus", "--bin", "hortus"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo build for the hortus binary");
        assert!(status.success(), "cargo build -p hortus failed");
        profile_dir.join("hortus")
    })
    .clone()
}

/// A lab that is torn down when dropped (also when the test panics),
/// after which no namespace with its prefix and none of its processes may
/// remain.
pub struct LabGuard {
    /// The lab.
    pub lab: Lab,
    prefix: String,
    state_dir: PathBuf,
}

impl LabGuard {
    /// Brings `inventory` up with `daemon` under namespace prefix `prefix`.
    pub fn up(inventory: &Inventory, daemon: RoutingDaemon, prefix: &str) -> LabGuard {
        let state_dir = state_dir(prefix);
        // A previous run that died hard may have left its lab behind.
        let _ = hortus_lab::down(&state_dir);
        let opts = UpOptions {
            state_dir: state_dir.clone(),
            prefix: prefix.into(),
            daemon: Some(daemon),
            hortus_exe: hortus_bin(),
        };
        let lab = Lab::up(inventory, &opts, &mut |line| eprintln!("{line}")).expect("lab up");
        LabGuard { lab, prefix: prefix.into(), state_dir }
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        let processes = self.lab.state().processes.clone();
        let report = hortus_lab::down(&self.state_dir);
        let leftovers = leftovers(&self.prefix, &processes);
        if std::thread::panicking() {
            if !leftovers.is_empty() {
                eprintln!("teardown after failure left: {leftovers:?}");
            }
            return;
        }
        let report = report.expect("lab down");
        assert!(report.leftovers.is_empty(), "down reported leftovers: {:?}", report.leftovers);
        assert!(leftovers.is_empty(), "left behind after down: {leftovers:?}");
        assert!(!self.state_dir.join("state.json").exists(), "state file removed");
    }
}

/// The state directory tests use for `prefix`.
pub fn state_dir(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("hortus-lab-{prefix}test"))
}

/// Namespaces with `prefix`, their `/etc/netns` hosts files and processes
/// of `processes` still alive.
pub fn leftovers(prefix: &str, processes: &[ProcessRecord]) -> Vec<String> {
    let list = Command::new("ip").args(["netns", "list"]).output().expect("ip netns list");
    let mut left: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|ns| ns.starts_with(prefix))
        .map(|ns| format!("namespace {ns}"))
        .collect();
    for entry in std::fs::read_dir("/etc/netns").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) {
            left.push(format!("/etc/netns/{name}"));
        }
    }
    left.extend(processes.iter().filter(|p| p.alive()).map(|p| format!("process {} ({:?})", p.pid, p.kind)));
    left
}

/// Polls `check` every 200 ms until it returns `Ok`, or panics with the last
/// error after `timeout`. Returns the time it took.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Result<T, String>) -> (T, Duration) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(value) => return (value, start.elapsed()),
            Err(why) if start.elapsed() > timeout => panic!("{what}: not within {timeout:?}: {why}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Every planned link of every live node has completed a handshake.
pub fn all_handshakes(lab: &Lab) -> Result<(), String> {
    let mut dead = vec![];
    for status in lab.status().map_err(|e| e.to_string())? {
        if status.killed {
            continue;
        }
        for link in &status.host.links {
            if link.handshake_age_s.is_none() && !lab.state().killed.contains(&link.peer) {
                dead.push(format!("{}->{} ({:?})", status.node, link.peer, link.path));
            }
        }
    }
    if dead.is_empty() {
        Ok(())
    } else {
        Err(format!("no handshake on {}", dead.join(" ")))
    }
}

/// Every live node's route to every live peer it has a link to goes
/// through that link's interface, installed by the routing daemon.
pub fn routes_direct(lab: &Lab) -> Result<(), String> {
    let mut wrong = vec![];
    for status in lab.status().map_err(|e| e.to_string())? {
        if status.killed {
            continue;
        }
        for destination in &status.host.destinations {
            if lab.state().killed.contains(&destination.node) {
                continue;
            }
            let Ok(link) = lab.link(&status.node, &destination.node) else { continue };
            match &destination.route {
                Some(r) if r.from_daemon() && r.dev.as_deref() == Some(link.interface.as_str()) => {}
                other => wrong.push(format!("{}->{}: {:?}", status.node, destination.node, other)),
            }
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("not direct: {}", wrong.join("; ")))
    }
}

/// `a`'s route to `b`: (interface, installed by the daemon).
pub fn route_dev(lab: &Lab, a: &str, b: &str) -> Option<String> {
    let address = lab.plan().nodes[b].address;
    let routes = lab.routes(a).ok()?;
    routes.get(&address).filter(|r| r.from_daemon()).and_then(|r| r.dev.clone())
}

/// The six-node example inventory.
pub fn six_nodes() -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/six-nodes.toml");
    Inventory::from_toml_str(&std::fs::read_to_string(path).expect("read example")).expect("parse example")
}

/// `n` public, uncensored nodes `n0..` on documentation addresses.
pub fn all_public(n: u8) -> Inventory {
    public_nodes(n, "", "")
}

/// [`all_public`] with `mesh` (TOML tables) first and `first` (TOML lines)
/// in n0's table.
pub fn public_nodes(n: u8, mesh: &str, first: &str) -> Inventory {
    let mut text = format!("{mesh}\n");
    for i in 0..n {
        let key = public_key(&private_key_from_bytes([i + 1; 32])).expect("key");
        let extra = if i == 0 { first } else { "" };
        text +=
            &format!("[nodes.n{i}]\nid = {i}\npublic_key = \"{key}\"\nendpoints = [\"192.0.2.{}\"]\n{extra}\n", i + 1);
    }
    Inventory::from_toml_str(&text).expect("inventory")
}

/// Waits up to `timeout` until `from`'s route to `to` (installed by the
/// routing daemon) leaves over `wg-<v>` for one of `via`; returns that `v`.
pub fn routes_via(lab: &Lab, from: &str, to: &str, via: &[&str], timeout: Duration) -> String {
    let (dev, _) = eventually(&format!("{from} routes to {to} via one of {via:?}"), timeout, || {
        let dev = route_dev(lab, from, to);
        dev.clone().filter(|d| via.iter().any(|v| *d == format!("wg-{v}"))).ok_or(format!("{dev:?}"))
    });
    dev.trim_start_matches("wg-").to_string()
}

/// The inventory `scripts/gen-inventory.py N cantor` writes, with
/// `base_port` 20000 and real keys: `node0..`, every 5th (id % 5 == 3)
/// behind NAT, every 7th (id % 7 == 6) censored, regions `r0`–`r2`.
pub fn generated(n: u8) -> Inventory {
    let mut text = String::from("[mesh]\nport_scheme = \"cantor\"\nbase_port = 20000\n");
    for i in 0..n {
        let key = public_key(&private_key_from_bytes([i + 1; 32])).expect("key");
        text += &format!(
            "[nodes.node{i}]\nid = {i}\npublic_key = \"{key}\"\nendpoints = [\"198.18.0.{}\"]\nnat = {}\ncensored = {}\nregion = \"r{}\"\n",
            i + 1,
            i % 5 == 3,
            i % 7 == 6,
            i % 3
        );
    }
    Inventory::from_toml_str(&text).expect("inventory")
}
