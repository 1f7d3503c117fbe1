//! The plan against a [`Snapshot`]: per link and per destination, what is
//! live and what differs from the plan.

use crate::live::Snapshot;
use hortus_host::failover::{LinkState, ProbeReport};
use hortus_host::routes::KernelRoute;
use hortus_plan::{
    DefaultRoute, FamilyRoutes, HostPlan, IpPrefix, Ipv4Prefix, Ipv6Prefix, NodePlan, Path, RoutingDaemon, MAIN_TABLE,
};
use serde::{Deserialize, Serialize};
use std::net::Ipv6Addr;
use std::time::Duration;

/// WireGuard's REJECT_AFTER_TIME: a session older than this carries no
/// traffic, so a link whose last handshake is older is down.
pub const SESSION_LIFETIME_S: u64 = 180;

/// Babel's infinite cost: a neighbour whose hellos stopped.
pub const BABEL_INFINITY: u32 = 0xFFFF;

/// What `hortus status` needs of a plan: this host's node and the ULA of
/// every node it should reach.
#[derive(Debug, Clone)]
pub struct PlanView {
    /// This host's name.
    pub host: String,
    /// Its node plan (links).
    pub node: NodePlan,
    /// Every other node with its ULA, in id order (a host view has the
    /// linked peers only).
    pub destinations: Vec<(String, Ipv6Addr)>,
    /// Babel hello interval, for links without a keepalive.
    pub hello_interval_ms: u32,
    /// The planned routing daemon.
    pub routing: RoutingDaemon,
    /// Whether `hortus failover` probes the links (`mesh.failover.probe`).
    pub probes: bool,
    /// The prefixes beyond the nodes the plan routes here: subnets
    /// announced and learned, and the exits' default routes.
    pub prefixes: Vec<PlannedPrefix>,
}

/// A prefix the plan routes on this host, and where its route lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPrefix {
    /// The prefix.
    pub prefix: IpPrefix,
    /// The kernel table its route is in.
    pub table: u32,
    /// Why the host has it.
    pub role: PrefixRole,
}

/// Why a host routes a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixRole {
    /// One of its own subnets, which it announces while it has a route to it.
    Announced,
    /// Another node's subnet, learned from Babel.
    Learned,
    /// The exits' default route, carried in the exit table; `using` when
    /// the node's own traffic takes it (`use_exit`).
    Exit {
        /// The node uses the exit.
        using: bool,
    },
}

/// One family's planned prefixes.
fn family_prefixes<A, P: Copy>(
    routes: &FamilyRoutes<A, P>,
    wrap: impl Fn(P) -> IpPrefix,
    default: IpPrefix,
    using: bool,
) -> Vec<PlannedPrefix> {
    let planned = |prefix, table, role| PlannedPrefix { prefix, table, role };
    let mut out: Vec<PlannedPrefix> =
        routes.subnets.iter().map(|p| planned(wrap(*p), MAIN_TABLE, PrefixRole::Announced)).collect();
    out.extend(routes.learn.iter().map(|l| planned(wrap(l.prefix), MAIN_TABLE, PrefixRole::Learned)));
    if let DefaultRoute::Carry { table, .. } = &routes.default_route {
        out.push(planned(default, *table, PrefixRole::Exit { using }));
    }
    out
}

impl PlanView {
    /// One host's view of the plan (load it with [`hortus_plan::PlanFile`]).
    /// The destinations are every other node the plan names, by id: its
    /// linked peers and the peers it has no link to.
    pub fn new(plan: HostPlan) -> PlanView {
        let linked = plan.node.links.iter().map(|l| (l.peer_id, &l.peer, l.peer_address));
        let skipped = plan.node.skipped.iter().map(|s| (s.peer_id, &s.peer, s.peer_address));
        let mut peers: Vec<(u32, &String, Ipv6Addr)> = linked.chain(skipped).collect();
        peers.sort_by_key(|(id, _, _)| *id);
        let destinations = peers.into_iter().map(|(_, name, address)| (name.clone(), address)).collect();
        let using = plan.node.policy_routing.as_ref().is_some_and(|p| p.wireguard_mark.is_some());
        let routes = &plan.node.routes;
        let mut prefixes = family_prefixes(&routes.ipv6, IpPrefix::V6, IpPrefix::V6(Ipv6Prefix::DEFAULT), using);
        if let Some(v4) = &routes.ipv4 {
            prefixes.extend(family_prefixes(v4, IpPrefix::V4, IpPrefix::V4(Ipv4Prefix::DEFAULT), using));
        }
        PlanView {
            prefixes,
            destinations,
            hello_interval_ms: plan.mesh.babel.hello_interval_ms,
            routing: plan.mesh.routing,
            probes: plan.mesh.failover.probe,
            host: plan.host,
            node: plan.node,
        }
    }

