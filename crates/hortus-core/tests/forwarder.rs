//! Forwarded links in the plan: the transport, its TUN devices, its MTU
//! overhead, and the warnings and problems where it cannot work.

use hortus_core::{build_plan, Error, Inventory, Link, Plan};
use hortus_plan::Transport;

const KEY_A: &str = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=";
const KEY_B: &str = "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=";

/// Public uncensored `a` (id 0) and censored `b` (id 1) with `b_extra`, under `mesh`.
fn pair(mesh: &str, b_extra: &str) -> String {
    format!(
        "[mesh]\n{mesh}\n[nodes.a]\nid = 0\npublic_key = \"{KEY_A}\"\nendpoints = [\"192.0.2.1\"]\n\
         [nodes.b]\nid = 1\npublic_key = \"{KEY_B}\"\ncensored = true\n{b_extra}\n"
    )
}

fn plan(toml: &str) -> Plan {
    build_plan(&Inventory::from_toml_str(toml).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(toml: &str) -> Vec<String> {
    match build_plan(&Inventory::from_toml_str(toml).unwrap()) {
        Err(Error::Invalid(problems)) => problems.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

fn link<'a>(plan: &'a Plan, a: &str, b: &str) -> &'a Link {
    plan.nodes[a].links.iter().find(|l| l.peer == b).unwrap()
}

#[test]
fn phantun_is_the_default_and_adds_12_bytes() {
    let plan = plan(&pair("", ""));
    assert_eq!(plan.mesh.forwarder, Transport::Phantun);
    let b = link(&plan, "b", "a");
    assert_eq!(b.forwarder.as_ref().unwrap().transport(), Transport::Phantun);
    assert_eq!(b.mtu, 1500 - 60 - 12);
    assert_eq!(plan.nodes["a"].firewall.tcp_ports, vec![51802]);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn an_operators_forwarder_has_no_tun_the_old_overhead_and_a_warning() {
    let plan = plan(&pair("forwarder = \"none\"", ""));
    let b = link(&plan, "b", "a").forwarder.clone().unwrap();
    assert_eq!((b.transport(), b.tun()), (Transport::External, None));
    assert_eq!(link(&plan, "a", "b").mtu, 1500 - 60 - 40);
    assert_eq!(plan.warnings.len(), 1);
    assert!(plan.warnings[0].contains("1 forwarded link(s) and mesh.forwarder = \"none\""), "{:?}", plan.warnings);
    let plan = self::plan(&pair("forwarder = \"none\"\nforward_overhead = 44", ""));
    assert_eq!(link(&plan, "a", "b").mtu, 1500 - 60 - 44);
}

#[test]
fn both_ends_behind_nat_cannot_host_a_phantun_server() {
    // b is censored and behind NAT; a behind NAT too: nobody accepts
    // phantun's TCP. Public c serves both.
    let toml = pair("", "nat = true").replace("endpoints = [\"192.0.2.1\"]", "nat = true")
        + "[nodes.c]\nid = 2\npublic_key = \"ZQv51UhFw5mghyzt9YLs2F6ymCDnsnd4D7Rq7bqLUE4=\"\nendpoints = [\"192.0.2.3\"]\n";
    let plan = plan(&toml);
    assert_eq!(plan.nodes["a"].links.len(), 1);
    assert_eq!(plan.skipped_pairs().len(), 1);
    assert!(
        plan.warnings.iter().any(|w| w.contains("1 pair(s) need a forwarder") && w.contains("phantun server")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn tun_names_must_not_collide_with_wireguard_interfaces() {
    let p = problems(&pair("interface_prefix = \"ph-\"", ""));
    assert!(
        p.iter().any(|p| p.contains("node `a`: `interface`: forwarder TUN `ph-b` for peer `b` collides with the interface")),
        "{p:#?}"
    );
}

#[test]
fn forwarder_prefixes_must_fit_and_stay_clear_of_the_overlay() {
    let p = problems(&pair("forwarder_ipv6_prefix = \"fdcc::/48\"", ""));
    assert!(
        p.iter().any(|p| p.contains("mesh: `forwarder_ipv6_prefix`: fdcc::/48 overlaps the mesh prefix")),
        "{p:#?}"
    );
    let p = problems(&pair("ipv4_prefix = \"10.237.1.0/24\"", ""));
    assert!(p.iter().any(|p| p.contains("`forwarder_ipv4_prefix`: 10.237.0.0/16 overlaps ipv4_prefix")), "{p:#?}");
    let p = problems(&pair("forwarder_ipv4_prefix = \"10.9.9.0/30\"", ""));
    assert!(
        p.iter().any(|p| p
            .contains("node `a`: `forwarder_ipv4_prefix`: the phantun TUN addresses for peer `b` (id 1) do not fit")),
        "{p:#?}"
    );
    let p = problems(&pair("forward_overhead = 70000", ""));
    assert!(p.iter().any(|p| p.contains("`forward_overhead`: expected 0..=65535 bytes, got 70000")), "{p:#?}");
}
