//! `hortus endpoints`: keeps every link this host dials on an endpoint that
//! works. A link that received nothing for the plan's
//! `mesh.endpoints.switch_after_s` (Babel's hellos keep a working link far
//! busier) moves to its next candidate, re-resolving a DNS name each time
//! it gets to one; a link that receives is never touched. The decisions
//! ([`Watch::step`]) take the WireGuard reader, the resolver and the setter
//! as arguments, so they are tested without a kernel.

use crate::wireguard::WireGuardState;
use hortus_plan::{Dial, EndpointSettings, Host, HostPlan, IpFamily, Link, Path, Underlay};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How often to look: a tenth of `switch_after_s`, at least a second.
pub fn check_interval(settings: &EndpointSettings) -> Duration {
    Duration::from_secs(u64::from(settings.switch_after_s / 10).max(1))
}

/// What one pass did to one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Moved to the next candidate.
    Moved {
        /// The interface.
        interface: String,
        /// How long the link had received nothing.
        quiet: Duration,
        /// The endpoint before (none when WireGuard had none).
        from: Option<SocketAddr>,
        /// The endpoint now.
        to: SocketAddr,
    },
    /// A candidate's DNS name gave no address of this host's families.
    Unresolved {
        /// The interface.
        interface: String,
        /// The name.
        name: String,
        /// Why.
        error: String,
    },
    /// The interface or its peer could not be read or set; retried next pass.
    Failed {
        /// The interface.
        interface: String,
        /// Why.
        error: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Moved { interface, quiet, from, to } => {
                let from = from.map_or("none".to_string(), |a| a.to_string());
                write!(f, "{interface}: nothing received for {} s: endpoint {from} -> {to}", quiet.as_secs())
            }
            Event::Unresolved { interface, name, error } => {
                write!(f, "{interface}: {name} gives no usable address ({error}); tried again next time")
            }
            Event::Failed { interface, error } => write!(f, "{interface}: {error}; tried again next pass"),
        }
    }
}

/// A resolver of DNS names; [`System`] is the real one.
pub trait Resolve {
    /// The addresses `name` resolves to, with `port`.
    fn resolve(&self, name: &str, port: u16) -> io::Result<Vec<SocketAddr>>;
}

/// What the switcher needs from the host; [`System`] is the real one.
pub trait Runtime: Resolve {
    /// The WireGuard state of interface `name`.
    fn read(&self, name: &str) -> io::Result<WireGuardState>;
    /// Sets the endpoint of peer `public_key` on interface `name`.
    fn set(&self, name: &str, public_key: &str, endpoint: SocketAddr) -> io::Result<()>;
}

/// The host itself: WireGuard through `wireguard-control`, names through
/// the system resolver (`getaddrinfo`: `/etc/hosts`, then DNS).
pub struct System;

impl Resolve for System {
    fn resolve(&self, name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        use std::net::ToSocketAddrs;
        Ok((name, port).to_socket_addrs()?.collect())
    }
}

impl Runtime for System {
    fn read(&self, name: &str) -> io::Result<WireGuardState> {
        crate::wireguard::read(name)
    }
    fn set(&self, name: &str, public_key: &str, endpoint: SocketAddr) -> io::Result<()> {
        crate::wireguard::set_endpoint(name, public_key, endpoint)
    }
}

/// One dialled link: what it dials, and since when it has been quiet.
struct Watched {
    interface: String,
    public_key: String,
    candidates: Vec<Dial>,
    rx_bytes: Option<u64>,
    quiet_since: Instant,
}

/// The links of one host that `hortus endpoints` keeps on a working endpoint.
pub struct Watch {
    links: Vec<Watched>,
    underlay: Underlay,
    settings: EndpointSettings,
}

impl Watch {
    /// The direct links `plan`'s host dials (a forwarded link dials its
    /// local forwarder), each quiet since `now`.
    pub fn new(plan: &HostPlan, now: Instant) -> Watch {
        let dialled = |l: &&Link| l.path == Path::Direct && !l.endpoints.is_empty();
        Watch {
            links: plan
                .node
                .links
                .iter()
                .filter(dialled)
                .map(|l| Watched {
                    interface: l.interface.clone(),
                    public_key: l.peer_public_key.clone(),
                    candidates: l.endpoints.clone(),
                    rx_bytes: None,
                    quiet_since: now,
                })
                .collect(),
            underlay: plan.node.underlay,
            settings: plan.mesh.endpoints.clone(),
        }
    }

