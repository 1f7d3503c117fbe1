//! The lab tools the subnet-route and exit-node tests build on, over a
//! four-node BIRD mesh with a NAT'd and a censored node: `hortus lab exec`
//! (a command in a node's namespace, its exit status passed through),
//! `hortus lab ping A ADDRESS`, and the Internet host `_inet` at
//! 198.18.255.254 behind the core, which every node reaches over its
//! uplink and which sees each packet's source (the node's uplink address,
//! or its NAT router's); it goes with `down`.

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::Inventory;
use hortus_lab::{Lab, INTERNET_ADDRESS};
use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::time::Duration;

const PREFIX: &str = "hlt-tools-";
/// Echo requests only: not the core's "unreachable" for a reply it cannot route.
const ECHO_REQUESTS: &str = "icmp[icmptype] == icmp-echo";

/// n0, n1 public (eu); n2 behind NAT (eu); n3 public but censored (cn);
/// an IPv4 overlay.
fn inventory() -> Inventory {
    let mut text = String::from("[mesh]\nipv4_prefix = \"100.64.0.0/24\"\n");
    let extra = [
        "endpoints = [\"192.0.2.1\"]\nregion = \"eu\"",
        "endpoints = [\"192.0.2.2\"]\nregion = \"eu\"",
        "nat = true\nregion = \"eu\"",
        "endpoints = [\"192.0.2.4\"]\ncensored = true\nregion = \"cn\"",
    ];
    for (i, extra) in extra.iter().enumerate() {
        let key = public_key(&private_key_from_bytes([i as u8 + 1; 32])).expect("key");
        text += &format!("[nodes.n{i}]\nid = {i}\npublic_key = \"{key}\"\n{extra}\n");
    }
    Inventory::from_toml_str(&text).expect("inventory")
}

/// `hortus lab --state-dir DIR ARGS...`.
fn hortus_lab(lab: &Lab, args: &[&str]) -> Output {
    let out = Command::new(hortus_bin())
        .args(["lab", "--state-dir", lab.state_dir().to_str().unwrap()])
        .args(args)
        .output()
        .expect("run hortus lab");
    eprintln!(
        "hortus lab {}: {}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn exec_ping_and_the_internet_host() {
    if !lab_ready("exec_ping_and_the_internet_host", RoutingDaemon::Bird) {
        return;
    }
    let guard = LabGuard::up(&inventory(), RoutingDaemon::Bird, PREFIX);
    let lab = &guard.lab;
    lab.wait_connected(Duration::from_secs(60)).expect("full connectivity");
    let n1_ula = lab.plan().nodes["n1"].address.to_string();

    // `lab exec` runs in the node's namespace: n0 sees a Babel route to n1's ULA.
    let out = hortus_lab(lab, &["exec", "n0", "--", "ip", "-6", "route"]);
    assert!(out.status.success());
    let routes = String::from_utf8_lossy(&out.stdout);
    assert!(routes.lines().any(|l| l.starts_with(&n1_ula) && l.contains("proto bird")), "{routes}");
    // With the node's WireGuard sockets: `wg show` lists its interfaces.
    let out = hortus_lab(lab, &["exec", "n0", "--", "wg", "show", "interfaces"]);
    assert!(out.status.success());
    let link = lab.link("n0", "n1").unwrap().interface.clone();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&link));
    // Standard input passes through.
    let mut cat = Command::new(hortus_bin())
        .args(["lab", "--state-dir", lab.state_dir().to_str().unwrap(), "exec", "n3", "--", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run hortus lab exec cat");
    std::io::Write::write_all(&mut cat.stdin.take().unwrap(), b"through the namespace\n").unwrap();
    let out = cat.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through the namespace\n");
    // Exit statuses pass through.
    assert_eq!(hortus_lab(lab, &["exec", "n0", "--", "false"]).status.code(), Some(1));
    assert_eq!(hortus_lab(lab, &["exec", "n2", "--", "sh", "-c", "exit 7"]).status.code(), Some(7));
    let unknown = hortus_lab(lab, &["exec", "nobody", "--", "true"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));

    // `lab ping A ADDRESS`: n1's ULA as an address, the same as `lab ping n2 n1`.
    let out = hortus_lab(lab, &["ping", "n2", &n1_ula, "-c", "3", "-i", "0.2"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 received"));
    let bad = hortus_lab(lab, &["ping", "n2", "not-a-node"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`not-a-node` is neither a node"));

    // Every node reaches the Internet host from its uplink, and the host
    // sees the address the packet left the underlay with.
    let nat_router = Ipv4Addr::new(198, 18, 3, 2); // _nat0: the third box on the core
    let expected = [
        ("n0", lab.state().underlay["n0"].address),
        ("n1", lab.state().underlay["n1"].address),
        ("n2", nat_router),
        ("n3", lab.state().underlay["n3"].address),
    ];
    assert_eq!(lab.state().underlay["n2"].address, Ipv4Addr::new(198, 19, 128, 2), "n2 behind _nat0");
    for (node, source) in expected {
        let capture = lab.capture_internet(ECHO_REQUESTS).expect("tcpdump in _inet");
        let out = hortus_lab(lab, &["exec", node, "--", "ping", "-c1", "-W2", &INTERNET_ADDRESS.to_string()]);
        let seen = capture.sources().expect("capture");
        assert!(out.status.success(), "{node} reaches the Internet host");
        assert_eq!(seen, [source], "{node}: source seen at the Internet host");
    }
    // `lab ping A IPV4`: from A's IPv4 overlay address, so another node's
    // overlay address answers (once Babel has the IPv4 routes too) ...
    let n1_v4 = lab.plan().nodes["n1"].ipv4_address.expect("IPv4 overlay").to_string();
    eventually("n2 pings n1's IPv4 overlay address", Duration::from_secs(30), || {
        let r = lab.ping("n2", &n1_v4, 1, 0.2).map_err(|e| e.to_string())?;
        (r.received == 1).then_some(()).ok_or(format!("{r:?}"))
    });
    let out = hortus_lab(lab, &["ping", "n2", &n1_v4, "-c", "2"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 received"));
    // ... and the Internet host, which has no route back to the overlay
    // (this mesh has no exit), sees that source and cannot answer.
    let capture = lab.capture_internet(ECHO_REQUESTS).expect("tcpdump in _inet");
    let out = hortus_lab(lab, &["ping", "n0", &INTERNET_ADDRESS.to_string(), "-c", "1"]);
    let seen = capture.sources().expect("capture");
    assert_eq!(out.status.code(), Some(1), "no reply to an overlay source");
    assert_eq!(seen, [lab.plan().nodes["n0"].ipv4_address.unwrap()]);

    let internet = lab.internet_namespace();
    assert!(std::path::Path::new("/run/netns").join(&internet).exists());
    drop(guard);
    assert!(!std::path::Path::new("/run/netns").join(&internet).exists(), "{internet} gone with the lab");
}
