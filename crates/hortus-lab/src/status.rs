//! What each node sees: its links (up, last handshake), the route the
//! kernel selects toward every other node's ULA, and its Babel packet
//! counters.

use crate::error::Result;
use crate::exec::{ip, Cmd};
use crate::lab::Lab;
use crate::network::TABLE;
use crate::state::CutMode;
use hortus_core::policy::Path;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;

/// Route protocols the routing daemons install with (`/etc/iproute2/rt_protos`).
const DAEMON_PROTOCOLS: [&str; 4] = ["bird", "babel", "12", "42"];

/// One node's view.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Node name.
    pub node: String,
    /// Its namespace.
    pub namespace: String,
    /// Killed (`hortus lab kill`).
    pub killed: bool,
    /// Its links, in plan order.
    pub links: Vec<LinkStatus>,
    /// The selected route to every other node, in id order.
    pub routes: Vec<RouteStatus>,
    /// Babel packets received and sent (nftables counters on UDP 6696).
    pub babel_packets: Option<(u64, u64)>,
}

/// One WireGuard link's state.
#[derive(Debug, Clone, Serialize)]
pub struct LinkStatus {
    /// Peer name.
    pub peer: String,
    /// Interface name.
    pub interface: String,
    /// Direct or forwarded.
    pub path: Path,
    /// Interface exists and is administratively up.
    pub up: bool,
    /// Seconds since the last handshake; `None` if never.
    pub handshake_age_s: Option<u64>,
    /// Cut from this side, and how.
    pub cut: Option<CutMode>,
}

/// The kernel's selected route to one destination.
#[derive(Debug, Clone, Serialize)]
pub struct RouteStatus {
    /// Destination node.
    pub destination: String,
    /// Its ULA.
    pub address: Ipv6Addr,
    /// The selected route (lowest metric), if any.
    pub route: Option<Route>,
}

/// One kernel route, from `ip -j -6 route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Route type: `unicast`, or `unreachable` for a retracted Babel route.
    pub kind: String,
    /// Output interface.
    pub dev: String,
    /// Next hop, when not on-link.
    pub gateway: Option<String>,
    /// Installing protocol (`bird`, `babel`, `kernel`...).
    pub protocol: String,
    /// Kernel metric.
    pub metric: u32,
}

impl Route {
    /// Whether a routing daemon installed it as a usable route (not a
    /// kernel peer route, not an unreachable one).
    pub fn from_daemon(&self) -> bool {
        self.kind == "unicast" && DAEMON_PROTOCOLS.contains(&self.protocol.as_str())
    }
}

impl Lab {
    /// Every node's status, in id order.
    pub fn status(&self) -> Result<Vec<NodeStatus>> {
        self.nodes().iter().map(|n| self.node_status(n)).collect()
    }

    /// Node `name`'s status.
    pub fn node_status(&self, name: &str) -> Result<NodeStatus> {
        let node = self.node_plan(name)?;
        let ns = self.state.node_ns(name);
        let up = interfaces_up(&ip(&ns, &["-j", "link", "show"])?);
        let handshakes =
            parse_handshakes(&self.wg(name, &["show", "all", "latest-handshakes"]).run().unwrap_or_default());
        let now = crate::lab::unix_ms() / 1000;
        let links = node
            .links
            .iter()
            .map(|l| LinkStatus {
                peer: l.peer.clone(),
                interface: l.interface.clone(),
                path: l.path,
                up: up.get(&l.interface).copied().unwrap_or(false),
                handshake_age_s: handshakes.get(&l.interface).map(|t| now.saturating_sub(*t)),
                cut: self.state.cuts.iter().find(|c| c.node == name && c.peer == l.peer).map(|c| c.mode),
            })
            .collect();
        let table = self.routes(name)?;
        let routes = self
            .nodes()
            .into_iter()
            .filter(|d| d != name)
            .map(|d| {
                let address = self.plan.nodes[&d].address;
                RouteStatus { route: table.get(&address).cloned(), destination: d, address }
            })
            .collect();
        Ok(NodeStatus {
            node: name.into(),
            namespace: ns,
            killed: self.state.killed.contains(name),
            links,
            routes,
            babel_packets: self.babel_counters(name),
        })
    }

    /// The selected IPv6 route per destination in `name`'s namespace.
    pub fn routes(&self, name: &str) -> Result<BTreeMap<Ipv6Addr, Route>> {
        Ok(selected_routes(&ip(&self.state.node_ns(name), &["-j", "-6", "route", "show"])?))
    }

    /// Babel packets (in, out) counted in `name`'s namespace.
    pub fn babel_counters(&self, name: &str) -> Option<(u64, u64)> {
        let text = Cmd::new("nft", ["-j", "list", "counters", "table", "inet", TABLE])
            .in_ns(&self.state.node_ns(name))
            .run()
            .ok()?;
        let counters = parse_counters(&text);
        Some((*counters.get("babel_in")?, *counters.get("babel_out")?))
    }
}

/// Interface name → administratively up, from `ip -j link show`.
fn interfaces_up(json: &str) -> BTreeMap<String, bool> {
    let list: Vec<Value> = serde_json::from_str(json).unwrap_or_default();
    list.iter()
        .filter_map(|l| {
            let name = l["ifname"].as_str()?.to_string();
            let up = l["flags"].as_array().is_some_and(|f| f.iter().any(|x| x == "UP"));
            Some((name, up))
        })
        .collect()
}