    /// The interfaces watched.
    pub fn interfaces(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|l| l.interface.as_str())
    }

    /// One pass at `now`: a link that received since the last pass is
    /// fine; one with no endpoint, or quiet for `switch_after_s`, moves to
    /// its next candidate and counts as quiet from `now` again.
    pub fn step(&mut self, now: Instant, host: &impl Runtime) -> Vec<Event> {
        let after = Duration::from_secs(u64::from(self.settings.switch_after_s));
        let mut events = vec![];
        for link in &mut self.links {
            let state = match host.read(&link.interface) {
                Ok(state) => state,
                Err(e) => {
                    events.push(Event::Failed { interface: link.interface.clone(), error: e.to_string() });
                    continue;
                }
            };
            let Some(peer) = state.peers.iter().find(|p| p.public_key == link.public_key) else {
                let error = "its planned peer is not configured".to_string();
                events.push(Event::Failed { interface: link.interface.clone(), error });
                continue;
            };
            if link.rx_bytes.is_some_and(|rx| peer.rx_bytes > rx) {
                link.quiet_since = now;
            }
            link.rx_bytes = Some(peer.rx_bytes);
            let quiet = now.saturating_duration_since(link.quiet_since);
            if peer.endpoint.is_some() && quiet < after {
                continue;
            }
            let (addresses, unresolved) = expand(&link.candidates, self.underlay, self.settings.prefer, host);
            events.extend(unresolved.into_iter().map(|(name, error)| Event::Unresolved {
                interface: link.interface.clone(),
                name,
                error,
            }));
            link.quiet_since = now;
            let Some(to) = next(peer.endpoint, &addresses) else { continue };
            match host.set(&link.interface, &link.public_key, to) {
                Ok(()) => {
                    events.push(Event::Moved { interface: link.interface.clone(), quiet, from: peer.endpoint, to })
                }
                Err(e) => events.push(Event::Failed { interface: link.interface.clone(), error: e.to_string() }),
            }
        }
        events
    }
}

