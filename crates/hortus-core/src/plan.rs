//! The plan: what every node runs. Its JSON is the contract documented in
//! `docs/plan-format.md`; bump [`PLAN_VERSION`] on any breaking change.

pub use crate::forwarder::Forwarder;

use crate::addressing::{derived_link_local, is_link_local_64, router_id_from_id, Endpoint};
use crate::forwarder::{tun_for, Transport, EXTERNAL_DEFAULT_OVERHEAD};
use crate::ifname::{interface_name, valid_interface_name};
use crate::inventory::{Inventory, MeshSettings, Node, PortScheme};
use crate::keys::{check_usable_public_key, decode_key};
use crate::policy::{decide, Decision, Path, Role, Side};
use crate::ports::{first_collision, pair_port};
use crate::rules;
use crate::{Error, Problem};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Version of the plan JSON format.
pub const PLAN_VERSION: u32 = 2;

/// Longest BIRD kernel scan period accepted (a day); BIRD's own default is 60 s.
const MAX_KERNEL_SCAN_S: u32 = 86_400;

/// Ports below this are well known; a plan using them gets a warning.
const WELL_KNOWN_PORTS_END: u16 = 1024;

/// The whole mesh's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The mesh settings the plan was made with (defaults filled in).
    pub mesh: MeshSettings,
    /// Every node's view, by name.
    pub nodes: BTreeMap<String, NodePlan>,
    /// Pairs left out, with the reason.
    pub skipped: Vec<SkippedPair>,
    /// Things that work but deserve a look.
    pub warnings: Vec<String>,
}

/// One host's view of the plan (`hortus plan --host NAME`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostPlan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The mesh settings.
    pub mesh: MeshSettings,
    /// The host's name.
    pub host: String,
    /// The host's node plan.
    pub node: NodePlan,
    /// Pairs involving this host that were left out.
    pub skipped: Vec<SkippedPair>,
    /// The mesh's warnings.
    pub warnings: Vec<String>,
}

/// What one node runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePlan {
    /// The node's id.
    pub id: u32,
    /// The node's ULA (/128 on the anchor interface).
    pub address: Ipv6Addr,
    /// The node's IPv4 overlay address, when the mesh has an IPv4 prefix.
    pub ipv4_address: Option<Ipv4Addr>,
    /// The node's link-local, set on every one of its WireGuard interfaces.
    pub link_local: Ipv6Addr,
    /// Routing daemon router id.
    pub router_id: Ipv4Addr,
    /// Name of the anchor interface.
    pub anchor: String,
    /// The node's WireGuard public key.
    pub public_key: String,
    /// UDP ports to open in the firewall: the ports of links this node
    /// listens on directly (forwarded links are reached over loopback).
    pub firewall_udp_ports: Vec<u16>,
    /// Ports of the links whose forwarder server this node hosts; the
    /// forwarder's transport decides the protocol to open.
    pub forwarder_ports: Vec<u16>,
    /// One entry per peer this node links to, by peer id.
    pub links: Vec<Link>,
}

/// One WireGuard interface toward one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Peer name.
    pub peer: String,
    /// Peer id.
    pub peer_id: u32,
    /// Interface name (`wg-<peer>`, shortened to 15 bytes when needed).
    pub interface: String,
    /// The pair's UDP port, the same on both ends.
    pub port: u16,
    /// Set ListenPort = `port`.
    pub listen: bool,
    /// WireGuard Endpoint (`host:port`, IPv6 bracketed), when this end dials.
    pub endpoint: Option<String>,
    /// PersistentKeepalive seconds, when this end keeps the path open.
    pub keepalive: Option<u16>,
    /// Direct or through a local forwarder.
    pub path: Path,
    /// The forwarder this end runs on a forwarded path.
    pub forwarder: Option<Forwarder>,
    /// Interface MTU, the same on both ends.
    pub mtu: u32,
    /// The peer's WireGuard public key.
    pub peer_public_key: String,
    /// The peer's ULA.
    pub peer_address: Ipv6Addr,
    /// The peer's IPv4 overlay address.
    pub peer_ipv4_address: Option<Ipv4Addr>,
    /// The peer's link-local.
    pub peer_link_local: Ipv6Addr,
}

