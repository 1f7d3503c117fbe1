//! What the rendered configs must say, independent of the golden bytes:
//! addresses, failover essentials, link roles, validation errors, and that
//! private keys never appear in any output.

mod common;

use common::{hosts, lonely, plan, six_nodes};
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::{HostPlan, Inventory};
use hortus_plan::InterfaceAddress;
use hortus_render::{babeld, bird, networkd, RenderError, HEADER};
use std::net::IpAddr;

fn host(inventory: &Inventory, name: &str) -> HostPlan {
    plan(inventory).host(name).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn key_opts(path: &str) -> networkd::Options {
    networkd::Options { private_key_file: path.into(), preshared_key_file: None }
}

#[test]
fn link_addresses_pair_link_locals_and_ulas() {
    let abhoth = host(&six_nodes(), "abhoth");
    let link = &abhoth.node.links[0];
    assert_eq!(link.peer, "hastur");
    let addresses = &link.addresses;
    assert_eq!(
        addresses,
        &vec![
            InterfaceAddress {
                address: abhoth.node.link_local.into(),
                prefix_len: 128,
                peer: Some(link.peer_link_local.into()),
                scope_link: true,
                route_metric: None,
            },
            InterfaceAddress {
                address: ip("fdcc::5"),
                prefix_len: 128,
                peer: Some(ip("fdcc::1")),
                scope_link: false,
                route_metric: Some(abhoth.mesh.kernel_metrics.peer),
            },
        ]
    );
    assert_eq!(abhoth.mesh.kernel_metrics.peer, 1024);
    assert_eq!(addresses[1].peer_cidr().as_deref(), Some("fdcc::1/128"));
}

#[test]
fn ipv4_lives_on_the_anchor_only() {
    let mut inventory = six_nodes();
    inventory.mesh.ipv4_prefix = Some("10.42.0.0/24".parse().unwrap());
    let hastur = host(&inventory, "hastur");
    let anchor: Vec<String> = hastur.node.anchor_addresses.iter().map(InterfaceAddress::cidr).collect();
    assert_eq!(anchor, ["fdcc::1/128", "10.42.0.1/32"]);
    for link in &hastur.node.links {
        assert!(link.addresses.iter().all(|a| a.address.is_ipv6()));
    }
    let conf = bird::render(&hastur, &bird::Options::default());
    for needle in [
        "define MESH4 = [ 10.42.0.0/24+ ];",
        "\tipv4;\n\tipv6;\n\tinterface \"anchor-0\";",
        "krt_prefsrc = 10.42.0.1;",
        "protocol kernel kernel4 {",
        "\t\timport where net ~ MESH4;",
        "extended next hop yes;",
    ] {
        assert!(conf.contains(needle), "missing {needle:?} in\n{conf}");
    }
    let conf = babeld::render(&hastur, &babeld::Options::default());
    for needle in ["install ip 10.42.0.0/24 pref-src 10.42.0.1", "in ip 10.42.0.0/24 allow", "v4-via-v6 true"] {
        assert!(conf.contains(needle), "missing {needle:?} in\n{conf}");
    }
}

#[test]
fn bird_keeps_the_failover_essentials() {
    let abhoth = host(&six_nodes(), "abhoth");
    let conf = bird::render(&abhoth, &bird::Options::default());
    assert!(conf.starts_with(&format!("{HEADER}\n")));
    for needle in [
        "router id 0.0.0.5;",
        "define MESH6 = [ fdcc::/64+ ];",
        // Re-advertising Babel routes is what makes failover work.
        "if source = RTS_DEVICE && net ~ ANNOUNCE6 then accept;\n\tif source = RTS_BABEL && net ~ MESH6 then accept;",
        "krt_prefsrc = fdcc::5;",
        "krt_metric = 128;",
        "krt_metric = 64;",
        // Without `metric 0` BIRD ignores krt_metric and installs metric 32.
        "\tmetric 0;",
        // BIRD 3 leaves a route that flipped back between scans stale until the next scan.
        "\tscan time 1;",
        "\t\timport where net ~ MESH6;",
        "\t\t\"wg-hastur\",\n\t\t\"wg-kaambl\",\n\t\t\"wg-eihort\",\n\t\t\"wg-yidhra\",\n\t\t\"wg-azasos\" {",
        "type tunnel;",
        "hello interval 100 ms;",
        "update interval 2000 ms;",
        "rxcost 96;",
        // Thirteen of the last 16 hellos lost: the backstop behind `hortus
        // failover`, which notices a dead link first (no flaps under loss).
        "limit 4;",
        "rtt cost 192;",
        "rtt max 300 ms;",
        "rtt decay 60;",
        "check link no;",
    ] {
        assert!(conf.contains(needle), "missing {needle:?} in\n{conf}");
    }
    assert!(!conf.contains("authentication"), "no MAC unless a key file is set");
}

#[test]
fn bird_mac_extra_and_include() {
    let mut inventory = six_nodes();
    inventory.mesh.babel.mac_key_file = Some("/run/keys/babel-mac.conf".into());
    let hastur = host(&inventory, "hastur");
    let opts =
        bird::Options { extra_config: Some("# operator text".into()), include: Some("/etc/bird/local.conf".into()) };
    bird::validate(&opts).unwrap();
    let conf = bird::render(&hastur, &opts);
    assert!(conf.contains("\t\tauthentication mac;\n"));
    assert!(conf.contains("\n\t\tinclude \"/run/keys/babel-mac.conf\";\n"), "include must start its line");
    assert!(conf.ends_with("# operator text\n\ninclude \"/etc/bird/local.conf\";\n"), "{conf}");
}

#[test]
fn bird_refuses_what_bird_would_refuse() {
    let hastur = host(&six_nodes(), "hastur");
    let err = bird::validate(&bird::Options { include: Some("local.conf".into()), ..Default::default() });
    assert!(matches!(err, Err(RenderError::BadPath { field: "include", .. })), "{err:?}");
    // The key file path is the plan's: `hortus check` refuses a bad one (one rule, in validate).
    let mut inventory = six_nodes();
    inventory.mesh.babel.mac_key_file = Some("/keys/with \"quote\"".into());
    let err = hortus_core::build_plan(&inventory).map(drop).unwrap_err().to_string();
    assert!(err.contains("mesh: `babel.mac_key_file`"), "{err}");
    assert!(hastur.mesh.babel.mac_key_file.is_none());
}

#[test]
fn babeld_lists_every_link_and_filters_the_mesh() {
    let mut inventory = six_nodes();
    inventory.mesh.babel.hello_interval_ms = 500;
    inventory.mesh.babel.update_interval_ms = 1250;
    inventory.mesh.babel.smoothing_half_life = 1;
    let yidhra = host(&inventory, "yidhra");
    let opts = babeld::Options {
        state_file: "/var/lib/x/state".into(),
        pid_file: "/run/x.pid".into(),
        local_path: Some("/run/x.sock".into()),
        extra_config: None,
    };
    babeld::validate(&yidhra, &opts).unwrap();
    let conf = babeld::render(&yidhra, &opts);
    let interfaces: Vec<&str> = conf.lines().filter(|l| l.starts_with("interface ")).collect();
    let expected: Vec<String> =
        yidhra.node.links.iter().map(|l| format!("interface {} type tunnel rxcost 96", l.interface)).collect();
    assert_eq!(interfaces, expected);
    assert_eq!(interfaces.len(), 4, "yidhra–azasos is skipped");
    for needle in [
        "state-file /var/lib/x/state\n",
        "pid-file /run/x.pid\n",
        "local-path /run/x.sock\n",
        "kernel-priority 128\n",
        "router-id 00:00:00:00:00:00:00:04\n",
        "smoothing-half-life 1\n",
        "hello-interval 0.5 update-interval 1.25 link-quality true ",
        "max-rtt-penalty 192 rtt-max 300 rtt-decay 60",
        "in ip fdcc::/64 allow\nin deny\n",
        "redistribute local ip fdcc::4/128 allow\nredistribute local deny\n",
        "install ip fdcc::/64 pref-src fdcc::4\n",
    ] {
        assert!(conf.contains(needle), "missing {needle:?} in\n{conf}");
    }
}

#[test]
fn babeld_refuses_bad_paths_and_mac_keys() {
    let hastur = host(&six_nodes(), "hastur");
    let opts = babeld::Options { state_file: "state".into(), ..Default::default() };
    let err = babeld::validate(&hastur, &opts).unwrap_err().to_string();
    assert!(err.contains("`state_file`") && err.contains("absolute"), "{err}");
    let mut inventory = six_nodes();
    inventory.mesh.babel.mac_key_file = Some("/run/keys/babel-mac.conf".into());
    let err = babeld::validate(&host(&inventory, "hastur"), &babeld::Options::default()).unwrap_err().to_string();
    assert!(err.contains("mesh.babel.mac_key_file"), "{err}");
}

#[test]
fn networkd_follows_the_link_roles() {
    let abhoth = host(&six_nodes(), "abhoth");
    let files = networkd::render(&abhoth, &key_opts("/etc/hortus/wg.key")).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names[..2], ["10-anchor-0.netdev", "10-anchor-0.network"]);
    assert_eq!(files.len(), 2 + 2 * abhoth.node.links.len());
    let get = |name: &str| &files.iter().find(|f| f.name == name).unwrap().contents;
    // abhoth dials hastur through the local forwarder...
    let hastur = get("20-wg-hastur.netdev");
    assert!(hastur.contains("Endpoint=127.0.0.1:51814\nPersistentKeepalive=25\n"), "{hastur}");
    assert!(!hastur.contains("ListenPort="));
    assert!(hastur.contains("MTUBytes=1428\n"));
    // ...and listens for azasos directly.
    let azasos = get("20-wg-azasos.netdev");
    assert!(azasos.contains("ListenPort=51850\n") && !azasos.contains("Endpoint="), "{azasos}");
    for netdev in files.iter().filter(|f| f.name.starts_with("20-") && f.name.ends_with(".netdev")) {
        let text = &netdev.contents;
        assert_eq!(text.matches("RouteTable=off").count(), 2, "{text}");
        assert!(text.contains("PrivateKeyFile=/etc/hortus/wg.key\n"));
        assert!(text.contains("AllowedIPs=::/0\nAllowedIPs=0.0.0.0/0\n"));
    }
    let network = get("20-wg-azasos.network");
    assert!(network.contains("[Address]\nAddress=fdcc::5/128\nPeer=fdcc::6/128\nRouteMetric=1024\n"), "{network}");
    assert!(network.contains("Scope=link\n") && network.contains("LinkLocalAddressing=no\n"));
    assert_eq!(get("10-anchor-0.netdev").lines().filter(|l| *l == "Kind=dummy").count(), 1);
}

