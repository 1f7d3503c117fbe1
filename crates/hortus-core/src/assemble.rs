//! The assemble stage and the two entry points: [`build_plan`] (every
//! pair, O(n²)) and [`build_host_plan`] (one host's view, O(n)) run the
//! same stages — validate, resolve, decide pairs, assemble — and differ only
//! in the pairs they decide. Everything a host needs beyond its links is
//! decided here, once: the resolved mesh settings, route policy, firewall,
//! sysctls and NAT rules.

use crate::exits;
use crate::forwarder::{self, EXTERNAL_DEFAULT_OVERHEAD};
use crate::interfaces::{anchor_addresses, KERNEL_METRICS};
use crate::inventory::{Inventory, MeshSettings};
use crate::pairs::{self, Pair, Scope};
use crate::resolve::{self, Resolved};
use crate::validate::{self, pair::host_links, pair::islands, pair::split_mesh};
use crate::warnings;
use crate::Error;
use hortus_plan::{
    FailoverSettings, FamilyRoutes, Firewall, Host, HostPlan, IpPrefix, Ipv4Prefix, Ipv6Prefix, Learned, Link, Mesh,
    NodePlan, Path, Plan, ReversePath, Routes, RoutingDaemon, SkippedPeer, PLAN_VERSION,
};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Babel's UDP port (RFC 8966).
const BABEL_UDP_PORT: u16 = 6696;

