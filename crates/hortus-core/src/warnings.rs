//! Warnings: things in a valid plan that work but deserve a look. They are
//! the same for the whole plan and every host view, and cost O(n).

use crate::forwarder;
use crate::ports::pair_port;
use crate::resolve::Resolved;
use hortus_plan::{IpPrefix, Mesh, PortScheme, RoutingDaemon, Transport};
use std::collections::HashMap;

/// Ports below this are well known; a plan using them gets a warning.
const WELL_KNOWN_PORTS_END: u16 = 1024;

/// Every warning: well-known ports, forwarders, overlapping subnets, then
/// a slow failover.
pub(crate) fn all(mesh: &Mesh, resolved: &[Resolved]) -> Vec<String> {
    [well_known_ports(mesh, resolved), forwarders(mesh, resolved), overlapping_subnets(resolved), slow_failover(mesh)]
        .concat()
}

/// BIRD's `limit` below this, without `hortus failover`, takes over a
/// second and a half to notice a dead link.
const PROMPT_HELLO_LIMIT: u32 = 9;

/// A warning when BIRD alone must notice dead links (`failover.probe =
/// false`) with a hello limit meant as a backstop behind the prober.
fn slow_failover(mesh: &Mesh) -> Vec<String> {
    let babel = &mesh.babel;
    if mesh.routing != RoutingDaemon::Bird || mesh.failover.probe || babel.hello_limit >= PROMPT_HELLO_LIMIT {
        return vec![];
    }
    let lost = 17 - babel.hello_limit;
    let ms = u64::from(lost) * u64::from(babel.hello_interval_ms) + 1000;
    vec![format!(
        "babel.hello_limit: {} without failover.probe: BIRD alone notices a dead link only after {lost} lost hellos and its once-a-second check (up to {:.1} s); set hello_limit = 11 for about a second",
        babel.hello_limit,
        ms as f64 / 1000.0
    )]
}

/// A warning for each routed prefix inside a different one another node
/// lists (the same prefix on several nodes is redundancy, not a warning),
/// in O(R log R) for R routed prefixes.
fn overlapping_subnets(resolved: &[Resolved]) -> Vec<String> {
    let mut all: Vec<(IpPrefix, &str)> =
        resolved.iter().flat_map(|r| r.routes.iter().map(move |p| (*p, r.name))).collect();
    all.sort();
    let mut warnings = vec![];
    let mut enclosing: Vec<(IpPrefix, &str)> = vec![];
    for (prefix, name) in all {
        while enclosing.last().is_some_and(|(outer, _)| !contains(outer, &prefix)) {
            enclosing.pop();
        }
        if let Some((outer, other)) = enclosing.iter().rev().find(|(outer, _)| *outer != prefix) {
            if *other != name {
                warnings.push(format!(
                    "routes: `{prefix}` (node `{name}`) lies inside `{outer}` (node `{other}`): traffic to it goes to `{name}`, the rest of `{outer}` to `{other}`"
                ));
            }
        }
        enclosing.push((prefix, name));
    }
    warnings
}

/// Whether `outer` contains all of `inner`.
fn contains(outer: &IpPrefix, inner: &IpPrefix) -> bool {
    match (outer, inner) {
        (IpPrefix::V4(o), IpPrefix::V4(i)) => o.len <= i.len && o.contains(i.addr),
        (IpPrefix::V6(o), IpPrefix::V6(i)) => o.len <= i.len && o.contains(i.addr),
        _ => false,
    }
}

/// A warning for every pair, linked or skipped, whose port is below 1024, in
/// pair order (lower id, then higher id). Costs O(n) plus the warnings: a
/// pair index below `limit = 1024 - base` needs both ids <= `limit` (cantor,
/// dense) or ids whose XOR is below `limit` (xor).
fn well_known_ports(mesh: &Mesh, resolved: &[Resolved]) -> Vec<String> {
    let Some(limit) = u32::from(WELL_KNOWN_PORTS_END).checked_sub(u32::from(mesh.base_port)).filter(|l| *l > 0) else {
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
            let port = pair_port(mesh.port_scheme, u32::from(mesh.base_port), p.node.id, q.node.id).ok()?;
            (port < WELL_KNOWN_PORTS_END).then(|| format!("pair `{}`–`{}` uses well-known port {port}", p.name, q.name))
        })
        .collect()
}

/// Warnings about forwarded links, the same for the whole plan and every
/// host view, in O(n): pairs that need a forwarder no end can host (the
/// policy skips them: a forwarder's server must accept the client's
/// connection from outside), and, with `forwarder = "none"`, the links
/// waiting for the operator's forwarder.
fn forwarders(mesh: &Mesh, resolved: &[Resolved]) -> Vec<String> {
    let count = |censored: bool, public: Option<bool>| {
        resolved
            .iter()
            .filter(|r| r.node.censored == censored)
            .filter(|r| public.is_none_or(|p| p == (!r.endpoints.is_empty() && !r.node.nat)))
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
            forwarder::protocol(transport).unwrap_or("connection")
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