#[test]
fn networkd_needs_an_absolute_private_key_path() {
    let hastur = host(&six_nodes(), "hastur");
    let err = networkd::render(&hastur, &key_opts("")).unwrap_err();
    assert!(matches!(err, RenderError::Missing { field: "private_key_file", .. }));
    assert!(err.to_string().contains("`private_key_file` is required"), "{err}");
    let err = networkd::render(&hastur, &key_opts("keys/wg.key")).unwrap_err().to_string();
    assert!(err.contains("`private_key_file`") && err.contains("absolute"), "{err}");
    let opts = networkd::Options { private_key_file: "/k".into(), preshared_key_file: Some("/p s k".into()) };
    let err = networkd::render(&hastur, &opts).unwrap_err().to_string();
    assert!(err.contains("`preshared_key_file`"), "{err}");
}

#[test]
fn a_node_without_links_still_renders() {
    let solo = host(&lonely(), "solo");
    let conf = bird::render(&solo, &bird::Options::default());
    assert!(conf.contains("protocol babel mesh {") && !conf.contains("\tinterface\n"), "{conf}");
    assert!(!babeld::render(&solo, &babeld::Options::default()).contains("\ninterface "));
    assert_eq!(networkd::render(&solo, &key_opts("/k")).unwrap().len(), 2);
}

