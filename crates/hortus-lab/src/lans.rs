//! LAN segments: the networks behind the nodes (the inventory's `routes`).
//!
//! Every prefix any node lists (the plan's `routes.{ipv4,ipv6}.subnets`)
//! gets one segment, however many nodes list it (redundant routers on one
//! LAN). Segment `k` (IPv4 prefixes in address order, then IPv6 ones) is a
//! namespace `<prefix>_lan<k>`, the **LAN host**, holding a bridge [`BRIDGE`]
//! with the prefix's first usable address (IPv4 network + 1, IPv6
//! `prefix::1`) and its default route via the segment's first router
//! (lowest id), the LAN's gateway: the host reaches the mesh and the other
//! LANs through it. Traffic from the mesh reaches the host masqueraded by
//! whichever router carries it (the plan's `masquerade_subnets`), so no
//! route back is needed for that.
//! Each router (in id order) gets a veth `lan<k>` on the bridge (the
//! bridge's port is `n<id>`) with an address from the end of the prefix:
//! IPv4 broadcast − 1, − 2, ...; IPv6 the last address, last − 1, ... The
//! router's routing daemon sees the connected route and announces it; the
//! lab adds no route on a router.

use hortus_plan::{Ipv4Prefix, Ipv6Prefix, Plan};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The bridge in every LAN host's namespace.
pub const BRIDGE: &str = "lan";

/// One LAN segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanSegment {
    /// Index: namespace suffix `_lan<k>`, router interface `lan<k>`.
    pub index: usize,
    /// The prefix (`192.168.10.0/24`, `fd42:10::/48`).
    pub prefix: String,
    /// Its length.
    pub prefix_len: u8,
    /// The LAN host's address (first usable).
    pub host: IpAddr,
    /// The routers in id order: node name, node id and address on the segment.
    pub routers: Vec<LanRouter>,
}

/// A node on a LAN segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanRouter {
    /// Node name.
    pub node: String,
    /// Node id (the bridge port is `n<id>`).
    pub id: u32,
    /// Its address on the segment.
    pub address: IpAddr,
}

impl LanSegment {
    /// The namespace suffix, `_lan<k>`.
    pub fn namespace_suffix(&self) -> String {
        format!("_lan{}", self.index)
    }

    /// The router's interface, `lan<k>`.
    pub fn interface(&self) -> String {
        format!("lan{}", self.index)
    }

    /// The LAN host's gateway to the mesh: the first router's address.
    pub fn gateway(&self) -> IpAddr {
        self.routers[0].address
    }
}

/// The LAN segments of `plan`, in index order (none when no node lists a
/// route). Errs when a prefix cannot hold its host and routers.
pub fn segments(plan: &Plan) -> Result<Vec<LanSegment>, String> {
    let mut nodes: Vec<_> = plan.nodes.iter().collect();
    nodes.sort_by_key(|(_, n)| n.id);
    let mut v4: BTreeMap<(Ipv4Addr, u8), Vec<(&String, u32)>> = BTreeMap::new();
    let mut v6: BTreeMap<(Ipv6Addr, u8), Vec<(&String, u32)>> = BTreeMap::new();
    for (name, node) in &nodes {
        let id = node.id;
        for p in &node.routes.ipv6.subnets {
            v6.entry((p.addr, p.len)).or_default().push((name, id));
        }
        for p in node.routes.ipv4.iter().flat_map(|r| &r.subnets) {
            v4.entry((p.addr, p.len)).or_default().push((name, id));
        }
    }
    let mut out = vec![];
    for ((addr, len), routers) in v4 {
        let p = Ipv4Prefix { addr, len };
        let bits = 32 - u32::from(len);
        // Network, host, broadcast and one address per router.
        if bits >= 32 || (1u64 << bits) < routers.len() as u64 + 3 {
            return Err(format!("{p}: too small for a LAN host and {} router(s)", routers.len()));
        }
        let last = u32::from(p.broadcast());
        let host = Ipv4Addr::from(u32::from(addr) + 1).into();
        out.push(segment(out.len(), (p.to_string(), len), host, &routers, |i| {
            Ipv4Addr::from(last - 1 - i as u32).into()
        }));
    }
    for ((addr, len), routers) in v6 {
        let p = Ipv6Prefix { addr, len };
        let bits = p.host_bits();
        if bits < 127 && (1u128 << bits) < routers.len() as u128 + 2 {
            return Err(format!("{p}: too small for a LAN host and {} router(s)", routers.len()));
        }
        let last = u128::from(addr) | u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
        let host = Ipv6Addr::from(u128::from(addr) + 1).into();
        out.push(segment(out.len(), (p.to_string(), len), host, &routers, |i| Ipv6Addr::from(last - i as u128).into()));
    }
    Ok(out)
}