/// A pair the policy left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedPair {
    /// The two node names, lower id first.
    pub nodes: [String; 2],
    /// Why.
    pub reason: String,
}

impl Plan {
    /// The view of one host.
    pub fn host(&self, name: &str) -> Result<HostPlan, Error> {
        let node =
            self.nodes.get(name).ok_or_else(|| Error::unknown_host(name, self.nodes.keys().map(|k| k.as_str())))?;
        Ok(HostPlan {
            version: self.version,
            mesh: self.mesh.clone(),
            host: name.into(),
            node: node.clone(),
            skipped: self.skipped.iter().filter(|s| s.nodes.iter().any(|n| n == name)).cloned().collect(),
            warnings: self.warnings.clone(),
        })
    }
}

/// A node with everything derived and checked, before links are made.
struct Resolved<'a> {
    name: &'a str,
    node: &'a Node,
    address: Ipv6Addr,
    ipv4_address: Option<Ipv4Addr>,
    link_local: Ipv6Addr,
    router_id: Ipv4Addr,
    endpoint: Option<Endpoint>,
}

/// Validates `inventory` and computes the plan, or lists every problem.
/// Costs O(n²) time and space for n nodes: every pair is decided.
pub fn build_plan(inventory: &Inventory) -> Result<Plan, Error> {
    let resolved = prepare(inventory)?;
    let mesh = &inventory.mesh;
    let mut nodes: BTreeMap<String, NodePlan> =
        resolved.iter().map(|r| (r.name.to_string(), node_plan(mesh, r, resolved.len()))).collect();
    let mut problems = vec![];
    let mut skipped = vec![];
    let mut edges = vec![];
    for (i, p) in resolved.iter().enumerate() {
        for (j, q) in resolved.iter().enumerate().skip(i + 1) {
            match pair(mesh, p, q) {
                Pair::Link(lp, lq) => {
                    push_link(nodes.get_mut(p.name).expect("resolved node"), lp);
                    push_link(nodes.get_mut(q.name).expect("resolved node"), lq);
                    edges.push((i, j));
                }
                Pair::Skip(skip) => skipped.push(skip),
                Pair::Problem(problem) => problems.push(problem),
            }
        }
    }
    for (name, node) in &nodes {
        check_node_links(mesh, name, node, &mut problems);
    }
    if problems.is_empty() {
        let parts = rules::islands(resolved.len(), &edges);
        let named: Vec<Vec<&str>> = parts.iter().map(|p| p.iter().map(|i| resolved[*i].name).collect()).collect();
        problems.extend(rules::split_mesh(&named));
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let mut warnings = well_known_port_warnings(mesh, &resolved);
    warnings.extend(forwarder_warnings(mesh, &resolved));
    Ok(Plan { version: PLAN_VERSION, mesh: mesh.clone(), nodes, skipped, warnings })
}

/// One host's view, as [`Plan::host`] gives it from the whole plan, in O(n)
/// time and space: every node is resolved and checked, but only the pairs
/// involving `host` are decided. Problems of pairs between two other nodes
/// are found by [`build_plan`] (`hortus check`), not here.
pub fn build_host_plan(inventory: &Inventory, host: &str) -> Result<HostPlan, Error> {
    let resolved = prepare(inventory)?;
    let mesh = &inventory.mesh;
    let Some(me) = resolved.iter().find(|r| r.name == host) else {
        let mut names: Vec<&str> = resolved.iter().map(|r| r.name).collect();
        names.sort_unstable();
        return Err(Error::unknown_host(host, names.into_iter()));
    };
    let mut node = node_plan(mesh, me, resolved.len());
    let mut problems = vec![];
    let mut skipped = vec![];
    // `resolved` is sorted by id, so links come in the same order as in the whole plan.
    for other in resolved.iter().filter(|r| r.name != host) {
        let (p, q) = if other.node.id < me.node.id { (other, me) } else { (me, other) };
        match pair(mesh, p, q) {
            Pair::Link(lp, lq) => push_link(&mut node, if p.name == host { lp } else { lq }),
            Pair::Skip(skip) => skipped.push(skip),
            Pair::Problem(problem) => problems.push(problem),
        }
    }
    check_node_links(mesh, host, &node, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    Ok(HostPlan {
        version: PLAN_VERSION,
        mesh: mesh.clone(),
        host: host.into(),
        node,
        skipped,
        warnings: [well_known_port_warnings(mesh, &resolved), forwarder_warnings(mesh, &resolved)].concat(),
    })
}

/// Checks the mesh settings and every node's own fields (O(n log n)); the
/// nodes come back sorted by id.
fn prepare(inventory: &Inventory) -> Result<Vec<Resolved<'_>>, Error> {
    let mut problems = check_mesh(&inventory.mesh);
    if inventory.nodes.is_empty() {
        problems.push(Problem::mesh("nodes", "the inventory has no nodes"));
    }
    let resolved = resolve_nodes(inventory, &mut problems);
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// A node's plan before its links are added.
fn node_plan(mesh: &MeshSettings, r: &Resolved, nodes: usize) -> NodePlan {
    NodePlan {
        id: r.node.id,
        address: r.address,
        ipv4_address: r.ipv4_address,
        link_local: r.link_local,
        router_id: r.router_id,
        anchor: mesh.anchor.clone(),
        public_key: r.node.public_key.trim().to_string(),
        firewall_udp_ports: vec![],
        forwarder_ports: vec![],
        links: Vec::with_capacity(nodes.saturating_sub(1)),
    }
}

/// What the pair `p`–`q` (`p` the lower id) becomes. Consumed as soon as it
/// is made, never stored, so the large `Link` variant is not boxed.
#[allow(clippy::large_enum_variant)]
enum Pair {
    /// A link: `p`'s end and `q`'s end.
    Link(Link, Link),
    /// Left out by the policy.
    Skip(SkippedPair),
    /// Cannot be built.
    Problem(Problem),
}

fn pair(mesh: &MeshSettings, p: &Resolved, q: &Resolved) -> Pair {
    let port = match pair_port(mesh.port_scheme, mesh.base_port, p.node.id, q.node.id) {
        Ok(port) => port,
        Err(n) => {
            return Pair::Problem(Problem::pair(p.name, q.name, "port", format!(
                "port {n} is outside 1..=65535 (ids {} and {}, scheme {:?}, base {}); use port_scheme = \"xor\" or \"dense\", or another base_port",
                p.node.id, q.node.id, mesh.port_scheme, mesh.base_port
            )));
        }
    };
    match decide(side(p), side(q)) {
        Decision::Link { path, p: role_p, q: role_q } => match make_links(mesh, (p, role_p), (q, role_q), path, port) {
            Ok((lp, lq)) => Pair::Link(lp, lq),
            Err(problem) => Pair::Problem(problem),
        },
        Decision::Skip(reason) => {
            Pair::Skip(SkippedPair { nodes: [p.name.into(), q.name.into()], reason: reason.into() })
        }
    }
}

/// A warning for every pair, linked or skipped, whose port is below 1024, in
/// pair order (lower id, then higher id). Costs O(n) plus the warnings: a
/// pair index below `limit = 1024 - base` needs both ids <= `limit` (cantor,
/// dense) or ids whose XOR is below `limit` (xor).
fn well_known_port_warnings(mesh: &MeshSettings, resolved: &[Resolved]) -> Vec<String> {
    let Some(limit) = u32::from(WELL_KNOWN_PORTS_END).checked_sub(mesh.base_port).filter(|l| *l > 0) else {
        return vec![];
    };
    let mut pairs: Vec<(&Resolved, &Resolved)> = vec![];
    match mesh.port_scheme {
        PortScheme::Xor => {
            let by_id: HashMap<u32, &Resolved> = resolved.iter().map(|r| (r.node.id, r)).collect();
            for p in resolved {
                for k in 1..limit {
                    match by_id.get(&(p.node.id ^ k)) {
                        Some(q) if q.node.id > p.node.id => pairs.push((p, q)),
                        _ => {}
                    }
                }
            }
        }
        PortScheme::Cantor | PortScheme::Dense => {
            let small: Vec<&Resolved> = resolved.iter().filter(|r| r.node.id <= limit).collect();
            for (i, p) in small.iter().enumerate() {
                pairs.extend(small[i + 1..].iter().map(|q| (*p, *q)));
            }
        }
    }
    pairs.sort_unstable_by_key(|(p, q)| (p.node.id, q.node.id));
    pairs
        .into_iter()
        .filter_map(|(p, q)| {
            let port = pair_port(mesh.port_scheme, mesh.base_port, p.node.id, q.node.id).ok()?;
            (port < WELL_KNOWN_PORTS_END).then(|| format!("pair `{}`–`{}` uses well-known port {port}", p.name, q.name))
        })
        .collect()
}

fn push_link(node: &mut NodePlan, link: Link) {
    if link.listen {
        match link.path {
            Path::Direct => node.firewall_udp_ports.push(link.port),
            Path::Forwarded => node.forwarder_ports.push(link.port),
        }
    }
    node.links.push(link);
}

fn side<'a>(r: &Resolved<'a>) -> Side<'a> {
    Side { nat: r.node.nat, censored: r.node.censored, has_endpoint: r.endpoint.is_some(), region: &r.node.region }
}

