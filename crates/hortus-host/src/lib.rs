//! # hortus-host
//!
//! The host runtime: everything hortus reads from or changes in the kernel
//! of the host (or network namespace) it runs on, over netlink and through
//! `wireguard-control`, never by parsing another tool's output.
//!
//! - [`links`]: the kernel's network interfaces (the one link model,
//!   [`links::KernelLink`]), and deleting one;
//! - [`wireguard`]: one WireGuard interface's live state (the one WireGuard
//!   state model, [`wireguard::WireGuardState`]), from the kernel or from
//!   wireguard-go;
//! - [`routes`]: the kernel's IPv6 /128 routes, dumped or followed as they
//!   change (`hortus status` and `hortus status --watch`);
//! - [`endpoints`]: `hortus endpoints`, which moves a quiet link to its
//!   next endpoint candidate, and [`forwarder_client`]: `hortus
//!   forwarder-client`, which keeps a forwarder client on its remote
//!   name's current address;
//! - [`failover`]: `hortus failover`, which probes every link and takes a
//!   dead one out of BIRD's Babel within the plan's detection time;
//! - [`live`]: the mesh's interfaces with their WireGuard state, and
//!   [`diff`]: which of them must go (pure, no I/O), for [`reconcile`].
//!
//! `hortus status` (the `hortus-status` crate) reads links, WireGuard state
//! and routes through this crate; the lab (`hortus-lab`) shares its route
//! model.
//!
//! [`reconcile`] (`hortus reconcile`) brings the kernel's mesh interfaces in
//! line with a plan on a host running systemd-networkd, which alone does not:
//!
//! - it never deletes a netdev whose `.netdev` file is gone, so a node
//!   removed from the inventory would keep its `wg-<peer>` interface on
//!   every other host;
//! - on `networkctl reload` (and on a restart) it applies a changed
//!   WireGuard `ListenPort=` and key, but not a changed `MTUBytes=`.
//!
//! It deletes every WireGuard interface named with the mesh's interface
//! prefix that the plan does not have, and every planned one whose kernel
//! state differs from the plan, then asks systemd-networkd to reload, which
//! recreates the deleted planned interfaces from their current files.

pub mod babeld_seqno;
pub mod diff;
pub mod endpoints;
mod error;
pub mod failover;
pub mod forwarder_client;
pub mod links;
pub mod live;
mod netlink;
pub mod routes;
pub mod rules;
pub mod wireguard;

pub use diff::{Action, Change};
pub use error::HostError;

use hortus_plan::HostPlan;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What [`reconcile`] should do besides deciding.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only report what would be done.
    pub dry_run: bool,
    /// The command that makes systemd-networkd reload its files (empty: none).
    pub reload_command: Vec<String>,
    /// How long to wait for systemd-networkd to create every planned interface.
    pub wait: Duration,
    /// The state file of `hortus failover`: the link-local of a link it
    /// holds out of Babel is missing on purpose, not stale.
    pub failover_state: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            reload_command: vec!["networkctl".into(), "reload".into()],
            wait: Duration::from_secs(10),
            failover_state: PathBuf::from(failover::DEFAULT_STATE),
        }
    }
}

/// The outcome of [`reconcile`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// What was (or, with `dry_run`, would be) deleted, and why.
    pub actions: Vec<Action>,
    /// Planned interfaces still missing after the reload and the wait.
    pub missing: Vec<String>,
    /// What systemd-networkd had not applied, besides interfaces (a
    /// WireGuard firewall mark, policy rules), for which it was reloaded.
    pub stale: Vec<String>,
}

/// Deletes the mesh interfaces that are not in `plan` or differ from it,
/// then, when a planned interface is missing (deleted here, or never
/// created), reloads systemd-networkd and waits for the planned interfaces.
/// Without a missing interface there is no reload: systemd-networkd re-applies
/// WireGuard settings on a reload (a changed `ListenPort=` takes effect), and
/// in the host tier a ping between two untouched nodes was lost across one
/// when a removed node's interface was all there was to do.
pub fn reconcile(plan: &HostPlan, opts: &Options) -> Result<Report, HostError> {
    let prefix = &plan.mesh.interface_prefix;
    let live = live::interfaces(prefix)?;
    let actions = diff::actions(plan, &live);
    if opts.dry_run {
        return Ok(Report { actions, missing: vec![], stale: stale_settings(plan, opts)? });
    }
    for action in &actions {
        links::delete(action.index).map_err(HostError::netlink(&format!("delete {}", action.interface)))?;
    }
    let missing = missing_interfaces(plan)?;
    let stale = stale_settings(plan, opts)?;
    if missing.is_empty() && stale.is_empty() {
        return Ok(Report { actions, missing, stale });
    }
    if let Some((program, args)) = opts.reload_command.split_first() {
        let status = Command::new(program)
            .args(args)
            .status()
            .map_err(|e| HostError::Reload { command: opts.reload_command.join(" "), status: e.to_string() })?;
        if !status.success() {
            return Err(HostError::Reload { command: opts.reload_command.join(" "), status: status.to_string() });
        }
    }
    let deadline = Instant::now() + opts.wait;
    loop {
        let missing = missing_interfaces(plan)?;
        if missing.is_empty() || Instant::now() >= deadline {
            return Ok(Report { actions, missing, stale });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What systemd-networkd applies on a reload but has not yet (its files
/// changed without one): an address of an existing interface (the anchor's
/// IPv4 /32 when the mesh gains an overlay), a link's WireGuard firewall
/// mark, a policy rule. A link-local `hortus failover` removed is not one.
fn stale_settings(plan: &HostPlan, opts: &Options) -> Result<Vec<String>, HostError> {
    let policy = plan.node.policy_routing.as_ref();
    let mark = policy.and_then(|p| p.wireguard_mark);
    let mut stale = vec![];
    let live = links::addresses()?;
    let present: std::collections::BTreeMap<String, u32> =
        links::links()?.into_iter().map(|l| (l.name, l.index)).collect();
    let node = &plan.node;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let held_out = failover::StateFile::held_out(&opts.failover_state, now);
    let planned = std::iter::once((&node.anchor, &node.anchor_addresses))
        .chain(node.links.iter().map(|l| (&l.interface, &l.addresses)));
    for (interface, addresses) in planned {
        let Some(index) = present.get(interface) else { continue };
        let have = live.get(index).map_or(&[][..], Vec::as_slice);
        // A link-local `hortus failover` removed is missing on purpose.
        let held = held_out.contains(interface);
        let expected = |a: &&hortus_plan::InterfaceAddress| !(held && a.scope_link);
        for address in addresses.iter().filter(expected).filter(|a| !have.contains(&a.address)) {
            stale.push(format!("{interface}: address {} missing", address.cidr()));
        }
    }
    for link in &plan.node.links {
        if let Ok(state) = wireguard::read(&link.interface) {
            if state.public_key.is_some() && state.fwmark != mark {
                stale.push(format!("{}: firewall mark {:?}, planned {mark:?}", link.interface, state.fwmark));
            }
        }
    }
    let rules = policy.map_or(&[][..], |p| &p.rules[..]);
    stale.extend(rules::missing_rules(rules)?.into_iter().map(|r| format!("policy rule missing: {r}")));
    Ok(stale)
}

/// The planned interfaces the kernel does not have.
fn missing_interfaces(plan: &HostPlan) -> Result<Vec<String>, HostError> {
    let names: Vec<String> = live::interfaces(&plan.mesh.interface_prefix)?.into_iter().map(|i| i.link.name).collect();
    Ok(plan.node.links.iter().map(|l| l.interface.clone()).filter(|name| !names.contains(name)).collect())
}
