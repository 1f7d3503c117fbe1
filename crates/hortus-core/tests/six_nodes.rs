//! The reference six-node mesh: pair ports, policy outcomes, both ends agreeing.

use hortus_core::policy::Path;
use hortus_core::{build_plan, Inventory, Plan};
use hortus_plan::Forwarder;
use hortus_plan::{Transport, Tun, Underlay};

fn plan() -> Plan {
    let text = include_str!("../../../examples/six-nodes.toml");
    build_plan(&Inventory::from_toml_str(text).unwrap()).unwrap()
}

fn link<'a>(plan: &'a Plan, a: &str, b: &str) -> &'a hortus_core::Link {
    plan.nodes[a].links.iter().find(|l| l.peer == b).unwrap_or_else(|| panic!("no link {a}->{b}"))
}

#[test]
fn cantor_ports_match_the_reference() {
    let plan = plan();
    let expected = [
        ("hastur", "kaambl", 51802),
        ("hastur", "eihort", 51805),
        ("hastur", "yidhra", 51809),
        ("hastur", "abhoth", 51814),
        ("hastur", "azasos", 51820),
        ("kaambl", "eihort", 51808),
        ("kaambl", "yidhra", 51813),
        ("kaambl", "abhoth", 51819),
        ("kaambl", "azasos", 51826),
        ("eihort", "yidhra", 51818),
        ("eihort", "abhoth", 51825),
        ("eihort", "azasos", 51833),
        ("yidhra", "abhoth", 51832),
        ("abhoth", "azasos", 51850),
    ];
    for (a, b, port) in expected {
        assert_eq!(link(&plan, a, b).port, port, "{a}-{b}");
        assert_eq!(link(&plan, b, a).port, port, "{b}-{a}");
    }
    // yidhra (NAT, eu) and azasos (NAT, censored) can never connect.
    assert_eq!(plan.skipped_pairs().len(), 1);
    assert_eq!(plan.skipped_pairs()[0].nodes, ["yidhra".to_string(), "azasos".to_string()]);
    let links: usize = plan.nodes.values().map(|n| n.links.len()).sum();
    assert_eq!(links, 2 * 14);
}

#[test]
fn both_ends_agree_and_every_link_is_alive() {
    let plan = plan();
    for (name, node) in &plan.nodes {
        for l in &node.links {
            let back = link(&plan, &l.peer, name);
            assert_eq!((l.port, l.path, l.mtu), (back.port, back.path, back.mtu), "{name}-{}", l.peer);
            assert!(l.listen || back.listen, "nobody listens on {name}-{}", l.peer);
            assert_eq!(l.endpoint().is_some(), back.listen, "{name} dials {} iff it listens", l.peer);
            assert_eq!(l.peer_public_key, plan.nodes[&l.peer].public_key);
            assert_eq!(l.peer_link_local, plan.nodes[&l.peer].link_local);
            assert_eq!(l.interface, format!("wg-{}", l.peer));
        }
    }
}

