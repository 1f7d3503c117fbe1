//! `hortus failover`: notices a dead link within the plan's detection time
//! (`mesh.failover`: 7 × 50 ms by default) and takes it out of BIRD's Babel
//! at once, because BIRD only checks its neighbours' hellos once a second
//! (the Babel timer of BIRD 3.1.8), which no hello interval can beat.
//!
//! Each link gets an ICMPv6 echo every probe interval, sent over its
//! interface to the peer's mesh address (the peer's kernel answers; nothing
//! runs there). A link whose replies stop for `probe_misses` intervals is
//! *down*: its link-local address is removed. BIRD's Babel runs only on
//! interfaces with a link-local address, so it drops the interface, its
//! neighbour and the routes through it at once, and finds the detour. (A
//! `birdc configure` that drops the interface from BIRD's patterns would
//! do the same, but BIRD 3.1.8 aborts on it: "Trying to lock in a bad
//! order".) Once replies have flowed for `hold_down_ms`, the address comes
//! back and BIRD takes the link back. The mesh address stays, so the
//! probes go on while the link is out; their replies may come back over
//! the detour. BIRD's own hello timeout stays as the backstop when this
//! process is not running.
//!
//! The decisions ([`Tracker`]) are pure and tested without sockets; the
//! probes are raw ICMPv6 sockets (CAP_NET_RAW), one per link bound to its
//! interface for sending and one for every reply ([`Probes`]); the
//! addresses change over rtnetlink (CAP_NET_ADMIN, [`crate::links`]).

use crate::links;
use hortus_plan::{FailoverSettings, HostPlan, InterfaceAddress};
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by SIGTERM and SIGINT once [`stop_on_signals`] ran.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// From now on SIGTERM and SIGINT only make [`stopping`] true, so the
/// links' addresses can be put back before the process exits.
pub fn stop_on_signals() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
}

/// Whether SIGTERM or SIGINT arrived since [`stop_on_signals`].
pub fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// ICMPv6 echo request and reply types.
const ECHO_REQUEST: u8 = 128;
const ECHO_REPLY: u8 = 129;
/// How many recent probes the loss figure covers.
const LOSS_WINDOW: usize = 100;

/// A link's state as [`Tracker`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Replies arrive: the link is in BIRD's Babel.
    Up,
    /// No reply for the detection time: out of BIRD's Babel.
    Down,
    /// Replies again, not yet for the hold-down: still out.
    Holding,
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkState::Up => "up",
            LinkState::Down => "down",
            LinkState::Holding => "holding",
        })
    }
}

/// One link's probe history and state.
#[derive(Debug, Clone)]
pub struct Tracker {
    state: LinkState,
    last_reply: Instant,
    clean_since: Instant,
    detection: Duration,
    hold_down: Duration,
    /// Whether a reply ever came: a link never heard (not yet handshaken,
    /// or behind a NAT that has not dialled in) is left to BIRD.
    answered: bool,
    /// Whether each of the last probes got its reply (newest last).
    recent: Vec<bool>,
}

impl Tracker {
    /// A link assumed up at `now`, taken out only once it has answered and
    /// then fallen silent (a link that never answers stays BIRD's to judge:
    /// taking out every link of a node that is still handshaking leaves
    /// its probes' replies without a route).
    pub fn new(settings: &FailoverSettings, now: Instant) -> Tracker {
        Tracker {
            state: LinkState::Up,
            last_reply: now,
            clean_since: now,
            detection: settings.detection(),
            hold_down: Duration::from_millis(u64::from(settings.hold_down_ms)),
            answered: false,
            recent: vec![],
        }
    }

    /// The state.
    pub fn state(&self) -> LinkState {
        self.state
    }

    /// Per cent of the last probes (up to 100) without a reply.
    pub fn loss_percent(&self) -> f64 {
        if self.recent.is_empty() {
            return 0.0;
        }
        100.0 * self.recent.iter().filter(|r| !**r).count() as f64 / self.recent.len() as f64
    }

    /// Records whether a probe got its reply (once its time is up).
    pub fn record(&mut self, replied: bool) {
        if self.recent.len() == LOSS_WINDOW {
            self.recent.remove(0);
        }
        self.recent.push(replied);
    }

