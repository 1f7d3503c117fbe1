//! `hortus render INVENTORY --host NAME --format {bird,babeld,networkd,forwarder,all}
//! [-o DIR] [--private-key-file PATH] ...`
//!
//! Everything is rendered in memory first, so bad input (unknown host,
//! missing key path, unusable path) fails before any file is touched. With
//! `-o DIR` the files are written into a staging directory inside DIR and
//! then renamed into place: `DIR/bird.conf`, `DIR/babeld.conf`, and
//! `DIR/networkd/` and `DIR/forwarder/`, which are replaced as a whole so
//! files of removed peers disappear. A failure never leaves a half-written file.

use crate::files::read_plan;
use anyhow::{bail, Context, Result};
use hortus_core::HostPlan;
use hortus_render::{babeld, bird, forwarder, networkd};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Subdirectory of the output directory holding the networkd files.
const NETWORKD_DIR: &str = "networkd";
/// Subdirectory of the output directory holding the forwarder files.
const FORWARDER_DIR: &str = "forwarder";

/// Which configs to render.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// BIRD 3 config (`bird.conf`).
    Bird,
    /// babeld config (`babeld.conf`).
    Babeld,
    /// systemd-networkd files (`networkd/`); needs -o and --private-key-file.
    Networkd,
    /// systemd units, nftables rules and sysctls for the host's phantun
    /// instances (`forwarder/`, empty when it has none); needs -o.
    Forwarder,
    /// All of the above; needs -o and --private-key-file.
    All,
}

/// Arguments of `hortus render`.
#[derive(clap::Args)]
pub struct Args {
    /// Inventory file (TOML, or JSON when it ends in .json).
    inventory: PathBuf,
    /// The host to render for.
    #[arg(long)]
    host: String,
    /// What to render.
    #[arg(long, value_enum)]
    format: Format,
    /// Write into DIR (bird.conf, babeld.conf, networkd/) instead of stdout.
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Path of the host's WireGuard private key file, written into the
    /// netdevs (the key itself is never read).
    #[arg(long, value_name = "PATH")]
    private_key_file: Option<String>,
    /// Path of a WireGuard preshared key file used on every link.
    #[arg(long, value_name = "PATH")]
    preshared_key_file: Option<String>,
    /// A file BIRD includes at the end of its config.
    #[arg(long, value_name = "PATH")]
    bird_include: Option<String>,
    /// babeld's state file.
    #[arg(long, value_name = "PATH")]
    babeld_state_file: Option<String>,
    /// babeld's pid file.
    #[arg(long, value_name = "PATH")]
    babeld_pid_file: Option<String>,
    /// phantun's client binary, for the forwarder units.
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/phantun_client")]
    phantun_client: String,
    /// phantun's server binary, for the forwarder units.
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/phantun_server")]
    phantun_server: String,
    /// Where the host keeps `forwarder/hortus-forwarder.nft` (its unit loads it from there).
    #[arg(long, value_name = "PATH", default_value = "/etc/hortus/forwarder.nft")]
    forwarder_nft_file: String,
}

/// One output: a path relative to the output directory and its text, or
/// a directory to create (possibly left empty).
struct Output {
    path: PathBuf,
    contents: String,
    directory: bool,
}

