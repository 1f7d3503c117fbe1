//! Shared helpers of the render tests: the six-node example, golden paths,
//! and the skip-or-fail rule for tests that need external tools.

#![allow(dead_code)] // each test binary uses a different subset

use hortus_core::{build_plan, HostPlan, Inventory, Plan};
use std::path::{Path, PathBuf};

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
