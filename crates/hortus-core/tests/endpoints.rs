//! Endpoint candidates: every endpoint used, only of the families the
//! dialler has (`underlay`), LAN endpoints first within a region, the
//! preferred family first; pairs without a family in common skipped with
//! their reason; bad endpoint settings refused naming node and field.

mod common;

use common::{plan, problems, three};
use hortus_core::{build_host_plan, Inventory};
use hortus_plan::{SkipReason, Underlay};

fn has(problems: &[String], start: &str, needle: &str) {
    assert!(
        problems.iter().any(|p| p.starts_with(start) && p.contains(needle)),
        "no problem {start}…{needle:?} in {problems:#?}"
    );
}

fn sockets(mesh: &hortus_plan::Plan, from: &str, to: &str) -> Vec<String> {
    let link = mesh.nodes[from].links.iter().find(|l| l.peer == to).unwrap_or_else(|| panic!("no link {from}->{to}"));
    link.endpoints.iter().map(|d| d.socket()).collect()
}

#[test]
fn underlay_defaults_to_the_families_of_the_literals() {
    let mesh = plan(&three(
        "",
        [
            "endpoints = [\"198.51.100.1\"]",
            "endpoints = [\"2001:db8::2\"]",
            "endpoints = [\"c.example.net\"]\nnat = true",
        ],
    ));
    let families: Vec<Underlay> = ["a", "b", "c"].iter().map(|n| mesh.nodes[*n].underlay).collect();
    assert_eq!(families, [Underlay::Ipv4, Underlay::Ipv6, Underlay::Dual]);
    let mesh = plan(&three("", ["", "endpoints = [\"198.51.100.2\", \"2001:db8::2\"]", "underlay = \"ipv6\""]));
    let families: Vec<Underlay> = ["a", "b", "c"].iter().map(|n| mesh.nodes[*n].underlay).collect();
    assert_eq!(families, [Underlay::Ipv4, Underlay::Dual, Underlay::Ipv6]);
}

#[test]
fn a_pair_without_a_family_in_common_is_skipped_with_its_reason() {
    // a has IPv4 only, b IPv6 only: neither can dial the other.
    let mesh = plan(&three(
        "",
        [
            "endpoints = [\"198.51.100.1\"]",
            "endpoints = [\"2001:db8::2\"]",
            "endpoints = [\"198.51.100.3\", \"2001:db8::3\"]",
        ],
    ));
    let skipped = &mesh.nodes["a"].skipped;
    assert_eq!(skipped.len(), 1);
    assert_eq!((skipped[0].peer.as_str(), skipped[0].reason), ("b", SkipReason::NoCommonFamily));
    // Dual-stack c links to both, each over the family it has.
    assert_eq!(sockets(&mesh, "a", "c"), ["198.51.100.3:51805"]);
    assert_eq!(sockets(&mesh, "b", "c"), ["[2001:db8::3]:51808"]);
    assert_eq!(sockets(&mesh, "c", "a"), ["198.51.100.1:51805"]);
    // The MTU follows what is dialled: IPv4 both ways 1440, IPv6 1420.
    let mtu = |from: &str, to: &str| mesh.nodes[from].links.iter().find(|l| l.peer == to).unwrap().mtu;
    assert_eq!((mtu("a", "c"), mtu("b", "c")), (1440, 1420));
    // An IPv4-only node behind NAT dials an IPv6-only public node: skipped.
    let mesh = plan(&three(
        "",
        ["nat = true", "endpoints = [\"2001:db8::2\"]", "endpoints = [\"198.51.100.3\", \"2001:db8::3\"]"],
    ));
    assert_eq!(
        mesh.nodes["a"].skipped.iter().map(|s| (s.peer.as_str(), s.reason)).collect::<Vec<_>>(),
        [("b", SkipReason::NoCommonFamily)]
    );
}

#[test]
fn lan_endpoints_of_another_region_are_no_family_problem() {
    // a and b have LAN endpoints only, in different regions: neither can
    // dial the other whatever its families.
    let mesh = plan(&three(
        "",
        [
            "lan_endpoints = [\"192.168.1.1\"]\nregion = \"home\"",
            "lan_endpoints = [\"192.168.2.2\"]\nregion = \"office\"",
            "endpoints = [\"198.51.100.3\"]",
        ],
    ));
    let skipped: Vec<_> = mesh.nodes["a"].skipped.iter().map(|s| (s.peer.as_str(), s.reason)).collect();
    assert_eq!(skipped, [("b", SkipReason::NoReachableEndpoint)]);
}

