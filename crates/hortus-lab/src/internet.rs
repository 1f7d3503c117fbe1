//! The Internet host `<prefix>_inet`: an ordinary address
//! ([`INTERNET_ADDRESS`], 198.18.255.254) behind the core that every node
//! reaches over its uplink, through its NAT router and the censor as any
//! Internet address; and a packet capture there that tells who a packet
//! came from (the exit-node tests' "seen at the Internet host with the
//! exit's source address").
//!
//! The capture is `tcpdump -n -l --immediate-mode -Q in -i up0 FILTER` run
//! in the Internet host's namespace; its process is not in the lab state
//! (it belongs to the caller), but `down` kills whatever is left in the
//! lab's namespaces, so a forgotten capture goes with the lab.

use crate::error::{LabError, Result};
use crate::exec::Cmd;
use crate::lab::Lab;
pub use crate::underlay::INTERNET_ADDRESS;
use crate::underlay::UPLINK;
use std::io::{BufRead, BufReader, Read};
use std::net::Ipv4Addr;
use std::process::{Child, ChildStderr};
use std::time::Duration;

/// How long a packet may take from the wire to tcpdump's output.
const CAPTURE_SETTLE: Duration = Duration::from_millis(300);

/// A running capture of what reaches the Internet host ([`Lab::capture_internet`]).
#[derive(Debug)]
pub struct InternetCapture {
    child: Option<Child>,
    stderr: BufReader<ChildStderr>,
}

impl Lab {
    /// Starts capturing the IPv4 packets that arrive at the Internet host
    /// and match the pcap `filter` (e.g. `"icmp"`, `""` for all); returns
    /// once tcpdump listens. [`InternetCapture::sources`] stops it.
    pub fn capture_internet(&self, filter: &str) -> Result<InternetCapture> {
        let mut args = vec!["-n", "-l", "--immediate-mode", "-Q", "in", "-i", UPLINK];
        args.extend(filter.split_whitespace());
        let cmd = Cmd::new("tcpdump", args).in_ns(&self.internet_namespace());
        let mut child = cmd.spawn_piped()?;
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut seen = String::new();
        let mut listening = false;
        while !listening {
            let mut line = String::new();
            match stderr.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => listening = line.contains("listening on"),
            }
            seen += &line;
        }
        if listening {
            return Ok(InternetCapture { child: Some(child), stderr });
        }
        let _ = child.kill();
        let status = child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
        Err(LabError::Command { command: cmd.display(), status, stderr: seen.trim().into() })
    }
}

impl InternetCapture {
    /// Stops the capture; the source address of every packet it saw, in
    /// arrival order.
    pub fn sources(mut self) -> Result<Vec<Ipv4Addr>> {
        std::thread::sleep(CAPTURE_SETTLE);
        let mut child = self.child.take().expect("running until sources()");
        // SAFETY: signalling our own child, which has not been waited for.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let mut text = String::new();
        let read = child.stdout.take().map(|mut stdout| stdout.read_to_string(&mut text));
        let _ = child.wait();
        if let Some(Err(e)) = read {
            return Err(LabError::io("tcpdump stdout", e));
        }
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        Ok(text.lines().filter_map(source_of).collect())
    }
}

impl Drop for InternetCapture {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The source address of one line of `tcpdump -n` output
/// (`12:00:00.000000 IP 198.18.1.2 > 198.18.255.254: ICMP echo request, ...`,
/// or `IP 198.19.128.2.40000 > ...` with a port).
fn source_of(line: &str) -> Option<Ipv4Addr> {
    let mut words = line.split_whitespace().skip_while(|w| *w != "IP");
    words.next()?;
    let source = words.next()?;
    source.parse().ok().or_else(|| source.rsplit_once('.')?.0.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sources_of_tcpdump_lines() {
        let icmp = "10:20:30.123456 IP 198.18.1.2 > 198.18.255.254: ICMP echo request, id 7, seq 1, length 64";
        assert_eq!(source_of(icmp), Some(Ipv4Addr::new(198, 18, 1, 2)));
        let udp = "10:20:30.123456 IP 198.18.2.2.40001 > 198.18.255.254.53: UDP, length 20";
        assert_eq!(source_of(udp), Some(Ipv4Addr::new(198, 18, 2, 2)));
        assert_eq!(source_of("10:20:30.1 IP6 fe80::1 > ff02::1: ICMP6"), None);
        assert_eq!(source_of("tcpdump: verbose output suppressed"), None);
    }
}
