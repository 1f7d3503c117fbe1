//! `hortus babeld-seqno [--state-file FILE]`: run before babeld starts
//! (the NixOS module's `ExecStartPre`, the lab), so that a babeld restarted
//! after a crash or a power loss is believed at once: its state file gets a
//! sequence number that grows with the clock unless it holds a newer one
//! ([`hortus_host::babeld_seqno`]). Prints what it did.

use anyhow::{Context, Result};
use hortus_host::babeld_seqno::{self, Seeded};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// Arguments of `hortus babeld-seqno`.
#[derive(clap::Args)]
pub struct Args {
    /// babeld's state file (its `state-file`, `-S`).
    #[arg(long, value_name = "FILE", default_value_t = hortus_render::babeld::Options::default().state_file)]
    state_file: String,
}

/// Seeds the state file.
pub fn run(args: Args) -> Result<ExitCode> {
    let path = PathBuf::from(&args.state_file);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?.as_secs();
    match babeld_seqno::seed(&path, now).with_context(|| format!("cannot write {}", path.display()))? {
        Seeded::Kept(seqno) => {
            println!("hortus babeld-seqno: {} holds {seqno}, not older than the clock's: kept", path.display())
        }
        Seeded::Written(seqno) => {
            println!("hortus babeld-seqno: {}: sequence number {seqno} (the clock's)", path.display())
        }
    }
    Ok(ExitCode::SUCCESS)
}
