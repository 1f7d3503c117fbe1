//! Property: an inventory `build_plan` accepts gives, for every host, a
//! BIRD 3 config `bird -p` accepts, a babeld config babeld accepts and
//! systemd-networkd files networkd reads without a complaint, and a mesh
//! whose links connect every node. Inventories are drawn (deterministically)
//! from pools of valid and invalid values, so many are refused: those must
//! be refused with problems, never a panic.
//!
//! Bounded: `HORTUS_ACCEPTED_CASES` inventories (default 48), checked by the
//! real tools in parallel batches (see docs/validation.md for the runtime).

mod common;

use common::check_all;
use hortus_core::inventory::{PortScheme, RoutingDaemon, Underlay, UseExit};
use hortus_core::{build_plan, Error, Inventory, Node, Plan};
use hortus_render::{babeld, bird, firewall, networkd};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::collections::BTreeSet;

/// Node `i`'s public key: a distinct usable one, or (`bad`) a small-order point.
fn key(i: usize, bad: Option<bool>) -> String {
    const USABLE: [&str; 6] = [
        "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=",
        "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=",
        "ZQv51UhFw5mghyzt9YLs2F6ymCDnsnd4D7Rq7bqLUE4=",
        "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
        "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=",
        "gF2XqPrRxwJCh0Wc+zZjy5ZQ3NGgFGJ5mYwYKH2WnEk=",
    ];
    match bad {
        None => USABLE[i].into(),
        Some(true) => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        Some(false) => "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
    }
}

fn endpoint() -> impl Strategy<Value = Vec<String>> {
    let one = prop_oneof![
        60 => (1u8..250).prop_map(|i| format!("198.51.100.{i}")),
        24 => (1u16..0xffff).prop_map(|i| format!("2001:db8::{i:x}")),
        18 => (0u8..50).prop_map(|i| format!("node{i}.example.net")),
        2 => prop::sample::select(vec![
            "198.51.100", "0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "::", "::1", "fe80::1",
            "ff02::1", "fdcc::9", "10.42.0.9", "[2001:db8::1]", "host:51820", "bad_name",
        ])
        .prop_map(String::from),
    ];
    prop_oneof![1 => Just(vec![]), 7 => prop::collection::vec(one, 1..3)]
}

fn node() -> impl Strategy<Value = (Node, Option<bool>)> {
    (
        endpoint(),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.2),
        prop::sample::select(vec!["eu", "us", "cn"]),
        prop_oneof![40 => Just(None), 1 => prop::sample::select(vec![1200u32, 1280, 1400, 9000, 70000]).prop_map(Some)],
        prop_oneof![40 => Just(None), 1 => prop::sample::select(vec![0u16, 1, 25, 65535]).prop_map(Some)],
        prop_oneof![30 => Just(None), 1 => prop::sample::select(vec!["10.42.0.77", "10.42.0.0", "10.42.0.255", "10.43.0.1"]).prop_map(Some)],
        prop_oneof![60 => Just(None), 1 => any::<bool>().prop_map(Some)],
        prop_oneof![
            20 => Just(vec![]),
            3 => prop::sample::subsequence(vec!["192.168.10.0/24", "fd42:10::/48", "10.99.0.0/16", "fd42:20::/64"], 1..3),
            1 => prop::sample::select(vec!["192.168.10.1/24", "0.0.0.0/0", "fdcc::/80", "fe80::/64"]).prop_map(|r| vec![r]),
        ],
        any::<bool>(),
        (prop::bool::weighted(0.15), prop::bool::weighted(0.05), prop::bool::weighted(0.8)),
        (
            prop_oneof![6 => Just(vec![]), 1 => prop::sample::subsequence(vec!["192.168.1.10", "fd00:1::10", "198.51.100.7"], 1..3)],
            prop_oneof![
                3 => Just(None),
                8 => Just(Some(Underlay::Dual)),
                1 => prop::sample::select(vec![Underlay::Ipv4, Underlay::Ipv6]).prop_map(Some)
            ],
        ),
    )
        .prop_map(|(endpoints, nat, censored, region, mtu, keepalive, ipv4, bad_key, routes, accept_routes, exits, underlay)| {
            let (exit, use_exit, masquerade_routes) = exits;
            let (lan_endpoints, underlay) = underlay;
            let node = Node {
                id: 0,
                public_key: String::new(),
                endpoints,
                lan_endpoints: lan_endpoints.into_iter().map(String::from).collect(),
                underlay,
                nat,
                censored,
                region: region.into(),
                link_local: None,
                address: None,
                ipv4_address: ipv4.map(|a| a.parse().unwrap()),
                mtu,
                keepalive,
                cost: None,
                link_costs: Default::default(),
                routes: routes.into_iter().map(String::from).collect(),
                accept_routes,
                masquerade_routes,
                exit,
                use_exit: UseExit::Nearest(use_exit),
            };
            (node, bad_key)
        })
}

