//! `hortus status --watch`: every change of the route this host uses to
//! each other node, as it happens (a route flap log).
//!
//! The kernel's main-table /128 routes are followed over an rtnetlink
//! subscription ([`RouteChanges`]). A destination's *selection* is its
//! lowest-metric route when it is a usable unicast route (its interface,
//! and whether the routing daemon installed it), or none (no route, or an
//! unreachable one). A tunnel's own /128 peer route (networkd's `Peer=`,
//! metric 1024) outlives the peer; it is reported as "peer route only", and
//! Babel's return over the same interface is a change. A change is reported once it has
//! held for [`SETTLE`]: babeld moves a route by deleting it and adding the
//! new one, which would otherwise read as a loss and a return within
//! microseconds.

use crate::assess::PlanView;
use crate::error::Result;
use hortus_host::routes::{host_route_entries, KernelRoute, RouteChange, RouteChanges};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;
use std::ops::ControlFlow;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a new selection must hold before it is reported.
pub const SETTLE: Duration = Duration::from_millis(50);

/// One reported selection of the route to a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEvent {
    /// When the selection took effect, Unix milliseconds.
    pub unix_ms: u64,
    /// The host watching.
    pub host: String,
    /// The destination node.
    pub destination: String,
    /// The state at the start of the watch, not a change.
    pub initial: bool,
    /// The interface selected before (none: no usable route).
    pub previous: Option<String>,
    /// Whether the route selected before came from the routing daemon.
    pub previous_babel: bool,
    /// The interface selected now (none: no usable route).
    pub interface: Option<String>,
    /// Whether the route selected now came from the routing daemon (else it
    /// is the tunnel's kernel peer route, or another foreign route).
    pub babel: bool,
    /// The peer at the other end of `interface`, when it is a planned link.
    pub via: Option<String>,
    /// Whether `via` is the destination itself (the direct tunnel).
    pub direct: bool,
    /// Whether the route goes through a third node although the plan has a
    /// direct link to the destination.
    pub detour: bool,
}

impl fmt::Display for RouteEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |i: &Option<String>| i.clone().unwrap_or_else(|| "no route".into());
        let (s, ms) = (self.unix_ms / 1000, self.unix_ms % 1000);
        let when = format!("{:02}:{:02}:{:02}.{ms:03}Z", s / 3600 % 24, s / 60 % 60, s % 60);
        let path = match (&self.interface, &self.via) {
            (None, _) => "unreachable".to_string(),
            _ if !self.babel => "peer route only: no Babel route".to_string(),
            _ if self.direct => "direct".to_string(),
            (Some(_), Some(via)) if self.detour => format!("detour via {via}"),
            (Some(_), Some(via)) => format!("via {via}"),
            (Some(_), None) => "not a mesh link".to_string(),
        };
        if self.initial {
            write!(f, "{when} {} -> {}: {} ({path})", self.host, self.destination, name(&self.interface))
        } else {
            let previous = match &self.previous {
                Some(i) if !self.previous_babel => format!("{i} (peer route)"),
                other => name(other),
            };
            write!(f, "{when} {} -> {}: {previous} => {} ({path})", self.host, self.destination, name(&self.interface))
        }
    }
}

/// The main-table /128 routes, by destination and metric.
#[derive(Debug, Default)]
struct Table(BTreeMap<Ipv6Addr, BTreeMap<u32, KernelRoute>>);

impl Table {
    fn load(entries: Vec<(Ipv6Addr, KernelRoute)>) -> Table {
        let mut table = Table::default();
        for (destination, route) in entries {
            table.apply(RouteChange::Added(destination, route));
        }
        table
    }

    fn apply(&mut self, change: RouteChange) {
        match change {
            RouteChange::Added(d, r) => {
                self.0.entry(d).or_default().insert(r.metric, r);
            }
            RouteChange::Removed(d, r) => {
                if let Some(routes) = self.0.get_mut(&d) {
                    routes.remove(&r.metric);
                }
            }
            RouteChange::Overrun => {}
        }
    }

    /// The lowest-metric route to `d`, if usable.
    fn selected(&self, d: &Ipv6Addr) -> Option<Selected> {
        let (_, best) = self.0.get(d)?.first_key_value()?;
        let interface = best.dev.clone().filter(|_| best.kind == "unicast")?;
        Some(Selected { interface, babel: best.from_daemon() })
    }
}