/// The two ends of the link `p`–`q` with the roles the policy chose.
fn make_links(
    mesh: &MeshSettings,
    (p, role_p): (&Resolved, Role),
    (q, role_q): (&Resolved, Role),
    path: Path,
    port: u16,
) -> Result<(Link, Link), Problem> {
    // Outer headers of every underlay endpoint used on this link.
    let dialled = [(role_p.dial, q), (role_q.dial, p)];
    let mut overhead = dialled
        .iter()
        .filter(|(dial, _)| *dial)
        .map(|(_, target)| target.endpoint.as_ref().expect("policy dials only reachable nodes").overhead())
        .max()
        .expect("policy makes at least one side dial");
    if path == Path::Forwarded {
        overhead = overhead.saturating_add(forward_overhead(mesh));
    }
    let underlay = p.node.mtu.unwrap_or(mesh.mtu).min(q.node.mtu.unwrap_or(mesh.mtu));
    let mtu = underlay.saturating_sub(overhead);
    if mtu < 1280 {
        return Err(Problem::pair(
            p.name,
            q.name,
            "mtu",
            format!("link MTU {mtu} (underlay {underlay} - {overhead} bytes of headers) is below IPv6's minimum 1280"),
        ));
    }
    let end = |me: &Resolved, peer: &Resolved, role: Role| -> Result<Link, Problem> {
        let remote = peer.endpoint.as_ref().map(|e| e.with_port(port));
        let (endpoint, forwarder) = match path {
            Path::Direct => (remote.filter(|_| role.dial), None),
            Path::Forwarded => {
                let forwarder = forwarder_end(mesh, me.name, peer, role.dial, port, remote)?;
                (role.dial.then(|| local_forwarder(port)), Some(forwarder))
            }
        };
        Ok(Link {
            peer: peer.name.into(),
            peer_id: peer.node.id,
            interface: interface_name(&mesh.interface_prefix, peer.name),
            port,
            listen: role.listen,
            endpoint,
            keepalive: role.keepalive.then(|| me.node.keepalive.unwrap_or(mesh.keepalive)),
            path,
            forwarder,
            mtu,
            peer_public_key: peer.node.public_key.trim().to_string(),
            peer_address: peer.address,
            peer_ipv4_address: peer.ipv4_address,
            peer_link_local: peer.link_local,
        })
    };
    Ok((end(p, q, role_p)?, end(q, p, role_q)?))
}

