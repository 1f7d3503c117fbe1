//! Inventory bytes → parse (TOML and JSON) → check → plan → every host's
//! view (whole plan and O(n) host plan, which must agree, and the view
//! read back through the plan loader) → BIRD, babeld, networkd, forwarder
//! and sysctl renders. Any panic (or a hang past libFuzzer's timeout) is
//! a finding; errors are fine.

#![no_main]

use hortus_core::{build_host_plan, build_plan, Inventory};
use hortus_plan::PlanFile;
use hortus_render::{babeld, bird, forwarder, networkd, sysctl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for name in ["fuzz.toml", "fuzz.json", "-"] {
        let Ok(inventory) = Inventory::from_named_str(name, text) else { continue };
        let Ok(plan) = build_plan(&inventory) else { continue };
        for host in plan.nodes.keys() {
            let view = plan.host(host).expect("a node of the plan has a view");
            assert_eq!(build_host_plan(&inventory, host).as_ref().ok(), Some(&view), "host plan of {host}");
            let json = serde_json::to_string(&view).expect("a view serialises");
            let back = PlanFile::parse(&json).and_then(|f| f.host_view(None)).expect("a view reads back");
            assert_eq!(back, view, "view of {host} read back");
            let bird_opts = bird::Options::default();
            if bird::validate(&bird_opts).is_ok() {
                let _ = bird::render(&view, &bird_opts);
            }
            let babeld_opts = babeld::Options::default();
            if babeld::validate(&view, &babeld_opts).is_ok() {
                let _ = babeld::render(&view, &babeld_opts);
            }
            let networkd_opts =
                networkd::Options { private_key_file: "/etc/hortus/wireguard.key".into(), preshared_key_file: None };
            let _ = networkd::render(&view, &networkd_opts);
            let _ = forwarder::render(&view, &forwarder::Options::default());
            let _ = sysctl::render(&view);
        }
    }
});
