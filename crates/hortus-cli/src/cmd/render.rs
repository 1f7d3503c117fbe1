//! `hortus render INVENTORY --host NAME --format {bird,babeld,networkd,forwarder,sysctl,firewall,all}
//! [-o DIR] [--private-key-file PATH] ...`
//!
//! Everything is rendered in memory first, so bad input (unknown host,
//! missing key path, unusable path) fails before any file is touched. With
//! `-o DIR`, `DIR/bird.conf`, `DIR/babeld.conf`, `DIR/networkd/` and `DIR/forwarder/` are
//! symlinks into `DIR/.hortus-render/current`, a generation that one rename
//! switches (`hortus_fs::generations`): a render is all or nothing, and
//! files no longer rendered (peers removed, files added by hand) are
//! removed with a line on stderr.

use crate::files::{read_host_plan, read_plan, shown};
use crate::output::write_stdout;
use anyhow::{bail, Context, Result};
use hortus_fs::generations::{self, Output};
use hortus_plan::HostPlan;
use hortus_render::parts::{self, Part};
use hortus_render::{babeld, bird, firewall, forwarder, hosts, networkd, service};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which configs to render.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// BIRD 3 config (`bird.conf`).
    Bird,
    /// babeld config (`babeld.conf`).
    Babeld,
    /// systemd-networkd files (`networkd/`); needs -o and --private-key-file.
    Networkd,
    /// systemd units and nftables rules for the host's phantun instances
    /// (`forwarder/`, nothing when it runs none); needs -o.
    Forwarder,
    /// The kernel settings a mesh router needs: forwarding, no reverse-path
    /// filter on mesh interfaces (`sysctl.d/60-hortus.conf`, for /etc/sysctl.d).
    Sysctl,
    /// The mesh's perimeter, TCP MSS clamping and masquerading (subnets,
    /// exits): an nftables table and the unit loading it (`firewall/`); needs -o.
    Firewall,
    /// The unit running `hortus endpoints` (`endpoints/`, nothing when the
    /// host has no link to switch); needs -o.
    Endpoints,
    /// The unit running `hortus failover` (`failover/`, nothing when the
    /// plan probes no link: babeld); needs -o.
    Failover,
    /// All of the above; needs -o and --private-key-file.
    All,
    /// `/etc/hosts` lines: every node's ULA and IPv4 overlay address as
    /// `<node>.<domain>` (the same on every host; not part of `all`).
    Hosts,
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
    /// Write into DIR (bird.conf, babeld.conf, networkd/, forwarder/, sysctl.d/, firewall/, endpoints/, failover/) instead of stdout.
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
    /// babeld's read-only local socket (`local-path`), which `hortus status`
    /// reads (its default is /run/babeld/babeld.sock).
    #[arg(long, value_name = "PATH")]
    babeld_local_path: Option<String>,
    /// phantun's client binary, for the forwarder units.
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/phantun_client")]
    phantun_client: String,
    /// phantun's server binary, for the forwarder units.
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/phantun_server")]
    phantun_server: String,
    /// Where the host keeps `forwarder/hortus-forwarder.nft` (its unit loads it from there).
    #[arg(long, value_name = "PATH", default_value = "/etc/hortus/forwarder.nft")]
    forwarder_nft_file: String,
    /// Where the host keeps `firewall/hortus-firewall.nft` (its unit loads it from there).
    #[arg(long, value_name = "PATH", default_value = "/etc/hortus/firewall.nft")]
    firewall_nft_file: String,
    /// The `hortus` binary, for the endpoints and failover units and the forwarder units
    /// of clients dialling a DNS name (`hortus forwarder-client`).
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/hortus")]
    hortus: String,
    /// Where the host keeps its plan (`hortus plan INVENTORY --host NAME`), for the endpoints and failover units.
    #[arg(long, value_name = "PATH", default_value = "/etc/hortus/plan.json")]
    plan_file: String,
    /// Domain of the host names `--format hosts` writes.
    #[arg(long, default_value = hosts::DEFAULT_DOMAIN)]
    domain: String,
}

