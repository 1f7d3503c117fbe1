//! Host names: `/etc/hosts` lines giving every node's ULA (and IPv4
//! overlay address, when it has one) the name `<node>.<domain>`, the same
//! entries the NixOS module puts in `networking.hosts` (`nix/hosts.nix`).

use crate::error::RenderError;
use hortus_plan::{NodePlan, Plan};

/// The domain names get when none is given.
pub const DEFAULT_DOMAIN: &str = "hortus";

/// Checks that `domain` is a DNS name: dot-separated labels of 1 to 63
/// letters, digits and inner hyphens.
pub fn validate_domain(domain: &str) -> Result<(), RenderError> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if domain.len() <= 253 && domain.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(RenderError::Unsupported {
            renderer: "hosts",
            field: "domain",
            value: format!("{domain:?}"),
            reason: "expected a DNS name (labels of letters, digits and inner hyphens, joined by dots)",
        })
    }
}

/// The hosts lines of every node of `plan`, in node id order: ULA first,
/// then the IPv4 overlay address.
pub fn render(plan: &Plan, domain: &str) -> Result<String, RenderError> {
    validate_domain(domain)?;
    let mut nodes: Vec<(&String, &NodePlan)> = plan.nodes.iter().collect();
    nodes.sort_by_key(|(_, n)| n.id);
    let mut out = format!("{}\n# Every mesh node as <node>.{domain}.\n", crate::HEADER);
    for (name, node) in nodes {
        out += &format!("{}\t{name}.{domain}\n", node.address);
        if let Some(v4) = node.ipv4_address {
            out += &format!("{v4}\t{name}.{domain}\n");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_by_ula_and_ipv4() {
        let text = "[mesh]\nipv4_prefix = \"100.64.0.0/24\"\n\
            [nodes.a]\nid = 0\npublic_key = \"Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=\"\nendpoints = [\"192.0.2.1\"]\n\
            [nodes.b]\nid = 1\npublic_key = \"CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=\"\nendpoints = [\"192.0.2.2\"]\n";
        let plan = hortus_core::build_plan(&hortus_core::Inventory::from_toml_str(text).unwrap()).unwrap();
        let hosts = render(&plan, "mesh.example").unwrap();
        let lines: Vec<&str> = hosts.lines().filter(|l| !l.starts_with('#')).collect();
        let v4 = |id: u32| plan.nodes.values().find(|n| n.id == id).unwrap().ipv4_address.unwrap();
        assert_eq!(
            lines,
            [
                "fdcc::1\ta.mesh.example".to_string(),
                format!("{}\ta.mesh.example", v4(0)),
                "fdcc::2\tb.mesh.example".into(),
                format!("{}\tb.mesh.example", v4(1)),
            ]
        );
    }

    #[test]
    fn refuses_bad_domains() {
        assert!(validate_domain("hortus").is_ok());
        assert!(validate_domain("mesh.example.org").is_ok());
        for bad in ["", ".", "a..b", "-a", "a b", "a_b", "x.", &"a".repeat(64)] {
            assert!(validate_domain(bad).unwrap_err().to_string().contains("`domain`"), "{bad}");
        }
    }
}
