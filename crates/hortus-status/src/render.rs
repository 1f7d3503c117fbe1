//! [`HostStatus`] as text for people and as Prometheus textfile metrics
//! (node_exporter's textfile collector).

use crate::assess::{HostStatus, PrefixRole, Reach};
use hortus_host::failover::LinkState;
use hortus_plan::Path;
use std::fmt::Write;

/// The human-readable report: one line per link, one per destination,
/// flags after `!`.
pub fn text(status: &HostStatus) -> String {
    let mut out = String::new();
    let up = status.links.iter().filter(|l| l.up).count();
    let _ = writeln!(out, "{}: {up}/{} links up, {} flag(s)", status.host, status.links.len(), status.flag_count());
    if let Some(error) = &status.babel_error {
        let _ = writeln!(out, "  ! Babel: {error}");
    }
    for l in &status.links {
        let handshake = l.handshake_age_s.map_or("never".to_string(), |s| format!("{s}s ago"));
        let path = match l.path {
            Path::Direct => "direct",
            Path::Forwarded => "forwarded",
        };
        let babel = match (l.babel_neighbour, l.babel_cost) {
            (Some(_), Some(cost)) => format!("babel cost {cost}"),
            _ => "no babel neighbour".into(),
        };
        let _ = write!(
            out,
            "  link {:<15} {:<9} {:<4} handshake {:<9} rx {} tx {}  {babel}",
            l.interface,
            path,
            if l.up { "up" } else { "DOWN" },
            handshake,
            bytes(l.rx_bytes),
            bytes(l.tx_bytes)
        );
        if let Some(probe) = &l.probe {
            let _ = write!(out, "  probe {} loss {:.1} %", probe.state, probe.loss_percent);
        }
        if !l.candidates.is_empty() {
            let at = l.endpoint.as_deref().unwrap_or("none");
            let _ = write!(out, "  endpoint {at} of [{}]", l.candidates.join(" "));
        }
        for flag in &l.flags {
            let _ = write!(out, "  ! {flag}");
        }
        out.push('\n');
    }
    for d in &status.destinations {
        let how = match &d.reach {
            Reach::Direct { interface } => format!("direct ({interface})"),
            Reach::Via { peer, interface } => format!("via {peer} ({interface})"),
            Reach::Other { interface } => format!("over {interface}"),
            Reach::PeerRouteOnly { interface } => format!("peer route only ({interface})"),
            Reach::Unreachable => "unreachable".into(),
        };
        let metric = d.babel_metric.map(|m| format!("  metric {m}")).unwrap_or_default();
        let _ = write!(out, "  to {:<15} {:<24} {how}{metric}", d.node, d.address.to_string());
        for flag in &d.flags {
            let _ = write!(out, "  ! {flag}");
        }
        out.push('\n');
    }
    for p in &status.prefixes {
        let role = match p.role {
            PrefixRole::Announced => "announced",
            PrefixRole::Learned => "learned",
            PrefixRole::Exit { using: true } => "exit (used)",
            PrefixRole::Exit { using: false } => "exit (carried)",
        };
        let how = match (&p.route, &p.via) {
            (Some(r), _) if r.kind != "unicast" => r.kind.clone(),
            (Some(r), Some(peer)) => format!("via {peer} ({})", r.dev.as_deref().unwrap_or("?")),
            (Some(r), None) => format!("on {}", r.dev.as_deref().unwrap_or("?")),
            (None, _) => "no route".into(),
        };
        let _ = write!(out, "  prefix {:<24} {role:<14} {how}", p.prefix.to_string());
        for flag in &p.flags {
            let _ = write!(out, "  ! {flag}");
        }
        out.push('\n');
    }
    out
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1}G", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1}M", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1}K", n as f64 / 1024.0),
        n => format!("{n}B"),
    }
}