/// Validates `inventory` and computes the plan, or lists every problem.
/// Costs O(n²) time and space for n nodes: every pair is decided.
pub fn build_plan(inventory: &Inventory) -> Result<Plan, Error> {
    let (mesh, resolved) = prepare(inventory)?;
    let origins = Origins::of(&resolved);
    let mut nodes: Vec<NodePlan> = resolved.iter().map(|r| node_plan(&mesh, r, &origins, resolved.len())).collect();
    let mut problems = vec![];
    let mut edges = vec![];
    pairs::each(&inventory.mesh, &mesh, &resolved, Scope::Mesh, |i, j, pair| match pair {
        Pair::Link(lp, lq) => {
            nodes[i].links.push(lp);
            nodes[j].links.push(lq);
            edges.push((i, j));
        }
        Pair::Skip(reason) => {
            nodes[i].skipped.push(skipped(&resolved[j], reason));
            nodes[j].skipped.push(skipped(&resolved[i], reason));
        }
        Pair::Problem(problem) => problems.push(problem),
    });
    for (r, node) in resolved.iter().zip(&mut nodes) {
        finish(&mesh, r, node);
        problems.extend(host_links(r.name, node));
    }
    if problems.is_empty() {
        let named: Vec<Vec<&str>> =
            islands(resolved.len(), &edges).iter().map(|p| p.iter().map(|i| resolved[*i].name).collect()).collect();
        problems.extend(split_mesh(&named));
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let warnings = warnings::all(&mesh, &resolved);
    let nodes = resolved.iter().zip(nodes).map(|(r, n)| (r.name.to_string(), n)).collect::<BTreeMap<_, _>>();
    Ok(Plan { version: PLAN_VERSION, mesh, nodes, warnings })
}

/// One host's view, as [`Plan::host`] gives it from the whole plan, in O(n)
/// time and space: every node is validated and resolved, but only the pairs
/// involving `host` are decided. Problems of pairs between two other nodes
/// are found by [`build_plan`] (`hortus check`), not here.
pub fn build_host_plan(inventory: &Inventory, host: &str) -> Result<HostPlan, Error> {
    let (mesh, resolved) = prepare(inventory)?;
    let Some(me) = resolved.iter().position(|r| r.name == host) else {
        return Err(Error::unknown_host(host, inventory.nodes.keys().map(String::as_str)));
    };
    let mut node = node_plan(&mesh, &resolved[me], &Origins::of(&resolved), resolved.len());
    let mut problems = vec![];
    pairs::each(&inventory.mesh, &mesh, &resolved, Scope::Host(me), |i, j, pair| match pair {
        Pair::Link(lp, lq) => node.links.push(if i == me { lp } else { lq }),
        Pair::Skip(reason) => node.skipped.push(skipped(&resolved[if i == me { j } else { i }], reason)),
        Pair::Problem(problem) => problems.push(problem),
    });
    finish(&mesh, &resolved[me], &mut node);
    problems.extend(host_links(host, &node));
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let warnings = warnings::all(&mesh, &resolved);
    Ok(HostPlan { version: PLAN_VERSION, mesh, host: host.into(), node, warnings })
}

/// The validate and resolve stages: the resolved mesh settings and every
/// node resolved, sorted by id.
fn prepare(inventory: &Inventory) -> Result<(Mesh, Vec<Resolved<'_>>), Error> {
    let problems = validate::inventory(inventory);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    Ok((mesh_plan(&inventory.mesh), resolve::nodes(inventory)))
}

/// The mesh settings as the plan carries them: every option resolved.
fn mesh_plan(input: &MeshSettings) -> Mesh {
    Mesh {
        prefix: input.prefix,
        ipv4_prefix: input.ipv4_prefix,
        base_port: u16::try_from(input.base_port).expect("validated"),
        port_scheme: input.port_scheme,
        interface_prefix: input.interface_prefix.clone(),
        anchor: input.anchor.clone(),
        forwarder: input.forwarder,
        forward_overhead: input
            .forward_overhead
            .or(forwarder::overhead(input.forwarder))
            .unwrap_or(EXTERNAL_DEFAULT_OVERHEAD),
        forwarder_ipv4_prefix: input.forwarder_ipv4_prefix,
        forwarder_ipv6_prefix: input.forwarder_ipv6_prefix,
        routing: input.routing,
        babel: input.babel.clone(),
        endpoints: input.endpoints.clone(),
        failover: FailoverSettings {
            probe: input.failover.probe && input.routing == RoutingDaemon::Bird,
            ..input.failover.clone()
        },
        kernel_metrics: KERNEL_METRICS,
    }
}

/// Who originates what beyond the nodes' own addresses: per routed prefix,
/// the router ids of the nodes listing it, and the exits' router ids, each
/// in id order.
struct Origins {
    subnets: BTreeMap<IpPrefix, Vec<Ipv4Addr>>,
    exits: Vec<Ipv4Addr>,
}

impl Origins {
    /// From the nodes sorted by id.
    fn of(resolved: &[Resolved]) -> Origins {
        let mut subnets: BTreeMap<IpPrefix, Vec<Ipv4Addr>> = BTreeMap::new();
        for r in resolved {
            for prefix in &r.routes {
                subnets.entry(*prefix).or_default().push(r.router_id);
            }
        }
        let exits = resolved.iter().filter(|r| r.node.exit).map(|r| r.router_id).collect();
        Origins { subnets, exits }
    }

    /// What `r` learns in one family (`pick` selects it): every other
    /// node's prefix it does not list itself, unless it accepts none.
    fn learned_by<P>(&self, r: &Resolved, pick: impl Fn(&IpPrefix) -> Option<P>) -> Vec<Learned<P>> {
        if !r.node.accept_routes {
            return vec![];
        }
        self.subnets
            .iter()
            .filter(|(prefix, _)| !r.routes.contains(prefix))
            .filter_map(|(prefix, routers)| Some(Learned { prefix: pick(prefix)?, routers: routers.clone() }))
            .collect()
    }
}

fn v6(prefix: &IpPrefix) -> Option<Ipv6Prefix> {
    match prefix {
        IpPrefix::V6(p) => Some(*p),
        IpPrefix::V4(_) => None,
    }
}

fn v4(prefix: &IpPrefix) -> Option<Ipv4Prefix> {
    match prefix {
        IpPrefix::V4(p) => Some(*p),
        IpPrefix::V6(_) => None,
    }
}

/// A node's plan before its links are added.
fn node_plan(mesh: &Mesh, r: &Resolved, origins: &Origins, nodes: usize) -> NodePlan {
    NodePlan {
        id: r.node.id,
        address: r.address,
        ipv4_address: r.ipv4_address,
        link_local: r.link_local,
        router_id: r.router_id,
        anchor: mesh.anchor.clone(),
        public_key: r.node.public_key.trim().to_string(),
        region: r.node.region.clone(),
        nat: r.node.nat,
        censored: r.node.censored,
        endpoints: r.endpoints.clone(),
        lan_endpoints: r.lan_endpoints.clone(),
        underlay: r.underlay,
        switches_endpoints: false,
        anchor_addresses: anchor_addresses(r),
        routes: routes(mesh, r, origins),
        firewall: Firewall {
            udp_ports: vec![],
            tcp_ports: vec![],
            external_forwarder_ports: vec![],
            mesh_interfaces: vec![],
            babel_udp_port: BABEL_UDP_PORT,
            reverse_path: ReversePath::Loose,
            forward_accept: vec![],
            perimeter: exits::perimeter(r),
        },
        sysctl: BTreeMap::new(),
        nat_rules: vec![],
        policy_routing: None,
        links: Vec::with_capacity(nodes.saturating_sub(1)),
        skipped: vec![],
    }
}

/// The route policy: each node announces its own addresses and its
/// subnets; learns, installs (with its own address as source) and passes on
/// everything inside the mesh's prefixes, and the other nodes' subnets
/// exactly as the inventory lists them, from the nodes listing them; and
/// announces or carries the default routes ([`exits::default_route`]).
fn routes(mesh: &Mesh, r: &Resolved, origins: &Origins) -> Routes {
    Routes {
        ipv6: FamilyRoutes {
            source: r.address,
            announce: vec![Ipv6Prefix { addr: r.address, len: 128 }],
            subnets: r.routes.iter().filter_map(v6).collect(),
            accept: vec![mesh.prefix],
            learn: origins.learned_by(r, v6),
            default_route: exits::default_route(r, &origins.exits),
        },
        ipv4: mesh.ipv4_prefix.zip(r.ipv4_address).map(|(prefix, address)| FamilyRoutes {
            source: address,
            announce: vec![Ipv4Prefix { addr: address, len: 32 }],
            subnets: r.routes.iter().filter_map(v4).collect(),
            accept: vec![prefix],
            learn: origins.learned_by(r, v4),
            default_route: exits::default_route(r, &origins.exits),
        }),
    }
}

fn skipped(peer: &Resolved, reason: hortus_plan::SkipReason) -> SkippedPeer {
    SkippedPeer {
        peer: peer.name.into(),
        peer_id: peer.node.id,
        peer_address: peer.address,
        peer_ipv4_address: peer.ipv4_address,
        reason,
    }
}

/// What follows from a node's links: the firewall, the sysctls a mesh
/// router needs, its NAT rules and its policy routing.
fn finish(mesh: &Mesh, r: &Resolved, node: &mut NodePlan) {
    let firewall = &mut node.firewall;
    for link in node.links.iter().filter(|l| l.listen) {
        match (link.path, forwarder::protocol(mesh.forwarder)) {
            (Path::Direct, _) => firewall.udp_ports.push(link.port),
            (Path::Forwarded, Some("tcp")) => firewall.tcp_ports.push(link.port),
            (Path::Forwarded, _) => firewall.external_forwarder_ports.push(link.port),
        }
    }
    firewall.mesh_interfaces = node.links.iter().map(|l| l.interface.clone()).collect();
    let forwarders = || node.links.iter().filter_map(|l| l.forwarder.as_ref());
    firewall.forward_accept = forwarders().flat_map(forwarder::forward_accept).collect();
    node.nat_rules = forwarders().filter_map(forwarder::nat_rule).chain(exits::nat_rules(r)).collect();
    node.policy_routing = exits::policy_routing(r, node);
    node.sysctl = sysctl(node);
    node.switches_endpoints = node.links.iter().any(|l| {
        l.path == Path::Direct && (l.endpoints.len() > 1 || l.endpoints.iter().any(|d| matches!(d.host, Host::Dns(_))))
    });
}

/// The kernel settings of a mesh router: IPv6 forwarding (Babel routes
/// through every node); IPv4 forwarding with an IPv4 overlay or a forwarder
/// TUN (phantun routes between its TUN and the uplink); no reverse-path
/// filter on the mesh interfaces (Babel routes are asymmetric by design),
/// and with an IPv4 overlay none on `all` either: the kernel applies the
/// larger of `all` and the interface's value.
fn sysctl(node: &NodePlan) -> BTreeMap<String, u32> {
    let mut sysctl = BTreeMap::from([("net.ipv6.conf.all.forwarding".to_string(), 1)]);
    let tuns = node.links.iter().any(|l: &Link| l.forwarder.as_ref().is_some_and(|f| f.tun().is_some()));
    if node.ipv4_address.is_some() || tuns {
        sysctl.insert("net.ipv4.conf.all.forwarding".into(), 1);
    }
    if node.ipv4_address.is_some() {
        sysctl.insert("net.ipv4.conf.all.rp_filter".into(), 0);
    }
    for link in &node.links {
        // In sysctl.d keys a dot inside an interface name is written as `/`.
        sysctl.insert(format!("net.ipv4.conf.{}.rp_filter", link.interface.replace('.', "/")), 0);
    }
    sysctl
}
