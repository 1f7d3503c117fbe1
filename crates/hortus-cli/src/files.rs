//! File input and output: inventories in, outputs written atomically (a
//! temporary file in the same directory, then a rename) so a failure never
//! leaves a half-written file.

use anyhow::{Context, Result};
use hortus_core::{build_host_plan, build_plan, HostPlan, Inventory, Plan};
use std::fs;
use std::io::Write;
use std::path::Path;

/// Reads and parses an inventory (`.json` as JSON, anything else as TOML).
pub fn read_inventory(path: &Path) -> Result<Inventory> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read inventory {}", path.display()))?;
    Inventory::from_named_str(&path.to_string_lossy(), &text).with_context(|| format!("in {}", path.display()))
}

/// Reads an inventory and builds its plan.
pub fn read_plan(path: &Path) -> Result<Plan> {
    let inventory = read_inventory(path)?;
    build_plan(&inventory).with_context(|| format!("in {}", path.display()))
}

/// Reads an inventory and builds one host's view (O(n), not the whole plan).
pub fn read_host_plan(path: &Path, host: &str) -> Result<HostPlan> {
    let inventory = read_inventory(path)?;
    build_host_plan(&inventory, host).with_context(|| format!("in {}", path.display()))
}

/// Writes `contents` to `path` atomically, with `mode` permissions.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    hortus_fs::write_atomic(path, contents, mode).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes to `path` atomically, or to stdout when `path` is `None`.
pub fn write_output(path: Option<&Path>, contents: &[u8]) -> Result<()> {
    match path {
        Some(path) => write_atomic(path, contents, 0o644),
        None => std::io::stdout().write_all(contents).context("cannot write to stdout"),
    }
}
