//! One test per rule of docs/validation.md ("Accepted means it works"): each
//! inventory here was accepted before its rule existed and gave configs a
//! consumer refuses or a mesh that cannot work.

use hortus_core::{build_plan, Error, Inventory};

const KEY_A: &str = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=";
const KEY_B: &str = "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=";

fn problems(text: &str) -> Vec<String> {
    let inventory = Inventory::from_toml_str(text).unwrap_or_else(|e| panic!("should parse: {e}"));
    match build_plan(&inventory) {
        Err(Error::Invalid(problems)) => problems.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected problems, got {:?}", other.map(|_| "a plan")),
    }
}

/// Two public nodes; `mesh` goes into `[mesh]`, `a`/`b` into the nodes.
fn two(mesh: &str, a: &str, b: &str) -> String {
    format!(
        "[mesh]\n{mesh}\n[nodes.a]\nid = 0\npublic_key = \"{KEY_A}\"\nendpoints = [\"192.0.2.1\"]\n{a}\n[nodes.b]\nid = 1\npublic_key = \"{KEY_B}\"\nendpoints = [\"192.0.2.2\"]\n{b}\n"
    )
}

fn has(text: &str, needle: &str) {
    let problems = problems(text);
    assert!(problems.iter().any(|p| p.contains(needle)), "no problem containing {needle:?} in {problems:#?}");
}

fn accepted(text: &str) {
    let inventory = Inventory::from_toml_str(text).unwrap();
    if let Err(e) = build_plan(&inventory) {
        panic!("should be accepted: {e}");
    }
}

#[test]
fn keepalive_zero_is_refused() {
    has(&two("keepalive = 0", "", ""), "mesh: `keepalive`: expected 1..=65535 seconds");
    has(&two("", "keepalive = 0", ""), "node `a`: `keepalive`: expected 1..=65535 seconds");
    accepted(&two("keepalive = 1", "keepalive = 65535", ""));
}

#[test]
fn ipv4_addresses_must_be_usable_hosts_of_the_prefix() {
    let v4 = "ipv4_prefix = \"10.42.0.0/24\"";
    has(&two(v4, "ipv4_address = \"10.43.0.5\"", ""), "node `a`: `ipv4_address`: 10.43.0.5 is outside ipv4_prefix");
    has(&two(v4, "ipv4_address = \"10.42.0.0\"", ""), "is the network address of 10.42.0.0/24");
    has(&two(v4, "ipv4_address = \"10.42.0.255\"", ""), "is the broadcast address of 10.42.0.0/24");
    accepted(&two(v4, "ipv4_address = \"10.42.0.254\"", ""));
}

#[test]
fn ipv4_prefix_must_be_a_private_unicast_range() {
    has(&two("ipv4_prefix = \"0.0.0.0/0\"", "", ""), "mesh: `ipv4_prefix`: 0.0.0.0/0 is shorter than /8");
    has(&two("ipv4_prefix = \"127.0.0.0/8\"", "", ""), "overlaps loopback");
    has(&two("ipv4_prefix = \"224.0.0.0/24\"", "", ""), "overlaps multicast");
    has(&two("ipv4_prefix = \"10.0.0.0/31\"", "", ""), "holds no node address");
}

#[test]
fn explicit_ipv6_address_is_not_the_network_address() {
    has(&two("", "address = \"fdcc::\"", ""), "node `a`: `address`: fdcc:: is the network");
}

#[test]
fn rtt_cost_bird_refuses() {
    has(&two("[mesh.babel]\nrtt_cost = 65535", "", ""), "mesh: `babel.rtt_cost`: expected 0..=65534");
    accepted(&two("[mesh.babel]\nrtt_cost = 65534", "", ""));
}

#[test]
fn arithmetic_never_wraps() {
    // 40 + u32::MAX wrapped to 39 bytes of overhead: MTU 1500 - 60 - 39 on a forwarded link.
    let censored = format!(
        "{}[nodes.c]\nid = 2\npublic_key = \"ZQv51UhFw5mghyzt9YLs2F6ymCDnsnd4D7Rq7bqLUE4=\"\nendpoints = [\"192.0.2.3\"]\ncensored = true\n",
        two("forward_overhead = 4294967295", "", "")
    );
    has(&censored, "mesh: `forward_overhead`: expected 0..=65535 bytes");
    // Cantor indices of ids near 2^32 wrapped in 64 bits: an absurd port was reported.
    let huge = two("", "", "").replace("id = 0", "id = 4294967293").replace("id = 1", "id = 4294967294");
    has(&huge, "port 36893488113059416672 is outside 1..=65535");
    // A /128 mesh prefix or a /32 IPv4 prefix: "host bits set" (or a panic in debug builds).
    has(
        &two("prefix = \"fdcc::1/128\"", "address = \"fdcc::1\"", ""),
        "node `b`: `id`: id 1 does not fit in prefix fdcc::1/128",
    );
}