    /// A reply arrived at `now`.
    pub fn reply(&mut self, now: Instant) {
        if self.state == LinkState::Down {
            self.state = LinkState::Holding;
            self.clean_since = now;
        }
        self.last_reply = now;
        self.answered = true;
    }

    /// The state at `now`; `Some` when it crossed between in and out of
    /// BIRD's Babel (up → down, or holding → up).
    pub fn tick(&mut self, now: Instant) -> Option<LinkState> {
        let silent = now.saturating_duration_since(self.last_reply) > self.detection;
        match self.state {
            LinkState::Up if silent && self.answered => {
                self.state = LinkState::Down;
                Some(LinkState::Down)
            }
            LinkState::Holding if silent => {
                self.state = LinkState::Down;
                None
            }
            LinkState::Holding if now.saturating_duration_since(self.clean_since) >= self.hold_down => {
                self.state = LinkState::Up;
                Some(LinkState::Up)
            }
            _ => None,
        }
    }
}

/// The probes of one host: a raw ICMPv6 socket per link, bound to its
/// interface, to send; one unbound, to receive every echo reply (a reply
/// may come back over another link while this one is out of Babel).
pub struct Probes {
    receiver: Socket,
    ident: u16,
}

impl Probes {
    /// The receiving socket (CAP_NET_RAW); replies carry `ident`.
    pub fn open(ident: u16) -> io::Result<Probes> {
        let receiver = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        receiver.set_nonblocking(true)?;
        Ok(Probes { receiver, ident })
    }

    /// A sending socket on `interface`.
    pub fn sender(interface: &str) -> io::Result<Socket> {
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        socket.bind_device(Some(interface.as_bytes()))?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }

    /// Sends echo request `seq` of link number `link` to `to` on `socket`.
    pub fn send(&self, socket: &Socket, to: Ipv6Addr, link: u16, seq: u16) -> io::Result<()> {
        let [i0, i1] = self.ident.to_be_bytes();
        let [l0, l1] = link.to_be_bytes();
        let [s0, s1] = seq.to_be_bytes();
        // The kernel fills in the checksum of raw ICMPv6 sockets; the link
        // number rides in the payload.
        let packet = [ECHO_REQUEST, 0, 0, 0, i0, i1, s0, s1, b'h', b'o', b'r', b't', b'u', b's', l0, l1];
        socket.send_to(&packet, &SockAddr::from(SocketAddrV6::new(to, 0, 0, 0)))?;
        Ok(())
    }

    /// The (link number, sequence number) of every echo reply queued now.
    pub fn replies(&self) -> Vec<(u16, u16)> {
        let mut out = vec![];
        let mut buf = [MaybeUninit::<u8>::uninit(); 256];
        while let Ok((n, _)) = self.receiver.recv_from(&mut buf) {
            // SAFETY: recv_from initialised the first n bytes.
            let p: Vec<u8> = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
            if n >= 16 && p[0] == ECHO_REPLY && u16::from_be_bytes([p[4], p[5]]) == self.ident && &p[8..14] == b"hortus"
            {
                out.push((u16::from_be_bytes([p[14], p[15]]), u16::from_be_bytes([p[6], p[7]])));
            }
        }
        out
    }

    /// Waits up to `timeout` for a reply to arrive.
    pub fn wait(&self, timeout: Duration) {
        let mut fd = libc::pollfd { fd: self.receiver.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut fd, 1, ms) };
    }
}

/// One link as the state file has it (`hortus status` reads it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The interface.
    pub interface: String,
    /// Its state.
    pub state: LinkState,
    /// Per cent of the last 100 probes without a reply, to 0.1.
    pub loss_percent: f64,
}

/// The state file `hortus failover` writes each second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    /// When it was written, Unix seconds.
    pub unix_s: u64,
    /// Every probed link.
    pub links: Vec<ProbeReport>,
}

