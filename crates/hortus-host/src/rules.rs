//! The kernel's routing policy rules over rtnetlink, compared with the
//! plan's (`node.policy_routing.rules`): which planned rules are missing.

use crate::netlink;
use crate::HostError;
use hortus_plan::{IpFamily, IpPrefix, PolicyRule};
use netlink_packet_route::rule::{RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

/// The planned rules the kernel does not have, as `ip rule` would show them.
pub fn missing_rules(planned: &[PolicyRule]) -> Result<Vec<String>, HostError> {
    if planned.is_empty() {
        return Ok(vec![]);
    }
    let mut live = vec![];
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut request = RuleMessage::default();
        request.header.family = family;
        let messages =
            netlink::dump(RouteNetlinkMessage::GetRule(request)).map_err(HostError::netlink("list policy rules"))?;
        live.extend(messages.iter().filter_map(|m| match m {
            RouteNetlinkMessage::NewRule(rule) => decode(rule),
            _ => None,
        }));
    }
    Ok(planned.iter().filter(|rule| !live.contains(rule)).map(describe).collect())
}

/// A kernel rule in the plan's terms (`None` for a family the plan has not).
fn decode(message: &RuleMessage) -> Option<PolicyRule> {
    let family = match message.header.family {
        AddressFamily::Inet => IpFamily::Ipv4,
        AddressFamily::Inet6 => IpFamily::Ipv6,
        _ => return None,
    };
    let mut rule = PolicyRule {
        priority: 0,
        family,
        table: u32::from(message.header.table),
        suppress_prefix_length: None,
        fwmark: None,
        invert: message.header.flags.contains(RuleFlags::Invert),
        input_interface: None,
        from: None,
        to: None,
    };
    for attribute in &message.attributes {
        match attribute {
            RuleAttribute::Priority(p) => rule.priority = *p,
            RuleAttribute::Table(t) => rule.table = *t,
            // The kernel reports "none" as all ones.
            RuleAttribute::SuppressPrefixLen(len) => rule.suppress_prefix_length = u8::try_from(*len).ok(),
            RuleAttribute::FwMark(mark) => rule.fwmark = Some(*mark),
            RuleAttribute::Iifname(name) => rule.input_interface = Some(name.clone()),
            RuleAttribute::Source(a) => rule.from = Some(IpPrefix::of(*a, message.header.src_len)),
            RuleAttribute::Destination(a) => rule.to = Some(IpPrefix::of(*a, message.header.dst_len)),
            _ => {}
        }
    }
    Some(rule)
}

/// `ip rule`'s way of writing `rule`.
fn describe(rule: &PolicyRule) -> String {
    let mut text = format!("{:?} {}:", rule.family, rule.priority).to_lowercase();
    if rule.invert {
        text += " not";
    }
    if let Some(mark) = rule.fwmark {
        text += &format!(" fwmark {mark:#x}");
    }
    if let Some(i) = &rule.input_interface {
        text += &format!(" iif {i}");
    }
    if let Some(from) = rule.from {
        text += &format!(" from {from}");
    }
    if let Some(to) = rule.to {
        text += &format!(" to {to}");
    }
    text += &format!(" lookup {}", rule.table);
    if let Some(len) = rule.suppress_prefix_length {
        text += &format!(" suppress_prefixlength {len}");
    }
    text
}
