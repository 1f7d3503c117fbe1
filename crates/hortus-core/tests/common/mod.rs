//! Generated nodes shared by the core's property tests.

use hortus_core::Node;

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
        nat: flags & 1 == 1,
        censored: flags & 2 == 2,
        region: format!("r{}", flags >> 3 & 1),
        link_local: None,
        address: None,
        ipv4_address: None,
        mtu: None,
        keepalive: None,
        routes: if id.is_multiple_of(3) { vec![format!("fd42:{:x}::/48", id % 5)] } else { vec![] },
        accept_routes: id % 7 != 3,
        masquerade_routes: id % 5 != 2,
        exit: false,
        use_exit: false,
    }
}
