//! `hortus forwarder-client --underlay U --prefer F --switch-after-s S --
//! CLIENT ARGS...`: runs a forwarder client (phantun) whose `--remote` is a
//! DNS name with the name's current address, and restarts it with the new
//! one when the name moves ([`hortus_host::forwarder_client`]). The flags
//! are the host plan's `node.underlay`, `mesh.endpoints.prefer` and
//! `mesh.endpoints.switch_after_s`; the name is checked at `hortus
//! endpoints`' interval. The phantun units (`hortus render --format
//! forwarder`, the NixOS module, the lab) run it for each forwarded link
//! that dials a name. Exits with the client's status when the client exits.

use crate::values;
use anyhow::{anyhow, Result};
use hortus_host::endpoints::{check_interval, System};
use hortus_host::forwarder_client::{ClientCommand, Supervisor};
use hortus_plan::{EndpointSettings, IpFamily, Underlay};
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `hortus forwarder-client`.
#[derive(clap::Args)]
pub struct Args {
    /// The families this host can dial with (the plan's `node.underlay`).
    #[arg(long, value_name = "ipv4|ipv6|dual", value_parser = values::underlay)]
    underlay: Underlay,
    /// The family tried first (the plan's `mesh.endpoints.prefer`).
    #[arg(long, value_name = "ipv4|ipv6", value_parser = values::ip_family)]
    prefer: IpFamily,
    /// The plan's `mesh.endpoints.switch_after_s`: the name is resolved
    /// again every tenth of it (at least every second).
    #[arg(long, value_name = "SECONDS")]
    switch_after_s: u32,
    /// The client and its arguments, one of them `--remote NAME:PORT`.
    #[arg(last = true, required = true, value_name = "CLIENT")]
    command: Vec<String>,
}

/// Runs the client until it exits.
pub fn run(args: Args) -> Result<ExitCode> {
    let command = ClientCommand::parse(&args.command).map_err(|e| anyhow!(e))?;
    let settings = EndpointSettings { prefer: args.prefer, switch_after_s: args.switch_after_s };
    let interval = check_interval(&settings);
    println!(
        "hortus forwarder-client: {} dials {} ({} underlay), checked every {} s",
        args.command[0],
        command.name(),
        args.underlay,
        interval.as_secs()
    );
    let mut supervisor = Supervisor::new(command, args.underlay, args.prefer);
    loop {
        for event in supervisor.step(&System)? {
            println!("{event}");
        }
        std::io::stdout().flush()?;
        if let Some(status) = supervisor.wait(interval)? {
            println!("hortus forwarder-client: {} exited ({status})", args.command[0]);
            return Ok(crate::exit::of_child(status));
        }
    }
}