#[test]
fn public_keys_must_allow_a_handshake() {
    let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    has(&two("", "", "").replace(KEY_A, zero), "node `a`: `public_key`: a point of small order");
    // 1 (little endian) is a point of order 4.
    let one = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    has(&two("", "", "").replace(KEY_B, one), "node `b`: `public_key`: a point of small order");
}

#[test]
fn endpoints_must_be_dialable_addresses_or_names() {
    let endpoint = |e: &str| two("", "", "").replacen("192.0.2.1", e, 1);
    has(&endpoint("198.51.100"), "node `a`: `endpoints`: `198.51.100` is neither a complete IP address nor a DNS name");
    has(&endpoint("0.0.0.0"), "`0.0.0.0` is \"this network\"");
    has(&endpoint("127.0.0.1"), "`127.0.0.1` is loopback");
    has(&endpoint("::1"), "`::1` is loopback");
    has(&endpoint("::"), "`::` is the unspecified address");
    has(&endpoint("224.0.0.1"), "`224.0.0.1` is multicast");
    has(&endpoint("ff02::1"), "`ff02::1` is multicast");
    has(&endpoint("255.255.255.255"), "`255.255.255.255` is reserved or broadcast");
    has(&endpoint("fe80::1"), "`fe80::1` is link-local");
    has(&endpoint("fdcc::5"), "`fdcc::5` is inside the mesh prefix fdcc::/64");
    let v4 = two("ipv4_prefix = \"10.42.0.0/24\"", "", "").replacen("192.0.2.1", "10.42.0.7", 1);
    has(&v4, "`10.42.0.7` is inside the mesh's ipv4_prefix 10.42.0.0/24");
    has(&endpoint("::ffff:127.0.0.1"), "is loopback");
}

#[test]
fn interface_names_never_take_a_host_interface() {
    for anchor in ["eth0", "lo", "wg0", "enp3s0", "br-lan", "docker0"] {
        has(&two(&format!("anchor = \"{anchor}\""), "", ""), "mesh: `anchor`");
    }
    // `wg` + peer `0` = `wg0`; `eth-` names look like eth*.
    has(&two("interface_prefix = \"wg\"", "", ""), "mesh: `interface_prefix`: `wg` must end with");
    has(
        &two("interface_prefix = \"eth-\"", "", ""),
        "mesh: `interface_prefix`: `eth-` makes names like host interfaces",
    );
    accepted(&two("interface_prefix = \"mesh-\"\nanchor = \"hortus0\"", "", ""));
}

#[test]
fn a_mesh_split_into_islands_is_refused() {
    // Two NAT'd nodes in different regions: no link at all.
    has(
        &two("", "nat = true\nregion = \"eu\"", "nat = true\nregion = \"us\""),
        "mesh: `nodes`: the mesh is split into 2 parts",
    );
    // Four nodes, two islands: {a, b} (same region) and {c, d}.
    let text = format!(
        "{}\n[nodes.c]\nid = 2\npublic_key = \"ZQv51UhFw5mghyzt9YLs2F6ymCDnsnd4D7Rq7bqLUE4=\"\nendpoints = [\"192.0.2.3\"]\nnat = true\nregion = \"us\"\n[nodes.d]\nid = 3\npublic_key = \"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"\nendpoints = [\"192.0.2.4\"]\nnat = true\nregion = \"us\"\n",
        two("", "nat = true\nregion = \"eu\"", "nat = true\nregion = \"eu\"")
    );
    has(&text, "{`a`, `b`} | {`c`, `d`}");
    has("nodes = {}", "mesh: `nodes`: the inventory has no nodes");
}

#[test]
fn mac_key_file_is_checked_at_check_time() {
    has(
        &two("[mesh.babel]\nmac_key_file = \"keys/mac.conf\"", "", ""),
        "mesh: `babel.mac_key_file`: `keys/mac.conf` is not an absolute path",
    );
    has(&two("[mesh.babel]\nmac_key_file = \"/run/a b\"", "", ""), "contains whitespace");
    has(&two("routing = \"babeld\"\n[mesh.babel]\nmac_key_file = \"/run/keys/mac\"", "", ""), "babeld cannot read");
}

#[test]
fn every_unknown_field_is_reported() {
    let text = two("colour = \"red\"", "privat_key = \"x\"", "mtuu = 1400");
    let message = match Inventory::from_toml_str(&text) {
        Err(Error::Parse(m)) => m,
        other => panic!("expected a parse error, got {other:?}"),
    };
    for field in ["`mesh.colour`", "`nodes.a.privat_key`", "`nodes.b.mtuu`"] {
        assert!(message.contains(field), "{field} missing in {message}");
    }
}
