//! TCP between two LANs over a forwarded link (issue #18 item 7): a is
//! public and routes 192.168.10.0/24, c is censored and routes
//! 192.168.30.0/24, so their only link runs over phantun (an MTU well
//! below the LANs' 1500). The LAN host behind a sends 4 MiB to the LAN
//! host behind c over TCP (socat) while both LAN hosts drop ICMP
//! "fragmentation needed", as many networks do: path MTU discovery cannot
//! help, the perimeter's MSS clamping keeps every segment within the
//! forwarded link's MTU, and the transfer completes.

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
    assert!(link.mtu < 1500 - 40, "the forwarded link's MTU ({}) is well below the LANs' 1500", link.mtu);
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
    // Both LAN hosts lose ICMP "fragmentation needed" (as behind many
    // firewalls): path MTU discovery cannot save TCP, only the clamped MSS can.
    let rules =
        "table inet pmtu_blackhole {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    \
                 icmp type destination-unreachable icmp code frag-needed drop\n  }\n}\n";
    for ns in [&from_ns, &to_ns] {
        let mut nft = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("nft");
        std::io::Write::write_all(&mut nft.stdin.take().expect("stdin"), rules.as_bytes()).expect("write rules");
        assert!(nft.wait().is_ok_and(|s| s.success()), "{ns}: nftables drop ICMP frag-needed");
    }
    const BYTES: usize = 4 << 20;
    let server = Command::new("ip")
        .args(["netns", "exec", &to_ns, "timeout", "60", "sh", "-c", "socat -u TCP-LISTEN:5001,reuseaddr - | wc -c"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat server");
    std::thread::sleep(Duration::from_millis(500));
    let send = format!("head -c {BYTES} /dev/zero | socat -u - TCP:{}:5001", to.host);
    let client = Command::new("ip")
        .args(["netns", "exec", &from_ns, "timeout", "60", "sh", "-c", &send])
        .output()
        .expect("socat client");
    let out = server.wait_with_output().expect("socat server output");
    let received: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    assert!(
        client.status.success() && received == BYTES,
        "{BYTES} bytes from {} to {} over the forwarded link: {received} received ({})",
        from.host,
        to.host,
        String::from_utf8_lossy(&client.stderr).trim()
    );
    eprintln!(
        "{BYTES} bytes {} -> {} over the forwarded link (MTU {}), ICMP frag-needed dropped: done",
        from.host, to.host, link.mtu
    );
}