/// Warnings about forwarded links, the same for the whole plan and every
/// host view, in O(n): pairs that need a forwarder no end can host (the
/// policy skips them: a forwarder's server must accept the client's
/// connection from outside), and, with `forwarder = "none"`, the links
/// waiting for the operator's forwarder.
fn forwarder_warnings(mesh: &MeshSettings, resolved: &[Resolved]) -> Vec<String> {
    let count = |censored: bool, public: Option<bool>| {
        resolved
            .iter()
            .filter(|r| r.node.censored == censored)
            .filter(|r| public.is_none_or(|p| p == (r.endpoint.is_some() && !r.node.nat)))
            .count()
    };
    let unforwardable = count(true, Some(false)) * count(false, Some(false));
    let forwarded = count(true, None) * count(false, None) - unforwardable;
    let transport = mesh.forwarder;
    let mut warnings = vec![];
    if unforwardable > 0 {
        warnings.push(format!(
            "{unforwardable} pair(s) need a forwarder past the censor but neither end can host its server \
             (a {} server must accept the client's {} from outside: a public node with an endpoint, not behind NAT); \
             they are in `skipped` and Babel routes around them",
            transport.name(),
            transport.protocol().unwrap_or("connection")
        ));
    }
    if transport == Transport::External && forwarded > 0 {
        warnings.push(format!(
            "{forwarded} forwarded link(s) and mesh.forwarder = \"none\": each needs a forwarder you run yourself \
             (the plan's `forwarder` of both ends says where); without one they stay dead"
        ));
    }
    warnings
}