/// Segment `index` of `prefix`, the `i`-th router (in id order) at `address(i)`.
fn segment(
    index: usize,
    (prefix, prefix_len): (String, u8),
    host: IpAddr,
    routers: &[(&String, u32)],
    address: impl Fn(usize) -> IpAddr,
) -> LanSegment {
    let routers = routers
        .iter()
        .enumerate()
        .map(|(i, (node, id))| LanRouter { node: node.to_string(), id: *id, address: address(i) })
        .collect();
    LanSegment { index, prefix, prefix_len, host, routers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hortus_core::Inventory;

    fn plan(routes: &[&str]) -> Plan {
        let mut text = String::from("[mesh]\nipv4_prefix = \"100.64.0.0/24\"\n");
        for (i, r) in routes.iter().enumerate() {
            let key =
                hortus_core::keys::public_key(&hortus_core::keys::private_key_from_bytes([i as u8 + 1; 32])).unwrap();
            text += &format!(
                "[nodes.n{i}]\nid = {i}\npublic_key = \"{key}\"\nendpoints = [\"192.0.2.{}\"]\nroutes = [{r}]\n",
                i + 1
            );
        }
        hortus_core::build_plan(&Inventory::from_toml_str(&text).unwrap()).unwrap()
    }

    #[test]
    fn one_segment_per_prefix_addresses_from_both_ends() {
        let p = plan(&["\"192.168.10.0/24\", \"fd42:10::/48\"", "\"192.168.20.0/24\"", "\"192.168.20.0/24\"", ""]);
        let s = segments(&p).unwrap();
        let summary: Vec<_> = s
            .iter()
            .map(|s| {
                let routers: Vec<_> = s.routers.iter().map(|r| format!("{}={}", r.node, r.address)).collect();
                format!(
                    "{} {} {} host {} via {} | {}",
                    s.index,
                    s.namespace_suffix(),
                    s.prefix,
                    s.host,
                    s.gateway(),
                    routers.join(" ")
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "0 _lan0 192.168.10.0/24 host 192.168.10.1 via 192.168.10.254 | n0=192.168.10.254",
                "1 _lan1 192.168.20.0/24 host 192.168.20.1 via 192.168.20.254 | n1=192.168.20.254 n2=192.168.20.253",
                "2 _lan2 fd42:10::/48 host fd42:10::1 via fd42:10:0:ffff:ffff:ffff:ffff:ffff | n0=fd42:10:0:ffff:ffff:ffff:ffff:ffff",
            ]
        );
        assert_eq!(s[1].interface(), "lan1");
        assert!(segments(&plan(&["", ""])).unwrap().is_empty());
    }

    #[test]
    fn too_small_prefixes_are_refused() {
        let e = segments(&plan(&["\"192.168.1.0/30\"", "\"192.168.1.0/30\""])).unwrap_err();
        assert!(e.contains("192.168.1.0/30: too small for a LAN host and 2 router(s)"), "{e}");
        assert_eq!(segments(&plan(&["\"192.168.1.0/30\""])).unwrap()[0].routers[0].address.to_string(), "192.168.1.2");
    }
}
