//! Generated nodes shared by the core's property tests, and the small
//! three-node meshes of the route and exit tests.

#![allow(dead_code)] // each test binary uses a different subset

use hortus_core::inventory::UseExit;
use hortus_core::{build_plan, Error, Inventory, Node, Plan};

/// A valid public key (not a small-order point) derived from `seed`.
pub fn key(seed: u64) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[31] = 0x55;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Node `id`; `flags` bits: 1 NAT'd, 2 censored, 4 no endpoint, 8 region
/// `r1`. Every third node routes a /48 that others may route too; every
/// seventh accepts no routes.
pub fn node(id: u32, flags: u8) -> Node {
    Node {
        id,
        public_key: key(u64::from(id) * 7919 + 1),
        endpoints: if flags & 4 == 0 { vec![format!("192.0.2.{}", id % 250 + 1)] } else { vec![] },
        lan_endpoints: vec![],
        underlay: None,
        nat: flags & 1 == 1,
        censored: flags & 2 == 2,
        region: format!("r{}", flags >> 3 & 1),
        link_local: None,
        address: None,
        ipv4_address: None,
        mtu: None,
        keepalive: None,
        cost: None,
        link_costs: Default::default(),
        routes: if id.is_multiple_of(3) { vec![format!("fd42:{:x}::/48", id % 5)] } else { vec![] },
        accept_routes: id % 7 != 3,
        masquerade_routes: id % 5 != 2,
        exit: false,
        use_exit: UseExit::Nearest(false),
    }
}

const KEYS: [&str; 3] = [
    "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=",
    "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=",
    "uMJ9PmQmAynIDpZ8Q10e2dBoT+CvGGYIoA5rH5q48T0=",
];

/// Three public nodes a, b, c, with the IPv4 overlay 100.64.0.0/24 when
/// `ipv4`; `extra[i]` goes into node i's table.
pub fn three_public(ipv4: bool, extra: [&str; 3]) -> String {
    let mut text = String::from(if ipv4 { "[mesh]\nipv4_prefix = \"100.64.0.0/24\"\n" } else { "" });
    for (i, (key, extra)) in KEYS.iter().zip(extra).enumerate() {
        let name = ["a", "b", "c"][i];
        text += &format!(
            "[nodes.{name}]\nid = {i}\npublic_key = \"{key}\"\nendpoints = [\"192.0.2.{}\"]\n{extra}\n",
            i + 1
        );
    }
    text
}

/// Nodes a, b, c with ids and keys only; `tables[i]` goes into node i's
/// table, `mesh` into `[mesh]`.
pub fn three(mesh: &str, tables: [&str; 3]) -> String {
    let mut text = format!("[mesh]\n{mesh}\n");
    for (i, (key, table)) in KEYS.iter().zip(tables).enumerate() {
        text += &format!("[nodes.{}]\nid = {i}\npublic_key = \"{key}\"\n{table}\n", ["a", "b", "c"][i]);
    }
    text
}

/// The plan of inventory `text`, which must be accepted.
pub fn plan(text: &str) -> Plan {
    build_plan(&Inventory::from_toml_str(text).unwrap()).unwrap_or_else(|e| panic!("should be accepted: {e}"))
}

/// The problems of inventory `text`, which must be refused.
pub fn problems(text: &str) -> Vec<String> {
    match build_plan(&Inventory::from_toml_str(text).unwrap()) {
        Err(Error::Invalid(problems)) => problems.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected problems, got {:?}", other.map(|_| "a plan")),
    }
}
