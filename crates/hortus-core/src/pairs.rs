//! The decide stage: what each pair of resolved nodes becomes (a link with
//! both ends, or a skip with its reason), through one pair loop that serves
//! the whole plan and a single host's view alike.

use crate::candidates::{candidates, dial_overhead};
use crate::forwarder::{self, tun_for};
use crate::ifname::interface_name;
use crate::interfaces::link_addresses;
use crate::inventory::MeshSettings;
use crate::policy::{decide, Decision, Role, Side};
use crate::ports::pair_port;
use crate::resolve::Resolved;
use crate::validate::pair as rules;
use crate::Problem;
use hortus_plan::{EndpointSettings, Host, Link, Mesh, Path, SkipReason, Underlay};

/// Which pairs to decide.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// Every pair: the whole plan, O(n²).
    Mesh,
    /// The pairs of the node at this index: one host's view, O(n).
    Host(usize),
}

/// What the pair `p`–`q` (`p` the lower id) becomes. Consumed as soon as it
/// is made, never stored, so the large `Link` variant is not boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Pair {
    /// A link: `p`'s end and `q`'s end.
    Link(Link, Link),
    /// Left out by the policy.
    Skip(SkipReason),
    /// Cannot be built.
    Problem(Problem),
}

/// Calls `f(i, j, pair)` for every pair in `scope`, `i < j` indexing
/// `resolved` (sorted by id), in pair order.
pub(crate) fn each(
    input: &MeshSettings,
    mesh: &Mesh,
    resolved: &[Resolved],
    scope: Scope,
    mut f: impl FnMut(usize, usize, Pair),
) {
    let mut one = |i: usize, j: usize| f(i, j, pair(input, mesh, &resolved[i], &resolved[j]));
    match scope {
        Scope::Mesh => {
            for i in 0..resolved.len() {
                for j in i + 1..resolved.len() {
                    one(i, j);
                }
            }
        }
        Scope::Host(h) => {
            for other in (0..resolved.len()).filter(|o| *o != h) {
                one(other.min(h), other.max(h));
            }
        }
    }
}

/// The policy's view of `r`, given whether its peer has an endpoint to dial
/// it at.
fn side<'a>(r: &Resolved<'a>, has_endpoint: bool) -> Side<'a> {
    Side { nat: r.node.nat, censored: r.node.censored, has_endpoint, region: &r.node.region }
}

fn pair(input: &MeshSettings, mesh: &Mesh, p: &Resolved, q: &Resolved) -> Pair {
    let port = match pair_port(mesh.port_scheme, u32::from(mesh.base_port), p.node.id, q.node.id) {
        Ok(port) => port,
        Err(n) => return Pair::Problem(rules::port_out_of_range(input, (p.name, p.node.id), (q.name, q.node.id), n)),
    };
    // What p dials at q, and q at p.
    let to_q = candidates(&mesh.endpoints, (p, p.underlay), q);
    let to_p = candidates(&mesh.endpoints, (q, q.underlay), p);
    match decide(side(p, !to_p.is_empty()), side(q, !to_q.is_empty())) {
        Decision::Link { path, p: role_p, q: role_q } => {
            match ends(input, mesh, (p, role_p, to_q), (q, role_q, to_p), path, port) {
                Ok((lp, lq)) => Pair::Link(lp, lq),
                Err(problem) => Pair::Problem(problem),
            }
        }
        Decision::Skip(reason) => Pair::Skip(family_or(reason, &mesh.endpoints, p, q)),
    }
}

/// `reason`, or [`SkipReason::NoCommonFamily`] when the pair would have a
/// link if both ends had both families.
fn family_or(reason: SkipReason, settings: &EndpointSettings, p: &Resolved, q: &Resolved) -> SkipReason {
    let reachable =
        |dialler: &Resolved, target: &Resolved| !candidates(settings, (dialler, Underlay::Dual), target).is_empty();
    match decide(side(p, reachable(q, p)), side(q, reachable(p, q))) {
        Decision::Link { .. } => SkipReason::NoCommonFamily,
        Decision::Skip(_) => reason,
    }
}

/// The two ends of the link `p`–`q` with the roles the policy chose, each
/// with the candidates it would dial. The MTU is safe over every endpoint
/// either end may dial.
fn ends(
    input: &MeshSettings,
    mesh: &Mesh,
    (p, role_p, to_q): (&Resolved, Role, Vec<Host>),
    (q, role_q, to_p): (&Resolved, Role, Vec<Host>),
    path: Path,
    port: u16,
) -> Result<(Link, Link), Problem> {
    let dialled = [(role_p.dial, p, &to_q), (role_q.dial, q, &to_p)];
    let mut overhead = dialled
        .iter()
        .filter(|(dial, _, _)| *dial)
        .flat_map(|(_, dialler, hosts)| hosts.iter().map(|h| dial_overhead(dialler.underlay, h)))
        .max()
        .expect("policy makes at least one side dial a node with an endpoint");
    if path == Path::Forwarded {
        overhead = overhead.saturating_add(mesh.forward_overhead);
    }
    let underlay = p.node.mtu.unwrap_or(input.mtu).min(q.node.mtu.unwrap_or(input.mtu));
    if let Some(problem) = rules::link_mtu(p.name, q.name, underlay, overhead) {
        return Err(problem);
    }
    let mtu = underlay - overhead;
    let end = |me: &Resolved, peer: &Resolved, role: Role, hosts: &[Host]| -> Result<Link, Problem> {
        let remotes: Vec<_> = hosts.iter().map(|e| e.with_port(port)).collect();
        let (endpoints, forwarder) = match path {
            Path::Direct => (if role.dial { remotes } else { vec![] }, None),
            Path::Forwarded => {
                let tun = tun_for(
                    mesh.forwarder,
                    peer.name,
                    peer.node.id,
                    mesh.forwarder_ipv4_prefix,
                    mesh.forwarder_ipv6_prefix,
                )
                .map_err(|field| rules::tun_prefix(me.name, mesh.forwarder, (peer.name, peer.node.id), field))?;
                let remote = role.dial.then(|| remotes[0].clone());
                let local = role.dial.then(|| forwarder::local_dial(port));
                (local.into_iter().collect(), Some(forwarder::end(mesh.forwarder, port, remote, tun, me.underlay)))
            }
        };
        Ok(Link {
            peer: peer.name.into(),
            peer_id: peer.node.id,
            interface: interface_name(&mesh.interface_prefix, peer.name),
            port,
            listen: role.listen,
            endpoints,
            keepalive: role.keepalive.then(|| me.node.keepalive.unwrap_or(input.keepalive)),
            path,
            forwarder,
            mtu,
            rxcost: link_cost(mesh.babel.rxcost, p, q),
            peer_public_key: peer.node.public_key.trim().to_string(),
            peer_address: peer.address,
            peer_ipv4_address: peer.ipv4_address,
            peer_link_local: peer.link_local,
            addresses: link_addresses(mesh, me, peer),
        })
    };
    Ok((end(p, q, role_p, &to_q)?, end(q, p, role_q, &to_p)?))
}

/// The Babel cost of the link `p`–`q`: what either names for the other in
/// `link_costs` (validation makes both agree), else the larger `cost` of
/// the two, else the mesh's `rxcost`.
fn link_cost(mesh_rxcost: u32, p: &Resolved, q: &Resolved) -> u32 {
    let named = p.node.link_costs.get(q.name).or_else(|| q.node.link_costs.get(p.name));
    named.copied().or_else(|| p.node.cost.max(q.node.cost)).unwrap_or(mesh_rxcost)
}
