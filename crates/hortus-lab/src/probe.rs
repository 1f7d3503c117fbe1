//! Overlay reachability: pinging from one node's ULA to another's (or to
//! any address), and waiting until the whole mesh is connected.

use crate::error::{LabError, Result};
use crate::lab::Lab;
use hortus_status::watch::unix_ms;
use serde::Serialize;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The outcome of `ping` from one node's ULA to another's (or to an address).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PingResult {
    /// Source node.
    pub from: String,
    /// Destination node, or the address pinged.
    pub to: String,
    /// Echo requests sent.
    pub transmitted: u32,
    /// Replies received.
    pub received: u32,
    /// Minimum, average and maximum round trip in ms, when any reply came.
    pub rtt_ms: Option<(f64, f64, f64)>,
}

impl PingResult {
    /// Requests without a reply.
    pub fn lost(&self) -> u32 {
        self.transmitted.saturating_sub(self.received)
    }
}

/// Pings on their way ([`Lab::start_ping`]).
pub struct RunningPing {
    child: std::process::Child,
    from: String,
    to: String,
}

impl RunningPing {
    /// Waits for the last reply and returns the outcome.
    pub fn finish(self) -> Result<PingResult> {
        let output = self.child.wait_with_output().map_err(|e| LabError::Command {
            command: "ping".into(),
            status: format!("cannot wait: {e}"),
            stderr: String::new(),
        })?;
        let text = String::from_utf8_lossy(&output.stdout);
        parse_ping(&text, &self.from, &self.to).ok_or_else(|| LabError::Command {
            command: format!("ping {} -> {}", self.from, self.to),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Connectivity of the live nodes at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Connectivity {
    /// Ordered pairs (from, to) with no daemon-installed route.
    pub missing_routes: Vec<(String, String)>,
    /// Ordered pairs whose single ping got no reply.
    pub failed_pings: Vec<(String, String)>,
}

impl Connectivity {
    /// Every pair routed by Babel and answering.
    pub fn full(&self) -> bool {
        self.missing_routes.is_empty() && self.failed_pings.is_empty()
    }
}

impl Lab {
    /// Pings `to` from node `from` `count` times every `interval` s. `to` is
    /// a node (its ULA, from `from`'s ULA) or an IP address: IPv6 from
    /// `from`'s ULA; IPv4 from `from`'s IPv4 overlay address when the mesh
    /// has one, else from the address the kernel picks.
    pub fn ping(&self, from: &str, to: &str, count: u32, interval: f64) -> Result<PingResult> {
        self.start_ping(from, to, count, interval)?.finish()
    }

    /// Starts what [`Lab::ping`] runs and returns at once, so the lab can
    /// be changed (a cut, a kill) while the pings flow.
    pub fn start_ping(&self, from: &str, to: &str, count: u32, interval: f64) -> Result<RunningPing> {
        if count == 0 || !(0.002..=60.0).contains(&interval) {
            return Err(LabError::Usage("ping needs --count >= 1 and --interval within 0.002..=60 s".into()));
        }
        let mut cmd = self.ping_command(from, to)?;
        cmd.args(["-q", "-c", &count.to_string(), "-i", &format!("{interval}")]);
        let child = cmd.spawn().map_err(|e| LabError::Command {
            command: "ping".into(),
            status: format!("cannot start: {e}"),
            stderr: String::new(),
        })?;
        Ok(RunningPing { child, from: from.into(), to: to.into() })
    }

    /// What `ping` sends to for `to`: a node's ULA, or `to` read as an address.
    fn ping_target(&self, to: &str) -> Result<IpAddr> {
        if let Some(node) = self.plan.nodes.get(to) {
            return Ok(IpAddr::V6(node.address));
        }
        to.parse::<IpAddr>().map_err(|_| {
            LabError::Usage(format!(
                "ping: `{to}` is neither a node of the lab (known: {}) nor an IP address",
                self.plan.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// `ip netns exec NS ping -6|-4 -n -W 1 [-I SOURCE] TARGET`, without count.
    fn ping_command(&self, from: &str, to: &str) -> Result<Command> {
        let node = self.node_plan(from)?;
        let target = self.ping_target(to)?;
        let (family, source) = match target {
            IpAddr::V6(_) => ("-6", Some(IpAddr::V6(node.address))),
            IpAddr::V4(_) => ("-4", node.ipv4_address.map(IpAddr::V4)),
        };
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.state.node_ns(from), "ping", family, "-n", "-W", "1"]);
        if let Some(source) = source {
            cmd.args(["-I", &source.to_string()]);
        }
        cmd.arg(target.to_string());
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        Ok(cmd)
    }

    /// Checks every ordered pair of live nodes once: a route installed by
    /// the routing daemon, and one ping (all pings run in parallel).
    pub fn connectivity(&self) -> Result<Connectivity> {
        let live = self.live_nodes();
        let mut result = Connectivity::default();
        for from in &live {
            let routes = self.routes(from)?;
            for to in live.iter().filter(|t| *t != from) {
                let address = self.plan.nodes[to].address;
                if !routes.get(&address).is_some_and(|r| r.from_daemon()) {
                    result.missing_routes.push((from.clone(), to.clone()));
                }
            }
        }
        let mut children = vec![];
        for from in &live {
            for to in live.iter().filter(|t| *t != from) {
                let mut cmd = self.ping_command(from, to)?;
                cmd.args(["-q", "-c", "1"]).stdout(Stdio::null()).stderr(Stdio::null());
                let child = cmd.spawn().map_err(|e| LabError::Command {
                    command: "ping".into(),
                    status: format!("cannot start: {e}"),
                    stderr: String::new(),
                })?;
                children.push((from.clone(), to.clone(), child));
            }
        }
        for (from, to, mut child) in children {
            if !child.wait().is_ok_and(|s| s.success()) {
                result.failed_pings.push((from, to));
            }
        }
        Ok(result)
    }

    /// Time since the routing daemons were (last all) started.
    pub fn since_daemons_started(&self) -> Duration {
        let started = self.state.daemons_started_unix_ms.unwrap_or_else(unix_ms);
        Duration::from_millis(unix_ms().saturating_sub(started))
    }

    /// The last fault or repair and the time since it, if there was one
    /// (what `lab wait` counts from after `up`).
    pub fn since_last_event(&self) -> Option<(String, Duration)> {
        let event = self.state.last_event.as_ref()?;
        Some((event.what.clone(), Duration::from_millis(unix_ms().saturating_sub(event.unix_ms))))
    }

    /// Waits until [`Lab::connectivity`] is full; returns how long it took.
    pub fn wait_connected(&self, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        let deadline = start + timeout;
        loop {
            let c = self.connectivity()?;
            if c.full() {
                return Ok(start.elapsed());
            }
            if Instant::now() > deadline {
                let pairs =
                    |v: &[(String, String)]| v.iter().map(|(a, b)| format!("{a}->{b}")).collect::<Vec<_>>().join(" ");
                return Err(LabError::Timeout {
                    what: format!(
                        "full connectivity (no Babel route: [{}]; no ping reply: [{}])",
                        pairs(&c.missing_routes),
                        pairs(&c.failed_pings)
                    ),
                    seconds: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Reads ping's summary (`N packets transmitted, M received` and
/// `rtt min/avg/max/mdev = a/b/c/d ms`).
fn parse_ping(text: &str, from: &str, to: &str) -> Option<PingResult> {
    let summary = text.lines().find(|l| l.contains("packets transmitted"))?;
    let mut numbers = summary.split(',').map(|part| part.split_whitespace().next().and_then(|n| n.parse::<u32>().ok()));
    let transmitted = numbers.next()??;
    let received = numbers.next()??;
    let rtt_ms = text.lines().find(|l| l.starts_with("rtt ")).and_then(|l| {
        let values: Vec<f64> =
            l.split('=').nth(1)?.trim().trim_end_matches(" ms").split('/').filter_map(|v| v.parse().ok()).collect();
        Some((*values.first()?, *values.get(1)?, *values.get(2)?))
    });
    Some(PingResult { from: from.into(), to: to.into(), transmitted, received, rtt_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ping_summaries() {
        let ok = "--- fdcc::2 ping statistics ---\n10 packets transmitted, 8 received, +2 errors, 20% packet loss, time 1800ms\nrtt min/avg/max/mdev = 0.101/0.250/0.900/0.100 ms\n";
        let r = parse_ping(ok, "a", "b").unwrap();
        assert_eq!((r.transmitted, r.received, r.lost()), (10, 8, 2));
        assert_eq!(r.rtt_ms, Some((0.101, 0.25, 0.9)));
        let none = "3 packets transmitted, 0 received, 100% packet loss, time 2000ms\n";
        assert_eq!(parse_ping(none, "a", "b").unwrap().rtt_ms, None);
        assert!(parse_ping("ping: connect: Network is unreachable", "a", "b").is_none());
    }
}