/// A destination's selected route: its interface, and whether the routing
/// daemon installed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selected {
    interface: String,
    babel: bool,
}

/// One destination's reported and current selection.
#[derive(Debug)]
struct Destination {
    name: String,
    address: Ipv6Addr,
    reported: Option<Selected>,
    current: Option<Selected>,
    since: Instant,
    since_unix_ms: u64,
}

/// Follows the selections of one host's destinations and turns them into
/// settled [`RouteEvent`]s.
#[derive(Debug)]
struct Watcher {
    host: String,
    /// Interface → peer, of the planned links.
    links: BTreeMap<String, String>,
    table: Table,
    destinations: Vec<Destination>,
}

impl Watcher {
    fn new(plan: &PlanView, table: Table, now: Instant, unix_ms: u64) -> Watcher {
        let destinations = plan
            .destinations
            .iter()
            .map(|(name, address)| {
                let current = table.selected(address);
                Destination {
                    name: name.clone(),
                    address: *address,
                    reported: current.clone(),
                    current,
                    since: now,
                    since_unix_ms: unix_ms,
                }
            })
            .collect();
        Watcher {
            host: plan.host.clone(),
            links: plan.node.links.iter().map(|l| (l.interface.clone(), l.peer.clone())).collect(),
            table,
            destinations,
        }
    }

    fn event(&self, d: &Destination, initial: bool) -> RouteEvent {
        let interface = d.current.as_ref().map(|s| s.interface.clone());
        let babel = d.current.as_ref().is_some_and(|s| s.babel);
        let via = interface.as_ref().and_then(|i| self.links.get(i)).cloned();
        let direct = babel && via.as_deref() == Some(d.name.as_str());
        let planned_direct = self.links.values().any(|peer| *peer == d.name);
        let previous = if initial { None } else { d.reported.as_ref() };
        RouteEvent {
            unix_ms: d.since_unix_ms,
            host: self.host.clone(),
            destination: d.name.clone(),
            initial,
            previous: previous.map(|s| s.interface.clone()),
            previous_babel: previous.is_some_and(|s| s.babel),
            detour: babel && !direct && planned_direct,
            interface,
            babel,
            direct,
            via,
        }
    }

    fn initial(&self) -> Vec<RouteEvent> {
        self.destinations.iter().map(|d| self.event(d, true)).collect()
    }

    /// Applies `changes` seen at `now`; a full reload replaces the table
    /// after an overrun.
    fn apply(&mut self, changes: Vec<RouteChange>, reload: Option<Table>, now: Instant, unix_ms: u64) {
        match reload {
            Some(table) => self.table = table,
            None => changes.into_iter().for_each(|c| self.table.apply(c)),
        }
        for d in &mut self.destinations {
            let selected = self.table.selected(&d.address);
            if selected != d.current {
                d.current = selected;
                d.since = now;
                d.since_unix_ms = unix_ms;
            }
        }
    }

    /// The changes that have held for [`SETTLE`] at `now`.
    fn settled(&mut self, now: Instant) -> Vec<RouteEvent> {
        let mut out = vec![];
        for i in 0..self.destinations.len() {
            let d = &self.destinations[i];
            if d.current != d.reported && now.duration_since(d.since) >= SETTLE {
                out.push(self.event(d, false));
                let d = &mut self.destinations[i];
                d.reported = d.current.clone();
            }
        }
        out
    }

    /// When the next pending change settles.
    fn next_deadline(&self) -> Option<Instant> {
        self.destinations.iter().filter(|d| d.current != d.reported).map(|d| d.since + SETTLE).min()
    }
}

