//! `hortus diff` on real edits of a real inventory: what changes, per host,
//! what each host must do, and when it is a flag day.

use hortus_core::keys::{private_key_from_bytes, public_key};
use hortus_core::{build_plan, Inventory};
use hortus_diff::{diff, HostChange, LinkChange, PlanDiff, Step};

/// Three public nodes and one behind NAT, with `mesh` and per-node extras.
fn inventory(mesh: &str, extra: [&str; 4]) -> String {
    let mut text = format!("{mesh}\n");
    for (i, extra) in extra.iter().enumerate() {
        let key = public_key(&private_key_from_bytes([i as u8 + 1; 32])).unwrap();
        let endpoint = if i == 3 { "nat = true".to_string() } else { format!("endpoints = [\"192.0.2.{}\"]", i + 1) };
        text += &format!("[nodes.n{i}]\nid = {i}\npublic_key = \"{key}\"\n{endpoint}\n{extra}\n");
    }
    text
}

fn plans(old: &str, new: &str) -> PlanDiff {
    let plan = |text: &str| build_plan(&Inventory::from_toml_str(text).unwrap()).unwrap();
    diff(&plan(old), &plan(new))
}

fn host<'a>(d: &'a PlanDiff, name: &str) -> &'a hortus_diff::HostDiff {
    d.hosts.iter().find(|h| h.host == name).unwrap()
}

#[test]
fn the_same_inventory_changes_nothing() {
    let text = inventory("", ["", "", "", ""]);
    let d = plans(&text, &text);
    assert!(d.is_empty(), "{d:?}");
    assert!(d.hosts.iter().all(|h| h.change == HostChange::Unchanged));
}

#[test]
fn moving_every_port_is_a_flag_day_and_reconcile_recreates_the_interfaces() {
    let d = plans(&inventory("", ["", "", "", ""]), &inventory("[mesh]\nbase_port = 52000", ["", "", "", ""]));
    let flag_day = d.flag_day.as_ref().expect("a flag day");
    assert_eq!(flag_day.causes, ["mesh.base_port 51800 -> 52000"]);
    let n0 = host(&d, "n0");
    assert!(n0.links.iter().all(|l| l.change == LinkChange::Changed && l.fields.iter().any(|f| f.field == "port")));
    let Some(Step::Networkd { interfaces }) = n0.steps.first() else { panic!("{:?}", n0.steps) };
    assert!(interfaces.iter().any(|i| i.starts_with("recreate wg-n1: listens on port")), "{interfaces:?}");
}

#[test]
fn adding_a_node_is_no_flag_day_its_peers_gain_a_link() {
    let old = inventory("", ["", "", "", ""]);
    let key = public_key(&private_key_from_bytes([9; 32])).unwrap();
    let new = format!("{old}[nodes.n4]\nid = 4\npublic_key = \"{key}\"\nendpoints = [\"192.0.2.5\"]\n");
    let d = plans(&old, &new);
    assert_eq!(d.flag_day, None);
    assert_eq!(host(&d, "n4").change, HostChange::Added);
    for name in ["n0", "n1", "n2", "n3"] {
        let h = host(&d, name);
        assert_eq!(h.links.len(), 1, "{name}: {:?}", h.links);
        assert_eq!((h.links[0].peer.as_str(), h.links[0].change), ("n4", LinkChange::Added));
        assert!(h.steps.contains(&Step::Bird), "{name}: BIRD runs Babel on the new interface: {:?}", h.steps);
        // Nothing existing is recreated: adding a node moves no port.
        let Some(Step::Networkd { interfaces }) = h.steps.first() else { panic!("{:?}", h.steps) };
        assert!(interfaces.is_empty(), "{name}: {interfaces:?}");
    }
}

#[test]
fn one_node_s_mtu_changes_its_links_and_its_peers_links_to_it_only() {
    let d = plans(&inventory("", ["", "", "", ""]), &inventory("", ["mtu = 1400", "", "", ""]));
    assert_eq!(d.flag_day, None);
    assert!(host(&d, "n0").links.iter().all(|l| l.fields.iter().any(|f| f.field == "mtu")));
    let n1 = host(&d, "n1");
    assert_eq!(n1.links.iter().map(|l| l.peer.as_str()).collect::<Vec<_>>(), ["n0"]);
    let Some(Step::Networkd { interfaces }) = n1.steps.first() else { panic!("{:?}", n1.steps) };
    assert_eq!(interfaces.len(), 1);
    assert!(interfaces[0].starts_with("recreate wg-n0: MTU"), "{interfaces:?}");
}

#[test]
fn a_new_key_for_one_node_of_a_full_mesh_is_a_flag_day() {
    let key = public_key(&private_key_from_bytes([42; 32])).unwrap();
    let old = inventory("", ["", "", "", ""]);
    let n0 = public_key(&private_key_from_bytes([1; 32])).unwrap();
    let d = plans(&old, &old.replace(&n0, &key));
    let flag_day = d.flag_day.expect("every peer must learn the key with n0");
    assert!(flag_day.causes.iter().any(|c| c.contains("peer_public_key")), "{:?}", flag_day.causes);
}

#[test]
fn timers_change_the_daemon_s_config_only() {
    let d =
        plans(&inventory("", ["", "", "", ""]), &inventory("[mesh.babel]\nhello_interval_ms = 200", ["", "", "", ""]));
    assert_eq!(d.flag_day, None, "Babel works with mixed hello intervals");
    for h in &d.hosts {
        assert_eq!(h.steps, [Step::Bird], "{}", h.host);
    }
}