    /// The planned interface names.
    pub fn interfaces(&self) -> Vec<String> {
        self.node.links.iter().map(|l| l.interface.clone()).collect()
    }

    /// The `(prefix, table)` of every planned prefix, for
    /// [`crate::live::collect`].
    pub fn prefix_keys(&self) -> Vec<(IpPrefix, u32)> {
        self.prefixes.iter().map(|p| (p.prefix, p.table)).collect()
    }
}

/// The whole host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostStatus {
    /// Host name.
    pub host: String,
    /// When the state was read, Unix seconds.
    pub taken_unix_s: u64,
    /// Per planned link.
    pub links: Vec<LinkStatus>,
    /// Per destination node.
    pub destinations: Vec<DestinationStatus>,
    /// Per planned prefix (subnets, the exits' default routes); absent in
    /// reports of hortus before them.
    #[serde(default)]
    pub prefixes: Vec<PrefixStatus>,
    /// Why Babel's view is missing, if it is.
    pub babel_error: Option<String>,
}

/// One planned prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixStatus {
    /// The prefix.
    pub prefix: IpPrefix,
    /// Why the host routes it.
    pub role: PrefixRole,
    /// The kernel route to it (main table, or the exit table).
    pub route: Option<KernelRoute>,
    /// The peer its route leads to (the link's), when it leaves by a link.
    pub via: Option<String>,
    /// Differences from the plan.
    pub flags: Vec<String>,
}

/// One planned link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// Peer node.
    pub peer: String,
    /// Interface.
    pub interface: String,
    /// Direct or forwarded.
    pub path: Path,
    /// Planned pair port.
    pub port: u16,
    /// Whether this end listens.
    pub listen: bool,
    /// Up: interface present and up, a handshake in the last
    /// [`SESSION_LIFETIME_S`], and (when Babel's view is readable) a Babel
    /// neighbour on it at a finite cost.
    pub up: bool,
    /// Port the interface listens on.
    pub listen_port: Option<u16>,
    /// Current endpoint of the peer.
    pub endpoint: Option<String>,
    /// What this end dials, in order (`host:port`; empty when it only
    /// listens): `hortus endpoints` moves a quiet link to the next.
    #[serde(default)]
    pub candidates: Vec<String>,
    /// Seconds since the last handshake; `None` if never.
    pub handshake_age_s: Option<u64>,
    /// Bytes received from the peer.
    pub rx_bytes: u64,
    /// Bytes sent to the peer.
    pub tx_bytes: u64,
    /// The Babel neighbour heard on the interface.
    pub babel_neighbour: Option<Ipv6Addr>,
    /// Its cost.
    pub babel_cost: Option<u32>,
    /// What `hortus failover` found (with BIRD): up, or out of Babel, and
    /// the loss of its last 100 probes.
    #[serde(default)]
    pub probe: Option<ProbeReport>,
    /// Differences from the plan.
    pub flags: Vec<String>,
}

/// How traffic to a destination goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Reach {
    /// Over the direct link to it.
    Direct {
        /// Interface.
        interface: String,
    },
    /// Through a neighbour.
    Via {
        /// The neighbour node.
        peer: String,
        /// Interface.
        interface: String,
    },
    /// Through an interface that is no planned link.
    Other {
        /// Interface.
        interface: String,
    },
    /// No route from the routing daemon; only a route it did not install,
    /// typically the tunnel's own /128 peer route (networkd's `Peer=`,
    /// metric 1024), which outlives the peer.
    PeerRouteOnly {
        /// Interface.
        interface: String,
    },
    /// No usable route (none, or an unreachable one).
    Unreachable,
}

/// One destination node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationStatus {
    /// Node name.
    pub node: String,
    /// Its ULA.
    pub address: Ipv6Addr,
    /// Whether the plan has a link to it.
    pub linked: bool,
    /// How traffic goes now.
    pub reach: Reach,
    /// The kernel route it comes from.
    pub route: Option<KernelRoute>,
    /// Babel's metric for the selected route.
    pub babel_metric: Option<u32>,
    /// Differences from the plan.
    pub flags: Vec<String>,
}

