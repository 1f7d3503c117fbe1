//! End-to-end, for BIRD and babeld:
//! - a node reached by a DNS name moves to a new underlay address (`hortus
//!   lab move`); the node behind NAT that dials it by that name finds it
//!   again through `hortus endpoints` (re-resolving the name once the link
//!   has been quiet for `switch_after_s`), without anything being
//!   restarted, and Babel's route returns to the direct link;
//! - the same over a forwarded link: the phantun client dialling the
//!   moved node's name is restarted on its new address by `hortus
//!   forwarder-client`;
//! - a dual-stack pair loses IPv6 between them (`hortus lab cut --family
//!   ipv6`): its direct link comes back over IPv4;
//! - an IPv6-only and an IPv4-only node in one mesh get no link to each
//!   other (`no_common_family`), and every node still reaches every other.

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::Inventory;
use hortus_lab::CutMode;
use hortus_plan::{IpFamily, SkipReason};
use std::time::{Duration, Instant};

/// How long a pair's route may take to be their direct link again.
const DIRECT_AGAIN: Duration = Duration::from_secs(90);

/// a: public, reached by name; b: behind NAT, dials a and c; c: public, literal.
fn inventory() -> Inventory {
    let key = |i: u8| public_key(&private_key_from_bytes([i + 1; 32])).expect("key");
    let text = format!(
        "[mesh]\nendpoints.switch_after_s = 10\n\
         [nodes.a]\nid = 0\npublic_key = \"{}\"\nendpoints = [\"a.lab.example\"]\n\
         [nodes.b]\nid = 1\npublic_key = \"{}\"\nnat = true\n\
         [nodes.c]\nid = 2\npublic_key = \"{}\"\nendpoints = [\"192.0.2.3\"]\n",
        key(0),
        key(1),
        key(2)
    );
    Inventory::from_toml_str(&text).expect("inventory")
}

fn moved_node_is_found_again(daemon: RoutingDaemon, test: &str, prefix: &str) {
    if !lab_ready(test, daemon) {
        return;
    }
    let mut guard = LabGuard::up(&inventory(), daemon, prefix);
    let lab = &mut guard.lab;
    assert!(lab.plan().nodes["b"].switches_endpoints, "b dials a name");
    lab.wait_connected(Duration::from_secs(60)).expect("connected");
    routes_via(lab, "b", "a", &["a"], DIRECT_AGAIN); // b reaches a directly
    let before = endpoint(lab, "b", "a");
    assert!(before.starts_with(&format!("{}:", lab.state().underlay["a"].address)), "{before}");

    let moved_at = Instant::now();
    let new = lab.move_node("a").expect("move a");
    let (_, found) = eventually("b dials a at its new address", Duration::from_secs(90), || {
        let now = endpoint(lab, "b", "a");
        now.starts_with(&format!("{new}:")).then_some(()).ok_or(format!("still {now}"))
    });
    routes_via(lab, "b", "a", &["a"], DIRECT_AGAIN); // b's route to a is direct again
    let direct = moved_at.elapsed();
    eprintln!(
        "{}: a moved to {new}; b re-dialled it after {:.1} s, direct route after {:.1} s",
        daemon.program(),
        found.as_secs_f64(),
        direct.as_secs_f64()
    );
    let log = std::fs::read_to_string(lab.state_dir().join("nodes/b/endpoints.log")).unwrap_or_default();
    assert!(log.contains("wg-a: nothing received for") && log.contains(&format!("-> {new}:")), "{log}");
    // The traffic really flows over the new address.
    let ping = lab.ping("b", "a", 20, 0.05).expect("ping");
    assert_eq!(ping.lost(), 0, "{ping:?}");
}

#[test]
fn moved_node_is_found_again_with_bird() {
    moved_node_is_found_again(RoutingDaemon::Bird, "moved_node_is_found_again_with_bird", "hlt-mb-");
}

#[test]
fn moved_node_is_found_again_with_babeld() {
    moved_node_is_found_again(RoutingDaemon::Babeld, "moved_node_is_found_again_with_babeld", "hlt-mo-");
}

