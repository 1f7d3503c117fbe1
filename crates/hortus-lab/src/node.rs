//! What runs on one node: its WireGuard interfaces (kernel or
//! wireguard-go) configured from the plan, its forwarders (crate::forwarders),
//! and its routing daemon with the config hortus renders.

use crate::error::{LabError, Result};
use crate::exec::{ip, Cmd};
use crate::lab::Lab;
use crate::network::{add_address, apply_sysctl};
use crate::process::{started_badly, ProcessKind};
use crate::state::WireGuardImpl;
use crate::tools;
use hortus_plan::Link;
use hortus_plan::RoutingDaemon;
use hortus_render::{babeld, bird};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a new wireguard-go may take to open its control socket.
const WIREGUARD_GO_START: Duration = Duration::from_secs(10);
/// Longest Unix socket path (`sun_path` holds 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

impl Lab {
    /// Creates `name`'s WireGuard interfaces (up, with their addresses, but
    /// no peer yet) and starts its forwarders. Peers come later
    /// ([`Lab::configure_peers`]): an interface with a peer starts a
    /// handshake at its first packet, which would be lost (and retried only
    /// 5 s later) while a forwarded link's forwarders are not connected yet.
    pub(crate) fn start_links(&mut self, name: &str) -> Result<()> {
        let links = self.node_plan(name)?.links.clone();
        for link in &links {
            self.create_interface(name, link)?;
            self.link_up(name, link).map_err(|e| self.wireguard_exited(name, link).unwrap_or(e))?;
        }
        // The plan's sysctls (forwarding, rp_filter on these interfaces),
        // as `hortus render --format sysctl` writes them for a host.
        apply_sysctl(&self.state.node_ns(name), &self.node_plan(name)?.sysctl)?;
        for link in &links {
            self.start_forwarder(name, link)?;
        }
        Ok(())
    }

    /// `wg set` on every link of `nodes` with the plan's settings, in two
    /// rounds: everything but keepalives first, then the keepalives. Setting
    /// a keepalive sends a packet at once, which starts a handshake; the
    /// peer must already know the sender, or the handshake is lost and
    /// retried only 5 s later.
    pub(crate) fn configure_peers(&self, nodes: &[String]) -> Result<()> {
        for name in nodes {
            for link in &self.node_plan(name)?.links {
                self.configure_peer(name, link)?;
            }
        }
        for name in nodes {
            for link in &self.node_plan(name)?.links {
                if let Some(keepalive) = link.keepalive {
                    let k = keepalive.to_string();
                    let args = ["set", &link.interface, "peer", &link.peer_public_key, "persistent-keepalive", &k];
                    self.wg(name, &args).run()?;
                }
            }
        }
        Ok(())
    }

    /// A `wg` command run in `name`'s namespace against its interfaces.
    pub fn wg(&self, name: &str, args: &[&str]) -> Cmd {
        let dir = self.dir.node(name).wireguard_dir();
        Cmd::new("wg", args).with_wireguard_dir(&dir).in_ns(&self.state.node_ns(name))
    }

    /// Runs `argv` in `name`'s namespace with the node's WireGuard socket
    /// directory on `/run/wireguard` (so `wg show` sees its interfaces),
    /// with the caller's stdin, stdout and stderr; returns how the command
    /// ended. `hortus lab exec`.
    pub fn exec(&self, name: &str, argv: &[String]) -> Result<std::process::ExitStatus> {
        let ns = self.namespace(name)?;
        let (program, args) =
            argv.split_first().ok_or_else(|| LabError::Usage("exec needs a command to run".into()))?;
        Cmd::new(program, args).with_wireguard_dir(&self.dir.node(name).wireguard_dir()).in_ns(&ns).run_inherited()
    }

