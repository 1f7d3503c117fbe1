//! A node's boundary, as the plan and the renderers give it: the perimeter
//! nftables table `hortus render --format firewall` writes (perimeter, MSS
//! clamping, masquerading into subnets and out of exits), and the plan's
//! policy routing (`node.policy_routing`: the rules networkd's
//! `[RoutingPolicyRule]` sections hold, and the exit table's unreachable
//! defaults), applied with `ip`.

use crate::exec::{ip, nft};
use crate::lab::Lab;
use crate::Result;
use hortus_plan::{IpFamily, PolicyRouting, PolicyRule, MAIN_TABLE};

impl Lab {
    /// Loads `name`'s perimeter table and applies its policy routing.
    pub(crate) fn configure_boundary(&self, name: &str) -> Result<()> {
        let host = self.plan.host(name)?;
        let ns = self.state.node_ns(name);
        nft(&ns, hortus_render::firewall::nftables(&host))?;
        if let Some(policy) = &host.node.policy_routing {
            apply_policy_routing(&ns, policy)?;
        }
        Ok(())
    }
}

/// `ip rule add` per rule, and the unreachable defaults of the exit table.
fn apply_policy_routing(ns: &str, policy: &PolicyRouting) -> Result<()> {
    for rule in &policy.rules {
        let args = rule_args(rule);
        ip(ns, &args.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    for prefix in &policy.unreachable {
        let family = if prefix.is_ipv4() { "-4" } else { "-6" };
        let (table, metric, prefix) =
            (policy.table.to_string(), policy.unreachable_metric.to_string(), prefix.to_string());
        ip(ns, &[family, "route", "add", "unreachable", &prefix, "table", &table, "metric", &metric])?;
    }
    Ok(())
}

/// The `ip` arguments adding `rule`.
fn rule_args(rule: &PolicyRule) -> Vec<String> {
    let family = match rule.family {
        IpFamily::Ipv4 => "-4",
        IpFamily::Ipv6 => "-6",
    };
    let mut args: Vec<String> =
        vec![family.into(), "rule".into(), "add".into(), "priority".into(), rule.priority.to_string()];
    if rule.invert {
        args.push("not".into());
    }
    if let Some(mark) = rule.fwmark {
        args.extend(["fwmark".into(), mark.to_string()]);
    }
    if let Some(interface) = &rule.input_interface {
        args.extend(["iif".into(), interface.clone()]);
    }
    if let Some(from) = &rule.from {
        args.extend(["from".into(), from.to_string()]);
    }
    if let Some(to) = &rule.to {
        args.extend(["to".into(), to.to_string()]);
    }
    let table = if rule.table == MAIN_TABLE { "main".to_string() } else { rule.table.to_string() };
    args.extend(["table".into(), table]);
    if let Some(len) = rule.suppress_prefix_length {
        args.extend(["suppress_prefixlength".into(), len.to_string()]);
    }
    args
}