#[test]
fn nat_and_censorship_decisions() {
    let plan = plan();
    // A NAT'd node dials public nodes with keepalive and does not listen.
    let y = link(&plan, "yidhra", "hastur");
    assert!(
        !y.listen
            && y.keepalive == Some(25)
            && y.endpoint().map(|d| d.socket()).as_deref() == Some("198.51.100.10:51809")
    );
    assert!(link(&plan, "hastur", "yidhra").endpoint().is_none());
    // Public uncensored pairs both listen and dial. IPv4-only hastur dials
    // dual-stack kaambl over IPv4; dual-stack eihort (a DNS name) tries
    // IPv6 first, bracketed, then IPv4.
    assert_eq!(
        link(&plan, "hastur", "kaambl").endpoints.iter().map(|d| d.socket()).collect::<Vec<_>>(),
        ["198.51.100.11:51802"]
    );
    assert_eq!(
        link(&plan, "eihort", "kaambl").endpoints.iter().map(|d| d.socket()).collect::<Vec<_>>(),
        ["[2001:db8:1::11]:51808", "198.51.100.11:51808"]
    );
    assert_eq!(plan.nodes["hastur"].underlay, Underlay::Ipv4);
    assert_eq!(plan.nodes["kaambl"].underlay, Underlay::Dual);
    assert_eq!(plan.nodes["eihort"].underlay, Underlay::Dual);
    assert_eq!(plan.nodes["yidhra"].underlay, Underlay::Ipv4);
    assert_eq!(link(&plan, "kaambl", "hastur").keepalive, None);
    // Censored abhoth reaches uncensored hastur through its local forwarder.
    let a = link(&plan, "abhoth", "hastur");
    assert_eq!(a.path, Path::Forwarded);
    assert_eq!(a.endpoint().map(|d| d.socket()).as_deref(), Some("127.0.0.1:51814"));
    // phantun by default: a TUN per instance, named after the peer, with the
    // point-to-point pair 2(peer id + 1), +1 of the forwarder prefixes.
    let tun = |name: &str, id: u8| Tun {
        name: name.into(),
        local: [10, 237, 0, 2 * (id + 1)].into(),
        peer: [10, 237, 0, 2 * (id + 1) + 1].into(),
        local6: format!("fcc8::{:x}", 2 * (id + 1)).parse().unwrap(),
        peer6: format!("fcc8::{:x}", 2 * (id + 1) + 1).parse().unwrap(),
    };
    let Some(Forwarder::Client { transport, listen, remote, tun: client_tun, args }) = &a.forwarder else {
        panic!("abhoth runs the client: {:?}", a.forwarder)
    };
    assert_eq!(
        (*transport, listen.as_str(), remote.socket()),
        (Transport::Phantun, "127.0.0.1:51814", "198.51.100.10:51814".into())
    );
    assert_eq!(client_tun, &Some(tun("ph-hastur", 0)));
    assert_eq!(
        args.join(" "),
        "--local 127.0.0.1:51814 --remote 198.51.100.10:51814 --tun ph-hastur --tun-local 10.237.0.2 --tun-peer 10.237.0.3 \
         --tun-local6 fcc8::2 --tun-peer6 fcc8::3"
    );
    // IPv4-only abhoth dials eihort's DNS name through phantun over IPv4
    // only (phantun takes a name's first address, which may be IPv6).
    let Some(Forwarder::Client { args, .. }) = &link(&plan, "abhoth", "eihort").forwarder else {
        panic!("abhoth runs eihort's client")
    };
    assert!(args.contains(&"--ipv4-only".to_string()) && !args.contains(&"--tun-local6".to_string()), "{args:?}");
    assert!(args.join(" ").contains("--remote eihort.example.net:51825"), "{args:?}");
    let h = link(&plan, "hastur", "abhoth");
    assert!(h.listen && h.endpoint().is_none());
    assert_eq!(
        h.forwarder,
        Some(Forwarder::Server {
            transport: Transport::Phantun,
            port: 51814,
            deliver: "127.0.0.1:51814".into(),
            tun: Some(tun("ph-abhoth", 4)),
            args:
                "--local 51814 --remote 127.0.0.1:51814 --tun ph-abhoth --tun-local 10.237.0.10 --tun-peer 10.237.0.11 \
                   --tun-local6 fcc8::a --tun-peer6 fcc8::b"
                    .split_whitespace()
                    .map(String::from)
                    .collect(),
        })
    );
    assert_eq!(plan.nodes["hastur"].firewall.tcp_ports, vec![51814, 51820]);
    // NAT'd uncensored yidhra dials public censored abhoth through a forwarder
    // (the reference design had nobody listening on this pair).
    let y = link(&plan, "yidhra", "abhoth");
    assert_eq!(
        (y.path, y.listen, y.endpoint().map(|d| d.socket()).as_deref()),
        (Path::Forwarded, false, Some("127.0.0.1:51832"))
    );
    assert!(link(&plan, "abhoth", "yidhra").listen);
    // MTU: 1500 - 60 (IPv4 underlay) = 1440; IPv6 - 80 = 1420, safe over
    // every candidate either end dials; a DNS name costs 80 unless its
    // dialler has IPv4 only; forwarded through phantun 12 more (TCP's
    // 20-byte header instead of UDP's 8).
    assert_eq!(link(&plan, "hastur", "yidhra").mtu, 1440);
    assert_eq!(link(&plan, "hastur", "eihort").mtu, 1440);
    assert_eq!(link(&plan, "kaambl", "eihort").mtu, 1420);
    assert_eq!(a.mtu, 1428);
    // Firewall: exactly the ports this node listens on directly.
    assert_eq!(plan.nodes["yidhra"].firewall.udp_ports, Vec::<u16>::new());
    assert_eq!(plan.nodes["hastur"].firewall.udp_ports, vec![51802, 51805, 51809]);
}

#[test]
fn addresses_and_router_ids() {
    let plan = plan();
    for (i, name) in ["hastur", "kaambl", "eihort", "yidhra", "abhoth", "azasos"].iter().enumerate() {
        let node = &plan.nodes[*name];
        assert_eq!(node.address, format!("fdcc::{}", i + 1).parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!(node.router_id, std::net::Ipv4Addr::from(i as u32 + 1));
        assert!(node.link_local.segments()[0] == 0xfe80);
    }
}

#[test]
fn output_is_byte_identical_across_runs() {
    let a = serde_json::to_string_pretty(&plan()).unwrap();
    let b = serde_json::to_string_pretty(&plan()).unwrap();
    assert_eq!(a, b);
    // And a JSON round trip of the plan is lossless.
    let back: Plan = serde_json::from_str(&a).unwrap();
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), a);
}

#[test]
fn json_inventory_equals_toml_inventory() {
    let toml_inv = Inventory::from_toml_str(include_str!("../../../examples/six-nodes.toml")).unwrap();
    let json = serde_json::to_string(&toml_inv).unwrap();
    assert_eq!(Inventory::from_json_str(&json).unwrap(), toml_inv);
}
