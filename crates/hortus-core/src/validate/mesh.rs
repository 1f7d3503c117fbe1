//! Rules on the mesh-wide settings (`[mesh]`).

use super::values::{bad_cost, bad_ipv4_prefix, bad_keepalive, bad_mtu, bad_path, system_interface, MAX_RTT_COST};
use crate::ifname::valid_interface_name;
use crate::inventory::MeshSettings;
use crate::Problem;
use hortus_plan::RoutingDaemon;

/// Longest BIRD kernel scan period accepted (a day); BIRD's own default is 60 s.
const MAX_KERNEL_SCAN_S: u32 = 86_400;

/// Every problem of the mesh settings.
pub fn mesh(mesh: &MeshSettings) -> Vec<Problem> {
    let mut problems = vec![];
    let mut problem = |field: &str, message: String| problems.push(Problem::mesh(field, message));
    if u128::from(mesh.prefix.addr) >> 121 != 0x7e || mesh.prefix.len < 7 {
        problem("prefix", format!("expected a ULA prefix inside fc00::/7, got {}", mesh.prefix));
    }
    if let Some(prefix) = mesh.ipv4_prefix {
        if let Some(why) = bad_ipv4_prefix(&prefix) {
            problem("ipv4_prefix", format!("{prefix} {why}"));
        }
    }
    interface_names(mesh, &mut problem);
    if mesh.base_port == 0 || mesh.base_port > 65535 {
        problem("base_port", format!("expected 1..=65535, got {}", mesh.base_port));
    }
    if let Some(why) = bad_mtu(mesh.mtu) {
        problem("mtu", why);
    }
    if let Some(why) = bad_keepalive(mesh.keepalive) {
        problem("keepalive", why.into());
    }
    forwarder(mesh, &mut problem);
    babel(mesh, &mut problem);
    failover(mesh, &mut problem);
    endpoints(mesh, &mut problem);
    problems
}

/// Longest quiet time before `hortus endpoints` switches (an hour).
const MAX_SWITCH_AFTER_S: u32 = 3600;

/// `switch_after_s` leaves room for several Babel hellos (which keep a
/// working link busy) and WireGuard's 5 s handshake retry.
fn endpoints(mesh: &MeshSettings, problem: &mut impl FnMut(&str, String)) {
    let after = mesh.endpoints.switch_after_s;
    let least = (mesh.babel.hello_interval_ms.saturating_mul(3).div_ceil(1000)).max(10);
    if !(least..=MAX_SWITCH_AFTER_S).contains(&after) {
        problem(
            "endpoints.switch_after_s",
            format!(
                "expected {least}..={MAX_SWITCH_AFTER_S} seconds (at least 10 and three Babel hello intervals, so a working link is never moved), got {after}"
            ),
        );
    }
}

/// The anchor and the interface prefix: valid names that can never name,
/// with any peer, an interface the host already has.
fn interface_names(mesh: &MeshSettings, problem: &mut impl FnMut(&str, String)) {
    let prefix = &mesh.interface_prefix;
    if !(1..=10).contains(&prefix.len()) || !valid_interface_name(prefix) {
        problem("interface_prefix", format!("expected 1 to 10 characters of [A-Za-z0-9._-], got `{prefix}`"));
    } else if !prefix.ends_with(['-', '_', '.']) {
        problem(
            "interface_prefix",
            format!("`{prefix}` must end with `-`, `_` or `.` so that no peer name makes a host interface name (`wg` + `0` = `wg0`)"),
        );
    } else if let Some(pattern) = system_interface(&format!("{prefix}x")) {
        problem(
            "interface_prefix",
            format!("`{prefix}` makes names like host interfaces (`{pattern}`); use e.g. `wg-`"),
        );
    }
    let anchor = &mesh.anchor;
    if !valid_interface_name(anchor) {
        problem("anchor", format!("`{anchor}` is not a valid interface name (1..15 of [A-Za-z0-9._-])"));
    } else if let Some(pattern) = system_interface(anchor) {
        problem(
            "anchor",
            format!("`{anchor}` looks like a host interface (`{pattern}`); the rendered .network would configure it. Use e.g. `anchor-0`"),
        );
    }
    if anchor.starts_with(prefix.as_str()) {
        problem("anchor", format!("`{anchor}` starts with the interface prefix `{prefix}`"));
    }
}

