//! Validation rules beyond the shape of the input: what an accepted
//! inventory promises to WireGuard, the kernel, systemd-networkd, BIRD 3 and
//! babeld. Every rule is listed in `docs/validation.md`.

use crate::addressing::Endpoint;
use crate::inventory::{MeshSettings, RoutingDaemon};
use crate::prefix::Ipv4Prefix;
use crate::Problem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// Rules on the anchor and the interface prefix: neither may name, or be
/// able to name with some peer, an interface the host already has.
pub fn check_interface_names(mesh: &MeshSettings, problems: &mut Vec<Problem>) {
    if let Some(pattern) = system_interface(&mesh.anchor) {
        problems.push(Problem::mesh(
            "anchor",
            format!(
                "`{}` looks like a host interface (`{pattern}`); the rendered .network would configure it. Use e.g. `anchor-0`",
                mesh.anchor
            ),
        ));
    }
    let prefix = &mesh.interface_prefix;
    if !prefix.ends_with(['-', '_', '.']) {
        problems.push(Problem::mesh(
            "interface_prefix",
            format!("`{prefix}` must end with `-`, `_` or `.` so that no peer name makes a host interface name (`wg` + `0` = `wg0`)"),
        ));
    } else if let Some(pattern) = system_interface(&format!("{prefix}x")) {
        problems.push(Problem::mesh(
            "interface_prefix",
            format!("`{prefix}` makes names like host interfaces (`{pattern}`); use e.g. `wg-`"),
        ));
    }
}

/// Rules on the mesh-wide numbers hortus does arithmetic with or hands to
/// the daemons as they are.
pub fn check_mesh_values(mesh: &MeshSettings, problems: &mut Vec<Problem>) {
    if mesh.keepalive == 0 {
        problems.push(Problem::mesh(
            "keepalive",
            "expected 1..=65535 seconds; 0 turns keepalive off, and a dialer behind NAT then loses its path",
        ));
    }
    if let Some(overhead) = mesh.forward_overhead.filter(|o| *o > 65_535) {
        problems.push(Problem::mesh("forward_overhead", format!("expected 0..=65535 bytes, got {overhead}")));
    }
    if mesh.babel.rtt_cost > MAX_RTT_COST {
        problems.push(Problem::mesh(
            "babel.rtt_cost",
            format!("expected 0..={MAX_RTT_COST} (BIRD: \"RTT cost must be < 65535\"), got {}", mesh.babel.rtt_cost),
        ));
    }
    if let Some(prefix) = mesh.ipv4_prefix {
        if let Some(why) = bad_ipv4_prefix(&prefix) {
            problems.push(Problem::mesh("ipv4_prefix", format!("{prefix} {why}")));
        }
    }
    if let Some(path) = &mesh.babel.mac_key_file {
        if let Some(why) = bad_path(path) {
            problems.push(Problem::mesh("babel.mac_key_file", format!("`{path}` {why}")));
        }
        if mesh.routing == RoutingDaemon::Babeld {
            problems.push(Problem::mesh(
                "babel.mac_key_file",
                "set, but routing = \"babeld\": the key file holds BIRD `password` statements, which babeld cannot read",
            ));
        }
    }
}

/// Why `prefix` cannot be the IPv4 overlay, if it cannot.
fn bad_ipv4_prefix(prefix: &Ipv4Prefix) -> Option<String> {
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
pub fn bad_endpoint(endpoint: &Endpoint, mesh: &MeshSettings) -> Option<String> {
    let Endpoint::Ip(ip) = endpoint else { return None };
    let why = match ip {
        IpAddr::V4(v4) => RESERVED_V4
            .iter()
            .find(|(addr, len, _)| Ipv4Prefix { addr: *addr, len: *len }.contains(*v4))
            .map(|(_, _, what)| format!("is {what}"))
            .or_else(|| {
                mesh.ipv4_prefix.filter(|p| p.contains(*v4)).map(|p| format!("is inside the mesh's ipv4_prefix {p}"))
            }),
        IpAddr::V6(v6) => bad_ipv6_endpoint(*v6).map(String::from).or_else(|| {
            let mapped = v6.to_ipv4_mapped().map(|v4| bad_endpoint(&Endpoint::Ip(IpAddr::V4(v4)), mesh));
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

/// The connected parts of a graph of `n` nodes with `edges` (pairs of
/// indices), each sorted, in order of their smallest index.
pub fn islands(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in edges {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut parts: Vec<Vec<usize>> = vec![];
    let mut index_of_root = vec![usize::MAX; n];
    for i in 0..n {
        let r = root(&mut parent, i);
        if index_of_root[r] == usize::MAX {
            index_of_root[r] = parts.len();
            parts.push(vec![]);
        }
        parts[index_of_root[r]].push(i);
    }
    parts
}

/// The problem of a mesh split into `parts` (node names), if it is split.
pub fn split_mesh(parts: &[Vec<&str>]) -> Option<Problem> {
    if parts.len() < 2 {
        return None;
    }
    let shown: Vec<String> = parts
        .iter()
        .take(5)
        .map(|part| {
            let names = part.iter().take(5).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            if part.len() > 5 {
                format!("{{{names} and {} more}}", part.len() - 5)
            } else {
                format!("{{{names}}}")
            }
        })
        .collect();
    let more = if parts.len() > 5 { format!(" and {} more", parts.len() - 5) } else { String::new() };
    Some(Problem::mesh(
        "nodes",
        format!(
            "the mesh is split into {} parts that can never reach each other: {}{more}; every pair between them is skipped (see `hortus ports`): give a node an endpoint both sides can reach",
            parts.len(),
            shown.join(" | ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn islands_are_found() {
        assert_eq!(islands(4, &[(0, 2), (1, 3)]), vec![vec![0, 2], vec![1, 3]]);
        assert_eq!(islands(3, &[(0, 1), (1, 2)]), vec![vec![0, 1, 2]]);
        assert_eq!(islands(2, &[]).len(), 2);
    }

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
