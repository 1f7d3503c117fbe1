//! `nix/render-constants.json`: the renderers' fixed settings (networkd's
//! `[Link]`/`[Network]`, WireGuard's `RouteTable=` and `AllowedIPs=`, the
//! anchor's kind, the phantun units' environment and `[Service]`, the
//! hardening of hortus' own services), which
//! the NixOS module maps instead of writing them again. The file is
//! generated from the constants here; it must be current.
//! `HORTUS_BLESS=1 cargo test -p hortus-render --test nix_constants` rewrites it.

use hortus_render::{forwarder, networkd, service};
use serde_json::{json, Map, Value};
use std::path::Path;

fn settings(pairs: &[(&str, &str)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect::<Map<_, _>>())
}

#[test]
fn nix_render_constants_are_current() {
    let constants = json!({
        "networkd": {
            "link": settings(networkd::LINK_SETTINGS),
            "network": settings(networkd::NETWORK_SETTINGS),
            "anchorKind": networkd::ANCHOR_KIND,
            "routeTable": networkd::ROUTE_TABLE,
            "allowedIPs": networkd::ALLOWED_IPS,
        },
        "service": settings(service::HARDENING),
        "phantun": {
            "environment": settings(forwarder::PHANTUN_ENVIRONMENT),
            "service": settings(forwarder::PHANTUN_SERVICE),
        },
    });
    let text = serde_json::to_string_pretty(&constants).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/render-constants.json");
    if std::env::var("HORTUS_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "nix/render-constants.json is stale: HORTUS_BLESS=1 cargo test -p hortus-render --test nix_constants"
    );
}