/// Bytes the mesh's forwarder adds per packet.
fn forward_overhead(mesh: &MeshSettings) -> u32 {
    mesh.forward_overhead.or(mesh.forwarder.overhead()).unwrap_or(EXTERNAL_DEFAULT_OVERHEAD)
}

/// Where WireGuard meets its local forwarder on a forwarded link.
fn local_forwarder(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// The forwarder `me` runs on its forwarded link to `peer`: the client when
/// it dials (to `remote`, the peer's endpoint), the server otherwise.
fn forwarder_end(
    mesh: &MeshSettings,
    me: &str,
    peer: &Resolved,
    dials: bool,
    port: u16,
    remote: Option<String>,
) -> Result<Forwarder, Problem> {
    let transport = mesh.forwarder;
    let tun = tun_for(transport, peer.name, peer.node.id, mesh.forwarder_ipv4_prefix, mesh.forwarder_ipv6_prefix)
        .map_err(|field| {
            Problem::node(
                me,
                field,
                format!(
                    "the {} TUN addresses for peer `{}` (id {}) do not fit in mesh.{field}; use a larger prefix",
                    transport.name(),
                    peer.name,
                    peer.node.id
                ),
            )
        })?;
    let local = local_forwarder(port);
    Ok(if dials {
        Forwarder::Client {
            transport,
            listen: local,
            remote: remote.expect("policy dials only nodes with an endpoint"),
            tun,
        }
    } else {
        Forwarder::Server { transport, port, deliver: local, tun }
    })
}

/// Per-node checks that need all links: interface names and ports unique.
fn check_node_links(mesh: &MeshSettings, name: &str, node: &NodePlan, problems: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, String> = HashMap::from([(mesh.anchor.as_str(), "the anchor".to_string())]);
    for link in &node.links {
        let tun = link.forwarder.as_ref().and_then(Forwarder::tun).map(|t| t.name.as_str());
        let names = [(Some(link.interface.as_str()), "interface"), (tun, "forwarder TUN")];
        for (iface, what) in names.into_iter().filter_map(|(n, w)| Some((n?, w))) {
            if let Some(other) = seen.insert(iface, format!("the {what} for peer `{}`", link.peer)) {
                problems.push(Problem::node(
                    name,
                    "interface",
                    format!("{what} `{iface}` for peer `{}` collides with {other}; rename one of the nodes", link.peer),
                ));
            }
        }
    }
    if let Some(port) = first_collision(node.links.iter().map(|l| l.port)) {
        problems.push(Problem::node(name, "port", format!("two links use port {port}")));
    }
}

fn check_mesh(mesh: &MeshSettings) -> Vec<Problem> {
    let mut problems = vec![];
    if u128::from(mesh.prefix.addr) >> 121 != 0x7e || mesh.prefix.len < 7 {
        problems.push(Problem::mesh("prefix", format!("expected a ULA prefix inside fc00::/7, got {}", mesh.prefix)));
    }
    let prefix_len = mesh.interface_prefix.len();
    if !(1..=10).contains(&prefix_len) || !valid_interface_name(&mesh.interface_prefix) {
        problems.push(Problem::mesh(
            "interface_prefix",
            format!("expected 1 to 10 characters of [A-Za-z0-9._-], got `{}`", mesh.interface_prefix),
        ));
    }
    if !valid_interface_name(&mesh.anchor) {
        problems.push(Problem::mesh(
            "anchor",
            format!("`{}` is not a valid interface name (1..15 of [A-Za-z0-9._-])", mesh.anchor),
        ));
    }
    rules::check_interface_names(mesh, &mut problems);
    rules::check_mesh_values(mesh, &mut problems);
    if mesh.anchor.starts_with(&mesh.interface_prefix) {
        problems.push(Problem::mesh(
            "anchor",
            format!("`{}` starts with the interface prefix `{}`", mesh.anchor, mesh.interface_prefix),
        ));
    }
    if mesh.base_port == 0 || mesh.base_port > 65535 {
        problems.push(Problem::mesh("base_port", format!("expected 1..=65535, got {}", mesh.base_port)));
    }
    problems.extend(check_forwarder_settings(mesh));
    if !(1280..=65535).contains(&mesh.mtu) {
        problems.push(Problem::mesh("mtu", format!("expected 1280..=65535, got {}", mesh.mtu)));
    }
    let babel = &mesh.babel;
    if !(10..=655_350).contains(&babel.hello_interval_ms) {
        problems.push(Problem::mesh(
            "babel.hello_interval_ms",
            format!("expected 10..=655350 (BIRD's range), got {}", babel.hello_interval_ms),
        ));
    }
    if babel.update_interval_ms < babel.hello_interval_ms || babel.update_interval_ms > 655_350 {
        problems.push(Problem::mesh(
            "babel.update_interval_ms",
            format!("expected hello_interval_ms..=655350, got {}", babel.update_interval_ms),
        ));
    }
    if !(1..=MAX_KERNEL_SCAN_S).contains(&babel.kernel_scan_s) {
        problems.push(Problem::mesh(
            "babel.kernel_scan_s",
            format!("expected 1..={MAX_KERNEL_SCAN_S} seconds, got {}", babel.kernel_scan_s),
        ));
    }
    if !(1..=256).contains(&babel.rtt_decay) {
        problems.push(Problem::mesh("babel.rtt_decay", format!("expected 1..=256, got {}", babel.rtt_decay)));
    }
    if babel.rtt_max_ms <= 10 && babel.rtt_cost > 0 {
        problems.push(Problem::mesh(
            "babel.rtt_max_ms",
            format!(
                "expected more than 10 ms while rtt_cost is set (BIRD's rtt min is 10 ms), got {}",
                babel.rtt_max_ms
            ),
        ));
    }
    problems
}

/// The forwarder's prefixes stay clear of the overlay's.
fn check_forwarder_settings(mesh: &MeshSettings) -> Vec<Problem> {
    let mut problems = vec![];
    let (v6, v4) = (mesh.forwarder_ipv6_prefix, mesh.forwarder_ipv4_prefix);
    if v6.contains(mesh.prefix.addr) || mesh.prefix.contains(v6.addr) {
        problems.push(Problem::mesh("forwarder_ipv6_prefix", format!("{v6} overlaps the mesh prefix {}", mesh.prefix)));
    }
    if let Some(overlay) = mesh.ipv4_prefix {
        if v4.contains(overlay.addr) || overlay.contains(v4.addr) {
            problems.push(Problem::mesh("forwarder_ipv4_prefix", format!("{v4} overlaps ipv4_prefix {overlay}")));
        }
    }
    problems
}

/// Derives and checks every node's own fields; collisions between nodes too.
fn resolve_nodes<'a>(inventory: &'a Inventory, problems: &mut Vec<Problem>) -> Vec<Resolved<'a>> {
    let mesh = &inventory.mesh;
    let mut resolved = vec![];
    for (name, node) in &inventory.nodes {
        let before = problems.len();
        if name.is_empty()
            || name.len() > 63
            || !name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            problems.push(Problem::node(
                name,
                "name",
                "expected 1 to 63 characters of [A-Za-z0-9_-], starting with a letter or digit",
            ));
        }
        let key = decode_key(&node.public_key)
            .and_then(|k| check_usable_public_key(&k).map(|()| k))
            .map_err(|m| problems.push(Problem::node(name, "public_key", m)))
            .ok();
        let address = match node.address {
            Some(a) if !mesh.prefix.contains(a) => {
                problems.push(Problem::node(
                    name,
                    "address",
                    format!("{a} is outside the mesh prefix {}", mesh.prefix),
                ));
                None
            }
            Some(a) if a == mesh.prefix.addr => {
                problems.push(Problem::node(
                    name,
                    "address",
                    format!("{a} is the network (subnet-router anycast) address of {}", mesh.prefix),
                ));
                None
            }
            Some(a) => Some(a),
            None => {
                let a = mesh.prefix.nth(u128::from(node.id) + 1);
                if a.is_none() {
                    problems.push(Problem::node(
                        name,
                        "id",
                        format!(
                        "id {} does not fit in prefix {} ({} host bits); use a larger prefix or an explicit address",
                        node.id, mesh.prefix, mesh.prefix.host_bits()
                    ),
                    ));
                }
                a
            }
        };
        let ipv4_address = match (mesh.ipv4_prefix, node.ipv4_address) {
            (None, Some(_)) => {
                problems.push(Problem::node(name, "ipv4_address", "set, but the mesh has no ipv4_prefix"));
                None
            }
            (None, None) => None,
            (Some(prefix), Some(explicit)) => match rules::bad_ipv4_address(explicit, &prefix) {
                Some(why) => {
                    problems.push(Problem::node(name, "ipv4_address", why));
                    None
                }
                None => Some(explicit),
            },
            (Some(prefix), None) => {
                let derived = node.id.checked_add(1).and_then(|n| prefix.nth(n));
                if derived.is_none() {
                    problems.push(Problem::node(name, "id", format!(
                        "id {} does not fit in ipv4_prefix {prefix}; use a larger prefix or an explicit ipv4_address", node.id
                    )));
                }
                derived
            }
        };
        let link_local = match node.link_local {
            Some(ll) if !is_link_local_64(ll) => {
                problems.push(Problem::node(name, "link_local", format!("{ll} is not inside fe80::/64")));
                None
            }
            Some(ll) => Some(ll),
            None => key.map(|k| derived_link_local(&k)),
        };
        let mut endpoints = vec![];
        for text in &node.endpoints {
            match Endpoint::parse(text) {
                Ok(e) => match rules::bad_endpoint(&e, mesh) {
                    Some(why) => problems.push(Problem::node(name, "endpoints", why)),
                    None => endpoints.push(e),
                },
                Err(m) => problems.push(Problem::node(name, "endpoints", m)),
            }
        }
        if let Some(mtu) = node.mtu {
            if !(1280..=65535).contains(&mtu) {
                problems.push(Problem::node(name, "mtu", format!("expected 1280..=65535, got {mtu}")));
            }
        }
        if node.keepalive == Some(0) {
            problems.push(Problem::node(
                name,
                "keepalive",
                "expected 1..=65535 seconds; 0 turns keepalive off, and a dialer behind NAT then loses its path",
            ));
        }
        if node.region.is_empty() {
            problems.push(Problem::node(name, "region", "expected a non-empty region name"));
        }
        let router_id = ipv4_address.or_else(|| router_id_from_id(node.id));
        if router_id.is_none() {
            problems.push(Problem::node(
                name,
                "id",
                format!("id {} leaves no router id; use an ipv4_prefix or a smaller id", node.id),
            ));
        }
        if problems.len() > before {
            continue;
        }
        resolved.push(Resolved {
            name,
            node,
            address: address.expect("checked"),
            ipv4_address,
            link_local: link_local.expect("checked"),
            router_id: router_id.expect("checked"),
            endpoint: endpoints.into_iter().next(),
        });
    }
    resolved.sort_by_key(|r| r.node.id);
    check_unique(&resolved, problems);
    resolved
}

/// Ids, addresses, link-locals, router ids and public keys must be unique.
fn check_unique(resolved: &[Resolved], problems: &mut Vec<Problem>) {
    fn unique<K: Eq + std::hash::Hash + std::fmt::Display>(
        resolved: &[Resolved],
        field: &str,
        key: impl Fn(&Resolved) -> Option<K>,
        problems: &mut Vec<Problem>,
    ) {
        let mut seen: HashMap<K, &str> = HashMap::new();
        for r in resolved {
            if let Some(k) = key(r) {
                let shown = k.to_string();
                if let Some(first) = seen.insert(k, r.name) {
                    problems.push(Problem::node(r.name, field, format!("{shown} is also node `{first}`'s")));
                }
            }
        }
    }
    unique(resolved, "id", |r| Some(r.node.id), problems);
    unique(resolved, "address", |r| Some(r.address), problems);
    unique(resolved, "ipv4_address", |r| r.ipv4_address, problems);
    unique(resolved, "link_local", |r| Some(r.link_local), problems);
    unique(resolved, "router_id", |r| Some(r.router_id), problems);
    unique(resolved, "public_key", |r| Some(r.node.public_key.trim().to_string()), problems);
}