fn inventory(mac_key_file: String) -> impl Strategy<Value = Inventory> {
    let ids = prop_oneof![
        10 => prop::collection::btree_set(0u32..40, 2..6),
        1 => prop::collection::btree_set(prop::sample::select(vec![0u32, 1, 254, 65_000, 1 << 31, u32::MAX - 1]), 2..4),
    ];
    let mesh = (
        prop::sample::select(vec![PortScheme::Cantor, PortScheme::Dense, PortScheme::Xor]),
        prop_oneof![20 => Just(51800u32), 1 => prop::sample::select(vec![1u32, 900, 65_000, 65_535])],
        prop_oneof![4 => Just(None), 8 => Just(Some("10.42.0.0/24")), 1 => prop::sample::select(vec![Some("10.42.0.0/30"), Some("0.0.0.0/0"), Some("127.0.0.0/8"), Some("224.0.0.0/4")])],
        prop_oneof![20 => Just(("wg-", "anchor-0")), 1 => prop::sample::select(vec![("wg", "anchor-0"), ("mesh-", "eth0"), ("m.", "hortus0"), ("wg-", "lo")])],
        prop_oneof![6 => Just(1500u32), 1 => prop::sample::select(vec![1280u32, 1420, 9000])],
        prop_oneof![20 => Just(25u16), 1 => prop::sample::select(vec![0u16, 1, 65535])],
        prop_oneof![20 => Just(None), 1 => prop::sample::select(vec![Some(0u32), Some(40), Some(200), Some(2000), Some(u32::MAX)])],
        any::<bool>(),
    );
    let babel = (
        prop_oneof![16 => Just((100u32, 2000u32)), 1 => prop::sample::select(vec![(10u32, 10u32), (250, 1500), (655_350, 655_350), (5, 3)])],
        prop_oneof![16 => Just(192u32), 1 => prop::sample::select(vec![0u32, 65_534, 65_535, u32::MAX])],
        prop_oneof![20 => Just(300u32), 1 => prop::sample::select(vec![11u32, 10, 60_000])],
        prop_oneof![20 => Just(60u32), 1 => prop::sample::select(vec![1u32, 256, 0])],
        prop::sample::select(vec![0u32, 4, 3600]),
        prop::sample::select(vec![1u32, 60, 86_400]),
        prop::bool::weighted(0.1),
        (
            prop_oneof![16 => Just(96u32), 1 => prop::sample::select(vec![1u32, 256, 65_534, 0, 65_535])],
            any::<bool>(),
            prop_oneof![16 => Just(11u32), 1 => prop::sample::select(vec![1u32, 4, 16, 0, 17])],
        ),
    );
    (ids, prop::collection::vec(node(), 6), mesh, babel).prop_map(move |(ids, nodes, mesh, babel)| {
        let mut inv = Inventory::from_toml_str("nodes = {}").unwrap();
        let m = &mut inv.mesh;
        (m.port_scheme, m.base_port) = (mesh.0, mesh.1);
        m.ipv4_prefix = mesh.2.map(|p| p.parse().unwrap());
        (m.interface_prefix, m.anchor) = (mesh.3 .0.into(), mesh.3 .1.into());
        (m.mtu, m.keepalive, m.forward_overhead) = (mesh.4, mesh.5, mesh.6);
        m.routing = if mesh.7 { RoutingDaemon::Bird } else { RoutingDaemon::Babeld };
        let b = &mut m.babel;
        (b.hello_interval_ms, b.update_interval_ms) = babel.0;
        (b.rtt_cost, b.rtt_max_ms, b.rtt_decay, b.smoothing_half_life, b.kernel_scan_s) =
            (babel.1, babel.2, babel.3, babel.4, babel.5);
        b.mac_key_file = babel.6.then(|| mac_key_file.clone());
        (b.rxcost, b.link_quality, b.hello_limit) = babel.7;
        for (i, (id, (mut node, bad_key))) in ids.into_iter().zip(nodes).enumerate() {
            node.id = id;
            node.public_key = key(i, bad_key);
            inv.nodes.insert(format!("n{i}-{}", node.region), node);
        }
        inv
    })
}