/// Renders the host's configs and prints or writes them.
pub fn run(args: Args) -> Result<ExitCode> {
    let several_files = matches!(args.format, Format::Networkd | Format::Forwarder | Format::All);
    if several_files && args.output.is_none() {
        bail!("--format {} writes several files; give an output directory with -o DIR", format_name(args.format));
    }
    if matches!(args.format, Format::Networkd | Format::All) && args.private_key_file.is_none() {
        bail!(
            "--format {} needs --private-key-file PATH (where the host's WireGuard private key file is; only the path is written)",
            format_name(args.format)
        );
    }
    let plan = read_plan(&args.inventory)?;
    let host = plan.host(&args.host)?;
    let outputs = render(&host, &args)?;
    for warning in &plan.warnings {
        eprintln!("hortus: warning: {warning}");
    }
    match &args.output {
        Some(dir) => write_outputs(dir, &outputs)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            for output in &outputs {
                stdout.write_all(output.contents.as_bytes()).context("cannot write to stdout")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Bird => "bird",
        Format::Babeld => "babeld",
        Format::Networkd => "networkd",
        Format::Forwarder => "forwarder",
        Format::All => "all",
    }
}

/// Every output the format asks for, rendered and checked.
fn render(host: &HostPlan, args: &Args) -> Result<Vec<Output>> {
    let all = args.format == Format::All;
    let mut outputs = vec![];
    if all || args.format == Format::Bird {
        let opts = bird::Options { extra_config: None, include: args.bird_include.clone() };
        bird::validate(host, &opts)?;
        outputs.push(Output { path: "bird.conf".into(), contents: bird::render(host, &opts), directory: false });
    }
    if all || args.format == Format::Babeld {
        let mut opts = babeld::Options::default();
        if let Some(path) = &args.babeld_state_file {
            opts.state_file = path.clone();
        }
        if let Some(path) = &args.babeld_pid_file {
            opts.pid_file = path.clone();
        }
        babeld::validate(host, &opts)?;
        outputs.push(Output { path: "babeld.conf".into(), contents: babeld::render(host, &opts), directory: false });
    }
    if all || args.format == Format::Networkd {
        let opts = networkd::Options {
            private_key_file: args.private_key_file.clone().unwrap_or_default(),
            preshared_key_file: args.preshared_key_file.clone(),
        };
        for file in networkd::render(host, &opts)? {
            outputs.push(Output {
                path: Path::new(NETWORKD_DIR).join(file.name),
                contents: file.contents,
                directory: false,
            });
        }
    }
    if all || args.format == Format::Forwarder {
        let opts = forwarder::Options {
            phantun_client: args.phantun_client.clone(),
            phantun_server: args.phantun_server.clone(),
            nft_file: args.forwarder_nft_file.clone(),
            ..forwarder::Options::default()
        };
        let files = forwarder::render(host, &opts)?;
        if files.is_empty() {
            eprintln!("hortus: {} runs no forwarder; {FORWARDER_DIR}/ is empty", host.host);
        }
        for file in files {
            outputs.push(Output {
                path: Path::new(FORWARDER_DIR).join(file.name),
                contents: file.contents,
                directory: false,
            });
        }
        // The directory itself, so an empty one replaces a stale one.
        outputs.push(Output { path: FORWARDER_DIR.into(), contents: String::new(), directory: true });
    }
    Ok(outputs)
}

/// Writes `outputs` under `dir` through a staging directory, then renames
/// each top-level entry into place.
fn write_outputs(dir: &Path, outputs: &[Output]) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create output directory {}", dir.display()))?;
    let mut entries: Vec<&Path> = outputs.iter().map(|o| top_level(&o.path)).collect();
    entries.dedup();
    for entry in &entries {
        let target = dir.join(entry);
        let want_dir = *entry == Path::new(NETWORKD_DIR) || *entry == Path::new(FORWARDER_DIR);
        if let Ok(meta) = fs::symlink_metadata(&target) {
            if meta.is_dir() != want_dir {
                bail!(
                    "cannot write {}: it exists and is not a {}",
                    target.display(),
                    if want_dir { "directory" } else { "file" }
                );
            }
        }
    }
    let staging = dir.join(format!(".hortus-render.{}.tmp", std::process::id()));
    let result = stage(&staging, outputs).and_then(|()| commit(dir, &staging, &entries));
    let _ = fs::remove_dir_all(&staging);
    result
}

fn top_level(path: &Path) -> &Path {
    path.components().next().map(|c| Path::new(c.as_os_str())).unwrap_or(path)
}

/// Writes every output into `staging`, synced to disk.
fn stage(staging: &Path, outputs: &[Output]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::create_dir(staging)
        .with_context(|| format!("cannot write into {}", staging.parent().unwrap_or(staging).display()))?;
    for output in outputs {
        let path = staging.join(&output.path);
        if output.directory {
            fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
            continue;
        }
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&path)?;
            file.write_all(output.contents.as_bytes())?;
            file.sync_all()
        };
        write().with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Renames the staged entries into `dir`. A directory entry replaces the
/// old one as a whole; the old one is moved into `staging` to be deleted.
fn commit(dir: &Path, staging: &Path, entries: &[&Path]) -> Result<()> {
    for entry in entries {
        let (staged, target) = (staging.join(entry), dir.join(entry));
        if staged.is_dir() && target.exists() {
            let old = staging.join(format!("{}.old", entry.display()));
            fs::rename(&target, &old).with_context(|| format!("cannot replace {}", target.display()))?;
            if let Err(err) = fs::rename(&staged, &target) {
                let _ = fs::rename(&old, &target);
                return Err(err).with_context(|| format!("cannot replace {}", target.display()));
            }
        } else {
            fs::rename(&staged, &target).with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    Ok(())
}