/// The forwarder's overhead fits a packet and its prefixes stay clear of the overlay's.
fn forwarder(mesh: &MeshSettings, problem: &mut impl FnMut(&str, String)) {
    if let Some(overhead) = mesh.forward_overhead.filter(|o| *o > 65_535) {
        problem("forward_overhead", format!("expected 0..=65535 bytes, got {overhead}"));
    }
    let (v6, v4) = (mesh.forwarder_ipv6_prefix, mesh.forwarder_ipv4_prefix);
    if v6.contains(mesh.prefix.addr) || mesh.prefix.contains(v6.addr) {
        problem("forwarder_ipv6_prefix", format!("{v6} overlaps the mesh prefix {}", mesh.prefix));
    }
    if let Some(overlay) = mesh.ipv4_prefix {
        if v4.overlaps(&overlay) {
            problem("forwarder_ipv4_prefix", format!("{v4} overlaps ipv4_prefix {overlay}"));
        }
    }
}

/// Probe timers that can work: probes at least every 10 ms apart, a link
/// down after 2..=64 silent intervals, back only after longer than that.
fn failover(mesh: &MeshSettings, problem: &mut impl FnMut(&str, String)) {
    let f = &mesh.failover;
    if !(10..=10_000).contains(&f.probe_interval_ms) {
        problem("failover.probe_interval_ms", format!("expected 10..=10000 ms, got {}", f.probe_interval_ms));
    }
    if !(2..=64).contains(&f.probe_misses) {
        problem("failover.probe_misses", format!("expected 2..=64 intervals, got {}", f.probe_misses));
    }
    let detection = f.detection().as_millis();
    if u128::from(f.hold_down_ms) <= detection || f.hold_down_ms > 600_000 {
        problem(
            "failover.hold_down_ms",
            format!(
                "expected more than the detection time (probe_interval_ms x probe_misses = {detection} ms) and at most 600000, got {}",
                f.hold_down_ms
            ),
        );
    }
}

/// Babel timers and costs within what BIRD and babeld accept.
fn babel(mesh: &MeshSettings, problem: &mut impl FnMut(&str, String)) {
    let babel = &mesh.babel;
    if !(10..=655_350).contains(&babel.hello_interval_ms) {
        problem(
            "babel.hello_interval_ms",
            format!("expected 10..=655350 (BIRD's range), got {}", babel.hello_interval_ms),
        );
    }
    if babel.update_interval_ms < babel.hello_interval_ms || babel.update_interval_ms > 655_350 {
        problem(
            "babel.update_interval_ms",
            format!("expected hello_interval_ms..=655350, got {}", babel.update_interval_ms),
        );
    }
    if let Some(why) = bad_cost(babel.rxcost) {
        problem("babel.rxcost", why);
    }
    if !(1..=16).contains(&babel.hello_limit) {
        problem("babel.hello_limit", format!("expected 1..=16 (of the last 16 hellos), got {}", babel.hello_limit));
    }
    if !(1..=MAX_KERNEL_SCAN_S).contains(&babel.kernel_scan_s) {
        problem(
            "babel.kernel_scan_s",
            format!("expected 1..={MAX_KERNEL_SCAN_S} seconds, got {}", babel.kernel_scan_s),
        );
    }
    if !(1..=256).contains(&babel.rtt_decay) {
        problem("babel.rtt_decay", format!("expected 1..=256, got {}", babel.rtt_decay));
    }
    if babel.rtt_cost > MAX_RTT_COST {
        problem(
            "babel.rtt_cost",
            format!("expected 0..={MAX_RTT_COST} (BIRD: \"RTT cost must be < 65535\"), got {}", babel.rtt_cost),
        );
    }
    if babel.rtt_max_ms <= 10 && babel.rtt_cost > 0 {
        problem(
            "babel.rtt_max_ms",
            format!(
                "expected more than 10 ms while rtt_cost is set (BIRD's rtt min is 10 ms), got {}",
                babel.rtt_max_ms
            ),
        );
    }
    if let Some(path) = &babel.mac_key_file {
        if let Some(why) = bad_path(path) {
            problem("babel.mac_key_file", format!("`{path}` {why}"));
        }
        if mesh.routing == RoutingDaemon::Babeld {
            problem(
                "babel.mac_key_file",
                "set, but routing = \"babeld\": the key file holds BIRD `password` statements, which babeld cannot read"
                    .into(),
            );
        }
    }
}