/// Interface → last handshake (Unix seconds), from `wg show all
/// latest-handshakes` (`iface<TAB>key<TAB>time`; 0 means never).
fn parse_handshakes(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut fields = l.split('\t');
            let iface = fields.next()?;
            let time: u64 = fields.nth(1)?.trim().parse().ok()?;
            (time > 0).then(|| (iface.to_string(), time))
        })
        .collect()
}

/// The lowest-metric route per host destination, from `ip -j -6 route show`.
fn selected_routes(json: &str) -> BTreeMap<Ipv6Addr, Route> {
    let list: Vec<Value> = serde_json::from_str(json).unwrap_or_default();
    let mut out: BTreeMap<Ipv6Addr, Route> = BTreeMap::new();
    for r in &list {
        let Some(dst) = r["dst"].as_str() else {
            continue;
        };
        let Ok(dst) = dst.trim_end_matches("/128").parse::<Ipv6Addr>() else {
            continue;
        };
        let route = Route {
            kind: r["type"].as_str().unwrap_or("unicast").into(),
            dev: r["dev"].as_str().unwrap_or_default().into(),
            gateway: r["gateway"].as_str().map(String::from),
            protocol: match &r["protocol"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            },
            metric: r["metric"].as_u64().unwrap_or(0) as u32,
        };
        let better = match out.get(&dst) {
            Some(best) => route.metric < best.metric,
            None => true,
        };
        if better {
            out.insert(dst, route);
        }
    }
    out
}

/// Counter name → packets, from `nft -j list counters`.
fn parse_counters(json: &str) -> BTreeMap<String, u64> {
    let v: Value = serde_json::from_str(json).unwrap_or_default();
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let c = e.get("counter")?;
            Some((c["name"].as_str()?.to_string(), c["packets"].as_u64()?))
        })
        .collect()
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.node, self.namespace)?;
        if self.killed {
            write!(f, " KILLED")?;
        }
        if let Some((rx, tx)) = self.babel_packets {
            write!(f, "  babel packets in {rx} out {tx}")?;
        }
        writeln!(f)?;
        for l in &self.links {
            let handshake = l.handshake_age_s.map_or("never".to_string(), |s| format!("{s}s ago"));
            let path = match l.path {
                Path::Direct => "direct",
                Path::Forwarded => "forwarded",
            };
            write!(
                f,
                "  link {:<15} {:<9} {:<4} handshake {handshake}",
                l.interface,
                path,
                if l.up { "up" } else { "DOWN" }
            )?;
            if let Some(mode) = l.cut {
                write!(f, "  CUT ({mode:?})")?;
            }
            writeln!(f)?;
        }
        for r in &self.routes {
            match &r.route {
                Some(route) => {
                    let via = route.gateway.as_deref().map(|g| format!(" via {g}")).unwrap_or_default();
                    let kind = if route.kind == "unicast" { String::new() } else { format!("{} ", route.kind) };
                    writeln!(
                        f,
                        "  route {} {}: {kind}dev {}{via} proto {} metric {}",
                        r.destination, r.address, route.dev, route.protocol, route.metric
                    )?;
                }
                None => writeln!(f, "  route {} {}: none", r.destination, r.address)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_lowest_metric_route() {
        let json = r#"[
            {"dst":"fdcc::2","dev":"wg-kaambl","protocol":"kernel","metric":1024,"flags":[]},
            {"dst":"fdcc::2","gateway":"fe80::1","dev":"wg-eihort","protocol":"bird","metric":128,"flags":[]},
            {"dst":"fdcc::3","dev":"wg-eihort","protocol":42,"metric":128,"flags":[]},
            {"type":"unreachable","dst":"fdcc::4","dev":"lo","protocol":"bird","metric":128,"flags":[]},
            {"dst":"fe80::/64","dev":"up0","protocol":"kernel","metric":256,"flags":[]}
        ]"#;
        let routes = selected_routes(json);
        let two = &routes[&"fdcc::2".parse::<Ipv6Addr>().unwrap()];
        assert_eq!((two.dev.as_str(), two.gateway.as_deref(), two.from_daemon()), ("wg-eihort", Some("fe80::1"), true));
        assert!(routes[&"fdcc::3".parse::<Ipv6Addr>().unwrap()].from_daemon());
        assert!(!routes[&"fdcc::4".parse::<Ipv6Addr>().unwrap()].from_daemon(), "unreachable");
        assert_eq!(routes.len(), 3);
    }

    #[test]
    fn parses_handshakes_links_and_counters() {
        let hs = parse_handshakes("wg-a\tKEY=\t1700000000\nwg-b\tKEY2=\t0\n");
        assert_eq!(hs.get("wg-a"), Some(&1_700_000_000));
        assert!(!hs.contains_key("wg-b"), "0 means no handshake yet");
        let up = interfaces_up(r#"[{"ifname":"wg-a","flags":["POINTOPOINT","UP"]},{"ifname":"wg-b","flags":[]}]"#);
        assert_eq!((up["wg-a"], up["wg-b"]), (true, false));
        let c = parse_counters(
            r#"{"nftables":[{"metainfo":{}},{"counter":{"family":"inet","name":"babel_in","table":"hortus_lab","handle":1,"packets":5,"bytes":100}}]}"#,
        );
        assert_eq!(c["babel_in"], 5);
    }
}
