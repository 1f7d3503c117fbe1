//! `hortus keygen` and `hortus pubkey`.

use crate::files::write_atomic;
use anyhow::{bail, Context, Result};
use hortus_core::keys::{private_key_from_bytes, public_key};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hortus keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Directory for NAME.key (mode 0600) and NAME.pub.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Also print the private keys (they are never printed otherwise).
    #[arg(long)]
    print_private: bool,
    /// Node names.
    #[arg(required = true)]
    names: Vec<String>,
}

/// Writes NAME.key and NAME.pub for each name; prints `NAME PUBLIC_KEY`.
/// Existing key files are never overwritten.
pub fn keygen(args: KeygenArgs) -> Result<ExitCode> {
    for name in &args.names {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            bail!("`{name}` is not a usable key file name");
        }
        let private_path = args.out_dir.join(format!("{name}.key"));
        if private_path.exists() {
            bail!("{} exists; refusing to overwrite a private key", private_path.display());
        }
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
        let private = private_key_from_bytes(bytes);
        let public = public_key(&private).map_err(anyhow::Error::msg)?;
        write_atomic(&private_path, format!("{private}\n").as_bytes(), 0o600)?;
        write_atomic(&args.out_dir.join(format!("{name}.pub")), format!("{public}\n").as_bytes(), 0o644)?;
        if args.print_private {
            println!("{name} {public} {private}");
        } else {
            println!("{name} {public}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a base64 private key on stdin and prints its public key.
pub fn pubkey() -> Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read stdin")?;
    let public = public_key(&text).map_err(|e| anyhow::anyhow!("private key on stdin: {e}"))?;
    println!("{public}");
    Ok(ExitCode::SUCCESS)
}