    fn create_interface(&mut self, name: &str, link: &Link) -> Result<()> {
        let ns = self.state.node_ns(name);
        let iface = link.interface.as_str();
        match self.state.wireguard {
            WireGuardImpl::Kernel => ip(&ns, &["link", "add", iface, "type", "wireguard"]).map(drop),
            WireGuardImpl::Userspace => {
                let node_dir = self.dir.node(name);
                let wg_dir = node_dir.wireguard_dir();
                let log = node_dir.file(&format!("wireguard-{iface}.log"));
                // A killed wireguard-go leaves its socket behind; waiting for
                // the new one must not find the old.
                let socket = wg_dir.join(format!("{iface}.sock"));
                let _ = std::fs::remove_file(&socket);
                let cmd = Cmd::new("env", ["LOG_LEVEL=error", "wireguard-go", "-f", iface])
                    .with_wireguard_dir(&wg_dir)
                    .in_ns(&ns);
                let pid = cmd.spawn_logged(&log)?;
                self.record(name, ProcessKind::WireGuard { interface: iface.into() }, pid, &log)?;
                wait_for_file(&socket, WIREGUARD_GO_START)
                    .map_err(|_| started_badly(&format!("wireguard-go for `{iface}` on `{name}`"), &log))
            }
        }
    }

    /// When `link`'s wireguard-go has exited (it may create its interface
    /// and socket and still fail), the error naming it with its log.
    fn wireguard_exited(&self, name: &str, link: &Link) -> Option<LabError> {
        let kind = ProcessKind::WireGuard { interface: link.interface.clone() };
        let process = self.state.processes.iter().rev().find(|p| p.node == name && p.kind == kind)?;
        if process.alive() {
            return None;
        }
        let log = self.dir.node(name).file(&format!("wireguard-{}.log", link.interface));
        Some(started_badly(&format!("wireguard-go for `{}` on `{name}`", link.interface), &log))
    }

    /// `wg set` with the plan's settings for `link`, but the keepalive.
    fn configure_peer(&self, name: &str, link: &Link) -> Result<()> {
        let key = self.dir.node(name).private_key().to_string_lossy().into_owned();
        let port = link.port.to_string();
        let mut args = vec!["set", link.interface.as_str(), "private-key", key.as_str()];
        if link.listen {
            args.extend(["listen-port", port.as_str()]);
        }
        let node = self.node_plan(name)?;
        let mark = node.policy_routing.as_ref().and_then(|p| p.wireguard_mark).map(|m| m.to_string());
        if let Some(mark) = &mark {
            args.extend(["fwmark", mark.as_str()]);
        }
        args.extend(["peer", link.peer_public_key.as_str()]);
        let endpoint = link.endpoint().map(|e| e.socket());
        if let Some(endpoint) = &endpoint {
            args.extend(["endpoint", endpoint.as_str()]);
        }
        args.extend(["allowed-ips", "::/0,0.0.0.0/0"]);
        self.wg(name, &args).run().map(drop)
    }

    /// MTU, no automatic addresses, up, then the rendered addresses (again
    /// after any down: a link going down loses its IPv6 addresses).
    pub(crate) fn link_up(&self, name: &str, link: &Link) -> Result<()> {
        let ns = self.state.node_ns(name);
        let iface = link.interface.as_str();
        ip(&ns, &["link", "set", iface, "mtu", &link.mtu.to_string()])?;
        ip(&ns, &["link", "set", iface, "addrgenmode", "none"])?;
        ip(&ns, &["link", "set", iface, "up"])?;
        for address in &link.addresses {
            add_address(&ns, iface, address)?;
        }
        Ok(())
    }

