//! The live state of a host, read through three small traits so the same
//! code serves a real host and tests: WireGuard interfaces, Babel's view,
//! and the kernel's interfaces and routes. [`Host`] reads the first and the
//! last from the host runtime (`hortus-host`); Babel's view comes from
//! [`crate::bird`] or [`crate::babeld`].

use crate::error::Result;
use hortus_host::failover::StateFile;
use hortus_host::routes::KernelRoute;
use hortus_host::wireguard::WireGuardState;
use hortus_plan::IpPrefix;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// A Babel neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbour {
    /// Interface it was heard on.
    pub interface: String,
    /// Its link-local address.
    pub address: Ipv6Addr,
    /// The link cost the daemon computes for it.
    pub cost: u32,
}

/// A route the Babel daemon selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BabelRoute {
    /// Destination host address (of a /128).
    pub destination: Ipv6Addr,
    /// Outgoing interface.
    pub interface: String,
    /// Next hop.
    pub next_hop: Option<Ipv6Addr>,
    /// Babel metric.
    pub metric: u32,
}

/// What the routing daemon knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BabelView {
    /// Neighbours heard.
    pub neighbours: Vec<Neighbour>,
    /// Selected routes to /128 destinations.
    pub routes: Vec<BabelRoute>,
}

/// Reads WireGuard interfaces.
pub trait WireGuardSource {
    /// The interface `name`; `Ok(None)` when there is no such WireGuard
    /// interface.
    fn interface(&self, name: &str) -> std::result::Result<Option<WireGuardState>, String>;
}

/// Reads the routing daemon.
pub trait BabelSource {
    /// Neighbours and selected routes.
    fn view(&self) -> Result<BabelView>;
}

/// Reads the kernel's interfaces and IPv6 routes.
pub trait RouteSource {
    /// Every interface name and whether it is administratively up.
    fn interfaces(&self) -> Result<BTreeMap<String, bool>>;
    /// The lowest-metric IPv6 route of the main table per /128 destination.
    fn host_routes(&self) -> Result<BTreeMap<Ipv6Addr, KernelRoute>>;
    /// The lowest-metric route of each `(prefix, table)` wanted, if any.
    fn prefix_routes(&self, wanted: &[(IpPrefix, u32)]) -> Result<BTreeMap<(IpPrefix, u32), KernelRoute>>;
}

/// The host (network namespace) this runs in, read through `hortus-host`:
/// WireGuard interfaces from wireguard-go when it has a control socket for
/// them, else from the kernel; links and routes from the kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host;

impl WireGuardSource for Host {
    fn interface(&self, name: &str) -> std::result::Result<Option<WireGuardState>, String> {
        let state =
            hortus_host::wireguard::read(name).map_err(|e| format!("{name}: not readable as WireGuard ({e})"))?;
        Ok(Some(state))
    }
}

impl RouteSource for Host {
    fn interfaces(&self) -> Result<BTreeMap<String, bool>> {
        Ok(hortus_host::links::links()?.into_iter().map(|l| (l.name, l.up)).collect())
    }

    fn host_routes(&self) -> Result<BTreeMap<Ipv6Addr, KernelRoute>> {
        Ok(hortus_host::routes::host_routes()?)
    }

    fn prefix_routes(&self, wanted: &[(IpPrefix, u32)]) -> Result<BTreeMap<(IpPrefix, u32), KernelRoute>> {
        Ok(hortus_host::routes::prefix_routes(wanted)?)
    }
}

/// The route to a prefix in a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixRoute {
    /// The prefix.
    pub prefix: IpPrefix,
    /// The kernel table.
    pub table: u32,
    /// The lowest-metric route to exactly it.
    pub route: KernelRoute,
}

/// One interface's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceState {
    /// Present in the kernel.
    pub present: bool,
    /// Administratively up.
    pub admin_up: bool,
    /// Its WireGuard state, if it could be read.
    pub wireguard: Option<WireGuardState>,
    /// Why the WireGuard state could not be read.
    pub error: Option<String>,
}

/// Everything read at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When, Unix seconds.
    pub taken_unix_s: u64,
    /// Each planned interface.
    pub interfaces: BTreeMap<String, InterfaceState>,
    /// Babel's view, or why it could not be read.
    pub babel: std::result::Result<BabelView, String>,
    /// Kernel routes per /128 destination.
    pub routes: BTreeMap<Ipv6Addr, KernelRoute>,
    /// Kernel routes to the planned prefixes (subnets, default routes).
    pub prefix_routes: Vec<PrefixRoute>,
    /// `hortus failover`'s state file, or why it could not be read; `None`
    /// when the plan probes no link.
    pub probes: Option<std::result::Result<StateFile, String>>,
}

/// Reads the state of `interfaces`, the routes to `prefixes` (prefix,
/// table) and everything else at `now` (Unix seconds), with `probes` as
/// read from `hortus failover`'s state file. Kernel interfaces
/// and routes must be readable; an unreadable Babel daemon or WireGuard
/// interface is recorded, not fatal.
pub fn collect(
    interfaces: &[String],
    prefixes: &[(IpPrefix, u32)],
    wireguard: &dyn WireGuardSource,
    babel: &dyn BabelSource,
    kernel: &dyn RouteSource,
    probes: Option<std::result::Result<StateFile, String>>,
    now: u64,
) -> Result<Snapshot> {
    let links = kernel.interfaces()?;
    let interfaces = interfaces
        .iter()
        .map(|name| {
            let admin = links.get(name).copied();
            let (wg, error) = match admin {
                None => (None, None),
                Some(_) => match wireguard.interface(name) {
                    Ok(wg) => (wg, None),
                    Err(e) => (None, Some(e)),
                },
            };
            let state =
                InterfaceState { present: admin.is_some(), admin_up: admin.unwrap_or(false), wireguard: wg, error };
            (name.clone(), state)
        })
        .collect();
    Ok(Snapshot {
        taken_unix_s: now,
        interfaces,
        babel: babel.view().map_err(|e| e.to_string()),
        routes: kernel.host_routes()?,
        prefix_routes: kernel
            .prefix_routes(prefixes)?
            .into_iter()
            .map(|((prefix, table), route)| PrefixRoute { prefix, table, route })
            .collect(),
        probes,
    })
}