#[test]
fn every_endpoint_is_a_candidate_preferred_family_first_lan_first_in_the_region() {
    let nodes = [
        "endpoints = [\"198.51.100.1\", \"2001:db8::1\"]\nregion = \"home\"",
        "endpoints = [\"b.example.net\", \"198.51.100.2\", \"2001:db8::2\"]\nlan_endpoints = [\"192.168.1.2\"]\nregion = \"home\"",
        "endpoints = [\"198.51.100.3\", \"2001:db8::3\"]",
    ];
    let mesh = plan(&three("", nodes));
    // IPv6 first, then the name, then IPv4; LAN first for a (same region) only.
    assert_eq!(
        sockets(&mesh, "a", "b"),
        ["192.168.1.2:51802", "[2001:db8::2]:51802", "b.example.net:51802", "198.51.100.2:51802"]
    );
    assert_eq!(sockets(&mesh, "c", "b"), ["[2001:db8::2]:51808", "b.example.net:51808", "198.51.100.2:51808"]);
    assert!(mesh.nodes["c"].switches_endpoints && mesh.nodes["a"].switches_endpoints);
    // prefer = "ipv4" turns the order of the families around.
    let mesh = plan(&three("endpoints.prefer = \"ipv4\"", nodes));
    assert_eq!(sockets(&mesh, "c", "b"), ["198.51.100.2:51808", "b.example.net:51808", "[2001:db8::2]:51808"]);
    assert_eq!(mesh.mesh.endpoints.switch_after_s, 30);
    // The host view has the same candidates.
    let inventory = Inventory::from_toml_str(&three("", nodes)).unwrap();
    let view = build_host_plan(&inventory, "c").unwrap();
    let b = view.node.links.iter().find(|l| l.peer == "b").unwrap();
    assert_eq!(b.endpoints.len(), 3);
    // One literal each way: nothing to switch.
    let mesh = plan(&three("", ["endpoints = [\"198.51.100.1\"]", "nat = true", "nat = true"]));
    assert!(mesh.nodes.values().all(|n| !n.switches_endpoints));
}

#[test]
fn two_nodes_behind_nat_at_home_dial_each_other_on_the_lan() {
    let home = "nat = true\nregion = \"home\"\nlan_endpoints = [\"192.168.1.";
    let mesh = plan(&three("", ["endpoints = [\"198.51.100.1\"]", &format!("{home}2\"]"), &format!("{home}3\"]")]));
    assert_eq!(sockets(&mesh, "b", "c"), ["192.168.1.3:51808"]);
    assert_eq!(sockets(&mesh, "c", "b"), ["192.168.1.2:51808"]);
    // a (another region) never gets their LAN addresses: it only listens.
    assert!(sockets(&mesh, "a", "b").is_empty() && sockets(&mesh, "a", "c").is_empty());
}

#[test]
fn bad_endpoint_settings_are_refused_naming_node_and_field() {
    let p = problems(&three(
        "",
        [
            "endpoints = [\"198.51.100.1\", \"[198.51.100.1]\"]",
            "endpoints = [\"198.51.100.2\"]\nlan_endpoints = [\"198.51.100.2\", \"192.168.1.300\"]",
            "endpoints = [\"198.51.100.3\"]\nunderlay = \"ipv6\"",
        ],
    ));
    has(&p, "node `a`: `endpoints`:", "`198.51.100.1` is listed twice (also in `endpoints`)");
    has(&p, "node `b`: `lan_endpoints`:", "`198.51.100.2` is listed twice (also in `endpoints`)");
    has(&p, "node `b`: `lan_endpoints`:", "`192.168.1.300`");
    has(&p, "node `c`: `underlay`:", "`ipv6`, but endpoints lists `198.51.100.3`");
    let p = problems(&three("", ["lan_endpoints = [\"fdcc::9\"]", "endpoints = [\"b.example.net:51820\"]", ""]));
    has(&p, "node `a`: `lan_endpoints`:", "inside the mesh prefix");
    has(&p, "node `b`: `endpoints`:", "carry no port");
    let e = Inventory::from_toml_str(&three("", ["", "", "underlay = \"ipv5\""])).unwrap_err().to_string();
    assert!(e.contains("line 14") && e.contains("expected one of `ipv4`, `ipv6`, `dual`"), "{e}");
    let text = three("endpoints.switch_after_s = 3", ["", "", ""]);
    let p = problems(&text);
    has(&p, "mesh: `endpoints.switch_after_s`:", "expected 10..=3600");
    let p = problems(&three("babel.hello_interval_ms = 20000\nendpoints.switch_after_s = 30", ["", "", ""]));
    has(&p, "mesh: `endpoints.switch_after_s`:", "expected 60..=3600");
}
