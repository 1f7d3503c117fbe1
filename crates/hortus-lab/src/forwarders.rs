//! Forwarders on the lab's forwarded links.
//!
//! * `mesh.forwarder = "phantun"` (the default): the real phantun client and
//!   server, one process and one TUN device per link end, with the
//!   nftables NAT table `hortus-render` writes for real hosts
//!   ([`hortus_render::forwarder::nftables`]), across the censor that drops
//!   UDP and passes TCP; a client dialling a DNS name runs under `hortus
//!   forwarder-client`, as the rendered unit has it, and follows the name
//!   when the node it dials moves (`hortus lab move`).
//! * `mesh.forwarder = "none"` (the operator brings the forwarder): the lab
//!   stands in with its own framed UDP-over-TCP relay ([`crate::relay`],
//!   `hortus lab relay`), so such a plan can still be tried in the lab.
//!
//! A forwarder process that dies (or is killed with
//! [`Lab::kill_forwarder`]) takes its link down until [`Lab::revive`]
//! starts it again.

use crate::error::{LabError, Result};
use crate::exec::{ip, nft, Cmd};
use crate::lab::Lab;
use crate::process::{started_badly, ProcessKind};
use crate::tools;
use hortus_plan::Link;
use hortus_plan::{Forwarder, Transport};
use hortus_render::forwarder::{self, nftables, phantun_instances, PHANTUN_ENVIRONMENT};
use std::time::{Duration, Instant};

/// How long a new phantun may take to create its TUN device.
const PHANTUN_START: Duration = Duration::from_secs(10);

impl Lab {
    /// Loads `name`'s forwarder NAT table, when it runs phantun.
    pub(crate) fn load_forwarder_rules(&self, name: &str) -> Result<()> {
        match nftables(&self.plan.host(name)?) {
            Some(rules) => nft(&self.state.node_ns(name), rules),
            None => Ok(()),
        }
    }

    /// Starts the forwarder of `name`'s end of `link`, if it is forwarded.
    pub(crate) fn start_forwarder(&mut self, name: &str, link: &Link) -> Result<()> {
        match link.forwarder.as_ref().map(Forwarder::transport) {
            None => Ok(()),
            Some(Transport::Phantun) => self.start_phantun(name, link),
            Some(Transport::External) => self.start_relay(name, link),
        }
    }

    /// Kills (SIGKILL, like a crash) the forwarder of `node`'s link to `peer`.
    pub fn kill_forwarder(&mut self, node: &str, peer: &str) -> Result<()> {
        let link = self.link(node, peer)?;
        if link.forwarder.is_none() {
            return Err(LabError::Usage(format!("the link {node}–{peer} is direct: it has no forwarder")));
        }
        let running = self.forwarder_process(node, peer).ok_or_else(|| {
            LabError::Usage(format!("the forwarder of {node}'s link to {peer} is not running; revive {node}"))
        })?;
        let record = self.state.processes.remove(running);
        self.save()?;
        if record.crash() {
            Ok(())
        } else {
            Err(LabError::Usage(format!("forwarder process {} survived SIGKILL", record.pid)))
        }
    }

    /// Starts every forwarder of live node `name` that is not running.
    /// Returns how many were started.
    pub(crate) fn revive_forwarders(&mut self, name: &str) -> Result<usize> {
        let links = self.node_plan(name)?.links.clone();
        let mut started = 0;
        for link in links.iter().filter(|l| l.forwarder.is_some()) {
            if self.forwarder_process(name, &link.peer).is_some() {
                continue;
            }
            self.state.processes.retain(|p| !(p.node == name && p.kind == forwarder_kind(&link.peer)));
            self.start_forwarder(name, link)?;
            started += 1;
        }
        Ok(started)
    }

    /// Index of the running forwarder process of `node`'s link to `peer`.
    fn forwarder_process(&self, node: &str, peer: &str) -> Option<usize> {
        let kind = forwarder_kind(peer);
        self.state.processes.iter().position(|p| p.node == node && p.kind == kind && p.alive())
    }

    /// Starts phantun's client or server for `link` and waits for its TUN.
    fn start_phantun(&mut self, name: &str, link: &Link) -> Result<()> {
        let host = self.plan.host(name)?;
        let instance = phantun_instances(&host)
            .into_iter()
            .find(|i| i.link.peer == link.peer)
            .ok_or_else(|| LabError::Usage(format!("{name}'s link to {} has no phantun TUN in the plan", link.peer)))?;
        // The command a host's unit runs (a client dialling a name under
        // `hortus forwarder-client`), with the lab's binaries.
        let opts = forwarder::Options {
            phantun_client: tools::phantun_client(),
            phantun_server: tools::phantun_server(),
            hortus: self.state.hortus_exe.to_string_lossy().into_owned(),
            ..forwarder::Options::default()
        };
        let argv: Vec<String> =
            PHANTUN_ENVIRONMENT.iter().map(|(k, v)| format!("{k}={v}")).chain(instance.command(&host, &opts)).collect();
        let tun = instance.tun.name.clone();
        let ns = self.state.node_ns(name);
        let log = self.dir.node(name).file(&format!("phantun-{}.log", link.peer));
        let pid = Cmd::new("env", argv).in_ns(&ns).spawn_logged(&log)?;
        self.record(name, forwarder_kind(&link.peer), pid, &log)?;
        let deadline = Instant::now() + PHANTUN_START;
        while ip(&ns, &["link", "show", &tun]).is_err() {
            if Instant::now() > deadline {
                return Err(started_badly(&format!("phantun for {name}'s link to {}", link.peer), &log));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Starts the lab's stand-in relay (`hortus lab relay`) for an
    /// operator-provided forwarder.
    fn start_relay(&mut self, name: &str, link: &Link) -> Result<()> {
        let Some(forwarder) = &link.forwarder else {
            return Ok(());
        };
        let args: Vec<String> = match forwarder {
            Forwarder::Client { listen, remote, .. } => {
                ["lab", "relay", "client", "--listen", listen, "--remote", &remote.socket()].map(String::from).into()
            }
            Forwarder::Server { port, deliver, .. } => {
                ["lab", "relay", "server", "--port", &port.to_string(), "--deliver", deliver].map(String::from).into()
            }
        };
        let exe = self.state.hortus_exe.to_string_lossy().into_owned();
        let log = self.dir.node(name).file(&format!("relay-{}.log", link.peer));
        let pid = Cmd::new(&exe, args).in_ns(&self.state.node_ns(name)).spawn_logged(&log)?;
        self.record(name, forwarder_kind(&link.peer), pid, &log)
    }
}

fn forwarder_kind(peer: &str) -> ProcessKind {
    ProcessKind::Forwarder { peer: peer.into() }
}
