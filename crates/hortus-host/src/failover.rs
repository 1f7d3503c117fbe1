//! `hortus failover`: notices a dead link within the plan's detection time
//! (`mesh.failover`: 7 × 50 ms by default) and takes it out of BIRD's Babel
//! at once, because BIRD only checks its neighbours' hellos once a second
//! (the Babel timer of BIRD 3.1.8), which no hello interval can beat.
//!
//! Each link gets ICMPv6 echoes every probe interval, sent over its
//! interface: to the peer's mesh address always, and while the link is in
//! Babel also link-local to link-local (the peer's kernel answers; nothing
//! runs there). Any reply keeps the link: right after it comes back, its
//! peer may still hold its own end out and have no link-local to answer
//! with. A link whose last `probe_misses` probes went unanswered for the
//! detection time is *down*: its link-local address is removed. BIRD's
//! Babel runs only on interfaces with a link-local address, so it drops the
//! interface, its neighbour and the routes through it at once, and finds
//! the detour. (A `birdc configure` that drops the interface from BIRD's
//! patterns would do the same, but BIRD 3.1.8 aborts on it: "Trying to lock
//! in a bad order".) While out, the mesh address's replies come back over
//! the detour. Once replies have flowed for the hold-down, the address
//! comes back and BIRD takes the link back. BIRD's own hello timeout stays
//! as the backstop when this process is not running.
//!
//! Counting probes, not only time, keeps a stalled process (a loaded
//! machine) from taking its own pause for a dead link: a link is down only
//! when `probe_misses` probes were actually sent and went unanswered.
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

