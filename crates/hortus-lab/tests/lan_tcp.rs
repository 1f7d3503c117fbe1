//! TCP between two LANs over a forwarded link (issue #18 item 7): a is
//! public and routes 192.168.10.0/24, c is censored and routes
//! 192.168.30.0/24, so their only link runs over phantun (a smaller MTU
//! than the LANs'). The LAN host behind a sends 4 MB to the LAN host
//! behind c with iperf3; the perimeter's MSS clamping keeps every segment
//! within the forwarded link's MTU, and the transfer completes.

mod common;

use common::*;
use hortus_core::inventory::RoutingDaemon;
use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::Inventory;
use hortus_plan::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn inventory() -> Inventory {
    let mut text = String::from("[mesh]\nipv4_prefix = \"100.64.0.0/24\"\n");
    let nodes = [
        ("a", "region = \"eu\"\nroutes = [\"192.168.10.0/24\"]"),
        ("c", "region = \"cn\"\ncensored = true\nroutes = [\"192.168.30.0/24\"]"),
    ];
    for (i, (name, extra)) in nodes.iter().enumerate() {
        let key = public_key(&private_key_from_bytes([i as u8 + 1; 32])).expect("key");
        text += &format!(
            "[nodes.{name}]\nid = {i}\npublic_key = \"{key}\"\nendpoints = [\"192.0.2.{}\"]\n{extra}\n",
            i + 1
        );
    }
    Inventory::from_toml_str(&text).expect("inventory")
}

#[test]
fn tcp_between_lans_over_a_forwarded_link() {
    if !lab_ready("tcp_between_lans_over_a_forwarded_link", RoutingDaemon::Bird) {
        return;
    }
    let guard = LabGuard::up(&inventory(), RoutingDaemon::Bird, "hlt-lt-");
    let lab = &guard.lab;
    let link = lab.link("a", "c").expect("a–c link");
    assert_eq!(link.path, Path::Forwarded, "a–c is forwarded");
    assert!(link.mtu < 1420, "the forwarded link's MTU ({}) is below a direct one's", link.mtu);
    lab.wait_connected(Duration::from_secs(90)).expect("connectivity");
    let lans = lab.lan_segments().expect("LAN segments");
    let (from, to) = (&lans[0], &lans[1]);
    let (from_ns, to_ns) = (lab.lan_namespace(from), lab.lan_namespace(to));
    eventually("the LAN hosts reach each other", Duration::from_secs(60), || {
        let out = Command::new("ip")
            .args(["netns", "exec", &from_ns, "ping", "-c", "1", "-W", "1", &to.host.to_string()])
            .output()
            .map_err(|e| e.to_string())?;
        out.status.success().then_some(()).ok_or_else(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    let mut server = Command::new("ip")
        .args(["netns", "exec", &to_ns, "iperf3", "-s", "-1", "-B", &to.host.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iperf3 server");
    std::thread::sleep(Duration::from_millis(500));
    let out = Command::new("ip")
        .args(["netns", "exec", &from_ns, "timeout", "60", "iperf3", "-c", &to.host.to_string(), "-n", "4M", "-J"])
        .output()
        .expect("iperf3 client");
    let _ = server.kill();
    let _ = server.wait();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let received = json["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    assert!(
        out.status.success() && received >= 4 << 20,
        "4 MB from {} to {} over the forwarded link: received {received} bytes: {}",
        from.host,
        to.host,
        String::from_utf8_lossy(&out.stderr)
    );
    let mss = json["start"]["tcp_mss_default"].as_u64().unwrap_or(0);
    eprintln!("4 MB {} -> {} over the forwarded link (MTU {}): done, sender MSS {mss}", from.host, to.host, link.mtu);
}
