//! Property: adding a node with a new, higher id never changes any existing
//! pair's port, address, link-local or interface name, and the plan's bytes
//! are the same on every run.

use common::node;
use hortus_core::inventory::PortScheme;
use hortus_core::{build_plan, Inventory};
use proptest::prelude::*;

mod common;

fn inventory(ids: &[(u32, u8)], scheme: PortScheme) -> Inventory {
    let mut inv = Inventory::from_toml_str("nodes = {}").unwrap();
    inv.mesh.port_scheme = scheme;
    inv.mesh.base_port = 20000;
    inv.mesh.ipv4_prefix = Some("100.64.0.0/16".parse().unwrap());
    for (id, flags) in ids {
        inv.nodes.insert(format!("n{id}"), node(*id, *flags));
    }
    inv
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn adding_a_higher_id_changes_nothing_existing(
        flags in proptest::collection::vec(0u8..16, 2..12),
        gap in 1u32..20,
        new_flags in 0u8..16,
        scheme in prop_oneof![Just(PortScheme::Cantor), Just(PortScheme::Dense), Just(PortScheme::Xor)],
    ) {
        // Node 0 is public and uncensored: it links to every node, so the mesh is never split.
        let mut ids: Vec<(u32, u8)> =
            flags.iter().enumerate().map(|(i, f)| (i as u32 * 2, if i == 0 { 0 } else { *f })).collect();
        let before = build_plan(&inventory(&ids, scheme)).unwrap();
        let max = ids.iter().map(|(id, _)| *id).max().unwrap();
        ids.push((max + gap, new_flags));
        let after = build_plan(&inventory(&ids, scheme)).unwrap();
        for (name, old) in &before.nodes {
            let new = &after.nodes[name];
            prop_assert_eq!(old.address, new.address);
            prop_assert_eq!(old.link_local, new.link_local);
            prop_assert_eq!(old.ipv4_address, new.ipv4_address);
            prop_assert_eq!(old.router_id, new.router_id);
            for link in &old.links {
                let same = new.links.iter().find(|l| l.peer == link.peer).unwrap();
                prop_assert_eq!(link, same);
            }
        }
        // Same inventory, same bytes.
        let again = build_plan(&inventory(&ids, scheme)).unwrap();
        prop_assert_eq!(serde_json::to_vec(&after).unwrap(), serde_json::to_vec(&again).unwrap());
    }
}
