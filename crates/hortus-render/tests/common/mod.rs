//! Shared helpers of the render tests: the six-node example, golden paths,
//! and the skip-or-fail rule for tests that need external tools.

#![allow(dead_code)] // each test binary uses a different subset

use hortus_core::{build_plan, HostPlan, Inventory, Plan};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Private key path the golden networkd files point at.
pub const GOLDEN_KEY_FILE: &str = "/etc/hortus/wireguard.key";

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The six-node example inventory.
pub fn six_nodes() -> Inventory {
    let text = std::fs::read_to_string(repo().join("examples/six-nodes.toml")).expect("read example");
    Inventory::from_toml_str(&text).expect("parse example")
}

/// The routes-and-exits example inventory (subnets, exits, `use_exit`).
pub fn routes_and_exits() -> Inventory {
    let text = std::fs::read_to_string(repo().join("examples/routes-and-exits.toml")).expect("read example");
    Inventory::from_toml_str(&text).expect("parse example")
}

/// The plan of `inventory`.
pub fn plan(inventory: &Inventory) -> Plan {
    build_plan(inventory).expect("valid inventory")
}

/// Every host's view of `plan`, by name.
pub fn hosts(plan: &Plan) -> Vec<HostPlan> {
    plan.nodes.keys().map(|name| plan.host(name).expect("known host")).collect()
}

/// A one-node mesh: a host with no links at all.
pub fn lonely() -> Inventory {
    Inventory::from_toml_str(
        r#"
        [nodes.solo]
        id = 0
        public_key = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU="
        endpoints = ["192.0.2.1"]
        "#,
    )
    .expect("parse")
}

/// Whether `HORTUS_REQUIRE_TOOLS` asks missing tools to fail the test.
pub fn tools_required() -> bool {
    std::env::var_os("HORTUS_REQUIRE_TOOLS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Handles a missing tool: panics if tools are required, else prints a
/// visible `SKIPPED:` line. Returns nothing; the caller returns next.
pub fn tool_missing(why: &str) {
    if tools_required() {
        panic!("HORTUS_REQUIRE_TOOLS is set but {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// Exit status of the check scripts when the check itself cannot run.
pub const CANNOT_RUN: i32 = 2;

/// What a check script said about one config.
pub enum Outcome {
    Accepted,
    Rejected(String),
    /// The check itself could not run (tool missing, not root...).
    CannotRun(String),
}

/// Runs `scripts/<script> <arg>`.
pub fn check(script: &str, arg: &Path) -> Outcome {
    let out = Command::new("bash").arg(repo().join("scripts").join(script)).arg(arg).output().expect("run bash");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    match out.status.code() {
        Some(0) => Outcome::Accepted,
        Some(CANNOT_RUN) => Outcome::CannotRun(format!("{script} cannot run: {}", text.trim())),
        _ => Outcome::Rejected(text),
    }
}

/// Checks every `(name, path)` in parallel threads; panics listing
/// rejections, or skips (or fails) once if the check cannot run.
pub fn check_all(script: &str, items: &[(String, PathBuf)]) {
    let outcomes: Vec<(String, Outcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.iter().map(|(name, path)| (name.clone(), scope.spawn(move || check(script, path)))).collect();
        handles.into_iter().map(|(name, h)| (name, h.join().expect("check thread"))).collect()
    });
    let mut rejected = vec![];
    for (name, outcome) in outcomes {
        match outcome {
            Outcome::Accepted => {}
            Outcome::Rejected(text) => rejected.push(format!("{name}:\n{text}")),
            Outcome::CannotRun(why) => return tool_missing(&why),
        }
    }
    assert!(rejected.is_empty(), "{script} rejected:\n{}", rejected.join("\n"));
    eprintln!("{script}: {} configs accepted", items.len());
}
