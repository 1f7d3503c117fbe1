//! Link costs: the mesh's `babel.rxcost`, a node's `cost` on all its links,
//! `link_costs` for one link; the same on both ends; bad ones refused
//! naming node and field.

mod common;

use common::{plan, problems, three_public};

/// The cost of `a`'s link to `b` and of `b`'s link to `a`.
fn costs(text: &str, a: &str, b: &str) -> (u32, u32) {
    let plan = plan(text);
    let cost = |x: &str, y: &str| plan.nodes[x].links.iter().find(|l| l.peer == y).expect("link").rxcost;
    (cost(a, b), cost(b, a))
}

#[test]
fn a_link_costs_the_mesh_default_a_node_cost_or_what_a_pair_names() {
    assert_eq!(costs(&three_public(false, ["", "", ""]), "a", "b"), (96, 96));
    let mesh = format!("[mesh.babel]\nrxcost = 128\n{}", three_public(false, ["", "", ""]));
    assert_eq!(costs(&mesh, "a", "c"), (128, 128));
    // `cost` applies to every link of the node, the larger of two wins.
    let node_costs = three_public(false, ["cost = 300", "cost = 200", ""]);
    assert_eq!(costs(&node_costs, "a", "b"), (300, 300));
    assert_eq!(costs(&node_costs, "b", "c"), (200, 200));
    // `link_costs` names one link, from either end, over `cost`.
    let named = three_public(false, ["cost = 300\nlink_costs = { c = 100 }", "link_costs = { a = 50 }", ""]);
    assert_eq!(costs(&named, "a", "c"), (100, 100));
    assert_eq!(costs(&named, "a", "b"), (50, 50));
    let agreeing = three_public(false, ["link_costs = { b = 500 }", "link_costs = { a = 500 }", ""]);
    assert_eq!(costs(&agreeing, "b", "a"), (500, 500));
}

#[test]
fn bad_costs_are_refused_naming_node_and_field() {
    let p = problems(&three_public(
        false,
        [
            "cost = 0\nlink_costs = { a = 5, nobody = 5, c = 65535 }",
            "link_costs = { c = 10 }",
            "link_costs = { b = 20 }",
        ],
    ));
    for needle in [
        "node `a`: `cost`: expected 1..=65534 (65535 is Babel's infinity), got 0",
        "node `a`: `link_costs.a`: a node has no link to itself",
        "node `a`: `link_costs.nobody`: no node `nobody`",
        "node `a`: `link_costs.c`: expected 1..=65534",
        "`link_costs`: `b` says 10, `c` says 20",
    ] {
        assert!(p.iter().any(|x| x.contains(needle)), "no {needle:?} in {p:#?}");
    }
    assert_eq!(p.iter().filter(|x| x.contains("says")).count(), 1, "one disagreement, reported once: {p:#?}");
}