    /// Renders `name`'s routing daemon config and starts the daemon.
    pub(crate) fn start_daemon(&mut self, name: &str) -> Result<()> {
        let host = self.plan.host(name)?;
        let node_dir = self.dir.node(name);
        let render_err = |source| LabError::Render { node: name.into(), source };
        let log = node_dir.file(&format!("{}.log", self.state.daemon.program()));
        let ns = self.state.node_ns(name);
        let cmd = match self.state.daemon {
            RoutingDaemon::Bird => {
                let opts = bird::Options { extra_config: Some("log stderr all;\n".into()), include: None };
                bird::validate(&opts).map_err(render_err)?;
                let conf = node_dir.file("bird.conf");
                write_file(&conf, &bird::render(&host, &opts))?;
                let socket = node_dir.file("bird.ctl");
                check_socket_path(&socket)?;
                let (conf, socket) = (conf.to_string_lossy().into_owned(), socket.to_string_lossy().into_owned());
                Cmd::new(&tools::bird(), ["-p", "-c", &conf]).run()?;
                let pid_file = node_dir.file("bird.pid").to_string_lossy().into_owned();
                Cmd::new(&tools::bird(), ["-f", "-c", &conf, "-s", &socket, "-P", &pid_file]).in_ns(&ns)
            }
            RoutingDaemon::Babeld => {
                let file = |n: &str| node_dir.file(n).to_string_lossy().into_owned();
                // `hortus status` reads babeld's view over its local socket.
                let socket = node_dir.file("babeld.sock");
                check_socket_path(&socket)?;
                let opts = babeld::Options {
                    state_file: file("babeld.state"),
                    pid_file: file("babeld.pid"),
                    local_path: Some(socket.to_string_lossy().into_owned()),
                    extra_config: None,
                };
                babeld::validate(&host, &opts).map_err(render_err)?;
                let conf = node_dir.file("babeld.conf");
                write_file(&conf, &babeld::render(&host, &opts))?;
                // babeld refuses to start over a pid file or a local socket
                // left by a killed instance.
                let _ = std::fs::remove_file(&opts.pid_file);
                let _ = std::fs::remove_file(&socket);
                // What `hortus babeld-seqno` does before babeld starts on a
                // host: a babeld revived after `lab kill` is believed at once.
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                hortus_host::babeld_seqno::seed(std::path::Path::new(&opts.state_file), now)
                    .map_err(|e| LabError::io(&opts.state_file, e))?;
                Cmd::new(&tools::babeld(), ["-c", &conf.to_string_lossy()]).in_ns(&ns)
            }
        };
        let pid = cmd.spawn_logged(&log)?;
        self.record(name, ProcessKind::Routing, pid, &log)?;
        self.start_failover(name)
    }

    /// Starts `hortus failover` for `name` when the plan probes links
    /// (BIRD), its state in the node's `failover.json`.
    fn start_failover(&mut self, name: &str) -> Result<()> {
        if !self.plan.mesh.failover.probe {
            return Ok(());
        }
        let state = self.dir.node(name).file("failover.json").to_string_lossy().into_owned();
        self.start_hortus(name, ProcessKind::Failover, "failover", &["--state", &state])
    }

    /// Starts one of hortus' host services on `name` as a host runs it:
    /// `hortus SUBCOMMAND --plan PLAN --host NAME EXTRA...` in the node's
    /// namespace, with its WireGuard socket directory, logged to the node's
    /// `SUBCOMMAND.log`, recorded as `kind`.
    pub(crate) fn start_hortus(
        &mut self,
        name: &str,
        kind: ProcessKind,
        subcommand: &str,
        extra: &[&str],
    ) -> Result<()> {
        let node = self.dir.node(name);
        let log = node.file(&format!("{subcommand}.log"));
        let plan = self.dir.plan_file().to_string_lossy().into_owned();
        let args: Vec<&str> =
            [subcommand, "--plan", &plan, "--host", name].into_iter().chain(extra.iter().copied()).collect();
        let exe = self.state.hortus_exe.to_string_lossy().into_owned();
        let pid = Cmd::new(&exe, args)
            .with_wireguard_dir(&node.wireguard_dir())
            .in_ns(&self.state.node_ns(name))
            .spawn_logged(&log)?;
        self.record(name, kind, pid, &log)
    }

    /// Checks that `name`'s routing daemon still runs a moment after start
    /// (it exits at once on a config it rejects).
    pub(crate) fn check_daemon_running(&self, name: &str) -> Result<()> {
        let running =
            self.state.processes.iter().any(|p| p.node == name && p.kind == ProcessKind::Routing && p.alive());
        if running {
            return Ok(());
        }
        let program = self.state.daemon.program();
        let log = self.dir.node(name).file(&format!("{program}.log"));
        Err(started_badly(&format!("{program} on `{name}`"), &log))
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    crate::state::write_atomic(path, text.as_bytes(), 0o644)
}

fn check_socket_path(path: &Path) -> Result<()> {
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(LabError::Usage(format!(
            "control socket path {} is {len} bytes, over the Unix limit of {MAX_SOCKET_PATH}; use a shorter --state-dir",
            path.display()
        )));
    }
    Ok(())
}

fn wait_for_file(path: &Path, timeout: Duration) -> std::result::Result<(), ()> {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        if Instant::now() > deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
