//! `hortus keygen` and `hortus pubkey`.

use crate::files::shown;
use crate::output::outln;
use anyhow::{bail, Context, Result};
use hortus_core::excerpt::excerpt;
use hortus_core::keys::{private_key_from_bytes, public_key};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `hortus keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Directory for NAME.key (mode 0600) and NAME.pub; created (mode 0700)
    /// when missing.
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
/// Every name is checked before anything is written: a bad name, a name
/// given twice or an existing NAME.key or NAME.pub fails the whole run.
/// Files are created exclusively, so two runs at once never overwrite a key
/// or pair a `.pub` with another run's `.key`.
pub fn keygen(args: KeygenArgs) -> Result<ExitCode> {
    let mut seen = std::collections::HashSet::new();
    for name in &args.names {
        if name.is_empty() || name.contains('/') || name.starts_with('.') || name.chars().any(char::is_control) {
            bail!("`{}` is not a usable key file name", excerpt(name));
        }
        if !seen.insert(name) {
            bail!("`{}` is given twice", excerpt(name));
        }
        for ext in ["key", "pub"] {
            let path = args.out_dir.join(format!("{name}.{ext}"));
            if std::fs::symlink_metadata(&path).is_ok() {
                bail!("{} exists; refusing to overwrite a key (nothing was written)", shown(&path));
            }
        }
    }
    create_key_dir(&args.out_dir)?;
    for name in &args.names {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
        let private = private_key_from_bytes(bytes);
        let public = public_key(&private).map_err(anyhow::Error::msg)?;
        let private_path = args.out_dir.join(format!("{name}.key"));
        let public_path = args.out_dir.join(format!("{name}.pub"));
        hortus_fs::create_exclusive(&private_path, format!("{private}\n").as_bytes(), 0o600)
            .with_context(|| format!("cannot create {}", shown(&private_path)))?;
        if let Err(e) = hortus_fs::create_exclusive(&public_path, format!("{public}\n").as_bytes(), 0o644) {
            // Ours, just made: a .key without its .pub is removed again.
            let _ = std::fs::remove_file(&private_path);
            return Err(e).with_context(|| format!("cannot create {}", shown(&public_path)));
        }
        if args.print_private {
            outln!("{name} {public} {private}")?;
        } else {
            outln!("{name} {public}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates `dir` (and its parents) when missing, mode 0700 as it holds
/// private keys; an existing directory is used as it is.
fn create_key_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => bail!("{} is not a directory", shown(dir)),
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create directory {}", shown(dir))),
    }
}

/// Reads a base64 private key on stdin and prints its public key.
pub fn pubkey() -> Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read stdin")?;
    let public = public_key(&text).map_err(|e| anyhow::anyhow!("private key on stdin: {e}"))?;
    outln!("{public}")?;
    Ok(ExitCode::SUCCESS)
}