/// Prometheus text exposition format, for node_exporter's textfile
/// collector (write it to `*.prom` atomically).
pub fn prometheus(status: &HostStatus) -> String {
    let mut out = String::new();
    let host = &status.host;
    let mut metric = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP hortus_{name} {help}\n# TYPE hortus_{name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "hortus_{name}{{{labels}}} {value}");
        }
    };
    let link =
        |l: &crate::assess::LinkStatus| format!("host=\"{host}\",peer=\"{}\",interface=\"{}\"", l.peer, l.interface);
    metric(
        "link_up",
        "gauge",
        "1 when the planned link has a live WireGuard session.",
        status.links.iter().map(|l| (link(l), u8::from(l.up).to_string())).collect(),
    );
    metric(
        "link_handshake_age_seconds",
        "gauge",
        "Seconds since the link's last WireGuard handshake (absent if never).",
        status.links.iter().filter_map(|l| Some((link(l), l.handshake_age_s?.to_string()))).collect(),
    );
    metric(
        "link_receive_bytes_total",
        "counter",
        "Bytes received from the peer.",
        status.links.iter().map(|l| (link(l), l.rx_bytes.to_string())).collect(),
    );
    metric(
        "link_transmit_bytes_total",
        "counter",
        "Bytes sent to the peer.",
        status.links.iter().map(|l| (link(l), l.tx_bytes.to_string())).collect(),
    );
    metric(
        "link_endpoint_info",
        "gauge",
        "1 for the link's current WireGuard endpoint (absent if none).",
        status
            .links
            .iter()
            .filter_map(|l| Some((format!("{},endpoint=\"{}\"", link(l), l.endpoint.as_deref()?), "1".to_string())))
            .collect(),
    );
    metric(
        "link_endpoint_candidates",
        "gauge",
        "Endpoints this end may dial on the link, in order (0 when it only listens).",
        status.links.iter().map(|l| (link(l), l.candidates.len().to_string())).collect(),
    );
    metric(
        "link_babel_cost",
        "gauge",
        "Babel cost of the neighbour on the link (absent if none).",
        status.links.iter().filter_map(|l| Some((link(l), l.babel_cost?.to_string()))).collect(),
    );
    metric(
        "link_probe_up",
        "gauge",
        "1 while hortus failover finds the link answering (absent when it probes none).",
        status
            .links
            .iter()
            .filter_map(|l| Some((link(l), u8::from(l.probe.as_ref()?.state == LinkState::Up).to_string())))
            .collect(),
    );
    metric(
        "link_probe_loss_percent",
        "gauge",
        "Per cent of the link's last 100 probes without a reply (absent when it probes none).",
        status.links.iter().filter_map(|l| Some((link(l), l.probe.as_ref()?.loss_percent.to_string()))).collect(),
    );
    metric(
        "link_flags",
        "gauge",
        "Differences from the plan on the link.",
        status.links.iter().map(|l| (link(l), l.flags.len().to_string())).collect(),
    );
    let dest = |d: &crate::assess::DestinationStatus| {
        let via = match &d.reach {
            Reach::Direct { .. } => d.node.clone(),
            Reach::Via { peer, .. } => peer.clone(),
            Reach::Other { interface } | Reach::PeerRouteOnly { interface } => interface.clone(),
            Reach::Unreachable => String::new(),
        };
        format!("host=\"{host}\",destination=\"{}\",via=\"{via}\"", d.node)
    };
    metric(
        "destination_reachable",
        "gauge",
        "1 when the routing daemon gave the kernel a route to the node's ULA; via is the next node.",
        status
            .destinations
            .iter()
            .map(|d| {
                let reachable = !matches!(d.reach, Reach::Unreachable | Reach::PeerRouteOnly { .. });
                (dest(d), u8::from(reachable).to_string())
            })
            .collect(),
    );
    metric(
        "destination_detoured",
        "gauge",
        "1 when a node the plan links directly is reached through another.",
        status
            .destinations
            .iter()
            .map(|d| (dest(d), u8::from(d.linked && matches!(d.reach, Reach::Via { .. })).to_string()))
            .collect(),
    );
    metric(
        "prefix_routed",
        "gauge",
        "1 when the planned prefix has a usable route (role: announced, learned, exit); via is the next node.",
        status
            .prefixes
            .iter()
            .map(|p| {
                let role = match p.role {
                    PrefixRole::Announced => "announced",
                    PrefixRole::Learned => "learned",
                    PrefixRole::Exit { .. } => "exit",
                };
                let labels = format!(
                    "host=\"{host}\",prefix=\"{}\",role=\"{role}\",via=\"{}\"",
                    p.prefix,
                    p.via.as_deref().unwrap_or("")
                );
                (labels, u8::from(p.route.as_ref().is_some_and(|r| r.kind == "unicast")).to_string())
            })
            .collect(),
    );
    metric(
        "status_flags",
        "gauge",
        "Differences from the plan on this host.",
        vec![(format!("host=\"{host}\""), status.flag_count().to_string())],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{DestinationStatus, LinkStatus, PrefixStatus};
    use hortus_host::failover::ProbeReport;

    fn status() -> HostStatus {
        let link = LinkStatus {
            peer: "kaambl".into(),
            interface: "wg-kaambl".into(),
            path: Path::Direct,
            port: 51801,
            listen: true,
            up: false,
            listen_port: Some(51801),
            endpoint: Some("198.51.100.11:51801".into()),
            candidates: vec!["[2001:db8:1::11]:51801".into(), "198.51.100.11:51801".into()],
            handshake_age_s: Some(300),
            rx_bytes: 2048,
            tx_bytes: 10,
            babel_neighbour: None,
            babel_cost: None,
            probe: Some(ProbeReport { interface: "wg-kaambl".into(), state: LinkState::Down, loss_percent: 12.5 }),
            flags: vec!["no Babel neighbour".into()],
        };
        let destination = DestinationStatus {
            node: "kaambl".into(),
            address: "fdcc::2".parse().unwrap(),
            linked: true,
            reach: Reach::Via { peer: "eihort".into(), interface: "wg-eihort".into() },
            route: None,
            babel_metric: Some(192),
            flags: vec!["detoured via eihort".into()],
        };
        HostStatus {
            host: "hastur".into(),
            taken_unix_s: 0,
            links: vec![link],
            destinations: vec![destination],
            prefixes: vec![PrefixStatus {
                prefix: "0.0.0.0/0".parse().unwrap(),
                role: PrefixRole::Exit { using: true },
                route: None,
                via: None,
                flags: vec!["no exit reachable: this node's Internet traffic is refused".into()],
            }],
            babel_error: None,
        }
    }

    #[test]
    fn text_shows_state_and_flags() {
        let text = text(&status());
        assert!(text.starts_with("hastur: 0/1 links up, 3 flag(s)\n"), "{text}");
        assert!(text.contains("exit (used)    no route  ! no exit reachable"), "{text}");
        assert!(text.contains("DOWN handshake 300s ago") && text.contains("rx 2.0K tx 10B"), "{text}");
        assert!(
            text.contains("endpoint 198.51.100.11:51801 of [[2001:db8:1::11]:51801 198.51.100.11:51801]"),
            "{text}"
        );
        assert!(text.contains("via eihort (wg-eihort)  metric 192  ! detoured via eihort"), "{text}");
        assert!(text.contains("no babel neighbour  probe down loss 12.5 %"), "{text}");
    }

    #[test]
    fn prometheus_exposition() {
        let prom = prometheus(&status());
        for line in [
            "# TYPE hortus_link_up gauge",
            "hortus_link_up{host=\"hastur\",peer=\"kaambl\",interface=\"wg-kaambl\"} 0",
            "hortus_link_handshake_age_seconds{host=\"hastur\",peer=\"kaambl\",interface=\"wg-kaambl\"} 300",
            "hortus_link_receive_bytes_total{host=\"hastur\",peer=\"kaambl\",interface=\"wg-kaambl\"} 2048",
            "hortus_destination_reachable{host=\"hastur\",destination=\"kaambl\",via=\"eihort\"} 1",
            "hortus_destination_detoured{host=\"hastur\",destination=\"kaambl\",via=\"eihort\"} 1",
            "hortus_prefix_routed{host=\"hastur\",prefix=\"0.0.0.0/0\",role=\"exit\",via=\"\"} 0",
            "hortus_status_flags{host=\"hastur\"} 3",
            "hortus_link_endpoint_info{host=\"hastur\",peer=\"kaambl\",interface=\"wg-kaambl\",endpoint=\"198.51.100.11:51801\"} 1",
            "hortus_link_endpoint_candidates{host=\"hastur\",peer=\"kaambl\",interface=\"wg-kaambl\"} 2",
            "hortus_link_probe_up{host=\"hastur\",peer=\"kaambl\",interface=\"wg-kaambl\"} 0",
            "hortus_link_probe_loss_percent{host=\"hastur\",peer=\"kaambl\",interface=\"wg-kaambl\"} 12.5",
        ] {
            assert!(prom.lines().any(|l| l == line), "missing {line}:\n{prom}");
        }
        assert!(!prom.contains("hortus_link_babel_cost{"), "no neighbour, no sample");
    }
}