impl HostStatus {
    /// Planned links down for longer than `limit`. A link that is down
    /// counts as down since its last handshake, the last moment it is known
    /// to have worked (WireGuard renews a busy session every 2 minutes, so
    /// this may overstate by up to that), or forever when it never had one.
    pub fn down_longer_than(&self, limit: Duration) -> Vec<&LinkStatus> {
        self.links.iter().filter(|l| !l.up && l.handshake_age_s.is_none_or(|age| age > limit.as_secs())).collect()
    }

    /// Number of flags raised.
    pub fn flag_count(&self) -> usize {
        self.links.iter().map(|l| l.flags.len()).sum::<usize>()
            + self.destinations.iter().map(|d| d.flags.len()).sum::<usize>()
            + self.prefixes.iter().map(|p| p.flags.len()).sum::<usize>()
    }
}

/// How long `hortus failover`'s state file may go unwritten (it writes
/// each second) before it says nothing about now.
const PROBE_STATE_STALE_S: u64 = 5;

/// `interface`'s probe report and what is wrong with it, from the
/// snapshot's state file (nothing when the plan probes no link).
fn probe_of(snapshot: &Snapshot, interface: &str) -> (Option<ProbeReport>, Option<String>) {
    match &snapshot.probes {
        None => (None, None),
        Some(Err(e)) => (None, Some(format!("probe state unreadable ({e}): is hortus failover running?"))),
        Some(Ok(file)) if file.unix_s + PROBE_STATE_STALE_S < snapshot.taken_unix_s => {
            let age = snapshot.taken_unix_s - file.unix_s;
            (None, Some(format!("probe state {age} s old: is hortus failover running?")))
        }
        Some(Ok(file)) => {
            let report = file.links.iter().find(|l| l.interface == interface).cloned();
            let flag = match report.as_ref().map(|r| r.state) {
                None => Some("not probed: the probe state has no such link".to_string()),
                Some(LinkState::Up) => None,
                Some(LinkState::Down) => Some("probe: no reply for the detection time, out of Babel".into()),
                Some(LinkState::Holding) => Some("probe: replies again, out of Babel for the hold-down".into()),
            };
            (report, flag)
        }
    }
}

