//! Processes the lab starts, identified by PID *and* start time so a reused
//! PID is never signalled.

use crate::error::LabError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a lab process is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProcessKind {
    /// wireguard-go for one interface.
    WireGuard {
        /// Interface name.
        interface: String,
    },
    /// The node's routing daemon (BIRD or babeld).
    Routing,
    /// `hortus endpoints`, keeping the node's dialled links on a working endpoint.
    Endpoints,
    /// `hortus failover`, taking dead links out of BIRD's Babel.
    Failover,
    /// The forwarder (phantun, or the lab's relay) of the link to `peer`.
    Forwarder {
        /// Peer name.
        peer: String,
    },
}

/// A process the lab started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Node the process belongs to.
    pub node: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: ProcessKind,
    /// Process id.
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_time: u64,
}

impl ProcessRecord {
    /// Records the running process `pid`; `None` when it already exited.
    pub fn new(node: &str, kind: ProcessKind, pid: u32) -> Option<ProcessRecord> {
        let start_time = stat(pid)?.start_time;
        Some(ProcessRecord { node: node.into(), kind, pid, start_time })
    }

    /// Whether the recorded process is still running (an exited process
    /// nobody reaped yet counts as gone).
    pub fn alive(&self) -> bool {
        stat(self.pid).is_some_and(|s| s.start_time == self.start_time && !matches!(s.state, 'Z' | 'X' | 'x'))
    }

    /// Sends `signal` to the process if it is still the recorded one.
    pub fn signal(&self, signal: i32) {
        if self.alive() {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(self.pid as libc::pid_t, signal);
            }
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; waits until the process is gone.
    /// Returns whether it is gone.
    pub fn stop(&self, grace: Duration) -> bool {
        self.signal(libc::SIGTERM);
        if !wait_gone(self, grace) {
            self.signal(libc::SIGKILL);
            wait_gone(self, Duration::from_secs(2));
        }
        reap(self.pid);
        !self.alive()
    }

    /// SIGKILL (a crash: no goodbye packets); waits until the process is gone.
    pub fn crash(&self) -> bool {
        self.signal(libc::SIGKILL);
        wait_gone(self, Duration::from_secs(2));
        reap(self.pid);
        !self.alive()
    }
}

/// A process that did not come up, with the end of its log.
pub(crate) fn started_badly(what: &str, log: &Path) -> LabError {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(8).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    LabError::Command {
        command: what.into(),
        status: "did not start".into(),
        stderr: format!("{} (log {}):\n{}", "see the log", log.display(), tail.join("\n")),
    }
}

fn wait_gone(record: &ProcessRecord, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while record.alive() {
        reap(record.pid);
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Collects the exit status of `pid` if it is our exited child, so it does
/// not linger as a zombie.
fn reap(pid: u32) {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG on a PID that may not be our child only
    // returns ECHILD; `status` is a valid out pointer.
    unsafe {
        libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG);
    }
}

struct Stat {
    state: char,
    start_time: u64,
}

/// State and start time from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Stat> {
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); start time is field 22.
    Some(Stat { state: fields.first()?.chars().next()?, start_time: fields.get(19)?.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_name() {
        let text = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        let s = parse_stat(text).unwrap();
        assert_eq!((s.state, s.start_time), ('S', 98765));
    }

    #[test]
    fn tracks_and_stops_a_real_process() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let record = ProcessRecord::new("n", ProcessKind::Routing, child.id()).unwrap();
        assert!(record.alive());
        let stale = ProcessRecord { start_time: record.start_time + 1, ..record.clone() };
        assert!(!stale.alive(), "a different start time is a different process");
        assert!(record.stop(Duration::from_secs(2)));
        assert!(!record.alive());
        // `stop` reaped its child: no zombie is left to collect.
        assert!(child.try_wait().is_err());
    }
}
