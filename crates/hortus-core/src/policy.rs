//! The link policy: for a pair of nodes, who listens, who dials, who sends
//! keepalives, and whether they talk directly or through a local forwarder.
//! `docs/link-policy.md` explains the table and how it differs from the
//! reference design.

pub use hortus_plan::Path;
use hortus_plan::SkipReason;

/// What the policy needs to know about one end of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side<'a> {
    /// Behind NAT.
    pub nat: bool,
    /// Behind a censor dropping direct UDP to uncensored nodes.
    pub censored: bool,
    /// Has at least one endpoint peers can dial.
    pub has_endpoint: bool,
    /// Region name.
    pub region: &'a str,
}

/// What one end does on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// Has a ListenPort peers (or the forwarder) send to.
    pub listen: bool,
    /// Sets an Endpoint toward the other end.
    pub dial: bool,
    /// Sends PersistentKeepalive.
    pub keepalive: bool,
}

/// The policy's answer for a pair `(p, q)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Build the link with these roles for `p` and `q`.
    Link {
        /// Direct or forwarded.
        path: Path,
        /// Role of `p`.
        p: Role,
        /// Role of `q`.
        q: Role,
    },
    /// Leave the pair out; Babel routes around it.
    Skip(SkipReason),
}

/// Decides the link between `p` and `q`. Symmetric: `decide(q, p)` swaps the roles.
///
/// 1. Path: direct iff both or neither are censored, else forwarded.
/// 2. `x` is reachable iff it has an endpoint and, on a direct path, is not
///    behind NAT or both are behind NAT in the same region; on a forwarded
///    path, iff it is a public node that can host the forwarder's server.
/// 3. The table below picks the listeners from (path, reachable p, reachable q).
/// 4. A side dials iff the other listens; it keeps alive iff it dials and is
///    not itself reachable, or is behind NAT or censored.
pub fn decide(p: Side, q: Side) -> Decision {
    let path = if p.censored == q.censored { Path::Direct } else { Path::Forwarded };
    let reachable = |x: Side, y: Side| {
        x.has_endpoint
            && match path {
                Path::Direct => !x.nat || (y.nat && x.region == y.region),
                Path::Forwarded => !x.nat,
            }
    };
    let (rp, rq) = (reachable(p, q), reachable(q, p));
    // (path, p reachable, q reachable) -> (p listens, q listens)
    let (listen_p, listen_q) = match (path, rp, rq) {
        (_, false, false) => return Decision::Skip(skip_reason(path, p, q)),
        (Path::Direct, rp, rq) => (rp, rq),
        // One forwarder per pair: the uncensored side hosts it when it can.
        (Path::Forwarded, true, true) => (!p.censored, !q.censored),
        (Path::Forwarded, rp, rq) => (rp, rq),
    };
    let role = |me: Side, listen: bool, other_listens: bool| Role {
        listen,
        dial: other_listens,
        keepalive: other_listens && (!listen || me.nat || me.censored),
    };
    Decision::Link { path, p: role(p, listen_p, listen_q), q: role(q, listen_q, listen_p) }
}

fn skip_reason(path: Path, p: Side, q: Side) -> SkipReason {
    match path {
        Path::Direct if p.nat && q.nat && p.region != q.region => SkipReason::NatDifferentRegions,
        Path::Direct => SkipReason::NoReachableEndpoint,
        Path::Forwarded => SkipReason::NoForwarderServer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of NAT, censorship, endpoints and regions.
    fn all_pairs() -> Vec<(Side<'static>, Side<'static>)> {
        let mut out = vec![];
        for bits in 0u32..128 {
            let bit = |i: u32| bits >> i & 1 == 1;
            let p = Side { nat: bit(0), censored: bit(1), has_endpoint: bit(2), region: "r1" };
            let q =
                Side { nat: bit(3), censored: bit(4), has_endpoint: bit(5), region: if bit(6) { "r1" } else { "r2" } };
            out.push((p, q));
        }
        out
    }

    #[test]
    fn every_link_is_alive_and_symmetric() {
        let mut links = 0;
        for (p, q) in all_pairs() {
            let decision = decide(p, q);
            match (decision, decide(q, p)) {
                (Decision::Link { path, p: rp, q: rq }, Decision::Link { path: path2, p: rq2, q: rp2 }) => {
                    links += 1;
                    assert_eq!((path, rp, rq), (path2, rp2, rq2), "{p:?} {q:?}");
                    assert!(rp.listen || rq.listen, "nobody listens: {p:?} {q:?}");
                    // Whoever listens is dialled by the other side, and only then.
                    assert_eq!(rp.listen, rq.dial, "{p:?} {q:?}");
                    assert_eq!(rq.listen, rp.dial, "{p:?} {q:?}");
                    for (me, role, other) in [(p, rp, q), (q, rq, p)] {
                        if role.listen {
                            assert!(me.has_endpoint, "listener without endpoint: {me:?}");
                            if me.nat {
                                assert!(other.nat && other.region == me.region && path == Path::Direct);
                            }
                        }
                        if role.dial && (me.nat || !role.listen) {
                            assert!(role.keepalive, "NAT'd or unreachable dialer needs keepalive: {me:?}");
                        }
                    }
                    if path == Path::Forwarded {
                        assert!(rp.listen != rq.listen, "one forwarder server per pair");
                        assert_ne!(p.censored, q.censored);
                    } else {
                        assert_eq!(p.censored, q.censored);
                    }
                }
                (Decision::Skip(a), Decision::Skip(b)) => assert_eq!(a, b),
                other => panic!("asymmetric decision {other:?} for {p:?} {q:?}"),
            }
        }
        assert_eq!(links, 62, "links among the 128 combinations (checked by an independent count)");
    }

    #[test]
    fn skips_only_when_nobody_can_be_reached() {
        for (p, q) in all_pairs() {
            if let Decision::Skip(_) = decide(p, q) {
                let public = |x: Side| x.has_endpoint && !x.nat;
                assert!(!public(p) && !public(q), "{p:?} {q:?}");
            }
        }
    }

    #[test]
    fn reference_defects_are_fixed() {
        let public_censored = Side { nat: false, censored: true, has_endpoint: true, region: "cn" };
        let nat_free = Side { nat: true, censored: false, has_endpoint: false, region: "eu" };
        // The reference had nobody listening here; the censored public node hosts the forwarder.
        let Decision::Link { path, p, q } = decide(public_censored, nat_free) else { panic!() };
        assert_eq!(path, Path::Forwarded);
        assert!(p.listen && !p.dial && q.dial && q.keepalive && !q.listen);
        // The reference made the public uncensored node dial 127.0.0.1 on itself.
        let public_free = Side { nat: false, censored: false, has_endpoint: true, region: "eu" };
        let Decision::Link { p, q, .. } = decide(public_free, public_censored) else { panic!() };
        assert!(p.listen && !p.dial, "the uncensored side hosts the forwarder and does not dial");
        assert!(q.dial && q.keepalive && !q.listen);
    }

    #[test]
    fn both_public_both_listen_and_dial_without_keepalive() {
        let a = Side { nat: false, censored: false, has_endpoint: true, region: "x" };
        let want = Role { listen: true, dial: true, keepalive: false };
        assert_eq!(decide(a, a), Decision::Link { path: Path::Direct, p: want, q: want });
    }
}