/// Compares `snapshot` with `plan`.
pub fn assess(plan: &PlanView, snapshot: &Snapshot) -> HostStatus {
    let babel = snapshot.babel.as_ref().ok();
    let links = plan
        .node
        .links
        .iter()
        .map(|link| {
            let state = snapshot.interfaces.get(&link.interface);
            let wg = state.and_then(|s| s.wireguard.as_ref());
            let peer = wg.and_then(|w| w.peers.iter().find(|p| p.public_key == link.peer_public_key));
            let age = peer.and_then(|p| p.last_handshake_unix_s).map(|t| snapshot.taken_unix_s.saturating_sub(t));
            let neighbour = babel.and_then(|b| b.neighbours.iter().find(|n| n.interface == link.interface));
            let present = state.is_some_and(|s| s.present);
            let admin_up = state.is_some_and(|s| s.admin_up);
            // Babel's hellos (every second or so) notice a dead link long
            // before the WireGuard session expires.
            let babel_alive = match (babel, neighbour) {
                (None, _) => true,
                (Some(_), Some(n)) => n.cost < BABEL_INFINITY,
                (Some(_), None) => false,
            };
            let (probe, probe_flag) = probe_of(snapshot, &link.interface);
            let probe_up = probe.as_ref().is_none_or(|p| p.state == LinkState::Up);
            let up = present && admin_up && age.is_some_and(|a| a <= SESSION_LIFETIME_S) && babel_alive && probe_up;
            let mut flags: Vec<String> = probe_flag.into_iter().collect();
            if !present {
                flags.push("missing interface".to_string());
            } else if !admin_up {
                flags.push("interface down".into());
            }
            if let Some(error) = state.and_then(|s| s.error.as_ref()) {
                flags.push(error.clone());
            }
            if let Some(wg) = wg {
                if link.listen && wg.listen_port != Some(link.port) {
                    let live = wg.listen_port.map_or("no port".into(), |p| format!("port {p}"));
                    flags.push(format!("wrong port: listens on {live}, plan says {}", link.port));
                }
                if peer.is_none() {
                    flags.push("peer key differs from the plan".into());
                }
            }
            if present && peer.is_some() {
                let keepalive_s = link.keepalive.map_or(plan.hello_interval_ms.div_ceil(1000).max(1) as u64, u64::from);
                match age {
                    None => flags.push("no handshake".into()),
                    Some(a) if a > SESSION_LIFETIME_S + 2 * keepalive_s => {
                        flags.push(format!("no handshake for {a} s (> 2 keepalives past the session lifetime)"))
                    }
                    Some(_) => {}
                }
            }
            if present && admin_up && babel.is_some() {
                match neighbour {
                    None => flags.push("no Babel neighbour".into()),
                    Some(n) if n.cost >= BABEL_INFINITY => flags.push("Babel neighbour unreachable".into()),
                    Some(_) => {}
                }
            }
            LinkStatus {
                peer: link.peer.clone(),
                interface: link.interface.clone(),
                path: link.path,
                port: link.port,
                listen: link.listen,
                up,
                listen_port: wg.and_then(|w| w.listen_port),
                endpoint: peer.and_then(|p| p.endpoint).map(|e| e.to_string()),
                candidates: link.endpoints.iter().map(|d| d.socket()).collect(),
                handshake_age_s: age,
                rx_bytes: peer.map_or(0, |p| p.rx_bytes),
                tx_bytes: peer.map_or(0, |p| p.tx_bytes),
                babel_neighbour: neighbour.map(|n| n.address),
                babel_cost: neighbour.map(|n| n.cost),
                probe,
                flags,
            }
        })
        .collect();
    let destinations = plan
        .destinations
        .iter()
        .map(|(name, address)| {
            let route = snapshot.routes.get(address).filter(|r| r.kind == "unicast").cloned();
            let planned = plan.node.links.iter().find(|l| &l.peer == name);
            let reach = match route.as_ref().and_then(|r| r.dev.clone()) {
                None => Reach::Unreachable,
                Some(interface) if route.as_ref().is_some_and(|r| !r.from_daemon()) => {
                    Reach::PeerRouteOnly { interface }
                }
                Some(dev) => match plan.node.links.iter().find(|l| l.interface == dev) {
                    Some(l) if &l.peer == name => Reach::Direct { interface: dev },
                    Some(l) => Reach::Via { peer: l.peer.clone(), interface: dev },
                    None => Reach::Other { interface: dev },
                },
            };
            let mut flags = vec![];
            match (&reach, planned) {
                (Reach::Unreachable, _) => flags.push("unreachable".to_string()),
                (Reach::Via { peer, .. }, Some(link)) => {
                    flags.push(format!("detoured via {peer} (planned direct over {})", link.interface))
                }
                (Reach::Other { interface }, _) => flags.push(format!("routed over {interface}, not a mesh link")),
                (Reach::PeerRouteOnly { .. }, _) => flags.push("peer route only: no Babel route".into()),
                _ => {}
            }
            DestinationStatus {
                node: name.clone(),
                address: *address,
                linked: planned.is_some(),
                babel_metric: babel.and_then(|b| b.routes.iter().find(|r| r.destination == *address)).map(|r| r.metric),
                reach,
                route: snapshot.routes.get(address).cloned(),
                flags,
            }
        })
        .collect();
    HostStatus {
        host: plan.host.clone(),
        taken_unix_s: snapshot.taken_unix_s,
        links,
        destinations,
        prefixes: plan.prefixes.iter().map(|p| prefix_status(plan, snapshot, p)).collect(),
        babel_error: snapshot.babel.as_ref().err().cloned(),
    }
}

