//! End-to-end: a mesh bigger than the examples. Twelve nodes (132
//! WireGuard interfaces, with NAT and censored nodes) come up, connect and
//! handshake on every planned link. With wireguard-go, one process per
//! interface each holding an inotify instance, this is past Linux's default
//! `fs.inotify.max_user_instances` of 128 (the lab raises it).

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use std::time::Duration;

#[test]
fn twelve_nodes_bird() {
    if !lab_ready("twelve_nodes_bird", RoutingDaemon::Bird) {
        return;
    }
    let guard = LabGuard::up(&generated(12), RoutingDaemon::Bird, "hlt-12-");
    let lab = &guard.lab;
    let waited = lab.wait_connected(Duration::from_secs(90)).expect("full connectivity");
    eprintln!("12 nodes: full connectivity after {waited:?} ({:?} since daemons started)", lab.since_daemons_started());
    eventually("every planned link handshakes", Duration::from_secs(60), || all_handshakes(lab));
}