/// The candidates as addresses, in order: a literal as it is, a name as
/// the addresses it resolves to now of the families this host has, the
/// preferred family first; duplicates once. Also the names that gave none.
pub(crate) fn expand(
    candidates: &[Dial],
    underlay: Underlay,
    prefer: IpFamily,
    host: &impl Resolve,
) -> (Vec<SocketAddr>, Vec<(String, String)>) {
    let mut out: Vec<SocketAddr> = vec![];
    let mut unresolved = vec![];
    for dial in candidates {
        let addresses = match &dial.host {
            Host::Ip(ip) => vec![SocketAddr::new(*ip, dial.port)],
            Host::Dns(name) => {
                let mut found: Vec<SocketAddr> = match host.resolve(name, dial.port) {
                    Ok(found) => found.into_iter().filter(|a| underlay.has(IpFamily::of(a.ip()))).collect(),
                    Err(e) => {
                        unresolved.push((name.clone(), e.to_string()));
                        continue;
                    }
                };
                if found.is_empty() {
                    unresolved.push((name.clone(), format!("no {underlay} address")));
                }
                found.sort_by_key(|a| IpFamily::of(a.ip()) != prefer);
                found
            }
        };
        for a in addresses {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    (out, unresolved)
}

/// The address after `current` in `addresses` (wrapping), or the first
/// when `current` is none of them; `None` when that is `current` itself or
/// there is none.
fn next(current: Option<SocketAddr>, addresses: &[SocketAddr]) -> Option<SocketAddr> {
    let at = current.and_then(|c| addresses.iter().position(|a| *a == c));
    let to = match at {
        Some(i) => addresses[(i + 1) % addresses.len()],
        None => *addresses.first()?,
    };
    (Some(to) != current).then_some(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wireguard::PeerState;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// A host whose one interface `wg-b` has peer `B` at `endpoint`.
    struct Fake {
        endpoint: RefCell<Option<SocketAddr>>,
        rx: RefCell<u64>,
        names: BTreeMap<String, Vec<SocketAddr>>,
    }

    impl Resolve for Fake {
        fn resolve(&self, name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
            let found = self.names.get(name).ok_or_else(|| io::Error::other("not found"))?;
            Ok(found.iter().map(|a| SocketAddr::new(a.ip(), port)).collect())
        }
    }

    impl Runtime for Fake {
        fn read(&self, name: &str) -> io::Result<WireGuardState> {
            if name != "wg-b" {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no such device"));
            }
            let peer = PeerState {
                public_key: "B".into(),
                endpoint: *self.endpoint.borrow(),
                rx_bytes: *self.rx.borrow(),
                ..PeerState::default()
            };
            Ok(WireGuardState { peers: vec![peer], ..WireGuardState::default() })
        }
        fn set(&self, _: &str, _: &str, endpoint: SocketAddr) -> io::Result<()> {
            *self.endpoint.borrow_mut() = Some(endpoint);
            Ok(())
        }
    }

    fn watch(candidates: &[&str], underlay: Underlay, now: Instant) -> Watch {
        let dial = |text: &str| {
            match text.parse() {
                Ok(ip) => Host::Ip(ip),
                Err(_) => Host::Dns(text.into()),
            }
            .with_port(7)
        };
        Watch {
            links: vec![Watched {
                interface: "wg-b".into(),
                public_key: "B".into(),
                candidates: candidates.iter().map(|c| dial(c)).collect(),
                rx_bytes: None,
                quiet_since: now,
            }],
            underlay,
            settings: EndpointSettings::default(),
        }
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_receiving_link_is_never_moved_a_quiet_one_goes_round_its_candidates() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let host =
            Fake { endpoint: RefCell::new(Some(addr("[2001:db8::2]:7"))), rx: RefCell::new(0), names: BTreeMap::new() };
        let mut w = watch(&["2001:db8::2", "192.0.2.2"], Underlay::Dual, t0);
        for n in 1..100 {
            *host.rx.borrow_mut() += 1;
            assert_eq!(w.step(s(n), &host), vec![], "receiving at {n} s");
        }
        // Quiet from 99 s: nothing before 129 s, then IPv4, then back to IPv6.
        assert_eq!(w.step(s(128), &host), vec![]);
        let moved = w.step(s(129), &host);
        assert_eq!(
            moved,
            vec![Event::Moved {
                interface: "wg-b".into(),
                quiet: Duration::from_secs(30),
                from: Some(addr("[2001:db8::2]:7")),
                to: addr("192.0.2.2:7")
            }]
        );
        assert_eq!(w.step(s(158), &host), vec![]);
        assert_eq!(w.step(s(159), &host).len(), 1);
        assert_eq!(*host.endpoint.borrow(), Some(addr("[2001:db8::2]:7")));
    }

    #[test]
    fn no_endpoint_is_set_at_once_and_names_are_resolved_each_time() {
        let t0 = Instant::now();
        let mut host = Fake {
            endpoint: RefCell::new(None),
            rx: RefCell::new(0),
            names: BTreeMap::from([("b.example".to_string(), vec![addr("192.0.2.2:0"), addr("[2001:db8::2]:0")])]),
        };
        let mut w = watch(&["b.example"], Underlay::Dual, t0);
        let events = w.step(t0, &host);
        assert!(matches!(&events[..], [Event::Moved { from: None, .. }]), "{events:?}");
        assert_eq!(*host.endpoint.borrow(), Some(addr("[2001:db8::2]:7")), "IPv6 preferred");
        // The name moves to another address: the next quiet pass follows it.
        host.names.insert("b.example".into(), vec![addr("192.0.2.9:0")]);
        let events = w.step(t0 + Duration::from_secs(30), &host);
        assert!(matches!(&events[..], [Event::Moved { .. }]), "{events:?}");
        assert_eq!(*host.endpoint.borrow(), Some(addr("192.0.2.9:7")));
        // IPv4 only: an IPv6-only answer is no address; logged, not fatal.
        let mut w = watch(&["b.example", "192.0.2.3"], Underlay::Ipv4, t0);
        host.names.insert("b.example".into(), vec![addr("[2001:db8::2]:0")]);
        let events = w.step(t0 + Duration::from_secs(30), &host);
        assert!(matches!(&events[0], Event::Unresolved { error, .. } if error == "no ipv4 address"), "{events:?}");
        assert_eq!(*host.endpoint.borrow(), Some(addr("192.0.2.3:7")));
    }

    #[test]
    fn a_missing_interface_is_reported_and_skipped() {
        let t0 = Instant::now();
        let host = Fake { endpoint: RefCell::new(None), rx: RefCell::new(0), names: BTreeMap::new() };
        let mut w = watch(&["192.0.2.2"], Underlay::Ipv4, t0);
        w.links[0].interface = "wg-gone".into();
        let events = w.step(t0, &host);
        assert!(matches!(&events[..], [Event::Failed { interface, .. }] if interface == "wg-gone"), "{events:?}");
    }
}
