//! Link costs end to end, for BIRD and babeld: four public nodes; n0's link
//! to n1 costs 1000 and its link to n2 costs 150 (`link_costs`). n0 reaches
//! n1 over the cheapest detour, through n3 (96 + 96 = 192), although their
//! own link works; with n0–n3 cut it takes the dearer detour through n2
//! (150 + 96 = 246) both ways, still not the direct link (1000); n0 reaches n3
//! directly. Both daemons get the costs from the rendered configs alone.

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_lab::state::CutMode;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn costs(daemon: RoutingDaemon, test: &str, prefix: &str) {
    if !lab_ready(test, daemon) {
        return;
    }
    let inventory = public_nodes(4, "", "link_costs = { n1 = 1000, n2 = 150 }");
    let mut guard = LabGuard::up(&inventory, daemon, prefix);
    let lab = &mut guard.lab;
    assert_eq!(lab.link("n0", "n1").unwrap().rxcost, 1000);
    assert_eq!(lab.link("n1", "n0").unwrap().rxcost, 1000, "both ends");
    lab.wait_connected(Duration::from_secs(60)).expect("connected");
    routes_via(lab, "n0", "n1", &["n3"], WAIT);
    routes_via(lab, "n1", "n0", &["n3"], WAIT);
    routes_via(lab, "n0", "n3", &["n3"], WAIT);
    lab.cut("n0", "n3", CutMode::Underlay).expect("cut n0-n3");
    routes_via(lab, "n0", "n1", &["n2"], WAIT);
    routes_via(lab, "n1", "n0", &["n2"], WAIT);
    let ping = lab.ping("n0", "n1", 10, 0.05).expect("ping");
    assert_eq!(ping.lost(), 0, "{ping:?}");
}

#[test]
fn costs_choose_the_detour_with_bird() {
    costs(RoutingDaemon::Bird, "costs_choose_the_detour_with_bird", "hlt-cb-");
}

#[test]
fn costs_choose_the_detour_with_babeld() {
    costs(RoutingDaemon::Babeld, "costs_choose_the_detour_with_babeld", "hlt-cd-");
}