#[test]
fn rendering_is_deterministic() {
    let a = plan(&six_nodes());
    let b = plan(&six_nodes());
    for (x, y) in hosts(&a).iter().zip(hosts(&b).iter()) {
        assert_eq!(bird::render(x, &bird::Options::default()), bird::render(y, &bird::Options::default()));
        assert_eq!(babeld::render(x, &babeld::Options::default()), babeld::render(y, &babeld::Options::default()));
        assert_eq!(networkd::render(x, &key_opts("/k")), networkd::render(y, &key_opts("/k")));
    }
}

#[test]
fn private_keys_never_reach_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).unwrap();
    let private = private_key_from_bytes(bytes);
    getrandom::getrandom(&mut bytes).unwrap();
    let preshared = private_key_from_bytes(bytes);
    let key_path = dir.path().join("hastur.key");
    let psk_path = dir.path().join("mesh.psk");
    std::fs::write(&key_path, format!("{private}\n")).unwrap();
    std::fs::write(&psk_path, format!("{preshared}\n")).unwrap();
    let mut inventory = six_nodes();
    inventory.nodes.get_mut("hastur").unwrap().public_key = public_key(&private).unwrap();
    inventory.mesh.ipv4_prefix = Some("10.42.0.0/24".parse().unwrap());
    let opts = networkd::Options {
        private_key_file: key_path.to_string_lossy().into_owned(),
        preshared_key_file: Some(psk_path.to_string_lossy().into_owned()),
    };
    for host in hosts(&plan(&inventory)) {
        let mut outputs = vec![
            ("bird.conf".to_string(), bird::render(&host, &bird::Options::default())),
            ("babeld.conf".to_string(), babeld::render(&host, &babeld::Options::default())),
        ];
        let files = networkd::render(&host, &opts).unwrap();
        let netdevs = files.iter().filter(|f| f.name.starts_with("20-") && f.name.ends_with(".netdev"));
        for netdev in netdevs {
            assert!(netdev.contents.contains(&format!("PrivateKeyFile={}\n", key_path.display())));
            assert!(netdev.contents.contains(&format!("PresharedKeyFile={}\n", psk_path.display())));
        }
        outputs.extend(files.into_iter().map(|f| (f.name, f.contents)));
        for (name, text) in &outputs {
            assert!(!text.contains(&private), "{}/{name} contains the private key", host.host);
            assert!(!text.contains(&preshared), "{}/{name} contains the preshared key", host.host);
            assert!(!text.contains(&private[..20]), "{}/{name} contains part of the private key", host.host);
        }
    }
}
