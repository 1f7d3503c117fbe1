//! Breaking things on purpose: cutting and healing links, killing and
//! reviving nodes.
//!
//! * A cut is one-sided, in A's namespace, like a real broken path seen
//!   from A: [`CutMode::Underlay`] drops the link's underlay packets (its UDP
//!   port both ways; on a forwarded link also the forwarder's TCP), while
//!   [`CutMode::InterfaceDown`] sets A's WireGuard interface down.
//! * A killed node is a machine losing power: every process of the node
//!   (routing daemon, wireguard-go, forwarders) gets SIGKILL, so no goodbye
//!   packet leaves, its tunnels vanish and its underlay interface goes
//!   down. Revive boots it again: uplink up, tunnels and forwarders rebuilt
//!   from the plan, daemon restarted.
//! * Loss ([`Lab::set_loss`]) drops a random share of every packet that
//!   reaches a node over its underlay (nftables `numgen random`, in
//!   prerouting, before a forwarder's DNAT): its tunnels' UDP and its
//!   forwarders' TCP. The sender sees nothing, as on a lossy line; dropping
//!   on the sender's output instead would hand wireguard-go an EPERM for
//!   each lost packet. With every node lossy, each direction of each link
//!   loses that share.
//! * A killed forwarder ([`Lab::kill_forwarder`], or any crash of one) takes
//!   its link down; reviving a node that is not killed restarts its
//!   forwarders that are not running.

use crate::error::{LabError, Result};
use crate::exec::{ip, nft};
use crate::lab::{delete_kernel_interfaces, Lab};
use crate::network::{self, LOSS_CHAIN, TABLE};
use crate::state::{Cut, CutMode, LabEvent};
use crate::underlay::UPLINK;
use hortus_plan::{IpFamily, Path};
use hortus_status::watch::unix_ms;
use std::time::Duration;

impl Lab {
    /// Cuts `a`'s link to `b`, in `a`'s namespace.
    pub fn cut(&mut self, a: &str, b: &str, mode: CutMode) -> Result<()> {
        self.cut_family(a, b, mode, None)
    }

    /// Cuts the link between `a` and `b` like [`Lab::cut`], for `family`'s
    /// packets only when given (an underlay cut: the pair can still talk
    /// over the other family).
    pub fn cut_family(&mut self, a: &str, b: &str, mode: CutMode, family: Option<IpFamily>) -> Result<()> {
        if family.is_some() && mode != CutMode::Underlay {
            return Err(LabError::Usage("a cut of one family is an underlay cut".into()));
        }
        let link = self.link(a, b)?.clone();
        if self.find_cut(a, b).is_some() {
            return Err(LabError::Usage(format!("the link {a}–{b} is already cut; heal it first")));
        }
        if self.state.killed.contains(a) {
            return Err(LabError::Usage(format!("node `{a}` is killed; revive it first")));
        }
        let ns = self.state.node_ns(a);
        match mode {
            CutMode::Underlay => nft(&ns, port_sets("add", link.port, link.path, family))?,
            CutMode::InterfaceDown => {
                ip(&ns, &["link", "set", &link.interface, "down"])?;
            }
        }
        self.state.cuts.push(Cut { node: a.into(), peer: b.into(), mode, family });
        let only = family.map_or(String::new(), |f| format!(" ({f})"));
        self.record_event(format!("cut {a} {b}{only}"));
        self.save()
    }

    /// Heals the cut between `a` and `b` (made from either side).
    pub fn heal(&mut self, a: &str, b: &str) -> Result<()> {
        self.link(a, b)?;
        let index = self.find_cut(a, b).ok_or_else(|| LabError::Usage(format!("the link {a}–{b} is not cut")))?;
        let cut = self.state.cuts[index].clone();
        let link = self.link(&cut.node, &cut.peer)?.clone();
        let ns = self.state.node_ns(&cut.node);
        match cut.mode {
            CutMode::Underlay => nft(&ns, port_sets("delete", link.port, link.path, cut.family))?,
            // A killed node's interface comes back up when it is revived.
            CutMode::InterfaceDown if self.state.killed.contains(&cut.node) => {}
            CutMode::InterfaceDown => self.link_up(&cut.node, &link)?,
        }
        self.state.cuts.remove(index);
        self.record_event(format!("heal {a} {b}"));
        self.save()
    }

    /// Kills node `name` (see the module docs).
    pub fn kill(&mut self, name: &str) -> Result<()> {
        self.node_plan(name)?;
        if self.state.killed.contains(name) {
            return Err(LabError::Usage(format!("node `{name}` is already killed")));
        }
        let (mine, others): (Vec<_>, Vec<_>) = self.state.processes.drain(..).partition(|p| p.node == name);
        self.state.processes = others;
        for p in &mine {
            p.signal(libc::SIGKILL);
        }
        let stuck: Vec<String> = mine.iter().filter(|p| !p.crash()).map(|p| p.pid.to_string()).collect();
        delete_kernel_interfaces(self, name)?;
        ip(&self.state.node_ns(name), &["link", "set", UPLINK, "down"])?;
        self.state.killed.insert(name.into());
        self.record_event(format!("kill {name}"));
        self.save()?;
        if stuck.is_empty() {
            Ok(())
        } else {
            Err(LabError::Usage(format!("node `{name}`: processes {} survived SIGKILL", stuck.join(", "))))
        }
    }

