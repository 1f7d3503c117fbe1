//! Which live mesh interfaces must go: the decision, without I/O.
//!
//! The mesh owns every WireGuard interface whose name starts with the plan's
//! `mesh.interface_prefix` (`wg-`). Interfaces of another kind are never
//! touched, whatever their name.

use crate::live::LiveInterface;
use hortus_plan::{HostPlan, Link};
use std::fmt;

/// What happens to an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Deleted for good: the plan has no such link.
    Remove,
    /// Deleted so that systemd-networkd creates it again from its file.
    Recreate,
}

/// One interface to delete, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Interface name.
    pub interface: String,
    /// Kernel interface index.
    pub index: u32,
    /// Removed or recreated.
    pub change: Change,
    /// Why, for the operator.
    pub reason: String,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.change {
            Change::Remove => "remove",
            Change::Recreate => "recreate",
        };
        write!(f, "{verb} {}: {}", self.interface, self.reason)
    }
}

/// The actions that bring `live` in line with `plan`, sorted by interface.
pub fn actions(plan: &HostPlan, live: &[LiveInterface]) -> Vec<Action> {
    let prefix = &plan.mesh.interface_prefix;
    let mut actions = vec![];
    for interface in live.iter().filter(|i| i.link.name.starts_with(prefix.as_str())) {
        let link = plan.node.links.iter().find(|l| l.interface == interface.link.name);
        let (change, reason) = match (link, &interface.wireguard) {
            (None, None) => continue,
            (None, Some(_)) => (Change::Remove, "not in the plan".to_string()),
            (Some(_), None) => (
                Change::Recreate,
                format!(
                    "is a {} link, the plan has a WireGuard link",
                    interface.link.kind.as_deref().unwrap_or("kindless")
                ),
            ),
            (Some(link), Some(_)) => match difference(plan, link, interface) {
                Some(reason) => (Change::Recreate, reason),
                None => continue,
            },
        };
        actions.push(Action { interface: interface.link.name.clone(), index: interface.link.index, change, reason });
    }
    actions.sort_by(|a, b| a.interface.cmp(&b.interface));
    actions
}

/// The first way a live WireGuard interface differs from its planned link.
fn difference(plan: &HostPlan, link: &Link, live: &LiveInterface) -> Option<String> {
    let wg = live.wireguard.as_ref()?;
    if live.link.mtu != Some(link.mtu) {
        return Some(format!("MTU {}, planned {}", show(live.link.mtu), link.mtu));
    }
    if wg.public_key.is_none() && wg.peers.is_empty() {
        // Not configured (yet): systemd-networkd creates the link first and
        // then sets key and peer; recreating would not change that.
        return None;
    }
    if link.listen && wg.listen_port != Some(link.port) {
        return Some(format!("listens on port {}, planned {}", show(wg.listen_port), link.port));
    }
    if wg.public_key.as_deref() != Some(plan.node.public_key.as_str()) {
        return Some(format!(
            "its private key's public key is {}, the plan's is {}",
            wg.public_key.as_deref().unwrap_or("unset"),
            plan.node.public_key
        ));
    }
    let [peer] = wg.peers.as_slice() else {
        return Some(format!("has {} peers, planned 1", wg.peers.len()));
    };
    if peer.public_key != link.peer_public_key {
        return Some(format!("peer key {}, planned {} ({})", peer.public_key, link.peer_public_key, link.peer));
    }
    if let (Some(planned), Some(port)) = (link.endpoint().map(|e| e.port), peer.endpoint.map(|e| e.port())) {
        if planned != port {
            return Some(format!("peer endpoint port {port}, planned {planned}"));
        }
    }
    if peer.keepalive != link.keepalive {
        return Some(format!("keepalive {}, planned {}", show(peer.keepalive), show(link.keepalive)));
    }
    None
}

