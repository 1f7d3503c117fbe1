//! Exit nodes end to end (issue #18 items 3 and 7): a five-node mesh with
//! an IPv4 overlay where x0 and x1 are exits, u uses an exit, m does
//! neither (all public), and n is behind NAT (it dials u from an address
//! the plan does not know, so only the WireGuard mark keeps u's replies on
//! the underlay). u reaches the lab's Internet host (198.18.255.254) through
//! an exit: the Internet host sees the exit's underlay address, never u's,
//! while every tunnel of u stays up (its WireGuard packets are marked and
//! leave by the main table). m's own traffic still leaves by its own
//! uplink. Killing the exit u uses moves it to the other one; cutting u's
//! links to both exits sends its Internet traffic through m (which carries
//! the default route in its exit table for traffic from the mesh only).

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::Inventory;
use hortus_lab::internet::INTERNET_ADDRESS;
use hortus_lab::state::CutMode;
use hortus_lab::Lab;
use hortus_status::assess::PrefixRole;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

fn inventory(daemon: RoutingDaemon) -> Inventory {
    let routing = match daemon {
        RoutingDaemon::Bird => "bird",
        RoutingDaemon::Babeld => "babeld",
    };
    let mut text = format!("[mesh]\nipv4_prefix = \"100.64.0.0/24\"\nrouting = \"{routing}\"\n");
    let nodes =
        [("x0", "exit = true"), ("x1", "exit = true"), ("u", "use_exit = true"), ("m", ""), ("n", "nat = true")];
    for (i, (name, role)) in nodes.iter().enumerate() {
        let key = public_key(&private_key_from_bytes([i as u8 + 1; 32])).expect("key");
        let endpoints = if name == &"n" { String::new() } else { format!("endpoints = [\"192.0.2.{}\"]", i + 1) };
        text += &format!("[nodes.{name}]\nid = {i}\npublic_key = \"{key}\"\n{endpoints}\n{role}\n");
    }
    Inventory::from_toml_str(&text).expect("inventory")
}

