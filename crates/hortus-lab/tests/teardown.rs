//! Teardown leaves nothing behind: after a test fails while its lab is up,
//! and after `hortus lab up` itself is killed halfway (then `hortus lab
//! down` undoes what the state file recorded, the Internet host and a LAN
//! segment's host included).

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_lab::state::StateDir;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

#[test]
fn a_failing_test_still_tears_its_lab_down() {
    if !lab_ready("a_failing_test_still_tears_its_lab_down", RoutingDaemon::Bird) {
        return;
    }
    let prefix = "hlt-fail-";
    let seen = Arc::new(Mutex::new(vec![]));
    let recorded = seen.clone();
    let outcome = std::panic::catch_unwind(move || {
        let guard = LabGuard::up(&all_public(3), RoutingDaemon::Bird, prefix);
        *recorded.lock().unwrap() = guard.lab.state().processes.clone();
        panic!("simulated test failure with the lab up");
    });
    assert!(outcome.is_err(), "the body panicked");
    let processes = seen.lock().unwrap().clone();
    assert!(processes.len() >= 9, "3 nodes: 6 wireguard-go and 3 daemons were running");
    assert_eq!(leftovers(prefix, &processes), Vec::<String>::new());
}

#[test]
fn down_undoes_a_crashed_up() {
    if !lab_ready("down_undoes_a_crashed_up", RoutingDaemon::Bird) {
        return;
    }
    let prefix = "hlt-crash-";
    let dir = state_dir(prefix);
    let _ = hortus_lab::down(&dir);
    let inventory = dir.with_extension("json");
    // n0 routes a prefix: its LAN segment's host namespace comes before the nodes.
    let mut routed = all_public(4);
    routed.nodes.get_mut("n0").unwrap().routes = vec!["fd42:10::/48".into()];
    std::fs::write(&inventory, serde_json::to_string(&routed).unwrap()).unwrap();
    let hortus = hortus_bin();
    let state = ["lab", "--state-dir", dir.to_str().unwrap()];
    let mut up = Command::new(&hortus)
        .args(state)
        .args(["up", inventory.to_str().unwrap(), "--name", prefix, "--daemon", "bird"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill `up` as soon as the second node is reported: half a lab exists.
    let lines = BufReader::new(up.stderr.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        eprintln!("{line}");
        if line.contains("[2/4]") {
            break;
        }
    }
    up.kill().unwrap();
    up.wait().unwrap();
    let processes = StateDir::new(&dir).load().expect("state written before the crash").processes;
    assert!(!processes.is_empty() && processes.iter().any(|p| p.alive()), "the crashed up left processes running");
    let namespaces = leftovers(prefix, &[]);
    assert!(!namespaces.is_empty(), "and namespaces");
    assert!(namespaces.contains(&format!("namespace {prefix}_inet")), "the Internet host: {namespaces:?}");
    assert!(namespaces.contains(&format!("namespace {prefix}_lan0")), "the LAN host: {namespaces:?}");
    let down = Command::new(&hortus).args(state).arg("down").output().unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert_eq!(leftovers(prefix, &processes), Vec::<String>::new());
    assert!(!dir.exists(), "state directory removed, private keys with it");
    let again = Command::new(&hortus).args(state).arg("down").output().unwrap();
    assert!(!again.status.success(), "nothing left to tear down");
    assert!(String::from_utf8_lossy(&again.stderr).contains("no lab is up"));
    std::fs::remove_file(inventory).unwrap();
}
