//! Every rendered config goes through the real parser: BIRD 3 (`bird -p`),
//! babeld 1.12, systemd-networkd and nftables (`nft -c`), via
//! `scripts/check-*.sh`. Covers every host of both examples plus variants
//! (IPv4 overlay, Babel MAC key file, extra config and include, RTT cost
//! off, fractional timers, link costs, no links).
//! A missing tool skips (printing `SKIPPED:`) unless HORTUS_REQUIRE_TOOLS=1.

mod common;

use common::{
    check, check_all, hosts, lonely, plan, routes_and_exits, six_nodes, tool_missing, Outcome, GOLDEN_KEY_FILE,
};
use hortus_core::{HostPlan, Inventory};
use hortus_render::{babeld, bird, firewall, forwarder, networkd};
use std::path::PathBuf;

/// A named host plan to render.
struct Case {
    name: String,
    host: HostPlan,
}

/// Every host of `inventory`, labelled with `variant`.
fn cases(variant: &str, inventory: &Inventory) -> Vec<Case> {
    hosts(&plan(inventory)).into_iter().map(|host| Case { name: format!("{variant}-{}", host.host), host }).collect()
}

fn with_ipv4() -> Inventory {
    let mut inventory = six_nodes();
    inventory.mesh.ipv4_prefix = Some("10.42.0.0/24".parse().unwrap());
    inventory
}

/// Fractional timers, no RTT cost, BIRD's widest limit, no babeld link
/// quality, and links of three costs (so BIRD gets several interface blocks).
fn with_odd_timers() -> Inventory {
    let mut inventory = six_nodes();
    inventory.mesh.babel.hello_interval_ms = 250;
    inventory.mesh.babel.update_interval_ms = 1500;
    inventory.mesh.babel.rtt_cost = 0;
    inventory.mesh.babel.smoothing_half_life = 0;
    inventory.mesh.babel.kernel_scan_s = 30;
    inventory.mesh.babel.hello_limit = 16;
    inventory.mesh.babel.link_quality = false;
    inventory.nodes.get_mut("hastur").unwrap().cost = Some(300);
    inventory.nodes.get_mut("kaambl").unwrap().link_costs.insert("eihort".into(), 65_534);
    inventory
}

/// Renders every host of every `(variant, inventory, options)` with
/// `write` (which returns the path to check) and checks them all with `script`.
fn check_variants<O>(script: &str, variants: &[(&str, Inventory, &O)], mut write: impl FnMut(&Case, &O) -> PathBuf) {
    let mut items = vec![];
    for (variant, inventory, opts) in variants {
        for case in cases(variant, inventory) {
            let path = write(&case, opts);
            items.push((case.name, path));
        }
    }
    check_all(script, &items);
}

#[test]
fn bird_accepts_every_config() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("babel-mac.conf");
    std::fs::write(&key_file, "password \"hortus-test-mac-key\" { algorithm hmac sha256; };\n").unwrap();
    let include = dir.path().join("local.conf");
    std::fs::write(&include, "protocol static local_routes { ipv6; route fdcc::ff00/120 blackhole; }\n").unwrap();
    let mut with_mac = six_nodes();
    with_mac.mesh.babel.mac_key_file = Some(key_file.to_string_lossy().into_owned());
    let extras = bird::Options {
        extra_config: Some("protocol static extra_routes { ipv6; route fdcc::fe00/120 blackhole; }".into()),
        include: Some(include.to_string_lossy().into_owned()),
    };
    let plain = bird::Options::default();
    let variants = [
        ("six", six_nodes(), &plain),
        ("ipv4", with_ipv4(), &plain),
        ("mac", with_mac, &plain),
        ("odd", with_odd_timers(), &plain),
        ("extra", six_nodes(), &extras),
        ("lonely", lonely(), &plain),
        ("exits", routes_and_exits(), &plain),
    ];
    check_variants("check-bird-config.sh", &variants, |case, opts| {
        bird::validate(opts).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let path = dir.path().join(format!("{}.bird.conf", case.name));
        std::fs::write(&path, bird::render(&case.host, opts)).unwrap();
        path
    });
}

