//! Property: `build_host_plan` (O(n), one host's pairs) gives byte for byte
//! the view `build_plan(..).host(..)` cuts from the whole plan, warnings of
//! well-known ports included.

use common::node;
use hortus_core::inventory::PortScheme;
use hortus_core::{build_host_plan, build_plan, Error, Inventory};
use proptest::prelude::*;

mod common;

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