/// Renders the host's configs and prints or writes them.
pub fn run(args: Args) -> Result<ExitCode> {
    let several_files = matches!(
        args.format,
        Format::Networkd | Format::Forwarder | Format::Firewall | Format::Endpoints | Format::Failover | Format::All
    );
    if several_files && args.output.is_none() {
        bail!("--format {} writes several files; give an output directory with -o DIR", format_name(args.format));
    }
    if matches!(args.format, Format::Networkd | Format::All) && args.private_key_file.is_none() {
        bail!(
            "--format {} needs --private-key-file PATH (where the host's WireGuard private key file is; only the path is written)",
            format_name(args.format)
        );
    }
    if args.format == Format::Hosts {
        return render_hosts(&args);
    }
    let host = read_host_plan(&args.inventory, &args.host)?;
    let outputs = render(&host, &args)?;
    for warning in &host.warnings {
        eprintln!("hortus: warning: {warning}");
    }
    match &args.output {
        Some(dir) => write_outputs(dir, &outputs, &owned_dirs(args.format))?,
        None => {
            for output in &outputs {
                write_stdout(&output.contents)?;
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
        Format::Sysctl => "sysctl",
        Format::Firewall => "firewall",
        Format::Endpoints => "endpoints",
        Format::Failover => "failover",
        Format::All => "all",
        Format::Hosts => "hosts",
    }
}

/// `--format hosts`: from the whole plan (every node), checked to contain
/// `--host`; to stdout, or `-o DIR` as `DIR/hosts`.
fn render_hosts(args: &Args) -> Result<ExitCode> {
    let plan = read_plan(&args.inventory)?;
    if !plan.nodes.contains_key(&args.host) {
        bail!("no node `{}` in {}", args.host, shown(&args.inventory));
    }
    let text = hosts::render(&plan, &args.domain)?;
    match &args.output {
        Some(dir) => write_outputs(dir, &[Output { path: "hosts".into(), contents: text.into_bytes() }], &[])?,
        None => write_stdout(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The parts a format renders (none for `hosts`, which is the whole plan's).
fn parts_of(format: Format) -> Vec<Part> {
    match format {
        Format::Bird => vec![Part::Bird],
        Format::Babeld => vec![Part::Babeld],
        Format::Networkd => vec![Part::Networkd],
        Format::Forwarder => vec![Part::Forwarder],
        Format::Sysctl => vec![Part::Sysctl],
        Format::Firewall => vec![Part::Firewall],
        Format::Endpoints => vec![Part::Endpoints],
        Format::Failover => vec![Part::Failover],
        Format::All => Part::ALL.to_vec(),
        Format::Hosts => vec![],
    }
}

/// The renderers' options from the command line.
fn options(args: &Args) -> parts::Options {
    let mut babeld = babeld::Options::default();
    if let Some(path) = &args.babeld_state_file {
        babeld.state_file = path.clone();
    }
    if let Some(path) = &args.babeld_pid_file {
        babeld.pid_file = path.clone();
    }
    babeld.local_path = args.babeld_local_path.clone();
    parts::Options {
        bird: bird::Options { extra_config: None, include: args.bird_include.clone() },
        babeld,
        networkd: networkd::Options {
            private_key_file: args.private_key_file.clone().unwrap_or_default(),
            preshared_key_file: args.preshared_key_file.clone(),
        },
        forwarder: forwarder::Options {
            phantun_client: args.phantun_client.clone(),
            phantun_server: args.phantun_server.clone(),
            hortus: args.hortus.clone(),
            nft_file: args.forwarder_nft_file.clone(),
            ..forwarder::Options::default()
        },
        firewall: firewall::Options { nft_file: args.firewall_nft_file.clone(), ..firewall::Options::default() },
        services: service::Options { hortus: args.hortus.clone(), plan_file: args.plan_file.clone() },
    }
}

/// Every output the format asks for, rendered and checked.
fn render(host: &HostPlan, args: &Args) -> Result<Vec<Output>> {
    let opts = options(args);
    let mut outputs = vec![];
    for part in parts_of(args.format) {
        let files = parts::render(host, &opts, part)?;
        if part == Part::Forwarder && files.is_empty() {
            eprintln!("hortus: `{}` runs no forwarder: no forwarder/ files", host.host);
        }
        for file in files {
            let path = match part.dir() {
                Some(dir) => Path::new(dir).join(file.name),
                None => PathBuf::from(file.name),
            };
            outputs.push(Output { path, contents: file.contents.into_bytes() });
        }
    }
    Ok(outputs)
}

/// The directories of `-o DIR` a format is responsible for, even when it
/// writes nothing into one (a host that runs no forwarder any more).
fn owned_dirs(format: Format) -> Vec<&'static str> {
    parts_of(format).into_iter().filter_map(Part::dir).collect()
}

/// Writes `outputs` into `dir`: one file (`bird`, `babeld`) as a plain file
/// replaced atomically; several (`networkd`, `all`) as one generation (all
/// or nothing, see `hortus_fs::generations`) in which `owned` directories
/// hold exactly this render's files, reporting the files removed.
fn write_outputs(dir: &Path, outputs: &[Output], owned: &[&str]) -> Result<()> {
    if let [single] = outputs {
        if single.path.components().count() == 1 {
            return generations::publish_file(dir, single)
                .with_context(|| format!("cannot write {}", shown(&dir.join(&single.path))));
        }
    }
    let published =
        generations::publish(dir, outputs, owned).with_context(|| format!("cannot write into {}", shown(dir)))?;
    for removed in &published.removed {
        eprintln!("hortus: removed {} (not in this render)", shown(&dir.join(removed)));
    }
    Ok(())
}