impl StateFile {
    /// Reads `path`.
    pub fn read(path: &std::path::Path) -> io::Result<StateFile> {
        serde_json::from_slice(&std::fs::read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// One probed link.
pub struct Link {
    /// The interface.
    pub interface: String,
    /// The peer's mesh address, probed over the interface.
    pub peer: Ipv6Addr,
    /// The link-local address BIRD's Babel needs on the interface, as planned.
    pub link_local: Option<InterfaceAddress>,
    /// Its tracker.
    pub tracker: Tracker,
    sender: Option<Socket>,
    seq: u16,
    /// Sent, not yet answered: sequence number and when.
    outstanding: Vec<(u16, Instant)>,
}

/// What a pass did to one link.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The link went down or came back.
    Changed {
        /// The interface.
        interface: String,
        /// Its new state (down, or up after the hold-down).
        state: LinkState,
    },
    /// Something failed on the link; retried next pass.
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
            Event::Changed { interface, state: LinkState::Down } => {
                write!(
                    f,
                    "{interface}: no reply within the detection time: down, link-local removed (out of BIRD's Babel)"
                )
            }
            Event::Changed { interface, state } => {
                write!(f, "{interface}: replies for the hold-down: {state}, link-local back (in BIRD's Babel)")
            }
            Event::Failed { interface, error } => write!(f, "{interface}: {error}; tried again next probe"),
        }
    }
}

/// The probed links of one host.
pub struct Prober {
    /// The links, in plan order.
    pub links: Vec<Link>,
    probes: Probes,
    settings: FailoverSettings,
}

impl Prober {
    /// Every link of `plan`, each assumed up at `now`. `Err` when the
    /// receiving socket cannot be opened (CAP_NET_RAW).
    pub fn new(plan: &HostPlan, now: Instant) -> io::Result<Prober> {
        let settings = plan.mesh.failover.clone();
        let links = plan
            .node
            .links
            .iter()
            .map(|l| Link {
                interface: l.interface.clone(),
                peer: l.peer_address,
                link_local: l.addresses.iter().find(|a| a.scope_link).copied(),
                tracker: Tracker::new(&settings, now),
                sender: None,
                seq: 0,
                outstanding: vec![],
            })
            .collect();
        let probes = Probes::open(std::process::id() as u16)?;
        Ok(Prober { links, probes, settings })
    }

