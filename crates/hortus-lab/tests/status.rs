//! End-to-end: `hortus status` (run by `Lab::node_status` in each node's
//! namespace) sees every state the lab can produce: a healthy mesh with no
//! flag, an underlay cut (Babel neighbour unreachable, link down, route
//! detoured), an interface set down, a wrong listen port, a killed peer,
//! and on the killed node itself missing interfaces and no daemon; and
//! `--down-after` turns a down link into exit status 3.

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_lab::{CutMode, Lab};
use hortus_status::assess::Reach;
use hortus_status::HostStatus;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

fn host(lab: &Lab, node: &str) -> HostStatus {
    lab.host_status(node).expect("hortus status")
}

/// The flags on `node`'s link to `peer`, and whether it is up.
fn link(lab: &Lab, node: &str, peer: &str) -> (bool, Vec<String>) {
    let status = host(lab, node);
    let l = status.links.into_iter().find(|l| l.peer == peer).expect("planned link");
    (l.up, l.flags)
}

/// `hortus status --down-after` exits with this when a planned link has been
/// down too long (`exit::LINK_DOWN` in crates/hortus-cli/src/exit.rs; 2 is a
/// usage error).
const EXIT_LINK_DOWN: i32 = 3;

/// `hortus status --down-after SECS` in `node`'s namespace: its exit code.
fn down_after_exit(lab: &Lab, node: &str, secs: u64) -> i32 {
    let dir = lab.state_dir().join("nodes").join(node);
    let script = r#"mount --bind "$1/wireguard" /run/wireguard && shift && exec "$@""#;
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.namespace(node).unwrap(), "sh", "-c", script, "sh"])
        .arg(&dir)
        .arg(hortus_bin())
        .args(["status", "--plan"])
        .arg(lab.state_dir().join("plan.json"))
        .args(["--host", node, "--bird-socket"])
        .arg(dir.join("bird.ctl"))
        .args(["--down-after", &secs.to_string()])
        .output()
        .expect("run hortus status");
    out.status.code().expect("exit code")
}

#[test]
fn status_sees_cuts_kills_and_wrong_ports() {
    if !lab_ready("status_sees_cuts_kills_and_wrong_ports", RoutingDaemon::Bird) {
        return;
    }
    let mut guard = LabGuard::up(&all_public(4), RoutingDaemon::Bird, "hlt-st-");
    let lab = &mut guard.lab;
    lab.wait_connected(Duration::from_secs(60)).expect("connected");
    eventually("n0 healthy: every link up, no flag", TIMEOUT, || {
        let s = host(lab, "n0");
        let ok =
            s.flag_count() == 0 && s.links.iter().all(|l| l.up && l.babel_cost.is_some()) && s.babel_error.is_none();
        ok.then_some(()).ok_or(format!("{s:#?}"))
    });
    assert_eq!(down_after_exit(lab, "n0", 0), 0, "all links up");

    // Underlay cut: Babel's hellos stop, the link is down, traffic detours.
    lab.cut("n0", "n1", CutMode::Underlay).unwrap();
    eventually("n0 sees n0-n1 down and detoured", TIMEOUT, || {
        let s = host(lab, "n0");
        let l = s.links.iter().find(|l| l.peer == "n1").unwrap();
        let d = s.destinations.iter().find(|d| d.node == "n1").unwrap();
        let ok = !l.up
            && l.flags.iter().any(|f| f == "Babel neighbour unreachable" || f == "no Babel neighbour")
            && matches!(d.reach, Reach::Via { .. })
            && d.flags.iter().any(|f| f.starts_with("detoured via"));
        ok.then_some(()).ok_or(format!("{l:?} {d:?}"))
    });
    let text = lab.node_status("n0").unwrap().to_string();
    eprintln!("{text}");
    assert!(text.contains("CUT to n1") && text.contains("! detoured via"), "{text}");
    assert_eq!(down_after_exit(lab, "n0", 0), EXIT_LINK_DOWN, "the cut link is down");
    assert_eq!(down_after_exit(lab, "n0", 3600), 0, "but not for an hour");
    lab.heal("n0", "n1").unwrap();

    // Interface down.
    lab.cut("n2", "n3", CutMode::InterfaceDown).unwrap();
    let (up, flags) = link(lab, "n2", "n3");
    assert!(!up && flags.contains(&"interface down".to_string()), "{flags:?}");
    lab.heal("n2", "n3").unwrap();

    // A wrong listen port.
    let iface = lab.link("n0", "n2").unwrap().interface.clone();
    lab.wg("n0", &["set", &iface, "listen-port", "1"]).run().unwrap();
    let (_, flags) = link(lab, "n0", "n2");
    assert!(flags.iter().any(|f| f.starts_with("wrong port: listens on port 1")), "{flags:?}");
    let port = lab.link("n0", "n2").unwrap().port.to_string();
    lab.wg("n0", &["set", &iface, "listen-port", &port]).run().unwrap();

    // A killed peer, as seen by n0 and by itself.
    lab.kill("n3").unwrap();
    eventually("n0 sees n3's link down", TIMEOUT, || {
        let (up, flags) = link(lab, "n0", "n3");
        (!up).then_some(()).ok_or(format!("{flags:?}"))
    });
    let dead = host(lab, "n3");
    assert!(dead.links.iter().all(|l| !l.up && l.flags.contains(&"missing interface".to_string())), "{dead:#?}");
    assert!(dead.babel_error.is_some(), "BIRD is dead");
    eprintln!("{}", hortus_status::render::text(&dead));
    lab.revive("n3").unwrap();
    lab.wait_connected(Duration::from_secs(60)).expect("connected after revive");
    eventually("everyone healthy again", Duration::from_secs(60), || {
        let hosts = lab.status().unwrap();
        let flagged: Vec<String> =
            hosts.iter().filter(|s| s.host.flag_count() > 0).map(|s| hortus_status::render::text(&s.host)).collect();
        flagged.is_empty().then_some(()).ok_or(flagged.join("\n"))
    });
}
