//! Exits (`exit`, `use_exit`) and masquerading (`masquerade_routes`): what
//! is refused, and what each node gets (default-route role, policy routing,
//! NAT rules, perimeter), the same in the whole plan and the host view.

mod common;

use common::{plan, problems, three_public};
use hortus_core::{build_host_plan, build_plan, Inventory};
use hortus_plan::{DefaultRoute, IpFamily, NatRule, MAIN_TABLE};

fn has(problems: &[String], start: &str, needle: &str) {
    assert!(
        problems.iter().any(|p| p.starts_with(start) && p.contains(needle)),
        "no problem {start}…{needle:?} in {problems:#?}"
    );
}

#[test]
fn bad_exit_settings_are_refused_naming_node_and_field() {
    let p = problems(&three_public(true, ["exit = true\nuse_exit = true", "", ""]));
    has(&p, "node `a`: `use_exit`:", "an exit itself");
    let p = problems(&three_public(true, ["use_exit = true", "", ""]));
    has(&p, "node `a`: `use_exit`:", "no node is an exit");
    let p = problems(&three_public(false, ["exit = true", "use_exit = true", ""]));
    has(&p, "node `a`: `exit`:", "needs the mesh's ipv4_prefix");
    has(&p, "node `b`: `use_exit`:", "needs the mesh's ipv4_prefix");
    let p = problems(&three_public(true, ["exit = true", "use_exit = \"a\"", ""]));
    has(&p, "node `b`: `use_exit`:", "pinning one exit is not offered");
    let p = problems(&three_public(true, ["routes = [\"0.0.0.0/0\"]", "", ""]));
    has(&p, "node `a`: `routes`:", "set `exit = true`");
}

#[test]
fn exits_announce_others_carry_and_users_route_their_own_traffic() {
    let plan = plan(&three_public(true, ["exit = true", "use_exit = true", ""]));
    let (a, b, c) = (&plan.nodes["a"], &plan.nodes["b"], &plan.nodes["c"]);
    let exits = vec![a.router_id];
    for family in [&a.routes.ipv6.default_route, &a.routes.ipv4.as_ref().unwrap().default_route] {
        assert_eq!(*family, DefaultRoute::Announce);
    }
    for node in [b, c] {
        assert_eq!(node.routes.ipv6.default_route, DefaultRoute::Carry { exits: exits.clone(), table: 66 });
        assert_eq!(
            node.routes.ipv4.as_ref().unwrap().default_route,
            DefaultRoute::Carry { exits: exits.clone(), table: 66 }
        );
    }
    assert!(a.policy_routing.is_none(), "an exit uses its own uplink");
    let (pb, pc) = (b.policy_routing.as_ref().unwrap(), c.policy_routing.as_ref().unwrap());
    assert_eq!(pb.wireguard_mark, Some(6696));
    assert_eq!(pc.wireguard_mark, None, "c does not use the exit: its own traffic is untouched");
    // c: the main table without its default, then each mesh interface to table 66; nothing else.
    assert!(pc.rules.iter().all(|r| r.fwmark.is_none() && r.from.is_none() && r.to.is_none()));
    assert_eq!(pc.rules.iter().filter(|r| r.input_interface.is_some()).count(), 2 * c.links.len());
    // b: its own endpoint, its peers' endpoints → main; unmarked → 66.
    let from: Vec<String> = pb.rules.iter().filter_map(|r| r.from.map(|p| p.to_string())).collect();
    let to: Vec<String> = pb.rules.iter().filter_map(|r| r.to.map(|p| p.to_string())).collect();
    assert_eq!(from, ["192.0.2.2/32"]);
    assert_eq!(to, ["192.0.2.1/32", "192.0.2.3/32"]);
    let own: Vec<_> = pb.rules.iter().filter(|r| r.fwmark.is_some()).collect();
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(|r| r.invert && r.table == 66 && r.fwmark == Some(6696)));
    let suppress: Vec<IpFamily> =
        pb.rules.iter().filter(|r| r.suppress_prefix_length == Some(0)).map(|r| r.family).collect();
    assert_eq!(suppress, [IpFamily::Ipv6, IpFamily::Ipv4]);
    assert!(pb.rules.iter().filter(|r| r.suppress_prefix_length.is_some()).all(|r| r.table == MAIN_TABLE));
    assert!(pb.rules.windows(2).all(|w| w[0].priority <= w[1].priority), "rules in priority order");
    assert_eq!(pb.unreachable.iter().map(ToString::to_string).collect::<Vec<_>>(), ["::/0", "0.0.0.0/0"]);
    // The exit masquerades out of its uplink; nobody else does.
    assert_eq!(a.nat_rules, [NatRule::MasqueradeExit { except: vec![] }]);
    assert!(b.nat_rules.is_empty() && c.nat_rules.is_empty());
    assert!(a.firewall.perimeter.exit && !b.firewall.perimeter.exit);
}

#[test]
fn subnet_routers_masquerade_unless_told_not_to() {
    let plan = plan(&three_public(
        true,
        [
            "routes = [\"192.168.10.0/24\", \"fd42:10::/48\"]",
            "routes = [\"192.168.20.0/24\"]\nmasquerade_routes = false\nexit = true",
            "",
        ],
    ));
    let (a, b) = (&plan.nodes["a"], &plan.nodes["b"]);
    let destinations = vec!["192.168.10.0/24".parse().unwrap(), "fd42:10::/48".parse().unwrap()];
    assert_eq!(a.nat_rules, [NatRule::MasqueradeSubnets { destinations: destinations.clone() }]);
    assert_eq!(a.firewall.perimeter.subnets, destinations);
    // b: no masquerading into its LAN, and its exit masquerade leaves the LAN alone.
    assert_eq!(b.nat_rules, [NatRule::MasqueradeExit { except: vec!["192.168.20.0/24".parse().unwrap()] }]);
}

#[test]
fn host_views_equal_the_whole_plan() {
    let text = three_public(true, ["exit = true\nroutes = [\"192.168.10.0/24\"]", "use_exit = true", "exit = true"]);
    let inventory = Inventory::from_toml_str(&text).unwrap();
    let whole = build_plan(&inventory).unwrap();
    for name in ["a", "b", "c"] {
        assert_eq!(build_host_plan(&inventory, name).unwrap(), whole.host(name).unwrap(), "{name}");
    }
    assert_eq!(
        serde_json::to_string(&whole).unwrap(),
        serde_json::to_string(&build_plan(&inventory).unwrap()).unwrap()
    );
}
