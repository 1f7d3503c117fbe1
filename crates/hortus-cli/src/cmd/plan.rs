//! `hortus plan INVENTORY [--host NAME] [-o FILE]`

use crate::files::{read_host_plan, read_plan, write_output};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hortus plan`.
#[derive(clap::Args)]
pub struct Args {
    /// Inventory file (TOML, or JSON when it ends in .json).
    inventory: PathBuf,
    /// Print only this host's view.
    #[arg(long)]
    host: Option<String>,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Prints the plan as pretty JSON with a trailing newline.
pub fn run(args: Args) -> Result<ExitCode> {
    let (mut json, warnings) = match &args.host {
        Some(host) => {
            let view = read_host_plan(&args.inventory, host)?;
            (serde_json::to_string_pretty(&view)?, view.warnings)
        }
        None => {
            let plan = read_plan(&args.inventory)?;
            (serde_json::to_string_pretty(&plan)?, plan.warnings)
        }
    };
    json.push('\n');
    for warning in &warnings {
        eprintln!("hortus: warning: {warning}");
    }
    write_output(args.output.as_deref(), json.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