/// `ip netns exec NS ARGS...`: success and stdout.
fn run_in(ns: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("ip").args(["netns", "exec", ns]).args(args).output().expect("ip netns exec");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// Pings the Internet host from `node` (`count` pings, 0.2 s apart, source
/// picked by the kernel) while capturing there; the sources seen, or why not.
fn internet_sources(lab: &Lab, node: &str, count: u32) -> Result<Vec<Ipv4Addr>, String> {
    let capture = lab.capture_internet("icmp").map_err(|e| e.to_string())?;
    let target = INTERNET_ADDRESS.to_string();
    let (ok, out) = run_in(
        &lab.namespace(node).unwrap(),
        &["ping", "-4", "-n", "-c", &count.to_string(), "-i", "0.2", "-W", "1", &target],
    );
    let sources = capture.sources().map_err(|e| e.to_string())?;
    if !ok {
        return Err(format!("{node} -> {target}: {out}"));
    }
    Ok(sources)
}

/// Every tunnel of `node` carries traffic both ways: the peer's kernel
/// answers a ping to its link-local over that very interface.
fn tunnels_answer(lab: &Lab, node: &str) -> Result<(), String> {
    let ns = lab.namespace(node).unwrap();
    let mut dead = vec![];
    for link in &lab.plan().nodes[node].links {
        let target = format!("{}%{}", link.peer_link_local, link.interface);
        let (ok, out) = run_in(&ns, &["ping", "-6", "-n", "-c", "3", "-i", "0.2", "-W", "2", &target]);
        if !ok {
            dead.push(format!("{node} -> {} over {}: {}", link.peer, link.interface, out.trim()));
        }
    }
    if dead.is_empty() {
        Ok(())
    } else {
        Err(dead.join("; "))
    }
}

fn underlay(lab: &Lab, node: &str) -> Ipv4Addr {
    lab.state().underlay[node].address
}

/// Which exit the Internet host sees u's pings from (all from one).
fn exit_in_use(lab: &Lab) -> Result<String, String> {
    let sources = internet_sources(lab, "u", 3)?;
    let mut exits: Vec<&str> = ["x0", "x1"].into_iter().filter(|x| sources.contains(&underlay(lab, x))).collect();
    exits.dedup();
    match (exits.as_slice(), sources.contains(&underlay(lab, "u"))) {
        ([exit], false) => Ok(exit.to_string()),
        _ => Err(format!("u's pings arrived from {sources:?}")),
    }
}

fn exits_end_to_end(daemon: RoutingDaemon, prefix: &str) {
    let mut guard = LabGuard::up(&inventory(daemon), daemon, prefix);
    let lab = &mut guard.lab;
    lab.wait_connected(Duration::from_secs(90)).expect("full connectivity");

    // m does not use an exit: its own traffic leaves by its own uplink.
    let sources = internet_sources(lab, "m", 2).expect("m reaches the Internet host");
    assert!(sources.iter().all(|s| *s == underlay(lab, "m")), "m's pings leave by m's uplink: {sources:?}");

    // u goes out through an exit, and keeps every tunnel up.
    let (first, took) =
        eventually("u reaches the Internet host through an exit", Duration::from_secs(60), || exit_in_use(lab));
    eprintln!("{daemon:?}: u leaves through {first} ({took:.1?} after wait)");
    let u_ns = lab.namespace("u").unwrap();
    let table = run_in(&u_ns, &["ip", "-4", "route", "show", "table", "66"]).1;
    assert!(table.contains("default via") && table.contains("src 100.64.0.3"), "u's exit table: {table}");
    let main = run_in(&u_ns, &["ip", "-4", "route", "show", "default"]).1;
    assert!(!main.contains("wg-"), "the main table's default stays the uplink's: {main}");
    // `hortus status` names the exit route and where it leads.
    let status = lab.host_status("u").expect("status of u");
    let exit = status.prefixes.iter().find(|p| p.prefix.to_string() == "0.0.0.0/0").expect("u's exit prefix");
    assert!(
        exit.role == PrefixRole::Exit { using: true } && exit.flags.is_empty() && exit.via.is_some(),
        "status of u's exit route: {exit:?}"
    );
    // Long enough for Babel to lose a neighbour whose packets go astray.
    std::thread::sleep(Duration::from_secs(10));
    eventually("u's tunnels stay up while it uses the exit", Duration::from_secs(30), || all_handshakes(lab));
    eventually("every tunnel of u carries traffic while u uses the exit", Duration::from_secs(20), || {
        tunnels_answer(lab, "u")
    });
    for peer in ["x0", "x1", "m", "n"] {
        let r = lab.ping("u", peer, 3, 0.2).expect("ping");
        assert_eq!(r.received, 3, "u -> {peer} over the mesh while using the exit");
    }

    // Kill the exit in use: u moves to the other one.
    let other = if first == "x0" { "x1" } else { "x0" };
    lab.kill(&first).expect("kill the exit");
    let killed = Instant::now();
    let (now, _) = eventually("u moves to the other exit", Duration::from_secs(60), || {
        let r = lab.ping("u", &INTERNET_ADDRESS.to_string(), 1, 0.2).map_err(|e| e.to_string())?;
        if r.received == 1 {
            exit_in_use(lab)
        } else {
            Err("no answer".into())
        }
    });
    assert_eq!(now, other, "u's exit after {first} died");
    eprintln!("{daemon:?}: {first} killed; u leaves through {other} after {:.1?}", killed.elapsed());
    lab.revive(&first).expect("revive");
    lab.wait_connected(Duration::from_secs(90)).expect("connectivity after revive");
    // `lab wait` counts from the last event, not from `up`.
    let (what, since) = lab.since_last_event().expect("an event");
    assert!(what == format!("revive {first}") && since < lab.since_daemons_started(), "{what} {since:?}");

    // Cut u off both exits: its Internet traffic goes through m.
    for exit in ["x0", "x1"] {
        lab.cut("u", exit, CutMode::Underlay).expect("cut");
    }
    let (via, took) = eventually("u reaches the Internet host through m", Duration::from_secs(60), || exit_in_use(lab));
    eprintln!("{daemon:?}: u cut off both exits; leaves through {via} via m after {took:.1?}");
    let table = run_in(&lab.namespace("m").unwrap(), &["ip", "-4", "route", "show", "table", "66"]).1;
    assert!(table.contains("default via"), "m carries the default route in its exit table: {table}");
    let main = run_in(&lab.namespace("m").unwrap(), &["ip", "-4", "route", "show", "default"]).1;
    assert!(!main.contains("wg-"), "m's own default stays its uplink's: {main}");

    // No exit left: u's Internet traffic is refused, not leaked through its
    // own uplink, and status says so.
    for exit in ["x0", "x1"] {
        lab.kill(exit).expect("kill");
    }
    eventually("status of u flags that no exit is reachable", Duration::from_secs(60), || {
        let status = lab.host_status("u").map_err(|e| e.to_string())?;
        let exit = status.prefixes.iter().find(|p| p.prefix.to_string() == "0.0.0.0/0").ok_or("no exit prefix")?;
        exit.flags.iter().any(|f| f.contains("no exit reachable")).then_some(()).ok_or(format!("{exit:?}"))
    });
    let leaked = internet_sources(lab, "u", 3);
    assert!(
        matches!(&leaked, Err(why) if why.contains("198.18.255.254")),
        "with no exit, u reaches nothing out there: {leaked:?}"
    );
    let capture = lab.capture_internet("icmp").expect("capture");
    let _ = run_in(&u_ns, &["ping", "-4", "-n", "-c", "3", "-i", "0.2", "-W", "1", &INTERNET_ADDRESS.to_string()]);
    let sources = capture.sources().expect("sources");
    assert!(!sources.contains(&underlay(lab, "u")), "nothing leaves u's own uplink: {sources:?}");
}

#[test]
fn exits_with_bird() {
    if lab_ready("exits_with_bird", RoutingDaemon::Bird) {
        exits_end_to_end(RoutingDaemon::Bird, "hlt-xb-");
    }
}

#[test]
fn exits_with_babeld() {
    if lab_ready("exits_with_babeld", RoutingDaemon::Babeld) {
        exits_end_to_end(RoutingDaemon::Babeld, "hlt-xd-");
    }
}
