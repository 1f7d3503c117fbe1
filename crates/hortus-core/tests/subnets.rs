//! Routed prefixes (`routes`): what is refused, and the route policy each
//! node gets (its subnets announced; the others' learned exactly, from the
//! routers listing them).

mod common;

use common::{plan, problems, three_public};
use hortus_core::{build_host_plan, Inventory, Plan};

fn refused(routes: &str, needle: &str) {
    let problems = problems(&three_public(true, [&format!("routes = [{routes}]"), "", ""]));
    assert!(
        problems.iter().any(|p| p.starts_with("node `a`: `routes`:") && p.contains(needle)),
        "{routes}: no problem containing {needle:?} in {problems:#?}"
    );
}

#[test]
fn bad_prefixes_are_refused_naming_node_and_field() {
    refused("\"192.168.10.1/24\"", "has host bits set; the network is `192.168.10.0/24`");
    refused("\"fd42:10::1/48\"", "the network is `fd42:10::/48`");
    refused("\"192.168.10.0\"", "is not an IPv4 or IPv6 prefix");
    refused("\"0.0.0.0/0\"", "is a default route");
    refused("\"::/0\"", "is a default route");
    refused("\"fdcc::/80\"", "overlaps the mesh prefix fdcc::/64");
    refused("\"100.64.0.0/25\"", "overlaps the mesh's ipv4_prefix 100.64.0.0/24");
    refused("\"10.237.1.0/24\"", "overlaps forwarder_ipv4_prefix 10.237.0.0/16");
    refused("\"fcc8::/80\"", "overlaps forwarder_ipv6_prefix fcc8::/64");
    refused("\"127.0.0.0/8\"", "overlaps loopback");
    refused("\"169.254.1.0/24\"", "overlaps link-local");
    refused("\"fe80::/64\"", "link-local (fe80::/10)");
    refused("\"ff02::/16\"", "multicast");
    refused("\"224.0.1.0/24\"", "multicast");
    refused("\"192.168.1.0/24\", \"192.168.1.0/24\"", "`192.168.1.0/24` is listed twice");
}

#[test]
fn ipv4_routes_need_an_ipv4_overlay() {
    let text =
        three_public(true, ["routes = [\"192.168.10.0/24\"]", "", ""]).replace("ipv4_prefix = \"100.64.0.0/24\"\n", "");
    let problems = problems(&text);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("node `a`: `routes`: `192.168.10.0/24` is IPv4, but the mesh has no ipv4_prefix")),
        "{problems:#?}"
    );
    // IPv6 routes need nothing more.
    plan(&three_public(true, ["routes = [\"fd42:10::/48\"]", "", ""]).replace("ipv4_prefix = \"100.64.0.0/24\"\n", ""));
}

#[test]
fn each_node_announces_its_subnets_and_learns_the_others_exactly_from_their_routers() {
    let plan = plan(&three_public(
        true,
        [
            "routes = [\"192.168.10.0/24\", \"fd42:10::/48\"]",
            "routes = [\"192.168.10.0/24\"]",
            "routes = [\"192.168.20.0/24\"]\naccept_routes = false",
        ],
    ));
    let node = |name: &str| &plan.nodes[name].routes;
    let a = node("a");
    assert_eq!(a.ipv6.subnets.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["fd42:10::/48"]);
    let a4 = a.ipv4.as_ref().unwrap();
    assert_eq!(a4.subnets.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["192.168.10.0/24"]);
    // a never learns its own prefix (b announces it too), only c's.
    let learned: Vec<(String, Vec<String>)> =
        a4.learn.iter().map(|l| (l.prefix.to_string(), l.routers.iter().map(|r| r.to_string()).collect())).collect();
    assert_eq!(learned, [("192.168.20.0/24".to_string(), vec!["100.64.0.3".to_string()])]);
    // c learns 192.168.10.0/24 from both of its routers... but accepts no routes.
    assert!(node("c").ipv4.as_ref().unwrap().learn.is_empty() && node("c").ipv6.learn.is_empty());
    let b4 = node("b").ipv4.as_ref().unwrap();
    let learned: Vec<String> = b4.learn.iter().map(|l| l.prefix.to_string()).collect();
    assert_eq!(learned, ["192.168.20.0/24"]);
    assert_eq!(node("b").ipv6.learn[0].routers.iter().map(|r| r.to_string()).collect::<Vec<_>>(), ["100.64.0.1"]);
    // The host view is the same.
    let inventory = Inventory::from_toml_str(&three_public(
        true,
        [
            "routes = [\"192.168.10.0/24\", \"fd42:10::/48\"]",
            "routes = [\"192.168.10.0/24\"]",
            "routes = [\"192.168.20.0/24\"]\naccept_routes = false",
        ],
    ))
    .unwrap();
    for host in ["a", "b", "c"] {
        assert_eq!(build_host_plan(&inventory, host).unwrap(), plan.host(host).unwrap(), "{host}");
    }
}

#[test]
fn overlapping_prefixes_on_different_nodes_are_a_warning() {
    let plan = plan(&three_public(
        true,
        ["routes = [\"192.168.0.0/16\"]", "routes = [\"192.168.10.0/24\"]", "routes = [\"192.168.0.0/16\"]"],
    ));
    let warnings: Vec<&String> = plan.warnings.iter().filter(|w| w.starts_with("routes:")).collect();
    assert_eq!(warnings.len(), 1, "one per inner prefix: {warnings:#?}");
    assert!(warnings[0].contains("`192.168.10.0/24` (node `b`) lies inside `192.168.0.0/16`"), "{warnings:#?}");
    // The same prefix on two nodes is redundancy, not a warning.
    let plan = plan_of_same();
    assert!(plan.warnings.iter().all(|w| !w.starts_with("routes:")));
}

fn plan_of_same() -> Plan {
    plan(&three_public(true, ["routes = [\"192.168.10.0/24\"]", "routes = [\"192.168.10.0/24\"]", ""]))
}
