//! `hortus graph`: the README's picture of the six-node example is what
//! the tool draws today (regenerate with
//! `hortus graph examples/six-nodes.toml -o docs/six-nodes.svg`), DOT
//! output, and the status overlay from a `hortus status --json` report.

use std::path::Path;
use std::process::{Command, Output};

fn hortus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hortus")).args(args).current_dir(repo()).output().expect("run hortus")
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn readme_picture_is_current() {
    let out = hortus(&["graph", "examples/six-nodes.toml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let committed = std::fs::read(repo().join("docs/six-nodes.svg")).expect("docs/six-nodes.svg");
    assert!(
        out.stdout == committed,
        "docs/six-nodes.svg is stale: run `hortus graph examples/six-nodes.toml -o docs/six-nodes.svg`"
    );
}

#[test]
fn a_plan_draws_the_same_as_its_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    assert!(hortus(&["plan", "examples/six-nodes.toml", "-o", plan.to_str().unwrap()]).status.success());
    let from_plan = hortus(&["graph", plan.to_str().unwrap(), "--format", "dot"]);
    assert!(from_plan.status.success(), "{}", String::from_utf8_lossy(&from_plan.stderr));
    assert_eq!(from_plan.stdout, hortus(&["graph", "examples/six-nodes.toml", "--format", "dot"]).stdout);
    let host_view = dir.path().join("hastur.json");
    assert!(hortus(&["plan", "examples/six-nodes.toml", "--host", "hastur", "-o", host_view.to_str().unwrap()])
        .status
        .success());
    let refused = hortus(&["graph", host_view.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the whole mesh's plan is needed"));
}

#[test]
fn status_overlay_marks_down_and_detoured_links() {
    let dir = tempfile::tempdir().unwrap();
    // hastur's report: its link to kaambl down, kaambl reached via eihort.
    let report = serde_json::json!({
        "host": "hastur", "taken_unix_s": 0, "babel_error": null,
        "links": [{"peer": "kaambl", "interface": "wg-kaambl", "path": "direct", "port": 51801, "listen": true,
                   "up": false, "listen_port": 51801, "endpoint": null, "handshake_age_s": 300, "rx_bytes": 0,
                   "tx_bytes": 0, "babel_neighbour": null, "babel_cost": null, "flags": ["no Babel neighbour"]},
                  {"peer": "eihort", "interface": "wg-eihort", "path": "direct", "port": 51802, "listen": true,
                   "up": true, "listen_port": 51802, "endpoint": null, "handshake_age_s": 3, "rx_bytes": 0,
                   "tx_bytes": 0, "babel_neighbour": "fe80::1", "babel_cost": 96, "flags": []}],
        "destinations": [{"node": "kaambl", "address": "fdcc::2", "linked": true,
                          "reach": {"kind": "via", "peer": "eihort", "interface": "wg-eihort"},
                          "route": null, "babel_metric": 192, "flags": ["detoured"]}]
    });
    let path = dir.path().join("status.json");
    std::fs::write(&path, serde_json::to_string(&vec![report]).unwrap()).unwrap();
    let out = hortus(&["graph", "examples/six-nodes.toml", "--format", "dot", "--status", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(
        dot.contains(r#""hastur" -- "kaambl" [color="red", penwidth=3, label="DOWN detoured at hastur"]"#),
        "{dot}"
    );
    assert!(dot.contains(r#""eihort" -- "hastur" [color="darkgreen"]"#), "{dot}");
    assert!(dot.contains(r#""eihort" -- "kaambl" [color="gray"]"#), "no report covers it: {dot}");
    let svg = hortus(&["graph", "examples/six-nodes.toml", "--status", path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&svg.stdout).contains("DOWN"));
    // Not a report: a clear error, exit 1.
    std::fs::write(&path, "{\"nodes\": 1}").unwrap();
    let bad = hortus(&["graph", "examples/six-nodes.toml", "--status", path.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a `hortus status --json` report"));
}