/// Where `hortus failover` writes its state, and `hortus status` and
/// `hortus reconcile` read it, by default (the unit's RuntimeDirectory).
pub const DEFAULT_STATE: &str = "/run/hortus-failover/state.json";

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
    misses: u32,
    /// Probes sent since the last reply.
    unanswered: u32,
    /// The hold-down now: doubled (up to 64 × `hold_down`) each time the
    /// link fails again before a single probe was answered over it since it
    /// came back, as when it is cut in one direction only (its probes to
    /// the peer's mesh address are answered over the detour, its probes
    /// over the link are not); back to `hold_down` once one is.
    penalty: Duration,
    /// Whether a reply came while the link was in Babel, since it last
    /// came back (true at first).
    heard_while_up: bool,
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
            misses: settings.probe_misses,
            unanswered: 0,
            penalty: Duration::from_millis(u64::from(settings.hold_down_ms)),
            heard_while_up: true,
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

    /// A probe went out.
    pub fn sent(&mut self) {
        self.unanswered = self.unanswered.saturating_add(1);
    }

    /// A reply arrived at `now`, to a probe sent over the link itself
    /// (`over_link`: link-local to link-local) or to the peer's mesh address.
    pub fn reply(&mut self, now: Instant, over_link: bool) {
        match self.state {
            LinkState::Down => {
                self.state = LinkState::Holding;
                self.clean_since = now;
            }
            LinkState::Up => self.heard_while_up |= over_link,
            LinkState::Holding => {}
        }
        self.last_reply = now;
        self.unanswered = 0;
        self.answered = true;
    }

    /// The state at `now`; `Some` when it crossed between in and out of
    /// BIRD's Babel (up → down, or holding → up).
    pub fn tick(&mut self, now: Instant) -> Option<LinkState> {
        // Silent: no reply for the detection time, over at least as many
        // probes as that time holds (a process that did not run sent none).
        let silent = now.saturating_duration_since(self.last_reply) > self.detection && self.unanswered >= self.misses;
        match self.state {
            LinkState::Up if silent && self.answered => {
                self.state = LinkState::Down;
                self.penalty =
                    if self.heard_while_up { self.hold_down } else { (self.penalty * 2).min(self.hold_down * 64) };
                Some(LinkState::Down)
            }
            LinkState::Holding if silent => {
                self.state = LinkState::Down;
                None
            }
            LinkState::Holding if now.saturating_duration_since(self.clean_since) >= self.penalty => {
                self.state = LinkState::Up;
                self.heard_while_up = false;
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

    /// A sending socket on `interface`, and the interface's kernel index.
    pub fn sender(interface: &str) -> io::Result<(Socket, u32)> {
        let name = std::ffi::CString::new(interface).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: a NUL-terminated name that outlives the call.
        let index = std::num::NonZeroU32::new(unsafe { libc::if_nametoindex(name.as_ptr()) })
            .ok_or_else(io::Error::last_os_error)?;
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        socket.bind_device_by_index_v6(Some(index))?;
        socket.set_nonblocking(true)?;
        Ok((socket, index.get()))
    }

    /// Sends echo request `seq` of link number `link` to `to` on `socket`.
    pub fn send(&self, socket: &Socket, to: SocketAddrV6, link: u16, seq: u16) -> io::Result<()> {
        let [i0, i1] = self.ident.to_be_bytes();
        let [l0, l1] = link.to_be_bytes();
        let [s0, s1] = seq.to_be_bytes();
        // The kernel fills in the checksum of raw ICMPv6 sockets; the link
        // number rides in the payload.
        let packet = [ECHO_REQUEST, 0, 0, 0, i0, i1, s0, s1, b'h', b'o', b'r', b't', b'u', b's', l0, l1];
        socket.send_to(&packet, &SockAddr::from(to))?;
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

    /// The interfaces a running `hortus failover` holds out of Babel (their
    /// link-local removed on purpose): none when `path` is missing,
    /// unreadable, or older than a few seconds (the prober is not running).
    pub fn held_out(path: &std::path::Path, now_unix_s: u64) -> Vec<String> {
        match StateFile::read(path) {
            Ok(state) if now_unix_s.saturating_sub(state.unix_s) <= FRESH_S => {
                state.links.into_iter().filter(|l| l.state != LinkState::Up).map(|l| l.interface).collect()
            }
            _ => vec![],
        }
    }
}

/// How old a state file may be and still describe a running prober (it is
/// rewritten every second).
const FRESH_S: u64 = 5;

/// One probed link.
pub struct Link {
    /// The interface.
    pub interface: String,
    /// The peer's mesh address, probed over the interface while the link
    /// is out (this end has no link-local then).
    pub peer: Ipv6Addr,
    /// The peer's link-local, probed over the interface while the link is
    /// in: the reply comes back over the link itself.
    pub peer_link_local: Ipv6Addr,
    /// The link-local address BIRD's Babel needs on the interface, as planned.
    pub link_local: Option<InterfaceAddress>,
    /// Its tracker.
    pub tracker: Tracker,
    /// The sending socket and the interface's kernel index.
    sender: Option<(Socket, u32)>,
    seq: u16,
    /// Sent, not yet answered: sequence number, when, and whether over the
    /// link itself (link-local to link-local).
    outstanding: Vec<(u16, Instant, bool)>,
}

/// `plan`'s links: those of `old` the plan left as they were (same
/// interface, addresses and peer) with their state, the others new and
/// assumed up at `now` ([`Prober::replan`]).
fn relinked(mut old: Vec<Link>, plan: &HostPlan, now: Instant) -> Vec<Link> {
    let settings = &plan.mesh.failover;
    let mut links = vec![];
    for l in &plan.node.links {
        let link_local = l.addresses.iter().find(|a| a.scope_link).copied();
        let same = |o: &Link| {
            o.interface == l.interface
                && o.peer == l.peer_address
                && o.peer_link_local == l.peer_link_local
                && o.link_local == link_local
        };
        links.push(match old.iter().position(same).map(|at| old.swap_remove(at)) {
            // Probe numbers follow the new order: earlier probes are void.
            Some(link) => Link { outstanding: vec![], ..link },
            None => Link {
                interface: l.interface.clone(),
                peer: l.peer_address,
                peer_link_local: l.peer_link_local,
                link_local,
                tracker: Tracker::new(settings, now),
                sender: None,
                seq: 0,
                outstanding: vec![],
            },
        });
    }
    links
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
        let probes = Probes::open(std::process::id() as u16)?;
        let mut prober = Prober { links: vec![], probes, settings: plan.mesh.failover.clone() };
        prober.replan(plan, now);
        Ok(prober)
    }

    /// Follows a changed plan: its links from now on, each assumed up at
    /// `now` but for those the plan left as they were (same interface,
    /// addresses and peer), which keep their state. A link-local this
    /// process removed from a link that left the plan, or whose address
    /// changed, stays removed: it is not planned any more.
    pub fn replan(&mut self, plan: &HostPlan, now: Instant) {
        self.settings = plan.mesh.failover.clone();
        self.links = relinked(std::mem::take(&mut self.links), plan, now);
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
            link.outstanding.retain(|(_, at, _)| now.saturating_duration_since(*at) <= detection);
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
            let (socket, index) = link.sender.as_ref().expect("opened above");
            // Always the peer's mesh address; in Babel also link-local to
            // link-local, answered over this link. Any reply keeps the link:
            // right after a link comes back its peer may still hold its own
            // end out (no link-local to answer), and the mesh address still
            // answers then.
            let mut targets = vec![(SocketAddrV6::new(link.peer, 0, 0, 0), false)];
            if link.tracker.state() == LinkState::Up && link.link_local.is_some() {
                targets.push((SocketAddrV6::new(link.peer_link_local, 0, 0, *index), true));
            }
            link.tracker.sent();
            for (to, over_link) in targets {
                link.seq = link.seq.wrapping_add(1);
                match self.probes.send(socket, to, n as u16, link.seq) {
                    Ok(()) => link.outstanding.push((link.seq, now, over_link)),
                    // No route, key or endpoint yet: the probe is lost.
                    Err(e)
                        if matches!(
                            e.raw_os_error(),
                            Some(libc::ENOKEY | libc::EDESTADDRREQ | libc::EHOSTUNREACH | libc::ENETUNREACH)
                        ) =>
                    {
                        link.outstanding.push((link.seq, now, over_link))
                    }
                    Err(e) => {
                        events.push(Event::Failed { interface: link.interface.clone(), error: format!("probe: {e}") });
                        link.sender = None;
                        break;
                    }
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
                if let Some(at) = link.outstanding.iter().position(|(s, _, _)| *s == seq) {
                    let (_, _, over_link) = link.outstanding.remove(at);
                    link.tracker.record(true);
                    link.tracker.reply(now, over_link);
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
    /// every link (when this process stops). A link whose interface was
    /// deleted or created anew (`hortus reconcile`) gets a new probe socket:
    /// one bound to a vanished interface sends nothing. Failures are
    /// returned, to be tried again.
    pub fn enforce(&mut self, all_back: bool) -> Vec<Event> {
        let mut events = vec![];
        let (Ok(kernel), Ok(present)) = (links::links(), links::addresses()) else { return events };
        let indexes: BTreeMap<String, u32> = kernel.into_iter().map(|l| (l.name, l.index)).collect();
        for link in &mut self.links {
            let index = indexes.get(&link.interface);
            if link.sender.as_ref().is_some_and(|(_, bound)| Some(bound) != index) {
                link.sender = None;
            }
            let (Some(address), Some(index)) = (link.link_local, index) else { continue };
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

    /// Probes every 50 ms from `from` until `until` (exclusive), each
    /// answered when `answered` says so, up to the first state change:
    /// when, and to what.
    fn probe(
        t: &mut Tracker,
        t0: Instant,
        from: u64,
        until: u64,
        answered: impl Fn(u64) -> bool,
    ) -> Option<(u64, LinkState)> {
        for at in (from..until).step_by(50) {
            let now = t0 + Duration::from_millis(at);
            let over_link = t.state() == LinkState::Up;
            t.sent();
            if answered(at) {
                t.reply(now, over_link);
            }
            if let Some(state) = t.tick(now) {
                return Some((at, state));
            }
        }
        None
    }

    #[test]
    fn down_after_the_detection_time_up_after_the_hold_down() {
        let t0 = Instant::now();
        let mut t = Tracker::new(&settings(), t0);
        // Answered until 950 ms: stays up; then silent: down once more than
        // 350 ms passed without a reply.
        assert_eq!(probe(&mut t, t0, 0, 1000, |_| true), None);
        assert_eq!(probe(&mut t, t0, 1000, 3000, |_| false), Some((1350, LinkState::Down)));
        // Replies again from 3000 ms: holding, then up 1000 ms later.
        assert_eq!(probe(&mut t, t0, 3000, 3050, |_| true), None);
        assert_eq!(t.state(), LinkState::Holding);
        assert_eq!(probe(&mut t, t0, 3050, 5000, |_| true), Some((4000, LinkState::Up)));
    }

    #[test]
    fn a_stalled_prober_does_not_take_its_pause_for_a_dead_link() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(&settings(), t0);
        assert_eq!(probe(&mut t, t0, 0, 1000, |_| true), None);
        // The process sleeps 2 s after one probe, whose reply is read late.
        t.sent();
        assert_eq!(t.tick(ms(3000)), None);
        t.reply(ms(3000), true);
        assert_eq!(probe(&mut t, t0, 3050, 4000, |_| true), None);
        assert_eq!(t.state(), LinkState::Up);
    }

    #[test]
    fn a_link_that_never_answered_is_left_up() {
        let t0 = Instant::now();
        let mut t = Tracker::new(&settings(), t0);
        assert_eq!(probe(&mut t, t0, 0, 60_000, |_| false), None);
        assert_eq!(t.state(), LinkState::Up);
    }

    #[test]
    fn a_link_that_fails_again_while_held_starts_its_hold_down_anew() {
        let t0 = Instant::now();
        let mut t = Tracker::new(&settings(), t0);
        assert_eq!(probe(&mut t, t0, 0, 50, |_| true), None);
        assert_eq!(probe(&mut t, t0, 50, 500, |_| false), Some((400, LinkState::Down)));
        // Replies from 500 to 800, then silence: down again, without an event.
        assert_eq!(probe(&mut t, t0, 500, 850, |_| true), None);
        assert_eq!(t.state(), LinkState::Holding);
        assert_eq!(probe(&mut t, t0, 850, 2000, |_| false), None);
        assert_eq!(t.state(), LinkState::Down);
        // Replies from 2000: the hold-down counts from there.
        assert_eq!(probe(&mut t, t0, 2000, 4000, |_| true), Some((3000, LinkState::Up)));
    }

    #[test]
    fn a_link_cut_one_way_waits_longer_each_time_until_it_answers_over_itself() {
        let t0 = Instant::now();
        let mut t = Tracker::new(&settings(), t0);
        assert_eq!(probe(&mut t, t0, 0, 50, |_| true), None);
        let (mut down, _) = probe(&mut t, t0, 50, 1000, |_| false).unwrap();
        // Replies to the probes of the peer's mesh address (over the
        // detour) while out, none to those over the link while in: back
        // after 1 s, then 2 s, then 4 s.
        for hold in [1000, 2000, 4000] {
            let (up, state) = probe(&mut t, t0, down + 50, down + 20_000, |_| true).unwrap();
            assert_eq!((up - down - 50, state), (hold, LinkState::Up));
            let (again, state) = probe(&mut t, t0, up + 50, up + 1000, |_| false).unwrap();
            assert_eq!(state, LinkState::Down);
            down = again;
        }
        // Back after 8 s; answered over the link this time, so the next
        // failure (a cut of both ways, seconds later) is held 1 s again.
        let (up, _) = probe(&mut t, t0, down + 50, down + 20_000, |_| true).unwrap();
        assert_eq!(up - down - 50, 8000);
        assert_eq!(probe(&mut t, t0, up + 50, up + 3000, |_| true), None);
        let (down, _) = probe(&mut t, t0, up + 3000, up + 4000, |_| false).unwrap();
        let (up, _) = probe(&mut t, t0, down + 50, down + 20_000, |_| true).unwrap();
        assert_eq!(up - down - 50, 1000);
    }

    #[test]
    fn a_changed_plan_keeps_the_state_of_the_links_it_left_alone() {
        use hortus_core::keys::{private_key_from_bytes, public_key};
        let inventory = |b_seed: u8| {
            let mut text = String::new();
            for (id, name, seed) in [(0, "a", 1), (1, "b", b_seed), (2, "c", 3)] {
                let key = public_key(&private_key_from_bytes([seed; 32])).unwrap();
                text += &format!(
                    "[nodes.{name}]\nid = {id}\npublic_key = \"{key}\"\nendpoints = [\"192.0.2.{}\"]\n",
                    id + 1
                );
            }
            hortus_core::build_host_plan(&hortus_core::Inventory::from_toml_str(&text).unwrap(), "a").unwrap()
        };
        let t0 = Instant::now();
        let before = relinked(vec![], &inventory(2), t0);
        let mut old = before;
        for link in &mut old {
            link.tracker.reply(t0, true);
            link.tracker.tick(t0 + Duration::from_secs(1));
        }
        old.iter().for_each(|l| assert_eq!(l.tracker.state(), LinkState::Up));
        // Silent links go down once probes were sent.
        for link in &mut old {
            (0..8).for_each(|_| link.tracker.sent());
            assert_eq!(link.tracker.tick(t0 + Duration::from_secs(2)), Some(LinkState::Down));
        }
        // b's new key moves its link-local: that link starts anew, c's keeps its state.
        let after = relinked(old, &inventory(4), t0 + Duration::from_secs(3));
        let state = |name: &str| after.iter().find(|l| l.interface == name).unwrap().tracker.state();
        assert_eq!((state("wg-b"), state("wg-c")), (LinkState::Up, LinkState::Down));
    }

    #[test]
    fn only_a_fresh_state_file_holds_links_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(StateFile::held_out(&path, 100).is_empty(), "missing");
        let link = |interface: &str, state| ProbeReport { interface: interface.into(), state, loss_percent: 0.0 };
        let state = StateFile {
            unix_s: 100,
            links: vec![link("wg-a", LinkState::Up), link("wg-b", LinkState::Down), link("wg-c", LinkState::Holding)],
        };
        std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
        assert_eq!(StateFile::held_out(&path, 105), ["wg-b", "wg-c"]);
        assert!(StateFile::held_out(&path, 106).is_empty(), "stale: the prober is not running");
        std::fs::write(&path, "{").unwrap();
        assert!(StateFile::held_out(&path, 100).is_empty(), "unreadable");
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
