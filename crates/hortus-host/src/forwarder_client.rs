//! `hortus forwarder-client`: runs a forwarder client (phantun) whose
//! remote is a DNS name with that name's current address. phantun resolves
//! `--remote` once, when it starts, so a peer whose address changes (a home
//! server on DDNS, `hortus lab move`) would stay lost until someone
//! restarted it. This resolves the name itself (only this host's families,
//! the preferred one first, as `hortus endpoints` does), starts the client
//! with an address, resolves the name again every interval and, when the
//! address in use is no longer one the name gives, restarts the client with
//! the new one. An address the name still gives is kept: a working link is
//! never touched. The client is killed when this process dies (`PR_SET_PDEATHSIG`);
//! when the client exits, so does this process, with its status, for the
//! service manager to restart both.

use crate::endpoints::{expand, Resolve};
use hortus_plan::{Dial, Host, IpFamily, Underlay};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// The flag whose value is the client's remote (phantun's `--remote`).
pub const REMOTE_FLAG: &str = "--remote";

/// How long a client may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A client's command line whose [`REMOTE_FLAG`] value is `name:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCommand {
    argv: Vec<String>,
    remote_at: usize,
    remote: Dial,
}

impl ClientCommand {
    /// The program and its arguments, one of them `--remote NAME:PORT`.
    /// `Err` says what is wrong (no program, no `--remote`, no port, an
    /// address where a name belongs).
    pub fn parse(argv: &[String]) -> Result<ClientCommand, String> {
        if argv.is_empty() {
            return Err("no client command given".into());
        }
        let flag = argv
            .iter()
            .position(|a| a == REMOTE_FLAG)
            .ok_or_else(|| format!("the client command has no `{REMOTE_FLAG}`"))?;
        let remote_at = flag + 1;
        let value = argv.get(remote_at).ok_or_else(|| format!("`{REMOTE_FLAG}` has no value"))?;
        let (name, port) =
            value.rsplit_once(':').ok_or_else(|| format!("`{REMOTE_FLAG} {value}`: expected NAME:PORT"))?;
        let port: u16 = port.parse().map_err(|_| format!("`{REMOTE_FLAG} {value}`: `{port}` is not a port"))?;
        if name.is_empty() || name.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok() {
            return Err(format!("`{REMOTE_FLAG} {value}`: not a DNS name (run the client itself)"));
        }
        Ok(ClientCommand { argv: argv.to_vec(), remote_at, remote: Host::Dns(name.into()).with_port(port) })
    }

    /// The remote's name.
    pub fn name(&self) -> String {
        self.remote.host.to_string()
    }

    /// The command line with the remote replaced by `address`.
    pub fn with_address(&self, address: SocketAddr) -> Vec<String> {
        let mut argv = self.argv.clone();
        argv[self.remote_at] = address.to_string();
        argv
    }
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The client started, dialling `address`.
    Started {
        /// The name.
        name: String,
        /// Its address the client dials.
        address: SocketAddr,
    },
    /// The name no longer gives the address in use: the client restarted.
    Moved {
        /// The name.
        name: String,
        /// The address it dialled.
        from: SocketAddr,
        /// The address it dials now.
        to: SocketAddr,
    },
    /// The name gave no address of this host's families; tried again next pass.
    Unresolved {
        /// The name.
        name: String,
        /// Why.
        error: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Started { name, address } => write!(f, "{name} is {address}: client started"),
            Event::Moved { name, from, to } => {
                write!(f, "{name} no longer gives {from}: client restarted, remote {from} -> {to}")
            }
            Event::Unresolved { name, error } => {
                write!(f, "{name} gives no usable address ({error}); tried again next time")
            }
        }
    }
}

/// One client kept on its remote name's current address.
pub struct Supervisor {
    command: ClientCommand,
    underlay: Underlay,
    prefer: IpFamily,
    running: Option<(Child, SocketAddr)>,
}

impl Supervisor {
    /// A supervisor of `command` for a host with `underlay`, preferring
    /// `prefer` (the plan's `node.underlay` and `mesh.endpoints.prefer`).
    pub fn new(command: ClientCommand, underlay: Underlay, prefer: IpFamily) -> Supervisor {
        Supervisor { command, underlay, prefer, running: None }
    }

    /// The process id of the running client.
    pub fn client_pid(&self) -> Option<u32> {
        self.running.as_ref().map(|(child, _)| child.id())
    }

    /// Resolves the name and starts the client, or restarts it when the
    /// address in use is no longer among the name's. `Err` only when the
    /// client cannot be started.
    pub fn step(&mut self, resolver: &impl Resolve) -> io::Result<Vec<Event>> {
        let name = self.command.name();
        let (addresses, unresolved) =
            expand(std::slice::from_ref(&self.command.remote), self.underlay, self.prefer, resolver);
        let mut events: Vec<Event> =
            unresolved.into_iter().map(|(name, error)| Event::Unresolved { name, error }).collect();
        let Some(&first) = addresses.first() else { return Ok(events) };
        match self.running.as_ref().map(|(_, address)| *address) {
            Some(current) if addresses.contains(&current) => {}
            Some(current) => {
                self.stop();
                self.start(first)?;
                events.push(Event::Moved { name, from: current, to: first });
            }
            None => {
                self.start(first)?;
                events.push(Event::Started { name, address: first });
            }
        }
        Ok(events)
    }