/// a: public, reached by name; b: censored, so its link to a is forwarded
/// (phantun over TCP, b the client dialling a's name).
fn forwarded_inventory() -> Inventory {
    let key = |i: u8| public_key(&private_key_from_bytes([i + 1; 32])).expect("key");
    let text = format!(
        "[mesh]\nendpoints.switch_after_s = 10\n\
         [nodes.a]\nid = 0\npublic_key = \"{}\"\nendpoints = [\"a.lab.example\"]\n\
         [nodes.b]\nid = 1\npublic_key = \"{}\"\nendpoints = [\"192.0.2.2\"]\nregion = \"cn\"\ncensored = true\n",
        key(0),
        key(1),
    );
    Inventory::from_toml_str(&text).expect("inventory")
}

/// The node a forwarded link's phantun client dials moves: `hortus
/// forwarder-client` sees the name's new address and restarts phantun on
/// it; the link handshakes again and carries traffic.
#[test]
fn moved_node_is_found_again_over_a_forwarded_link() {
    let test = "moved_node_is_found_again_over_a_forwarded_link";
    if !lab_ready(test, RoutingDaemon::Bird) {
        return;
    }
    let mut guard = LabGuard::up(&forwarded_inventory(), RoutingDaemon::Bird, "hlt-mf-");
    let lab = &mut guard.lab;
    let link = lab.link("b", "a").expect("link b-a").clone();
    let remote = match &link.forwarder {
        Some(hortus_plan::Forwarder::Client { remote, .. }) => remote.socket(),
        other => panic!("b is not a's forwarder client: {other:?}"),
    };
    assert_eq!(remote, format!("a.lab.example:{}", link.port));
    lab.wait_connected(Duration::from_secs(60)).expect("connected");
    routes_via(lab, "b", "a", &["a"], DIRECT_AGAIN); // b reaches a over the forwarded link

    let moved_at = Instant::now();
    let new = lab.move_node("a").expect("move a");
    let log_file = lab.state_dir().join("nodes/b/phantun-a.log");
    let (_, restarted) = eventually("b's phantun client dials a's new address", Duration::from_secs(60), || {
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        log.contains("client restarted, remote ").then_some(()).ok_or(log)
    });
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    assert!(log.contains(&format!("-> {new}:{}", link.port)), "{log}");
    // The link carries traffic again (a ping that is answered needs a
    // fresh handshake through the new phantun connection).
    let (_, back) = eventually("b pings a again", Duration::from_secs(90), || {
        lab.ping("b", "a", 5, 0.2)
            .map_err(|e| e.to_string())
            .and_then(|p| (p.lost() == 0).then_some(()).ok_or(format!("{p:?}")))
    });
    routes_via(lab, "b", "a", &["a"], DIRECT_AGAIN); // b's route to a is the forwarded link again
    eprintln!(
        "bird: a moved to {new}; b's phantun restarted after {:.1} s, pings answered after {:.1} s (total {:.1} s)",
        restarted.as_secs_f64(),
        back.as_secs_f64(),
        moved_at.elapsed().as_secs_f64()
    );
}

/// Three public nodes from `endpoints` (TOML arrays), `switch_after_s = 10`.
fn three(endpoints: [&str; 3]) -> Inventory {
    let mut text = String::from("[mesh]\nendpoints.switch_after_s = 10\n");
    for (i, e) in endpoints.iter().enumerate() {
        let key = public_key(&private_key_from_bytes([i as u8 + 1; 32])).expect("key");
        text += &format!("[nodes.n{i}]\nid = {i}\npublic_key = \"{key}\"\nendpoints = {e}\n");
    }
    Inventory::from_toml_str(&text).expect("inventory")
}

/// `from`'s WireGuard endpoint for `to`.
fn endpoint(lab: &hortus_lab::Lab, from: &str, to: &str) -> String {
    let key = lab.plan().nodes[to].public_key.clone();
    let out = lab.wg(from, &["show", &format!("wg-{to}"), "endpoints"]).run().unwrap_or_default();
    out.lines().find(|l| l.starts_with(&key)).and_then(|l| l.split('\t').nth(1)).unwrap_or("").to_string()
}

