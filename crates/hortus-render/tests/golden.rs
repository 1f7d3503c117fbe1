//! Golden files: every format for every host of the examples (six nodes;
//! routes and exits), compared byte for byte with
//! `tests/golden/<example>/<host>/`.
//! `HORTUS_BLESS=1 cargo test -p hortus-render --test golden` rewrites them.

mod common;

use common::{hosts, plan, repo, GOLDEN_KEY_FILE};
use hortus_core::Inventory;
use hortus_render::{babeld, bird, endpoints, failover, firewall, forwarder, networkd, service, sysctl};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

#[test]
fn six_nodes_match_golden_files() {
    check_example("six-nodes");
}

#[test]
fn routes_and_exits_match_golden_files() {
    check_example("routes-and-exits");
}

fn check_example(example: &str) {
    let bless = std::env::var("HORTUS_BLESS").is_ok_and(|v| v == "1");
    let root = repo().join("tests/golden").join(example);
    let text = fs::read_to_string(repo().join("examples").join(format!("{example}.toml"))).unwrap();
    let plan = plan(&Inventory::from_toml_str(&text).unwrap());
    let mut failures = vec![];
    for host in hosts(&plan) {
        let mut files = BTreeMap::new();
        files.insert("bird.conf".to_string(), bird::render(&host, &bird::Options::default()));
        files.insert("babeld.conf".to_string(), babeld::render(&host, &babeld::Options::default()));
        let opts = networkd::Options { private_key_file: GOLDEN_KEY_FILE.into(), preshared_key_file: None };
        for file in networkd::render(&host, &opts).expect("render networkd") {
            files.insert(format!("networkd/{}", file.name), file.contents);
        }
        for file in forwarder::render(&host, &forwarder::Options::default()).expect("render forwarder") {
            files.insert(format!("forwarder/{}", file.name), file.contents);
        }
        let file = sysctl::render(&host);
        files.insert(format!("sysctl.d/{}", file.name), file.contents);
        for file in firewall::render(&host, &firewall::Options::default()).expect("render firewall") {
            files.insert(format!("firewall/{}", file.name), file.contents);
        }
        for file in endpoints::render(&host, &service::Options::default()).expect("render endpoints") {
            files.insert(format!("endpoints/{}", file.name), file.contents);
        }
        for file in failover::render(&host, &service::Options::default()).expect("render failover") {
            files.insert(format!("failover/{}", file.name), file.contents);
        }
        let dir = root.join(&host.host);
        if bless {
            let _ = fs::remove_dir_all(&dir);
            for (name, contents) in &files {
                let path = dir.join(name);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, contents).unwrap();
            }
            continue;
        }
        let on_disk = list(&dir);
        let expected: Vec<&String> = files.keys().collect();
        if on_disk.iter().collect::<Vec<_>>() != expected {
            failures.push(format!("{}: golden files {on_disk:?}, rendered {expected:?}", host.host));
        }
        for (name, contents) in &files {
            let golden = fs::read_to_string(dir.join(name)).unwrap_or_default();
            if let Some(diff) = first_difference(&golden, contents) {
                failures.push(format!("{}/{name}: {diff}", host.host));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rendered output differs from tests/golden (rerun with HORTUS_BLESS=1 to accept):\n{}",
        failures.join("\n")
    );
}

/// Files under `dir`, relative, sorted.
fn list(dir: &Path) -> Vec<String> {
    let mut names = vec![];
    for sub in ["", "networkd", "forwarder", "sysctl.d", "firewall", "endpoints", "failover"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else { continue };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                names.push(if sub.is_empty() { name } else { format!("{sub}/{name}") });
            }
        }
    }
    names.sort();
    names
}

fn first_difference(golden: &str, rendered: &str) -> Option<String> {
    if golden == rendered {
        return None;
    }
    let mut lines = golden.lines().zip(rendered.lines()).enumerate();
    match lines.find(|(_, (g, r))| g != r) {
        Some((i, (g, r))) => Some(format!("line {}: golden {g:?}, rendered {r:?}", i + 1)),
        None => Some(format!("length differs: golden {} bytes, rendered {} bytes", golden.len(), rendered.len())),
    }
}
