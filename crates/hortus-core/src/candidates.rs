//! The endpoints one node dials another at, in the order it tries them
//! (a link's `endpoints`), and the outer header bytes they may cost.

use crate::resolve::Resolved;
use hortus_plan::{EndpointSettings, Family, Host, IpFamily, Underlay};

/// What `dialler`, sending from the families `underlay` (its own, or
/// `dual` to ask what it could dial whatever its families), dials at
/// `target`, preferred first: `target`'s LAN endpoints when both are in one
/// region, then its endpoints; only those of a family in `underlay` (DNS
/// names always: `hortus endpoints` resolves them to the dialler's
/// families). Within each group the preferred family's literals come
/// first, then names, then the other family's literals, each in the
/// inventory's order.
pub(crate) fn candidates(
    settings: &EndpointSettings,
    (dialler, underlay): (&Resolved, Underlay),
    target: &Resolved,
) -> Vec<Host> {
    let lan = if dialler.node.region == target.node.region { &target.lan_endpoints[..] } else { &[] };
    let rank = |host: &Host| match host {
        Host::Ip(ip) if IpFamily::of(*ip) == settings.prefer => 0,
        Host::Dns(_) => 1,
        Host::Ip(_) => 2,
    };
    let mut out = vec![];
    for group in [lan, &target.endpoints[..]] {
        let mut hosts: Vec<&Host> = group.iter().filter(|h| underlay.dials(h)).collect();
        hosts.sort_by_key(|h| rank(h));
        out.extend(hosts.into_iter().cloned());
    }
    out
}

/// Bytes of outer headers WireGuard adds when a node of `underlay` dials
/// `host`: 60 over IPv4, 80 over IPv6; a name costs 80 unless the dialler
/// has IPv4 only (then it resolves to IPv4).
pub(crate) fn dial_overhead(underlay: Underlay, host: &Host) -> u32 {
    match host.family() {
        Family::Ipv4 => 60,
        Family::Ipv6 => 80,
        Family::Dns if underlay == Underlay::Ipv4 => 60,
        Family::Dns => 80,
    }
}
