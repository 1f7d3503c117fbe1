//! What makes one value unusable, whoever it belongs to: interface names a
//! host already has, reserved IPv4 ranges, paths that cannot be written into
//! a config, endpoints peers cannot dial, MTUs and keepalives out of range.
//! Each returns why, or `None`; the rules in the sibling modules say whose
//! field it is.

use crate::inventory::MeshSettings;
use hortus_plan::{Host, IpPrefix, Ipv4Prefix, Ipv6Prefix};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Smallest MTU accepted anywhere: IPv6's minimum link MTU.
pub const MIN_MTU: u32 = 1280;

/// BIRD refuses `rtt cost` of 65535 (Babel's infinity) and above.
pub const MAX_RTT_COST: u32 = 65_534;

/// Interface name patterns a host may already have: the kernel's and udev's
/// names, container and VPN tools'. An anchor or a link interface named
/// like one of these could make the rendered `.network` take it over.
/// `*` ends a prefix pattern; `#` stands for a digit.
const SYSTEM_INTERFACES: &[&str] = &[
    "lo",
    "eth*",
    "en*",
    "wl*",
    "ww*",
    "ib*",
    "sl*",
    "usb*",
    "bond*",
    "team*",
    "dummy*",
    "br*",
    "virbr*",
    "veth*",
    "vxlan*",
    "vlan*",
    "tun*",
    "tap*",
    "wg#*",
    "ppp*",
    "gre*",
    "gretap*",
    "erspan*",
    "sit*",
    "ip6tnl*",
    "ip6gre*",
    "ipip*",
    "docker*",
    "cni*",
    "flannel*",
    "cali*",
    "cilium*",
    "lxc*",
    "tailscale*",
    "zt*",
    "nordlynx*",
    "macvlan*",
    "macvtap*",
    "ifb*",
    "can*",
    "bridge*",
    "ovs*",
    "hsr*",
];

/// IPv4 ranges an overlay prefix or an endpoint must not use: "this"
/// network, loopback, multicast, reserved and limited broadcast.
const RESERVED_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "\"this network\" (0.0.0.0/8)"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback (127.0.0.0/8)"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast (224.0.0.0/4)"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved or broadcast (240.0.0.0/4)"),
];

/// The system pattern `name` matches, if any.
pub fn system_interface(name: &str) -> Option<&'static str> {
    SYSTEM_INTERFACES.iter().copied().find(|pattern| {
        let (head, rest) = match pattern.find(['*', '#']) {
            Some(i) => pattern.split_at(i),
            None => return name == *pattern,
        };
        let Some(tail) = name.strip_prefix(head) else { return false };
        match rest {
            "*" => true,
            _ => tail.bytes().next().is_some_and(|b| b.is_ascii_digit()),
        }
    })
}

/// IPv6 ranges a routed prefix must not touch.
const RESERVED_V6: &[(&str, &str)] = &[
    ("::/128", "the unspecified address"),
    ("::1/128", "loopback"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
];

/// A node's routed prefix (`routes`), or why it cannot be one: a prefix in
/// canonical form, not a default route, clear of the mesh's own prefixes
/// and of ranges that are never a network behind a router.
pub fn route(text: &str, mesh: &MeshSettings) -> Result<IpPrefix, String> {
    let prefix: IpPrefix = text.parse().map_err(|why: String| match canonical(text) {
        Some(canonical) if why.contains("host bits") => {
            format!("`{text}` has host bits set; the network is `{canonical}`")
        }
        _ => format!("`{text}` is not an IPv4 or IPv6 prefix (ADDRESS/LENGTH): {why}"),
    })?;
    let overlap = |what: String| Err(format!("`{prefix}` overlaps {what}"));
    match prefix {
        IpPrefix::V4(p) if p.len == 0 => return Err(default_route(&prefix)),
        IpPrefix::V6(p) if p.len == 0 => return Err(default_route(&prefix)),
        IpPrefix::V4(p) => {
            if let Some((_, _, what)) =
                RESERVED_V4.iter().find(|(addr, len, _)| p.overlaps(&Ipv4Prefix { addr: *addr, len: *len }))
            {
                return overlap(what.to_string());
            }
            if p.overlaps(&Ipv4Prefix { addr: Ipv4Addr::new(169, 254, 0, 0), len: 16 }) {
                return overlap("link-local (169.254.0.0/16)".into());
            }
            if let Some(overlay) = mesh.ipv4_prefix.filter(|o| o.overlaps(&p)) {
                return overlap(format!("the mesh's ipv4_prefix {overlay}"));
            }
            if mesh.forwarder_ipv4_prefix.overlaps(&p) {
                return overlap(format!("forwarder_ipv4_prefix {}", mesh.forwarder_ipv4_prefix));
            }
        }
        IpPrefix::V6(p) => {
            for (reserved, what) in RESERVED_V6 {
                let reserved: Ipv6Prefix = reserved.parse().expect("valid reserved prefix");
                if reserved.overlaps(&p) {
                    return overlap(format!("{what} ({reserved})"));
                }
            }
            if mesh.prefix.overlaps(&p) {
                return overlap(format!("the mesh prefix {}", mesh.prefix));
            }
            if mesh.forwarder_ipv6_prefix.overlaps(&p) {
                return overlap(format!("forwarder_ipv6_prefix {}", mesh.forwarder_ipv6_prefix));
            }
        }
    }
    Ok(prefix)
}

fn default_route(prefix: &IpPrefix) -> String {
    format!("`{prefix}` is a default route, not a network behind this node: to offer the mesh a way out, set `exit = true` on this node")
}

/// `text` as a prefix with its host bits cleared, when it parses as one.
fn canonical(text: &str) -> Option<String> {
    let (addr, len) = text.split_once('/')?;
    let len: u8 = len.parse().ok()?;
    match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            Some(format!("{}/{len}", Ipv4Addr::from(u32::from(a) & mask)))
        }
        IpAddr::V6(a) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            Some(format!("{}/{len}", Ipv6Addr::from(u128::from(a) & mask)))
        }
        _ => None,
    }
}