    /// Revives killed node `name`, or restarts the forwarders of live node
    /// `name` that are not running (see the module docs).
    pub fn revive(&mut self, name: &str) -> Result<()> {
        self.node_plan(name)?;
        if !self.state.killed.contains(name) {
            let started = self.revive_forwarders(name)?;
            self.save()?;
            return match started {
                0 => Err(LabError::Usage(format!("node `{name}` is not killed and all its forwarders run"))),
                _ => Ok(()),
            };
        }
        let ns = self.state.node_ns(name);
        let attachment = self.state.underlay[name].clone();
        network::uplink_up(&ns, attachment.address, attachment.gateway, attachment.families)?;
        self.start_links(name)?;
        self.configure_peers(&[name.to_string()])?;
        let down: Vec<String> = self
            .state
            .cuts
            .iter()
            .filter(|c| c.node == name && c.mode == CutMode::InterfaceDown)
            .map(|c| c.peer.clone())
            .collect();
        for peer in down {
            let iface = self.link(name, &peer)?.interface.clone();
            ip(&ns, &["link", "set", &iface, "down"])?;
        }
        self.start_daemon(name)?;
        self.start_endpoints(name)?;
        self.state.killed.remove(name);
        self.record_event(format!("revive {name}"));
        self.save()?;
        std::thread::sleep(Duration::from_millis(300));
        self.check_daemon_running(name)
    }

    /// Makes `nodes` (every node when empty) drop `percent` % of what they
    /// receive over the underlay, at random; 0 ends the loss.
    pub fn set_loss(&mut self, percent: u8, nodes: &[String]) -> Result<()> {
        if percent > 100 {
            return Err(LabError::Usage(format!("loss must be 0..=100 %, not {percent}")));
        }
        let nodes = if nodes.is_empty() { self.nodes() } else { nodes.to_vec() };
        for name in &nodes {
            self.node_plan(name)?;
        }
        for name in &nodes {
            nft(&self.state.node_ns(name), loss_rules(percent))?;
            if percent == 0 {
                self.state.loss.remove(name);
            } else {
                self.state.loss.insert(name.clone(), percent);
            }
        }
        self.record_event(format!("loss {percent} {}", nodes.join(" ")));
        self.save()
    }

    /// Records `what` as the lab's last event, now.
    pub(crate) fn record_event(&mut self, what: String) {
        self.state.last_event = Some(LabEvent { what, unix_ms: unix_ms() });
    }

    fn find_cut(&self, a: &str, b: &str) -> Option<usize> {
        self.state.cuts.iter().position(|c| (c.node == a && c.peer == b) || (c.node == b && c.peer == a))
    }
}

/// Adds or deletes `port` in the cut sets: UDP always, TCP on forwarded
/// links (the forwarder's connection); one family's UDP set only when
/// `family` is given.
fn port_sets(verb: &str, port: u16, path: Path, family: Option<IpFamily>) -> String {
    let set = match family {
        None => "cut_udp",
        Some(IpFamily::Ipv4) => "cut_udp4",
        Some(IpFamily::Ipv6) => "cut_udp6",
    };
    let mut script = format!("{verb} element inet {TABLE} {set} {{ {port} }}\n");
    if path == Path::Forwarded && family.is_none() {
        script += &format!("{verb} element inet {TABLE} cut_tcp {{ {port} }}\n");
    }
    script
}

/// Replaces the loss chain's rule: drop `percent` % of the UDP and TCP
/// arriving on the uplink (none for 0).
fn loss_rules(percent: u8) -> String {
    let mut script = format!("flush chain inet {TABLE} {LOSS_CHAIN}\n");
    if percent > 0 {
        script += &format!(
            "add rule inet {TABLE} {LOSS_CHAIN} iifname \"{UPLINK}\" meta l4proto {{ udp, tcp }} numgen random mod 100 < {percent} drop\n"
        );
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_replaces_the_rule() {
        assert_eq!(loss_rules(0), "flush chain inet hortus_lab loss\n");
        assert!(loss_rules(5).ends_with(
            "add rule inet hortus_lab loss iifname \"up0\" meta l4proto { udp, tcp } numgen random mod 100 < 5 drop\n"
        ));
    }

    #[test]
    fn forwarded_cuts_also_drop_the_forwarder() {
        assert_eq!(port_sets("add", 51802, Path::Direct, None), "add element inet hortus_lab cut_udp { 51802 }\n");
        let both = port_sets("delete", 51814, Path::Forwarded, None);
        assert!(
            both.contains("cut_udp { 51814 }") && both.contains("delete element inet hortus_lab cut_tcp { 51814 }")
        );
        let v6 = port_sets("add", 51814, Path::Forwarded, Some(IpFamily::Ipv6));
        assert_eq!(v6, "add element inet hortus_lab cut_udp6 { 51814 }\n", "one family: its UDP only");
    }
}
