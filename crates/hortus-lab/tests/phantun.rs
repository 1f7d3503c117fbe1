//! Forwarded links over the real phantun, across the lab's censor (which
//! drops UDP and passes TCP), in a mesh shaped like the reference
//! deployment (`examples/reference-mesh.toml`: three home machines behind
//! NAT and the censor, two public uncensored servers, one public censored
//! server). Every forwarded link handshakes through phantun (its TUN devices
//! carry the traffic); a full-size packet with DF crosses a phantun link
//! (phantun's 12-byte overhead is all the MTU accounts for); killing a
//! phantun process moves the traffic to a detour and `revive` brings the
//! link back; the censored home machines behind NAT reach everything.

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_core::policy::Path as LinkPath;
use hortus_core::Inventory;
use hortus_lab::exec::Cmd;
use hortus_lab::process::ProcessKind;
use hortus_lab::Lab;
use std::path::Path;
use std::time::Duration;

/// Convergence after `up`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Rerouting after a forwarder dies, and coming back after revive: ~6 s for
/// Babel to declare the neighbour dead with 1 s hellos, plus a WireGuard
/// handshake (retried every 5 s) for the new phantun connection.
const REROUTE_TIMEOUT: Duration = Duration::from_secs(20);

fn reference_mesh() -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reference-mesh.toml");
    Inventory::from_toml_str(&std::fs::read_to_string(path).expect("read example")).expect("parse example")
}

/// A counter of `iface` in `node`'s namespace (`rx_packets`, `tx_packets`).
fn counter(lab: &Lab, node: &str, iface: &str, name: &str) -> Result<u64, String> {
    let file = format!("/sys/class/net/{iface}/statistics/{name}");
    let ns = lab.namespace(node).map_err(|e| e.to_string())?;
    let text = Cmd::new("cat", [file.as_str()]).in_ns(&ns).run().map_err(|e| e.to_string())?;
    text.trim().parse().map_err(|e| format!("{file}: {e}"))
}

/// Every forwarded link end runs a live phantun whose TUN carries packets
/// both ways.
fn phantun_carries_every_forwarded_link(lab: &Lab) -> Result<usize, String> {
    let mut ends = 0;
    for name in lab.nodes() {
        for link in lab.node_plan(&name).unwrap().links.iter().filter(|l| l.path == LinkPath::Forwarded) {
            let tun = link.forwarder.as_ref().and_then(|f| f.tun()).ok_or("forwarded link without a TUN")?;
            let process = lab
                .state()
                .processes
                .iter()
                .find(|p| p.node == name && p.kind == ProcessKind::Forwarder { peer: link.peer.clone() })
                .ok_or_else(|| format!("{name}->{}: no forwarder process", link.peer))?;
            let cmdline = std::fs::read(format!("/proc/{}/cmdline", process.pid)).unwrap_or_default();
            let program = String::from_utf8_lossy(cmdline.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
            if !process.alive() || !program.contains("phantun") {
                return Err(format!("{name}->{}: forwarder {} is {program:?}", link.peer, process.pid));
            }
            for name_of in ["rx_packets", "tx_packets"] {
                if counter(lab, &name, &tun.name, name_of)? == 0 {
                    return Err(format!("{name}->{}: {} {name_of} is 0", link.peer, tun.name));
                }
            }
            ends += 1;
        }
    }
    Ok(ends)
}

/// `from` pings `to`'s ULA with a packet filling `from`'s link MTU, DF set.
fn full_size_ping(lab: &Lab, from: &str, to: &str) -> Result<(), String> {
    let mtu = lab.link(from, to).unwrap().mtu;
    let (src, dst) = (lab.plan().nodes[from].address.to_string(), lab.plan().nodes[to].address.to_string());
    // IPv6 header 40 + ICMPv6 header 8.
    let size = (mtu - 48).to_string();
    let args = ["-6", "-n", "-q", "-M", "do", "-c", "2", "-W", "2", "-s", &size, "-I", &src, &dst];
    let ns = lab.namespace(from).unwrap();
    Cmd::new("ping", args).in_ns(&ns).run().map(drop).map_err(|e| e.to_string())
}

/// `from` reaches `to` over a route that is (`direct`) or is not the link's interface.
fn routed(lab: &Lab, from: &str, to: &str, direct: bool) -> Result<(), String> {
    let iface = lab.link(from, to).unwrap().interface.clone();
    match route_dev(lab, from, to) {
        Some(dev) if (dev == iface) == direct => match lab.ping(from, to, 1, 0.2) {
            Ok(r) if r.received == 1 => Ok(()),
            other => Err(format!("{from}->{to} via {dev}: {other:?}")),
        },
        other => Err(format!("{from}->{to} route {other:?}, direct wanted: {direct}")),
    }
}

/// Kills the phantun of `node`'s link to `peer`, checks the traffic takes a
/// detour both ways, revives it and checks the direct link is back.
fn kill_and_revive_forwarder(lab: &mut Lab, node: &str, peer: &str) {
    lab.kill_forwarder(node, peer).unwrap();
    let (_, took) = eventually(&format!("{node}<->{peer} detour after its phantun died"), REROUTE_TIMEOUT, || {
        routed(lab, node, peer, false)?;
        routed(lab, peer, node, false)
    });
    eprintln!("{node}'s phantun to {peer} killed: detour after {took:?}");
    lab.revive(node).unwrap();
    let (_, took) = eventually(&format!("{node}<->{peer} direct after revive"), REROUTE_TIMEOUT, || {
        routed(lab, node, peer, true)?;
        routed(lab, peer, node, true)
    });
    eprintln!("{node}'s phantun to {peer} revived: direct again after {took:?}");
    assert!(lab.revive(node).unwrap_err().to_string().contains("all its forwarders run"));
}

#[test]
fn reference_mesh_over_phantun() {
    if !lab_ready("reference_mesh_over_phantun", RoutingDaemon::Bird) {
        return;
    }
    let mut guard = LabGuard::up(&reference_mesh(), RoutingDaemon::Bird, "hlt-ph-");
    let lab = &mut guard.lab;
    let took = lab.wait_connected(CONNECT_TIMEOUT).expect("full connectivity");
    eprintln!("reference mesh: full connectivity after {took:?}");
    eventually("every planned link handshakes", Duration::from_secs(30), || all_handshakes(lab));
    let (ends, _) = eventually("phantun carries every forwarded link", Duration::from_secs(10), || {
        phantun_carries_every_forwarded_link(lab)
    });
    assert_eq!(ends, 16, "8 forwarded links, a phantun at each end");
    eventually("routes go direct", Duration::from_secs(60), || routes_direct(lab));
    // The censored home machines behind NAT reach every node.
    for home in ["nug", "yeb", "zhar"] {
        for other in lab.nodes().into_iter().filter(|n| n != home) {
            let r = lab.ping(home, &other, 3, 0.2).unwrap();
            assert_eq!(r.received, 3, "{home} -> {other}: {r:?}");
        }
    }
    // A packet filling the link MTU crosses phantun whole: its 12 bytes are
    // all the plan takes off the underlay's 1500.
    assert_eq!(lab.link("nug", "cthugha").unwrap().mtu, 1500 - 60 - 12);
    full_size_ping(lab, "nug", "cthugha").expect("full-size packet through phantun");
    // The client side (a censored home machine's) and the server side (a
    // public uncensored server's) of a forwarded link.
    kill_and_revive_forwarder(lab, "nug", "cthugha");
    kill_and_revive_forwarder(lab, "ithaqua", "ghatanoth");
    eventually("every link handshakes at the end", Duration::from_secs(30), || all_handshakes(lab));
}