/// Whether the plan's links connect every node.
fn connected(plan: &Plan) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = plan.nodes.keys().take(1).map(String::as_str).collect();
    while let Some(name) = todo.pop() {
        if seen.insert(name) {
            todo.extend(plan.nodes[name].links.iter().map(|l| l.peer.as_str()));
        }
    }
    seen.len() == plan.nodes.len()
}

#[test]
fn accepted_inventories_work_with_every_consumer() {
    let cases: usize = std::env::var("HORTUS_ACCEPTED_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48);
    let dir = tempfile::tempdir().unwrap();
    let mac = dir.path().join("babel-mac.conf");
    std::fs::write(&mac, "password \"hortus-test-mac-key\" { algorithm hmac sha256; };\n").unwrap();
    let strategy = inventory(mac.to_string_lossy().into_owned());
    let mut runner = TestRunner::deterministic();
    let (mut bird_items, mut babeld_items, mut networkd_items, mut nft_items) = (vec![], vec![], vec![], vec![]);
    let mut accepted = 0;
    for case in 0..cases {
        let inventory = strategy.new_tree(&mut runner).unwrap().current();
        let plan = match build_plan(&inventory) {
            Ok(plan) => plan,
            Err(Error::Invalid(problems)) => {
                assert!(!problems.is_empty());
                if std::env::var_os("HORTUS_ACCEPTED_DEBUG").is_some() {
                    eprintln!("refused: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" | "));
                }
                continue;
            }
            Err(other) => panic!("case {case}: unexpected {other}"),
        };
        accepted += 1;
        let toml = toml_of(&inventory);
        assert!(connected(&plan), "case {case}: accepted a split mesh:\n{toml}");
        let case_dir = dir.path().join(format!("case{case}"));
        std::fs::create_dir(&case_dir).unwrap();
        std::fs::write(case_dir.join("inventory.toml"), &toml).unwrap();
        for name in plan.nodes.keys() {
            let host = plan.host(name).unwrap();
            let label = format!("case{case}/{name}");
            let opts = bird::Options::default();
            bird::validate(&opts).unwrap_or_else(|e| panic!("{label}: accepted but BIRD refuses: {e}\n{toml}"));
            let path = case_dir.join(format!("{name}.bird.conf"));
            std::fs::write(&path, bird::render(&host, &opts)).unwrap();
            bird_items.push((label.clone(), path));
            if inventory.mesh.babel.mac_key_file.is_none() {
                let opts = babeld::Options::default();
                babeld::validate(&host, &opts).unwrap_or_else(|e| panic!("{label}: babeld refuses: {e}\n{toml}"));
                let path = case_dir.join(format!("{name}.babeld.conf"));
                std::fs::write(&path, babeld::render(&host, &opts)).unwrap();
                babeld_items.push((label.clone(), path));
            }
            let opts =
                networkd::Options { private_key_file: "/etc/hortus/wireguard.key".into(), preshared_key_file: None };
            let files = networkd::render(&host, &opts).unwrap_or_else(|e| panic!("{label}: networkd: {e}\n{toml}"));
            let net_dir = case_dir.join(format!("{name}.network.d"));
            std::fs::create_dir(&net_dir).unwrap();
            for file in files {
                std::fs::write(net_dir.join(&file.name), &file.contents).unwrap();
            }
            networkd_items.push((label.clone(), net_dir));
            let path = case_dir.join(format!("{name}.firewall.nft"));
            std::fs::write(&path, firewall::nftables(&host)).unwrap();
            nft_items.push((label, path));
        }
    }
    eprintln!("{cases} inventories: {accepted} accepted ({} hosts), {} refused", bird_items.len(), cases - accepted);
    assert!(accepted * 4 >= cases, "too few inventories accepted ({accepted}/{cases}) for the property to mean much");
    assert!(accepted < cases, "no inventory refused: the pools lost their bad values");
    // Bounded parallelism: 2 cores are shared, networkd runs seconds per directory.
    for chunk in bird_items.chunks(16) {
        check_all("check-bird-config.sh", chunk);
    }
    for chunk in babeld_items.chunks(16) {
        check_all("check-babeld-config.sh", chunk);
    }
    for chunk in networkd_items.chunks(12) {
        check_all("check-networkd-dir.sh", chunk);
    }
    for chunk in nft_items.chunks(16) {
        check_all("check-nft.sh", chunk);
    }
}

/// The inventory as TOML, to reproduce a failure by hand.
fn toml_of(inventory: &Inventory) -> String {
    let json = serde_json::to_value(inventory).unwrap();
    toml::to_string(&json).unwrap_or_else(|_| format!("{json:#}"))
}