/// Why `mtu` cannot be an underlay MTU, if it cannot.
pub fn bad_mtu(mtu: u32) -> Option<String> {
    (!(MIN_MTU..=65535).contains(&mtu)).then(|| format!("expected {MIN_MTU}..=65535, got {mtu}"))
}

/// Why `cost` cannot be a Babel link cost (`rxcost`), if it cannot.
pub fn bad_cost(cost: u32) -> Option<String> {
    (!(1..=MAX_RTT_COST).contains(&cost))
        .then(|| format!("expected 1..={MAX_RTT_COST} (65535 is Babel's infinity), got {cost}"))
}

/// Why `keepalive` seconds cannot be used, if they cannot.
pub fn bad_keepalive(keepalive: u16) -> Option<&'static str> {
    (keepalive == 0)
        .then_some("expected 1..=65535 seconds; 0 turns keepalive off, and a dialer behind NAT then loses its path")
}

/// Why `prefix` cannot be the IPv4 overlay, if it cannot.
pub fn bad_ipv4_prefix(prefix: &Ipv4Prefix) -> Option<String> {
    if prefix.len < 8 {
        return Some("is shorter than /8: it would cover most of the Internet".into());
    }
    if prefix.len > 30 {
        return Some(
            "holds no node address (the network and broadcast addresses are never used); use /30 or shorter".into(),
        );
    }
    RESERVED_V4.iter().find_map(|(addr, len, what)| {
        prefix.overlaps(&Ipv4Prefix { addr: *addr, len: *len }).then(|| format!("overlaps {what}"))
    })
}

/// Why `path` cannot be written into a BIRD `include` (or a key file option), if it cannot.
pub fn bad_path(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        Some("is not an absolute path")
    } else if path.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | '#')) {
        Some("contains whitespace, a control character, a quote, a backslash or `#`")
    } else {
        None
    }
}

/// Why the node's explicit `ipv4_address` is unusable in `prefix`, if it is.
pub fn bad_ipv4_address(address: Ipv4Addr, prefix: &Ipv4Prefix) -> Option<String> {
    if !prefix.contains(address) {
        Some(format!("{address} is outside ipv4_prefix {prefix}; BIRD would never announce it"))
    } else if address == prefix.addr {
        Some(format!("{address} is the network address of {prefix}"))
    } else if address == prefix.broadcast() {
        Some(format!("{address} is the broadcast address of {prefix}"))
    } else {
        None
    }
}

/// Why peers cannot dial `endpoint`, if they cannot: not a unicast address
/// on some network, or inside the mesh's own prefixes (the tunnel would be
/// routed into itself).
pub fn bad_endpoint(endpoint: &Host, mesh: &MeshSettings) -> Option<String> {
    let Host::Ip(ip) = endpoint else { return None };
    let why = match ip {
        IpAddr::V4(v4) => RESERVED_V4
            .iter()
            .find(|(addr, len, _)| Ipv4Prefix { addr: *addr, len: *len }.contains(*v4))
            .map(|(_, _, what)| format!("is {what}"))
            .or_else(|| {
                mesh.ipv4_prefix.filter(|p| p.contains(*v4)).map(|p| format!("is inside the mesh's ipv4_prefix {p}"))
            }),
        IpAddr::V6(v6) => bad_ipv6_endpoint(*v6).map(String::from).or_else(|| {
            let mapped = v6.to_ipv4_mapped().map(|v4| bad_endpoint(&Host::Ip(IpAddr::V4(v4)), mesh));
            match mapped {
                Some(Some(why)) => Some(why),
                _ => mesh.prefix.contains(*v6).then(|| format!("is inside the mesh prefix {}", mesh.prefix)),
            }
        }),
    };
    why.map(|why| format!("`{ip}` {why}; peers cannot dial it"))
}

fn bad_ipv6_endpoint(v6: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(v6);
    if v6.is_unspecified() {
        Some("is the unspecified address")
    } else if v6.is_loopback() {
        Some("is loopback")
    } else if v6.is_multicast() {
        Some("is multicast")
    } else if bits >> 118 == 0xfe80 >> 6 {
        Some("is link-local (fe80::/10), which needs an interface to be dialled")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_interface_patterns() {
        for name in ["lo", "eth0", "enp3s0", "wlan0", "wg0", "br-1234", "docker0", "tailscale0"] {
            assert!(system_interface(name).is_some(), "{name}");
        }
        for name in ["anchor-0", "wg-hastur", "wg-0", "mesh-a", "hortus0", "lo0x"] {
            assert!(system_interface(name).is_none(), "{name}");
        }
    }
}