fn show<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wireguard::WireGuardState;

    const INVENTORY: &str = r#"
        [nodes.alpha]
        id = 0
        public_key = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU="
        endpoints = ["192.0.2.10"]
        [nodes.beta]
        id = 1
        public_key = "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY="
        nat = true
    "#;

    fn plan(host: &str) -> HostPlan {
        let inventory = hortus_core::Inventory::from_named_str("test.toml", INVENTORY).unwrap();
        hortus_core::build_plan(&inventory).unwrap().host(host).unwrap()
    }

    /// The live interface exactly as planned.
    fn live(plan: &HostPlan, link: &Link, index: u32) -> LiveInterface {
        crate::live::planned(plan, link, index)
    }

    #[test]
    fn as_planned_nothing_to_do() {
        for host in ["alpha", "beta"] {
            let plan = plan(host);
            let live: Vec<_> = plan.node.links.iter().map(|l| live(&plan, l, 7)).collect();
            assert_eq!(actions(&plan, &live), vec![], "{host}");
        }
    }

    #[test]
    fn unplanned_wireguard_interface_is_removed_others_are_left() {
        let plan = plan("alpha");
        let mut interfaces: Vec<_> = plan.node.links.iter().map(|l| live(&plan, l, 7)).collect();
        let mut stale = interfaces[0].clone();
        stale.link.name = "wg-gone".into();
        stale.link.index = 9;
        let mut foreign = stale.clone();
        foreign.link.name = "wg-dummy".into();
        foreign.link.kind = Some("dummy".into());
        foreign.wireguard = None;
        let mut other_prefix = stale.clone();
        other_prefix.link.name = "vpn0".into();
        interfaces.extend([stale, foreign, other_prefix]);
        let got = actions(&plan, &interfaces);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].to_string(), "remove wg-gone: not in the plan");
        assert_eq!(got[0].index, 9);
    }

    #[test]
    fn changed_settings_recreate() {
        let plan = plan("alpha");
        let link = &plan.node.links[0];
        type Mutation = Box<dyn Fn(&mut LiveInterface)>;
        let cases: Vec<(Mutation, String)> = vec![
            (Box::new(|l| l.link.mtu = Some(1300)), format!("MTU 1300, planned {}", link.mtu)),
            (
                Box::new(|l| l.wireguard.as_mut().unwrap().listen_port = Some(1)),
                format!("listens on port 1, planned {}", link.port),
            ),
            (
                Box::new(|l| l.wireguard.as_mut().unwrap().public_key = None),
                "its private key's public key is unset".into(),
            ),
            (Box::new(|l| l.wireguard.as_mut().unwrap().peers.clear()), "has 0 peers, planned 1".into()),
            (
                Box::new(|l| l.wireguard.as_mut().unwrap().peers[0].public_key = "x".into()),
                "peer key x, planned".into(),
            ),
            (
                Box::new(|l| l.wireguard.as_mut().unwrap().peers[0].keepalive = Some(5)),
                format!("keepalive 5, planned {}", show(link.keepalive)),
            ),
            (
                Box::new(|l| {
                    l.link.kind = Some("dummy".into());
                    l.wireguard = None
                }),
                "is a dummy link".into(),
            ),
        ];
        for (change, want) in cases {
            let mut interface = live(&plan, link, 3);
            change(&mut interface);
            let got = actions(&plan, &[interface]);
            assert_eq!(got.len(), 1, "{want}");
            assert_eq!(got[0].change, Change::Recreate);
            assert!(got[0].to_string().starts_with(&format!("recreate {}: {want}", link.interface)), "{}", got[0]);
        }
    }

    #[test]
    fn a_link_networkd_has_not_configured_yet_is_left_alone() {
        let plan = plan("alpha");
        let link = &plan.node.links[0];
        let mut interface = live(&plan, link, 3);
        interface.wireguard =
            Some(WireGuardState { listen_port: Some(41000), public_key: None, fwmark: None, peers: vec![] });
        assert_eq!(actions(&plan, &[interface.clone()]), vec![]);
        interface.link.mtu = Some(1280);
        assert_eq!(actions(&plan, &[interface])[0].change, Change::Recreate);
    }

    #[test]
    fn dialer_endpoint_port_change_recreates() {
        let plan = plan("beta");
        let link = &plan.node.links[0];
        assert!(link.endpoint().is_some());
        let mut interface = live(&plan, link, 3);
        interface.wireguard.as_mut().unwrap().peers[0].endpoint =
            Some(std::net::SocketAddr::from(([198, 51, 100, 10], 1)));
        assert_eq!(actions(&plan, &[interface])[0].reason, format!("peer endpoint port 1, planned {}", link.port));
    }
}
