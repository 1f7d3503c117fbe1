//! File input and output: inventories in (a file, or `-` for stdin), outputs
//! written through `hortus_fs`, which replaces only regular files and never
//! leaves a half-written one.

use crate::output::write_stdout;
use anyhow::{Context, Result};
use hortus_core::excerpt::excerpt;
use hortus_core::{build_host_plan, build_plan, HostPlan, Inventory, Plan};
use hortus_plan::PlanFile;
use std::fs;
use std::io::Read;
use std::path::Path;

/// Reads and parses an inventory: `-` is stdin (JSON if it starts with `{`),
/// `.json` (any case) JSON, anything else TOML.
pub fn read_inventory(path: &Path) -> Result<Inventory> {
    parse_inventory(path, &read_input(path)?)
}

/// The text of `path`, or of stdin for `-`.
fn read_input(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the inventory from stdin")?;
        Ok(text)
    } else {
        fs::read_to_string(path).with_context(|| format!("cannot read inventory {}", shown(path)))
    }
}

/// Parses inventory `text` read from `path` (which says TOML or JSON).
fn parse_inventory(path: &Path, text: &str) -> Result<Inventory> {
    Inventory::from_named_str(&path.to_string_lossy(), text).with_context(|| format!("in {}", shown(path)))
}

/// Reads an inventory and builds its plan.
pub fn read_plan(path: &Path) -> Result<Plan> {
    let inventory = read_inventory(path)?;
    build_plan(&inventory).with_context(|| format!("in {}", shown(path)))
}

/// A whole plan from `path`: read through the plan loader when the file is
/// a plan (JSON with a top-level `version`, which an inventory never has),
/// else planned from the inventory.
pub fn read_plan_or_inventory(path: &Path) -> Result<Plan> {
    let text = read_input(path)?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) if value.get("version").is_some() => {
            PlanFile::from_value(value).and_then(PlanFile::whole).with_context(|| format!("plan {}", shown(path)))
        }
        _ => build_plan(&parse_inventory(path, &text)?).with_context(|| format!("in {}", shown(path))),
    }
}

/// Reads an inventory and builds one host's view (O(n), not the whole plan).
pub fn read_host_plan(path: &Path, host: &str) -> Result<HostPlan> {
    let inventory = read_inventory(path)?;
    build_host_plan(&inventory, host).with_context(|| format!("in {}", shown(path)))
}

/// The installed plan of a live host, as `reconcile` and `endpoints` take it.
#[derive(clap::Args)]
pub struct InstalledPlan {
    /// The plan: this host's view (`hortus plan INVENTORY --host NAME -o
    /// FILE`, what the NixOS module installs) or the whole mesh's.
    #[arg(long, value_name = "FILE", default_value = "/etc/hortus/plan.json")]
    pub plan: std::path::PathBuf,
    /// This host's node name (default: the view's host; for a whole plan,
    /// the machine's hostname).
    #[arg(long)]
    pub host: Option<String>,
}

impl InstalledPlan {
    /// This host's view of the plan ([`read_plan_file`]).
    pub fn read(&self) -> Result<HostPlan> {
        read_plan_file(&self.plan, self.host.as_deref())
    }
}

/// Reads a plan file through the one loader (`hortus_plan::PlanFile`:
/// version checked first) and returns one host's view: `host`'s, or for a
/// whole plan without `host` this machine's hostname's; a host view is used
/// as it is when `host` is not given, and must be `host`'s when it is.
pub fn read_plan_file(path: &Path, host: Option<&str>) -> Result<HostPlan> {
    let in_file = || format!("plan {}", shown(path));
    let file = PlanFile::read(path).with_context(in_file)?;
    let host = match (&file, host) {
        (_, Some(host)) => Some(host.to_string()),
        (PlanFile::Whole(_), None) => hostname(),
        (PlanFile::Host(_), None) => None,
    };
    file.host_view(host.as_deref()).with_context(in_file)
}

/// The kernel's hostname (the NixOS `networking.hostName`).
fn hostname() -> Option<String> {
    let name = fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_string()).filter(|n| !n.is_empty())
}

/// Writes `contents` to `path` atomically, with `mode` permissions.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    hortus_fs::write_atomic(path, contents, mode).with_context(|| format!("cannot write {}", shown(path)))
}

/// Writes to `path` atomically, or to stdout when `path` is `None`.
pub fn write_output(path: Option<&Path>, contents: &[u8]) -> Result<()> {
    match path {
        Some(path) => write_atomic(path, contents, 0o644),
        None => write_stdout(contents),
    }
}

/// A path as shown in messages: control characters escaped, cut.
pub fn shown(path: &Path) -> String {
    excerpt(&path.to_string_lossy())
}