/// Milliseconds since the Unix epoch, the clock of [`RouteEvent::unix_ms`]
/// (0 before it).
pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Watches the routes of this network namespace to `plan`'s destinations
/// for `duration` (forever when `None`): first one initial event per
/// destination, then every settled change, each passed to `emit` as it
/// happens. Stops early when `emit` says so.
pub fn watch(
    plan: &PlanView,
    duration: Option<Duration>,
    emit: &mut dyn FnMut(&RouteEvent) -> ControlFlow<()>,
) -> Result<()> {
    let mut changes = RouteChanges::subscribe()?;
    let start = Instant::now();
    let end = duration.map(|d| start + d);
    let mut watcher = Watcher::new(plan, Table::load(host_route_entries()?), start, unix_ms());
    for event in watcher.initial() {
        if emit(&event).is_break() {
            return Ok(());
        }
    }
    loop {
        let now = Instant::now();
        if end.is_some_and(|end| now >= end) {
            return Ok(());
        }
        let wake = [end, watcher.next_deadline()].into_iter().flatten().min();
        let timeout = wake.map_or(Duration::from_secs(3600), |w| w.saturating_duration_since(now));
        let batch = changes.wait(timeout)?;
        let reload =
            if batch.contains(&RouteChange::Overrun) { Some(Table::load(host_route_entries()?)) } else { None };
        let now = Instant::now();
        watcher.apply(batch, reload, now, unix_ms());
        for event in watcher.settled(now) {
            if emit(&event).is_break() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dev: &str, metric: u32, kind: &str) -> KernelRoute {
        KernelRoute { kind: kind.into(), dev: Some(dev.into()), gateway: None, protocol: "bird".into(), metric }
    }

    /// `host`'s view of the six-node example's plan.
    fn view(host: &str) -> PlanView {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/six-nodes.toml")).unwrap();
        let plan = hortus_core::build_plan(&hortus_core::Inventory::from_toml_str(&text).unwrap()).unwrap();
        PlanView::new(plan.host(host).unwrap())
    }

    /// hastur, linked to every other node.
    fn plan() -> PlanView {
        view("hastur")
    }

    /// hastur's first two links: (peer, its ULA, interface) and (peer, interface).
    fn two_links(plan: &PlanView) -> (String, Ipv6Addr, String, String, String) {
        let [a, b, ..] = &plan.node.links[..] else { panic!("hastur has 5 links") };
        (a.peer.clone(), a.peer_address, a.interface.clone(), b.peer.clone(), b.interface.clone())
    }

    #[test]
    fn reports_a_move_once_it_has_held() {
        let plan = plan();
        let (a, address, wg_a, b, wg_b) = two_links(&plan);
        let t0 = Instant::now();
        let mut w = Watcher::new(&plan, Table::load(vec![(address, route(&wg_a, 32, "unicast"))]), t0, 1000);
        let initial = w.initial();
        assert_eq!(initial.len(), 5);
        let first = initial.iter().find(|e| e.destination == a).unwrap();
        assert!(first.initial && first.direct && first.interface.as_deref() == Some(wg_a.as_str()));
        // babeld's move: delete, then add through b, microseconds apart.
        let t1 = t0 + Duration::from_secs(1);
        w.apply(vec![RouteChange::Removed(address, route(&wg_a, 32, "unicast"))], None, t1, 2000);
        w.apply(vec![RouteChange::Added(address, route(&wg_b, 32, "unicast"))], None, t1, 2000);
        assert!(w.settled(t1 + Duration::from_millis(10)).is_empty());
        let moved = w.settled(t1 + SETTLE);
        assert_eq!(moved.len(), 1);
        let e = &moved[0];
        assert_eq!((e.previous.as_deref(), e.interface.as_deref()), (Some(wg_a.as_str()), Some(wg_b.as_str())));
        assert_eq!((e.via.as_deref(), e.direct, e.detour, e.unix_ms), (Some(b.as_str()), false, true, 2000));
        assert_eq!(e.to_string(), format!("00:00:02.000Z hastur -> {a}: {wg_a} => {wg_b} (detour via {b})"));
        assert!(w.settled(t1 + SETTLE * 2).is_empty());
    }

    #[test]
    fn a_blip_shorter_than_settle_is_not_reported() {
        let plan = plan();
        let (_, address, wg_a, ..) = two_links(&plan);
        let t0 = Instant::now();
        let mut w = Watcher::new(&plan, Table::load(vec![(address, route(&wg_a, 32, "unicast"))]), t0, 0);
        w.apply(vec![RouteChange::Removed(address, route(&wg_a, 32, "unicast"))], None, t0, 0);
        w.apply(vec![RouteChange::Added(address, route(&wg_a, 32, "unicast"))], None, t0 + SETTLE / 2, 0);
        assert!(w.settled(t0 + SETTLE * 3).is_empty());
    }

    #[test]
    fn an_unreachable_route_is_no_route() {
        let plan = plan();
        let (a, address, wg_a, ..) = two_links(&plan);
        let t0 = Instant::now();
        let mut w = Watcher::new(&plan, Table::load(vec![(address, route(&wg_a, 32, "unicast"))]), t0, 0);
        w.apply(vec![RouteChange::Added(address, route("lo", 16, "unreachable"))], None, t0, 0);
        let lost = w.settled(t0 + SETTLE);
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].interface, None);
        assert_eq!(lost[0].to_string(), format!("00:00:00.000Z hastur -> {a}: {wg_a} => no route (unreachable)"));
    }

    #[test]
    fn a_pair_without_a_planned_link_is_reached_via_a_peer_not_detoured() {
        // azasos and yidhra are both censored: no link between them.
        let plan = view("azasos");
        assert!(plan.node.links.iter().all(|l| l.peer != "yidhra"));
        let yidhra = plan.destinations.iter().find(|(n, _)| n == "yidhra").unwrap().1;
        let w = Watcher::new(&plan, Table::load(vec![(yidhra, route("wg-hastur", 64, "unicast"))]), Instant::now(), 0);
        let e = w.initial().into_iter().find(|e| e.destination == "yidhra").unwrap();
        assert_eq!((e.direct, e.detour, e.via.as_deref()), (false, false, Some("hastur")));
        assert_eq!(e.to_string(), "00:00:00.000Z azasos -> yidhra: wg-hastur (via hastur)");
    }

    #[test]
    fn the_tunnels_peer_route_is_no_babel_route_and_babels_return_is_a_change() {
        // After a peer dies its Babel route goes; the kernel's /128 peer
        // route of the tunnel (metric 1024, from networkd's Peer=) remains.
        let plan = plan();
        let (a, address, wg_a, ..) = two_links(&plan);
        let peer_route = KernelRoute { protocol: "kernel".into(), ..route(&wg_a, 1024, "unicast") };
        let t0 = Instant::now();
        let table = Table::load(vec![(address, route(&wg_a, 128, "unicast")), (address, peer_route.clone())]);
        let mut w = Watcher::new(&plan, table, t0, 0);
        w.apply(vec![RouteChange::Removed(address, route(&wg_a, 128, "unicast"))], None, t0, 0);
        let lost = w.settled(t0 + SETTLE);
        assert_eq!(lost.len(), 1);
        assert!(!lost[0].babel && !lost[0].direct, "{:?}", lost[0]);
        assert_eq!(
            lost[0].to_string(),
            format!("00:00:00.000Z hastur -> {a}: {wg_a} => {wg_a} (peer route only: no Babel route)")
        );
        // The peer revives: Babel's route over the same interface is a change.
        let t1 = t0 + Duration::from_secs(1);
        w.apply(vec![RouteChange::Added(address, route(&wg_a, 128, "unicast"))], None, t1, 1000);
        let back = w.settled(t1 + SETTLE);
        assert_eq!(back.len(), 1, "the return of Babel's route is reported");
        assert_eq!(back[0].to_string(), format!("00:00:01.000Z hastur -> {a}: {wg_a} (peer route) => {wg_a} (direct)"));
    }

    #[test]
    fn the_lowest_metric_wins_and_an_overrun_reloads() {
        let plan = plan();
        let (_, address, wg_a, _, wg_b) = two_links(&plan);
        let t0 = Instant::now();
        let table = Table::load(vec![(address, route(&wg_b, 64, "unicast")), (address, route(&wg_a, 32, "unicast"))]);
        let mut w = Watcher::new(&plan, table, t0, 0);
        assert_eq!(w.table.selected(&address).map(|s| s.interface), Some(wg_a.clone()));
        let reload = Table::load(vec![(address, route(&wg_b, 64, "unicast"))]);
        w.apply(vec![RouteChange::Overrun], Some(reload), t0, 0);
        assert_eq!(w.settled(t0 + SETTLE)[0].interface, Some(wg_b));
    }
}
