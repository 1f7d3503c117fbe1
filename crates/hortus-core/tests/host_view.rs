//! Property: `build_host_plan` (O(n), one host's pairs) gives byte for byte
//! the view `build_plan(..).host(..)` cuts from the whole plan, warnings of
//! well-known ports included.

use hortus_core::inventory::PortScheme;
use hortus_core::{build_host_plan, build_plan, Error, Inventory, Node};
use proptest::prelude::*;

fn key(seed: u32) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&seed.to_le_bytes());
    bytes[31] = 0x55;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn node(id: u32, flags: u8) -> Node {
    Node {
        id,
        public_key: key(id),
        endpoints: if flags & 4 == 0 { vec![format!("192.0.2.{}", id % 250 + 1)] } else { vec![] },
        nat: flags & 1 == 1,
        censored: flags & 2 == 2,
        region: format!("r{}", flags >> 3 & 1),
        link_local: None,
        address: None,
        ipv4_address: None,
        mtu: None,
        keepalive: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn host_view_is_the_whole_plans_view(
        nodes in proptest::collection::btree_map(0u32..300, 0u8..16, 1..14),
        scheme in prop_oneof![Just(PortScheme::Cantor), Just(PortScheme::Dense), Just(PortScheme::Xor)],
        base_port in prop_oneof![Just(1u32), Just(600), Just(1000), Just(20000)],
    ) {
        let mut inventory = Inventory::from_toml_str("nodes = {}").unwrap();
        inventory.mesh.port_scheme = scheme;
        inventory.mesh.base_port = base_port;
        // The lowest id is a public, uncensored hub (linked to all), so the mesh is never split.
        let hub = *nodes.keys().next().unwrap();
        for (id, flags) in &nodes {
            inventory.nodes.insert(format!("n{id}"), node(*id, if *id == hub { 0 } else { *flags }));
        }
        let Ok(plan) = build_plan(&inventory) else { return Ok(()) };
        for name in plan.nodes.keys() {
            let view = build_host_plan(&inventory, name).unwrap();
            prop_assert_eq!(
                serde_json::to_string_pretty(&view).unwrap(),
                serde_json::to_string_pretty(&plan.host(name).unwrap()).unwrap()
            );
        }
        let unknown = build_host_plan(&inventory, "nobody").unwrap_err();
        prop_assert!(matches!(unknown, Error::UnknownHost(..)), "{}", unknown);
    }
}