#[test]
fn checks_reject_broken_configs() {
    // Each check must be able to fail: one typo in a rendered config is caught.
    let dir = tempfile::tempdir().unwrap();
    let host = &hosts(&plan(&six_nodes()))[0];
    let bird_conf = dir.path().join("broken-bird.conf");
    std::fs::write(&bird_conf, bird::render(host, &bird::Options::default()).replace("type tunnel;", "type tunel;"))
        .unwrap();
    let babeld_conf = dir.path().join("broken-babeld.conf");
    std::fs::write(
        &babeld_conf,
        babeld::render(host, &babeld::Options::default()).replace("type tunnel", "type tunel"),
    )
    .unwrap();
    let networkd_dir = dir.path().join("broken-networkd");
    std::fs::create_dir(&networkd_dir).unwrap();
    let opts = networkd::Options { private_key_file: GOLDEN_KEY_FILE.into(), preshared_key_file: None };
    for file in networkd::render(host, &opts).unwrap() {
        std::fs::write(networkd_dir.join(&file.name), file.contents.replace("RouteTable=off", "RouteTabel=off"))
            .unwrap();
    }
    let nft_file = dir.path().join("broken-firewall.nft");
    std::fs::write(&nft_file, firewall::nftables(host).replace("masquerade", "masquerad").replace("accept", "acept"))
        .unwrap();
    for (script, path) in [
        ("check-bird-config.sh", bird_conf),
        ("check-babeld-config.sh", babeld_conf),
        ("check-networkd-dir.sh", networkd_dir),
        ("check-nft.sh", nft_file),
    ] {
        match check(script, &path) {
            Outcome::Rejected(err) => assert!(err.contains("broken-"), "{script}: {err}"),
            Outcome::Accepted => panic!("{script} accepted a typo in {}", path.display()),
            Outcome::CannotRun(why) => tool_missing(&why),
        }
    }
}

#[test]
fn babeld_accepts_every_config() {
    let dir = tempfile::tempdir().unwrap();
    let extras = babeld::Options {
        state_file: "/var/lib/hortus/babel-state".into(),
        pid_file: "/run/hortus/babeld.pid".into(),
        local_path: Some("/run/hortus/babeld.sock".into()),
        extra_config: Some("local-path-readwrite /run/hortus/babeld-rw.sock".into()),
    };
    let plain = babeld::Options::default();
    let variants = [
        ("six", six_nodes(), &plain),
        ("ipv4", with_ipv4(), &plain),
        ("odd", with_odd_timers(), &plain),
        ("extra", six_nodes(), &extras),
        ("lonely", lonely(), &plain),
        ("exits", routes_and_exits(), &plain),
    ];
    check_variants("check-babeld-config.sh", &variants, |case, opts| {
        babeld::validate(&case.host, opts).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let path = dir.path().join(format!("{}.babeld.conf", case.name));
        std::fs::write(&path, babeld::render(&case.host, opts)).unwrap();
        path
    });
}

#[test]
fn networkd_accepts_every_directory() {
    let dir = tempfile::tempdir().unwrap();
    let plain = networkd::Options { private_key_file: GOLDEN_KEY_FILE.into(), preshared_key_file: None };
    let psk = networkd::Options {
        private_key_file: GOLDEN_KEY_FILE.into(),
        preshared_key_file: Some("/etc/hortus/preshared.key".into()),
    };
    let variants = [
        ("six", six_nodes(), &plain),
        ("ipv4-psk", with_ipv4(), &psk),
        ("lonely", lonely(), &plain),
        ("exits", routes_and_exits(), &plain),
    ];
    check_variants("check-networkd-dir.sh", &variants, |case, opts| {
        let out = dir.path().join(format!("{}.network.d", case.name));
        std::fs::create_dir(&out).unwrap();
        for file in networkd::render(&case.host, opts).unwrap_or_else(|e| panic!("{}: {e}", case.name)) {
            std::fs::write(out.join(&file.name), &file.contents).unwrap();
        }
        out
    });
}

#[test]
fn nftables_accepts_every_ruleset() {
    let dir = tempfile::tempdir().unwrap();
    let plain = ();
    let variants = [("six", six_nodes(), &plain), ("ipv4", with_ipv4(), &plain), ("exits", routes_and_exits(), &plain)];
    let mut items = vec![];
    check_variants("check-nft.sh", &variants, |case, _| {
        let path = dir.path().join(format!("{}.firewall.nft", case.name));
        std::fs::write(&path, firewall::nftables(&case.host)).unwrap();
        if let Some(rules) = forwarder::nftables(&case.host) {
            items.push((format!("{}-forwarder", case.name), rules));
        }
        path
    });
    let forwarders: Vec<(String, PathBuf)> = items
        .into_iter()
        .map(|(name, rules)| {
            let path = dir.path().join(format!("{name}.nft"));
            std::fs::write(&path, rules).unwrap();
            (name, path)
        })
        .collect();
    check_all("check-nft.sh", &forwarders);
}