/// A planned prefix against its live route: own subnets need a route on
/// this host (else they are not announced), learned ones a route from the
/// routing daemon, the exits' default route one when the node uses it.
fn prefix_status(plan: &PlanView, snapshot: &Snapshot, planned: &PlannedPrefix) -> PrefixStatus {
    let route = snapshot
        .prefix_routes
        .iter()
        .find(|r| r.prefix == planned.prefix && r.table == planned.table)
        .map(|r| r.route.clone());
    let via = route
        .as_ref()
        .and_then(|r| r.dev.as_ref())
        .and_then(|dev| plan.node.links.iter().find(|l| &l.interface == dev))
        .map(|l| l.peer.clone());
    let from_daemon = route.as_ref().is_some_and(KernelRoute::from_daemon);
    let mut flags = vec![];
    match planned.role {
        PrefixRole::Announced if route.as_ref().is_none_or(|r| r.kind != "unicast") => {
            flags.push("no route to it on this host: not announced".to_string())
        }
        PrefixRole::Learned if !from_daemon => flags.push("not reachable: no route from Babel".into()),
        PrefixRole::Exit { using: true } if !from_daemon => {
            flags.push("no exit reachable: this node's Internet traffic is refused".into())
        }
        _ => {}
    }
    PrefixStatus { prefix: planned.prefix, role: planned.role, route, via, flags }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{BabelView, InterfaceState, Neighbour};
    use hortus_host::wireguard::{PeerState, WireGuardState};
    use std::collections::BTreeMap;

    const NOW: u64 = 1_000_000;

    /// hastur's view of the six-node example's plan.
    fn plan() -> PlanView {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/six-nodes.toml")).unwrap();
        let plan = hortus_core::build_plan(&hortus_core::Inventory::from_toml_str(&text).unwrap()).unwrap();
        PlanView::new(plan.host("hastur").unwrap())
    }

    /// Every link up and handshaken 5 s ago, every route direct.
    fn healthy(plan: &PlanView) -> Snapshot {
        let mut interfaces = BTreeMap::new();
        let mut neighbours = vec![];
        let mut routes = BTreeMap::new();
        for (i, l) in plan.node.links.iter().enumerate() {
            let peer = PeerState {
                public_key: l.peer_public_key.clone(),
                endpoint: None,
                last_handshake_unix_s: Some(NOW - 5),
                rx_bytes: 10,
                tx_bytes: 20,
                keepalive: l.keepalive,
            };
            let wg = WireGuardState {
                listen_port: l.listen.then_some(l.port),
                public_key: None,
                fwmark: None,
                peers: vec![peer],
            };
            let state = InterfaceState { present: true, admin_up: true, wireguard: Some(wg), error: None };
            interfaces.insert(l.interface.clone(), state);
            let address: Ipv6Addr = format!("fe80::{}", i + 1).parse().unwrap();
            neighbours.push(Neighbour { interface: l.interface.clone(), address, cost: 96 });
            let route = KernelRoute {
                kind: "unicast".into(),
                dev: Some(l.interface.clone()),
                gateway: Some(address),
                protocol: "bird".into(),
                metric: 32,
            };
            routes.insert(l.peer_address, route);
        }
        Snapshot {
            taken_unix_s: NOW,
            interfaces,
            babel: Ok(BabelView { neighbours, routes: vec![] }),
            routes,
            prefix_routes: vec![],
            probes: None,
        }
    }

    #[test]
    fn a_healthy_host_has_no_flags() {
        let plan = plan();
        let status = assess(&plan, &healthy(&plan));
        assert_eq!(status.flag_count(), 0, "{status:#?}");
        assert!(status.links.iter().all(|l| l.up && l.babel_cost == Some(96)));
        assert!(status.down_longer_than(Duration::ZERO).is_empty());
        assert_eq!(status.destinations.len(), 5);
    }

    #[test]
    fn flags_every_difference_from_the_plan() {
        let plan = plan();
        let mut snap = healthy(&plan);
        let [a, b, c, d, ..] = &plan.node.links[..] else { panic!("hastur has 5 links") };
        // a: missing; b: stale handshake; c: wrong port (hastur listens everywhere); d: detoured.
        snap.interfaces.get_mut(&a.interface).unwrap().present = false;
        snap.interfaces.get_mut(&a.interface).unwrap().wireguard = None;
        let wg = snap.interfaces.get_mut(&b.interface).unwrap().wireguard.as_mut().unwrap();
        wg.peers[0].last_handshake_unix_s = Some(NOW - 400);
        assert!(c.listen);
        snap.interfaces.get_mut(&c.interface).unwrap().wireguard.as_mut().unwrap().listen_port = Some(1);
        snap.routes.get_mut(&d.peer_address).unwrap().dev = Some(c.interface.clone());
        snap.routes.remove(&a.peer_address);
        let status = assess(&plan, &snap);
        let flags = |i: usize| status.links[i].flags.join("; ");
        assert!(flags(0).contains("missing interface"), "{}", flags(0));
        assert!(flags(1).contains("no handshake for 400 s"), "{}", flags(1));
        assert!(flags(2).contains("wrong port: listens on port 1"), "{}", flags(2));
        assert!(!status.links[0].up && !status.links[1].up);
        let dest = |peer: &str| status.destinations.iter().find(|x| x.node == peer).unwrap();
        assert_eq!(dest(&a.peer).reach, Reach::Unreachable);
        assert_eq!(dest(&d.peer).reach, Reach::Via { peer: c.peer.clone(), interface: c.interface.clone() });
        assert!(dest(&d.peer).flags[0].starts_with(&format!("detoured via {}", c.peer)));
        // The stale link is down since its handshake 400 s ago; the missing
        // one has none and counts at any limit.
        let down = |s: u64| status.down_longer_than(Duration::from_secs(s)).len();
        assert_eq!((down(0), down(399), down(401)), (2, 2, 1));
    }

    #[test]
    fn the_tunnels_peer_route_alone_is_not_direct() {
        // The peer died: Babel's route is gone, the tunnel's kernel peer
        // route (networkd's Peer=, metric 1024) is all that is left.
        let plan = plan();
        let mut snap = healthy(&plan);
        let link = &plan.node.links[0];
        let route = snap.routes.get_mut(&link.peer_address).unwrap();
        (route.protocol, route.metric, route.gateway) = ("kernel".into(), 1024, None);
        let status = assess(&plan, &snap);
        let d = status.destinations.iter().find(|d| d.node == link.peer).unwrap();
        assert_eq!(d.reach, Reach::PeerRouteOnly { interface: link.interface.clone() });
        assert_eq!(d.flags, ["peer route only: no Babel route"]);
        assert!(crate::render::text(&status).contains(&format!("peer route only ({})", link.interface)));
    }

    #[test]
    fn a_link_the_prober_took_out_is_down_and_a_stale_state_is_flagged() {
        use hortus_host::failover::StateFile;
        let plan = plan();
        let mut snap = healthy(&plan);
        let report =
            |i: usize, state| ProbeReport { interface: plan.node.links[i].interface.clone(), state, loss_percent: 0.0 };
        let links = vec![report(0, LinkState::Down), report(1, LinkState::Holding), report(2, LinkState::Up)];
        snap.probes = Some(Ok(StateFile { unix_s: NOW - 1, links }));
        let status = assess(&plan, &snap);
        assert!(!status.links[0].up && !status.links[1].up && status.links[2].up);
        assert_eq!(status.links[0].flags, ["probe: no reply for the detection time, out of Babel"]);
        assert_eq!(status.links[1].flags, ["probe: replies again, out of Babel for the hold-down"]);
        assert_eq!(status.links[3].flags, ["not probed: the probe state has no such link"]);
        assert_eq!(status.links[2].probe.as_ref().map(|p| p.state), Some(LinkState::Up));
        // A state file nobody wrote for a while says nothing about now.
        snap.probes = Some(Ok(StateFile { unix_s: NOW - 60, links: vec![] }));
        let status = assess(&plan, &snap);
        assert!(status.links.iter().all(|l| l.up && l.probe.is_none()));
        assert_eq!(status.links[0].flags, ["probe state 60 s old: is hortus failover running?"]);
    }

    #[test]
    fn a_link_babel_gave_up_on_is_down() {
        let plan = plan();
        let mut snap = healthy(&plan);
        let Ok(view) = &mut snap.babel else { unreachable!() };
        view.neighbours[0].cost = BABEL_INFINITY;
        view.neighbours.remove(1);
        let status = assess(&plan, &snap);
        assert!(!status.links[0].up && !status.links[1].up && status.links[2].up);
        assert_eq!(status.links[0].flags, ["Babel neighbour unreachable"]);
        assert_eq!(status.links[1].flags, ["no Babel neighbour"]);
        assert!(status.down_longer_than(Duration::from_secs(4)).len() == 2);
        assert!(status.down_longer_than(Duration::from_secs(5)).is_empty(), "handshakes 5 s ago");
    }

    #[test]
    fn a_host_view_reaches_every_node() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/six-nodes.toml")).unwrap();
        let plan = hortus_core::build_plan(&hortus_core::Inventory::from_toml_str(&text).unwrap()).unwrap();
        let json = serde_json::to_string(&plan.host("yidhra").unwrap()).unwrap();
        let view = PlanView::new(hortus_plan::PlanFile::parse(&json).unwrap().host_view(None).unwrap());
        assert_eq!(view.host, "yidhra");
        let names: Vec<&str> = view.destinations.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["hastur", "kaambl", "eihort", "abhoth", "azasos"], "linked peers and the skipped azasos");
        assert_eq!(view.node.links.len(), 4);
    }
}
