//! `hortus graph`: the mesh as a picture (SVG drawn in-process, or DOT),
//! optionally with `hortus status` reports overlaid. The work is done by
//! the `hortus-graph` crate; this module parses arguments and writes.

use crate::files::read_plan_or_inventory;
use crate::output::write_stdout;
use anyhow::{Context, Result};
use clap::ValueEnum;
use hortus_graph::Picture;
use hortus_status::HostStatus;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `hortus graph`.
#[derive(clap::Args)]
pub struct Args {
    /// The inventory (TOML, or JSON by extension), or a whole plan
    /// (`hortus plan` output, recognised by its `version`).
    inventory: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "svg")]
    format: Format,
    /// `hortus status --json` of one host, a JSON array of several, or
    /// `hortus lab status --json`: links down in red, detours in orange.
    #[arg(long, value_name = "STATUS.json")]
    status: Option<PathBuf>,
    /// Write here (atomically) instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
}

/// Output formats.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Svg,
    Dot,
}

/// Runs `hortus graph`.
pub fn run(args: Args) -> Result<ExitCode> {
    let plan = read_plan_or_inventory(&args.inventory)?;
    let status = match &args.status {
        Some(path) => read_status(path)?,
        None => vec![],
    };
    let picture = Picture::new(&plan, &status);
    let text = match args.format {
        Format::Dot => picture.dot(),
        Format::Svg => picture.svg().map_err(anyhow::Error::msg)?,
    };
    match &args.output {
        Some(path) => hortus_fs::write_atomic(path, text.as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => write_stdout(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// One host's report, an array of them, or the lab's per-node array (each
/// with its report under `host`).
fn read_status(path: &Path) -> Result<Vec<HostStatus>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    items
        .into_iter()
        .map(|item| {
            let item = match item.get("host") {
                Some(inner) if inner.is_object() => inner.clone(),
                _ => item,
            };
            serde_json::from_value(item)
                .with_context(|| format!("{}: not a `hortus status --json` report", path.display()))
        })
        .collect()
}