    /// The probe interval.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.settings.probe_interval_ms))
    }

    /// Sends one probe on every link (opening sockets that are not open).
    pub fn send(&mut self, now: Instant) -> Vec<Event> {
        let mut events = vec![];
        let detection = self.settings.detection();
        for (n, link) in self.links.iter_mut().enumerate() {
            // Probes unanswered for the detection time count as lost.
            let before = link.outstanding.len();
            link.outstanding.retain(|(_, at)| now.saturating_duration_since(*at) <= detection);
            (link.outstanding.len()..before).for_each(|_| link.tracker.record(false));
            if link.sender.is_none() {
                match Probes::sender(&link.interface) {
                    Ok(socket) => link.sender = Some(socket),
                    Err(e) => {
                        events.push(Event::Failed {
                            interface: link.interface.clone(),
                            error: format!("probe socket: {e}"),
                        });
                        continue;
                    }
                }
            }
            link.seq = link.seq.wrapping_add(1);
            let socket = link.sender.as_ref().expect("opened above");
            match self.probes.send(socket, link.peer, n as u16, link.seq) {
                Ok(()) => link.outstanding.push((link.seq, now)),
                // No route, key or endpoint yet: the probe is lost.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOKEY | libc::EDESTADDRREQ | libc::EHOSTUNREACH | libc::ENETUNREACH)
                    ) =>
                {
                    link.outstanding.push((link.seq, now))
                }
                Err(e) => {
                    events.push(Event::Failed { interface: link.interface.clone(), error: format!("probe: {e}") });
                    link.sender = None;
                }
            }
        }
        events
    }

    /// Waits until `deadline` for replies, recording them as they come.
    pub fn receive_until(&mut self, deadline: Instant) {
        loop {
            let now = Instant::now();
            for (n, seq) in self.probes.replies() {
                let Some(link) = self.links.get_mut(usize::from(n)) else { continue };
                if let Some(at) = link.outstanding.iter().position(|(s, _)| *s == seq) {
                    link.outstanding.remove(at);
                    link.tracker.record(true);
                    link.tracker.reply(now);
                }
            }
            if now >= deadline {
                return;
            }
            self.probes.wait(deadline - now);
        }
    }

    /// The state file's contents at `unix_s`.
    pub fn report(&self, unix_s: u64) -> StateFile {
        let links = self
            .links
            .iter()
            .map(|l| ProbeReport {
                interface: l.interface.clone(),
                state: l.tracker.state(),
                loss_percent: (l.tracker.loss_percent() * 10.0).round() / 10.0,
            })
            .collect();
        StateFile { unix_s, links }
    }

    /// Moves every tracker to `now`; the links that crossed in or out.
    pub fn tick(&mut self, now: Instant) -> Vec<Event> {
        self.links
            .iter_mut()
            .filter_map(|l| l.tracker.tick(now).map(|state| Event::Changed { interface: l.interface.clone(), state }))
            .collect()
    }

    /// Makes each link's link-local match its state: present unless the
    /// link is down or held (also after someone else changed it, such as
    /// systemd-networkd re-applying its files); with `all_back`, present on
    /// every link (when this process stops). Failures are returned, to be
    /// tried again.
    pub fn enforce(&self, all_back: bool) -> Vec<Event> {
        let mut events = vec![];
        let (Ok(kernel), Ok(present)) = (links::links(), links::addresses()) else { return events };
        let indexes: BTreeMap<String, u32> = kernel.into_iter().map(|l| (l.name, l.index)).collect();
        for link in &self.links {
            let (Some(address), Some(index)) = (link.link_local, indexes.get(&link.interface)) else { continue };
            let want = all_back || link.tracker.state() == LinkState::Up;
            let have = present.get(index).is_some_and(|a| a.contains(&address.address));
            if want != have {
                if let Err(e) = links::set_address(*index, &address, want) {
                    let what = if want { "add" } else { "remove" };
                    events.push(Event::Failed {
                        interface: link.interface.clone(),
                        error: format!("cannot {what} its link-local: {e}"),
                    });
                }
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FailoverSettings {
        FailoverSettings { probe: true, probe_interval_ms: 50, probe_misses: 7, hold_down_ms: 1000 }
    }

    #[test]
    fn down_after_the_detection_time_up_after_the_hold_down() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(&settings(), t0);
        // Replies every 50 ms: stays up.
        for n in 1..20 {
            t.reply(ms(50 * n));
            assert_eq!(t.tick(ms(50 * n + 10)), None);
        }
        // Silent from 950 ms: still up at 950 + 350, down just after.
        assert_eq!(t.tick(ms(950 + 350)), None);
        assert_eq!(t.tick(ms(950 + 351)), Some(LinkState::Down));
        assert_eq!(t.state(), LinkState::Down);
        // Replies again from 3000 ms: holding, then up 1000 ms later.
        t.reply(ms(3000));
        assert_eq!(t.state(), LinkState::Holding);
        for n in 1..20 {
            t.reply(ms(3000 + 50 * n));
            assert_eq!(t.tick(ms(3000 + 50 * n)), None, "at {}", 50 * n);
        }
        assert_eq!(t.tick(ms(4000)), Some(LinkState::Up));
        assert_eq!(t.tick(ms(4010)), None);
    }

    #[test]
    fn a_link_that_never_answered_is_left_up() {
        let t0 = Instant::now();
        let mut t = Tracker::new(&settings(), t0);
        assert_eq!(t.tick(t0 + Duration::from_secs(60)), None);
        assert_eq!(t.state(), LinkState::Up);
    }

    #[test]
    fn a_link_that_fails_again_while_held_starts_its_hold_down_anew() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(&settings(), t0);
        t.reply(ms(10));
        assert_eq!(t.tick(ms(400)), Some(LinkState::Down));
        // Replies from 500 to 800, then silence: down again, without an event.
        for n in (500..=800).step_by(50) {
            t.reply(ms(n));
            assert_eq!(t.tick(ms(n)), None);
        }
        assert_eq!(t.state(), LinkState::Holding);
        assert_eq!(t.tick(ms(800 + 351)), None);
        assert_eq!(t.state(), LinkState::Down);
        // Replies from 2000: the hold-down counts from there.
        for n in (2000..3000).step_by(50) {
            t.reply(ms(n));
            assert_eq!(t.tick(ms(n)), None, "at {n}");
        }
        t.reply(ms(3000));
        assert_eq!(t.tick(ms(3000)), Some(LinkState::Up));
    }

    #[test]
    fn loss_counts_the_last_hundred_probes() {
        let mut t = Tracker::new(&settings(), Instant::now());
        assert_eq!(t.loss_percent(), 0.0);
        for i in 0..150 {
            t.record(i % 10 != 0 || i < 50);
        }
        assert_eq!(t.loss_percent(), 10.0);
    }
}
