//! Every kind of bad inventory gets a clear problem naming the node and field.

use hortus_core::{build_plan, Error, Inventory};

const KEY_A: &str = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=";
const KEY_B: &str = "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=";
const KEY_C: &str = "ZQv51UhFw5mghyzt9YLs2F6ymCDnsnd4D7Rq7bqLUE4=";

fn problems(toml: &str) -> Vec<String> {
    let inventory = Inventory::from_toml_str(toml).unwrap_or_else(|e| panic!("should parse: {e}"));
    match build_plan(&inventory) {
        Err(Error::Invalid(problems)) => problems.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

fn parse_error(text: &str) -> String {
    match Inventory::from_toml_str(text) {
        Err(Error::Parse(message)) => message,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn two(extra_a: &str, extra_b: &str) -> String {
    format!(
        "[nodes.a]\nid = 0\npublic_key = \"{KEY_A}\"\nendpoints = [\"192.0.2.1\"]\n{extra_a}\n[nodes.b]\nid = 1\npublic_key = \"{KEY_B}\"\nendpoints = [\"192.0.2.2\"]\n{extra_b}\n"
    )
}

fn has(problems: &[String], needle: &str) {
    assert!(problems.iter().any(|p| p.contains(needle)), "no problem containing {needle:?} in {problems:#?}");
}

#[test]
fn duplicate_ids() {
    let p = problems(&two("", "").replace("id = 1", "id = 0"));
    has(&p, "node `b`: `id`: 0 is also node `a`'s");
}

#[test]
fn duplicate_names_in_toml_and_json() {
    let text = format!("{}\n[nodes.a]\nid = 5\npublic_key = \"{KEY_C}\"\n", two("", ""));
    assert!(parse_error(&text).contains("duplicate key"));
    let json = format!(
        r#"{{"nodes": {{"a": {{"id": 0, "public_key": "{KEY_A}"}}, "a": {{"id": 1, "public_key": "{KEY_B}"}}}}}}"#
    );
    match Inventory::from_json_str(&json) {
        Err(Error::Parse(m)) => assert!(m.contains("duplicate node name `a`"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_keys_all_reported_at_once() {
    let p = problems(&two("", "").replace(KEY_A, "short").replace(KEY_B, "AAAA"));
    has(&p, "node `a`: `public_key`: expected base64 of 32 bytes, got invalid base64");
    has(&p, "node `b`: `public_key`: expected base64 of 32 bytes, got 3 bytes");
    let p = problems(&two("", "").replace(KEY_B, KEY_A));
    has(&p, "node `b`: `public_key`");
}

#[test]
fn bad_addresses() {
    let endpoint = |e: &str| two("", "").replacen("192.0.2.1", e, 1);
    has(&problems(&endpoint("host:51820")), "carry no port");
    has(&problems(&endpoint("not_a_host")), "node `a`: `endpoints`");
    has(
        &problems(&two("address = \"fd00::1\"", "")),
        "node `a`: `address`: fd00::1 is outside the mesh prefix fdcc::/64",
    );
    has(&problems(&two("address = \"fdcc::2\"", "")), "node `b`: `address`: fdcc::2 is also node `a`'s");
    has(&problems(&two("link_local = \"fe80:1::1\"", "")), "not inside fe80::/64");
    has(&problems(&format!("[mesh]\nprefix = \"2001:db8::/64\"\n{}", two("", ""))), "mesh: `prefix`: expected a ULA");
    has(&problems(&two("ipv4_address = \"192.0.2.9\"", "")), "set, but the mesh has no ipv4_prefix");
    assert!(parse_error(&format!("[mesh]\nprefix = \"fdcc::1/64\"\n{}", two("", ""))).contains("host bits"));
}

#[test]
fn prefix_too_small_for_the_ids() {
    let text = format!("[mesh]\nprefix = \"fdcc::/126\"\n{}", two("", "").replace("id = 1", "id = 7"));
    has(&problems(&text), "node `b`: `id`: id 7 does not fit in prefix fdcc::/126");
    let text = format!("[mesh]\nipv4_prefix = \"100.64.0.0/30\"\n{}", two("", "").replace("id = 1", "id = 2"));
    has(&problems(&text), "node `b`: `id`: id 2 does not fit in ipv4_prefix");
}

#[test]
fn port_overflow() {
    let text = two("", "").replace("id = 1", "id = 400");
    has(&problems(&text), "pair `a`–`b`: `port`: port 132400 is outside 1..=65535");
    // The xor scheme fits the same ids.
    let ok = format!("[mesh]\nport_scheme = \"xor\"\n{text}");
    assert_eq!(build_plan(&Inventory::from_toml_str(&ok).unwrap()).unwrap().nodes["a"].links[0].port, 51800 + 400);
}

#[test]
fn well_known_ports_warn() {
    let text = format!("[mesh]\nbase_port = 1000\n{}", two("", ""));
    let plan = build_plan(&Inventory::from_toml_str(&text).unwrap()).unwrap();
    assert_eq!(plan.warnings, vec!["pair `a`–`b` uses well-known port 1002".to_string()]);
}

#[test]
fn link_local_collision() {
    let p = problems(&two("link_local = \"fe80::1\"", "link_local = \"fe80::1\""));
    has(&p, "node `b`: `link_local`: fe80::1 is also node `a`'s");
}

#[test]
fn interface_name_collision() {
    // Both long names shorten to the same 11 leading characters; the hash differs,
    // but a node literally named like a shortened name collides.
    let long = "averyveryverylongname";
    let short = hortus_core::ifname::interface_name("wg-", long);
    let peer_name = short.trim_start_matches("wg-");
    let text = format!(
        "[nodes.{long}]\nid = 0\npublic_key = \"{KEY_A}\"\nendpoints = [\"192.0.2.1\"]\n\
         [nodes.{peer_name}]\nid = 1\npublic_key = \"{KEY_B}\"\nendpoints = [\"192.0.2.2\"]\n\
         [nodes.c]\nid = 2\npublic_key = \"{KEY_C}\"\nendpoints = [\"192.0.2.3\"]\n"
    );
    has(&problems(&text), &format!("node `c`: `interface`: interface `{short}`"));
    // The anchor's name is taken too.
    let text = format!("[mesh]\nanchor = \"wg-b\"\n{}", two("", ""));
    has(&problems(&text), "mesh: `anchor`: `wg-b` starts with the interface prefix");
}

#[test]
fn unknown_fields_are_denied() {
    assert!(parse_error(&two("natt = true", "")).contains("unknown field `natt`"));
    assert!(parse_error(&format!("[mesh]\nbase_prot = 1\n{}", two("", ""))).contains("unknown field `base_prot`"));
    assert!(parse_error(&format!("[mesh.babel]\nhello = 1\n{}", two("", ""))).contains("unknown field `hello`"));
    assert!(parse_error(&format!("colour = 1\n{}", two("", ""))).contains("unknown field `colour`"));
}

#[test]
fn bad_mesh_settings_all_reported() {
    let text = format!(
        "[mesh]\ninterface_prefix = \"much-too-long-\"\nmtu = 1000\nbase_port = 0\n[mesh.babel]\nrtt_decay = 0\nupdate_interval_ms = 3\nhello_interval_ms = 5\nrtt_max_ms = 10\nkernel_scan_s = 0\nrxcost = 0\nhello_limit = 17\n[mesh.failover]\nprobe_interval_ms = 5\nprobe_misses = 1\nhold_down_ms = 5\n{}",
        two("", "")
    );
    let p = problems(&text);
    for field in [
        "interface_prefix",
        "mtu",
        "base_port",
        "babel.rtt_decay",
        "babel.update_interval_ms",
        "babel.hello_interval_ms",
        "babel.rtt_max_ms",
        "babel.kernel_scan_s",
        "babel.rxcost",
        "babel.hello_limit",
        "failover.probe_interval_ms",
        "failover.probe_misses",
        "failover.hold_down_ms",
    ] {
        has(&p, &format!("mesh: `{field}`"));
    }
}

#[test]
fn a_hold_down_within_the_detection_time_is_refused() {
    let p = problems(&format!(
        "[mesh.failover]\nprobe_interval_ms = 100\nprobe_misses = 5\nhold_down_ms = 500\n{}",
        two("", "")
    ));
    has(&p, "mesh: `failover.hold_down_ms`: expected more than the detection time (probe_interval_ms x probe_misses = 500 ms)");
}

#[test]
fn mtu_too_small_for_ipv6() {
    let p = problems(&two("mtu = 1300", ""));
    has(&p, "pair `a`–`b`: `mtu`: link MTU 1240");
}

#[test]
fn bad_node_names() {
    let text = two("", "").replace("[nodes.a]", "[nodes.\"bad name\"]");
    has(&problems(&text), "node `bad name`: `name`");
}

#[test]
fn bird_alone_with_the_backstop_hello_limit_is_warned_about() {
    let warned = |mesh: &str| {
        let inventory = Inventory::from_toml_str(&format!("{mesh}\n{}", two("", ""))).expect("inventory");
        let plan = build_plan(&inventory).expect("plan");
        plan.warnings.iter().any(|w| w.starts_with("babel.hello_limit: 4 without failover.probe"))
    };
    assert!(!warned(""), "the default: hortus failover probes");
    assert!(warned("[mesh.failover]\nprobe = false"));
    assert!(!warned("[mesh.failover]\nprobe = false\n[mesh.babel]\nhello_limit = 11"));
    assert!(!warned("[mesh]\nrouting = \"babeld\"\n[mesh.failover]\nprobe = false"), "babeld has no limit");
}
