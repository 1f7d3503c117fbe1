//! End-to-end: a node reached by a DNS name moves to a new underlay address
//! (`hortus lab move`); the node behind NAT that dials it by that name
//! finds it again through `hortus endpoints` (re-resolving the name once
//! the link has been quiet for `switch_after_s`), without anything being
//! restarted, and Babel's route returns to the direct link. For BIRD and
//! babeld.

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::Inventory;
use std::time::{Duration, Instant};

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

/// b's WireGuard endpoint for a.
fn endpoint_of_a(lab: &hortus_lab::Lab) -> String {
    let key = lab.plan().nodes["a"].public_key.clone();
    let out = lab.wg("b", &["show", "wg-a", "endpoints"]).run().unwrap_or_default();
    out.lines().find(|l| l.starts_with(&key)).and_then(|l| l.split('\t').nth(1)).unwrap_or("").to_string()
}

fn moved_node_is_found_again(daemon: RoutingDaemon, test: &str, prefix: &str) {
    if !lab_ready(test, daemon) {
        return;
    }
    let mut guard = LabGuard::up(&inventory(), daemon, prefix);
    let lab = &mut guard.lab;
    assert!(lab.plan().nodes["b"].switches_endpoints, "b dials a name");
    lab.wait_connected(Duration::from_secs(60)).expect("connected");
    eventually("b reaches a directly", Duration::from_secs(90), || {
        (route_dev(lab, "b", "a").as_deref() == Some("wg-a")).then_some(()).ok_or("not yet".to_string())
    });
    let before = endpoint_of_a(lab);
    assert!(before.starts_with(&format!("{}:", lab.state().underlay["a"].address)), "{before}");

    let moved_at = Instant::now();
    let new = lab.move_node("a").expect("move a");
    let (_, found) = eventually("b dials a at its new address", Duration::from_secs(90), || {
        let now = endpoint_of_a(lab);
        now.starts_with(&format!("{new}:")).then_some(()).ok_or(format!("still {now}"))
    });
    eventually("b's route to a is direct again", Duration::from_secs(90), || {
        (route_dev(lab, "b", "a").as_deref() == Some("wg-a")).then_some(()).ok_or("not yet".to_string())
    });
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