    /// Waits up to `timeout`; the client's exit status if it exited.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((child, _)) = self.running.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.running = None;
                    return Ok(Some(status));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(left.min(Duration::from_millis(200)));
        }
    }

    fn start(&mut self, address: SocketAddr) -> io::Result<()> {
        let argv = self.command.with_address(address);
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", argv[0])))?;
        self.running = Some((child, address));
        Ok(())
    }

    /// SIGTERM, then SIGKILL after [`STOP_GRACE`].
    fn stop(&mut self) {
        let Some((mut child, _)) = self.running.take() else { return };
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn argv(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    /// A name whose addresses the test sets.
    struct Names(RefCell<Vec<SocketAddr>>);

    impl Resolve for Names {
        fn resolve(&self, name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
            assert_eq!(name, "peer.example");
            let found: Vec<SocketAddr> = self.0.borrow().iter().map(|a| SocketAddr::new(a.ip(), port)).collect();
            if found.is_empty() {
                return Err(io::Error::other("no such name"));
            }
            Ok(found)
        }
    }

    #[test]
    fn the_command_needs_a_remote_name_with_a_port() {
        let ok = ClientCommand::parse(&argv("client --local 127.0.0.1:5 --remote peer.example:51820 --tun t")).unwrap();
        assert_eq!(ok.name(), "peer.example");
        assert_eq!(
            ok.with_address("[2001:db8::1]:51820".parse().unwrap()).join(" "),
            "client --local 127.0.0.1:5 --remote [2001:db8::1]:51820 --tun t"
        );
        for (bad, why) in [
            ("client --local 127.0.0.1:5", "has no `--remote`"),
            ("client --remote", "has no value"),
            ("client --remote peer.example", "expected NAME:PORT"),
            ("client --remote peer.example:x", "`x` is not a port"),
            ("client --remote 192.0.2.1:5", "not a DNS name"),
            ("client --remote [2001:db8::1]:5", "not a DNS name"),
        ] {
            let error = ClientCommand::parse(&argv(bad)).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
        assert!(ClientCommand::parse(&[]).is_err());
    }

    /// A real child process: started on the name's address, kept while the
    /// name still gives it, restarted when the name moves, never started
    /// while the name gives nothing of this host's families.
    #[test]
    fn the_client_follows_its_name_and_only_then() {
        let dir = std::env::temp_dir().join(format!("hortus-forwarder-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let starts = dir.join("starts");
        // Each start appends its arguments, then sleeps.
        let script = format!("echo \"$@\" >> {}; exec sleep 60", starts.display());
        let started = || std::fs::read_to_string(&starts).unwrap_or_default();
        let command = ClientCommand::parse(&[
            "/bin/sh".into(),
            "-c".into(),
            script,
            "sh".into(),
            REMOTE_FLAG.into(),
            "peer.example:7000".into(),
        ])
        .unwrap();
        let names = Names(RefCell::new(vec![]));
        let mut supervisor = Supervisor::new(command, Underlay::Ipv4, IpFamily::Ipv6);

        let events = supervisor.step(&names).unwrap();
        assert!(matches!(&events[..], [Event::Unresolved { .. }]), "{events:?}");
        assert_eq!(supervisor.client_pid(), None);

        // Only IPv6: nothing of this IPv4-only host's family.
        *names.0.borrow_mut() = vec!["[2001:db8::1]:1".parse().unwrap()];
        let events = supervisor.step(&names).unwrap();
        assert!(matches!(&events[..], [Event::Unresolved { error, .. }] if error == "no ipv4 address"), "{events:?}");

        *names.0.borrow_mut() = vec!["[2001:db8::1]:1".parse().unwrap(), "192.0.2.1:1".parse().unwrap()];
        let events = supervisor.step(&names).unwrap();
        let first = supervisor.client_pid().expect("started");
        assert!(matches!(&events[..], [Event::Started { address, .. }] if address.to_string() == "192.0.2.1:7000"));
        // The child runs with the address in place of the name.
        let deadline = Instant::now() + Duration::from_secs(10);
        while started().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(started(), "--remote 192.0.2.1:7000\n");

        // A second address besides the one in use: nothing changes.
        names.0.borrow_mut().push("192.0.2.9:1".parse().unwrap());
        assert_eq!(supervisor.step(&names).unwrap(), vec![]);
        assert_eq!(supervisor.client_pid(), Some(first));

        // The name moves: the old client goes, a new one dials the new address.
        *names.0.borrow_mut() = vec!["192.0.2.9:1".parse().unwrap()];
        let events = supervisor.step(&names).unwrap();
        let second = supervisor.client_pid().expect("restarted");
        assert_ne!(first, second);
        assert_eq!(
            events,
            vec![Event::Moved {
                name: "peer.example".into(),
                from: "192.0.2.1:7000".parse().unwrap(),
                to: "192.0.2.9:7000".parse().unwrap()
            }]
        );
        assert!(!std::path::Path::new(&format!("/proc/{first}")).exists(), "old client reaped");
        let deadline = Instant::now() + Duration::from_secs(10);
        while started().lines().count() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(started(), "--remote 192.0.2.1:7000\n--remote 192.0.2.9:7000\n");

        // A name that stops resolving leaves the client alone.
        names.0.borrow_mut().clear();
        let events = supervisor.step(&names).unwrap();
        assert!(matches!(&events[..], [Event::Unresolved { .. }]), "{events:?}");
        assert_eq!(supervisor.client_pid(), Some(second));

        // The client exiting ends the wait with its status.
        // SAFETY: our own child.
        unsafe { libc::kill(second as libc::pid_t, libc::SIGTERM) };
        let status = supervisor.wait(Duration::from_secs(10)).unwrap().expect("exited");
        assert!(!status.success());
        assert_eq!(supervisor.client_pid(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