fn one_family_cut(daemon: RoutingDaemon, test: &str, prefix: &str) {
    if !lab_ready(test, daemon) {
        return;
    }
    let dual =
        ["[\"192.0.2.1\", \"2001:db8::1\"]", "[\"192.0.2.2\", \"2001:db8::2\"]", "[\"192.0.2.3\", \"2001:db8::3\"]"];
    let mut guard = LabGuard::up(&three(dual), daemon, prefix);
    let lab = &mut guard.lab;
    lab.wait_connected(Duration::from_secs(60)).expect("connected");
    routes_via(lab, "n0", "n1", &["n1"], DIRECT_AGAIN); // n0 reaches n1 directly
    assert!(endpoint(lab, "n0", "n1").starts_with("[2001:2:"), "IPv6 first: {}", endpoint(lab, "n0", "n1"));

    let cut_at = Instant::now();
    lab.cut_family("n0", "n1", CutMode::Underlay, Some(IpFamily::Ipv6)).expect("cut IPv6");
    let (_, found) = eventually("n0 dials n1 over IPv4", Duration::from_secs(90), || {
        let now = endpoint(lab, "n0", "n1");
        now.starts_with("198.18.").then_some(()).ok_or(format!("still {now}"))
    });
    routes_via(lab, "n0", "n1", &["n1"], DIRECT_AGAIN); // n0's route to n1 is direct again
    eprintln!(
        "{}: IPv6 cut between n0 and n1; n0 dials n1 over IPv4 after {:.1} s, direct route after {:.1} s",
        daemon.program(),
        found.as_secs_f64(),
        cut_at.elapsed().as_secs_f64()
    );
    let ping = lab.ping("n0", "n1", 20, 0.05).expect("ping");
    assert_eq!(ping.lost(), 0, "{ping:?}");
}

#[test]
fn one_family_cut_falls_back_to_the_other_with_bird() {
    one_family_cut(RoutingDaemon::Bird, "one_family_cut_falls_back_to_the_other_with_bird", "hlt-fb-");
}

#[test]
fn one_family_cut_falls_back_to_the_other_with_babeld() {
    one_family_cut(RoutingDaemon::Babeld, "one_family_cut_falls_back_to_the_other_with_babeld", "hlt-fo-");
}

#[test]
fn ipv6_only_and_ipv4_only_nodes_share_a_mesh() {
    let test = "ipv6_only_and_ipv4_only_nodes_share_a_mesh";
    if !lab_ready(test, RoutingDaemon::Bird) {
        return;
    }
    let inventory = three(["[\"2001:db8::1\"]", "[\"192.0.2.2\"]", "[\"192.0.2.3\", \"2001:db8::3\"]"]);
    let mut guard = LabGuard::up(&inventory, RoutingDaemon::Bird, "hlt-mx-");
    let lab = &mut guard.lab;
    let skipped: Vec<_> = lab.plan().nodes["n0"].skipped.iter().map(|s| (s.peer.clone(), s.reason)).collect();
    assert_eq!(skipped, [("n1".to_string(), SkipReason::NoCommonFamily)]);
    lab.wait_connected(Duration::from_secs(60)).expect("connected");
    eventually("all planned links handshake", Duration::from_secs(60), || all_handshakes(lab));
    for (from, to) in [("n0", "n1"), ("n1", "n0"), ("n0", "n2"), ("n2", "n1")] {
        let ping = lab.ping(from, to, 10, 0.05).expect("ping");
        assert_eq!(ping.lost(), 0, "{from} -> {to}: {ping:?}");
    }
    // Each node really lacks the other family: n0 cannot reach n1's
    // underlay IPv4, n1 has no IPv6 address on its uplink.
    let n1 = lab.state().underlay["n1"].address.to_string();
    assert!(!lab.exec("n0", &["ping".into(), "-c1".into(), "-W1".into(), n1]).unwrap().success());
    let n1_v6 =
        lab.exec("n1", &["sh".into(), "-c".into(), "ip -6 address show dev up0 scope global | grep -q inet6".into()]);
    assert_eq!(n1_v6.unwrap().code(), Some(1), "n1 has no global IPv6 address");
    assert!(endpoint(lab, "n0", "n2").starts_with("[2001:2:"), "{}", endpoint(lab, "n0", "n2"));
    assert!(endpoint(lab, "n1", "n2").starts_with("198.18."), "{}", endpoint(lab, "n1", "n2"));
}
