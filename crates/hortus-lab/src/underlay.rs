//! The simulated underlay: who sits where, with which addresses.
//!
//! Everything lives in 198.18.0.0/15 (RFC 2544 benchmarking space):
//!
//! * `_core` is the free Internet, a router namespace. Each box attached to
//!   it (an uncensored public node, a NAT router, the censor) gets
//!   198.18.k.0/24 on a veth pair: `.1` on the core side (`c<k>`), `.2` on
//!   the box's `up0`.
//! * `_gfw` is the censor, attached to the core like any box. Censored
//!   public nodes and NAT routers of censored regions attach to it on
//!   198.19.j.0/24 (j < 128); the core routes 198.19.0.0/17 to it. Its
//!   nftables drop UDP crossing its uplink (TCP passes).
//! * `_nat<m>` is the NAT router of one (region, censored) group of NAT'd
//!   nodes: a bridge LAN 198.19.(128+m).0/24 (router `.1`) the nodes share,
//!   masqueraded on the uplink, with no inbound path. Nodes of one LAN reach
//!   each other directly, as the link policy assumes.
//! * IPv6 mirrors it in 2001:2::/48 (RFC 5180 benchmarking space): the
//!   /64 of 198.S.K.0/24 is 2001:2:(S-18):K::/64, the host .H is ::H
//!   ([`ipv6_of`]). Routers are dual-stack; a node gets an IPv6 uplink only
//!   when its plan's `underlay` has IPv6, and an IPv6-only node's IPv4 is
//!   dropped on its uplink. NAT routers masquerade both families.
//! * `_inet` is the Internet host: a namespace behind the core at
//!   [`INTERNET_ADDRESS`] (198.18.255.254) on 198.18.255.0/24 (core side
//!   `.1`), with its default route back to the core. No box ever gets that
//!   /24: the core attaches at most [`MAX_CORE_BOXES`] boxes (198.18.1–254).

use hortus_core::Inventory;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Namespace suffix of the core router.
pub const CORE: &str = "_core";
/// Namespace suffix of the censor.
pub const CENSOR: &str = "_gfw";
/// The censored zone the core routes to the censor: 198.19.0.0/17.
pub const CENSORED_ZONE: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 19, 0, 0), 17);
/// The censored zone's IPv6 mirror: 2001:2:1::/57 (hextet K < 128).
pub const CENSORED_ZONE_V6: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2001, 2, 1, 0, 0, 0, 0, 0), 57);
/// Prefix length of every uplink subnet's IPv6 mirror.
pub const UPLINK_PREFIX_LEN_V6: u8 = 64;

/// The IPv6 mirror of an underlay address: 198.S.K.H → 2001:2:(S-18):K::H.
pub fn ipv6_of(v4: Ipv4Addr) -> Ipv6Addr {
    let [_, s, k, h] = v4.octets();
    Ipv6Addr::new(0x2001, 2, u16::from(s.wrapping_sub(18)), u16::from(k), 0, 0, 0, u16::from(h))
}

/// Prefix length of every uplink subnet.
pub const UPLINK_PREFIX_LEN: u8 = 24;
/// Name of every box's uplink interface.
pub const UPLINK: &str = "up0";
/// Namespace suffix of the Internet host.
pub const INTERNET: &str = "_inet";
/// Third octet of the Internet host's /24 (198.18.255.0/24), which no box gets.
const INTERNET_OCTET: u8 = 255;
/// The Internet host's address, behind the core.
pub const INTERNET_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, INTERNET_OCTET, 254);
/// Boxes the core attaches (198.18.1.0/24 to 198.18.254.0/24), stopping
/// short of the Internet host's /24.
pub const MAX_CORE_BOXES: u8 = INTERNET_OCTET - 1;

/// The Internet host's uplink: 198.18.255.254/24 on its `up0`, the core's
/// `c255` at 198.18.255.1 its gateway.
pub fn internet_uplink() -> Uplink {
    Uplink {
        parent: CORE.into(),
        parent_interface: format!("c{INTERNET_OCTET}"),
        routed: true,
        address: INTERNET_ADDRESS,
        prefix_len: 24,
        gateway: Ipv4Addr::new(198, 18, INTERNET_OCTET, 1),
    }
}

/// How a box (node or router) hangs off its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uplink {
    /// Parent namespace suffix ([`CORE`], [`CENSOR`] or `_nat<m>`).
    pub parent: String,
    /// The veth end in the parent namespace.
    pub parent_interface: String,
    /// Whether the parent end is a routed interface carrying `gateway`
    /// (core, censor), rather than a port of the parent's LAN bridge.
    pub routed: bool,
    /// The box's address on [`UPLINK`].
    pub address: Ipv4Addr,
    /// Prefix length of the uplink subnet.
    pub prefix_len: u8,
    /// The parent's address: the box's default gateway.
    pub gateway: Ipv4Addr,
}

/// What a router namespace does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterRole {
    /// Drops UDP between the censored zone and the rest.
    Censor,
    /// Masquerades a LAN of NAT'd nodes; `lan_gateway`/24 sits on its bridge.
    Nat {
        /// The router's LAN address.
        lan_gateway: Ipv4Addr,
    },
}

/// A router namespace between nodes and the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    /// Namespace suffix.
    pub name: String,
    /// What it does.
    pub role: RouterRole,
    /// Its uplink.
    pub uplink: Uplink,
}

/// The whole underlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Underlay {
    /// Routers in creation order (a router's parent comes before it).
    pub routers: Vec<Router>,
    /// Each node's uplink, by node name.
    pub nodes: BTreeMap<String, Uplink>,
}

/// Allocates `/24`s of one zone: 198.18.k.0 (core) or 198.19.j.0 (censor).
struct Zone {
    parent: &'static str,
    second_octet: u8,
    next: u8,
    last: u8,
}

impl Zone {
    fn attach(&mut self) -> Result<Uplink, String> {
        if self.next > self.last {
            return Err(format!("more than {} boxes attached to {}", self.last, self.parent));
        }
        let k = self.next;
        self.next += 1;
        Ok(Uplink {
            parent: self.parent.into(),
            parent_interface: format!("c{k}"),
            routed: true,
            address: Ipv4Addr::new(198, self.second_octet, k, 2),
            prefix_len: UPLINK_PREFIX_LEN,
            gateway: Ipv4Addr::new(198, self.second_octet, k, 1),
        })
    }
}

/// A NAT LAN being filled.
struct Lan {
    router: usize,
    third_octet: u8,
    next_host: u8,
}

/// Lays out the underlay for `inventory`, nodes in id order.
pub fn layout(inventory: &Inventory) -> Result<Underlay, String> {
    let mut core = Zone { parent: CORE, second_octet: 18, next: 1, last: MAX_CORE_BOXES };
    let mut censor = Zone { parent: CENSOR, second_octet: 19, next: 1, last: 127 };
    let mut routers: Vec<Router> = vec![];
    let mut lans: BTreeMap<(String, bool), Lan> = BTreeMap::new();
    let mut nodes = BTreeMap::new();
    let mut by_id: Vec<_> = inventory.nodes.iter().collect();
    by_id.sort_by_key(|(_, n)| n.id);
    for (name, node) in by_id {
        if node.censored && !routers.iter().any(|r| r.role == RouterRole::Censor) {
            routers.push(Router { name: CENSOR.into(), role: RouterRole::Censor, uplink: core.attach()? });
        }
        let zone = if node.censored { &mut censor } else { &mut core };
        let uplink = if node.nat {
            let key = (node.region.clone(), node.censored);
            if !lans.contains_key(&key) {
                let m = lans.len();
                if m > 127 {
                    return Err("more than 128 NAT regions".into());
                }
                let third_octet = 128 + m as u8;
                routers.push(Router {
                    name: format!("_nat{m}"),
                    role: RouterRole::Nat { lan_gateway: Ipv4Addr::new(198, 19, third_octet, 1) },
                    uplink: zone.attach()?,
                });
                lans.insert(key.clone(), Lan { router: routers.len() - 1, third_octet, next_host: 2 });
            }
            let lan = lans.get_mut(&key).expect("inserted above");
            if lan.next_host > 254 {
                return Err(format!("more than 253 NAT'd nodes in region `{}`", node.region));
            }
            let host = lan.next_host;
            lan.next_host += 1;
            Uplink {
                parent: routers[lan.router].name.clone(),
                parent_interface: format!("l{host}"),
                routed: false,
                address: Ipv4Addr::new(198, 19, lan.third_octet, host),
                prefix_len: UPLINK_PREFIX_LEN,
                gateway: Ipv4Addr::new(198, 19, lan.third_octet, 1),
            }
        } else {
            zone.attach()?
        };
        nodes.insert(name.clone(), uplink);
    }
    Ok(Underlay { routers, nodes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn six_nodes() -> Inventory {
        let text = include_str!("../../../examples/six-nodes.toml");
        Inventory::from_toml_str(text).unwrap()
    }

    #[test]
    fn six_nodes_layout() {
        let u = layout(&six_nodes()).unwrap();
        let names: Vec<_> = u.routers.iter().map(|r| (r.name.as_str(), r.uplink.parent.as_str())).collect();
        // yidhra (id 3) brings the eu NAT router; abhoth (id 4) the censor;
        // azasos (id 5) the cn NAT router behind the censor.
        assert_eq!(names, [("_nat0", CORE), (CENSOR, CORE), ("_nat1", CENSOR)]);
        assert_eq!(u.nodes["hastur"].address, Ipv4Addr::new(198, 18, 1, 2));
        assert_eq!(u.nodes["eihort"].address, Ipv4Addr::new(198, 18, 3, 2));
        assert_eq!(u.nodes["yidhra"].address, Ipv4Addr::new(198, 19, 128, 2));
        assert_eq!(u.nodes["yidhra"].parent, "_nat0");
        assert!(!u.nodes["yidhra"].routed);
        assert_eq!(u.nodes["abhoth"].address, Ipv4Addr::new(198, 19, 1, 2));
        assert_eq!(u.nodes["azasos"].address, Ipv4Addr::new(198, 19, 129, 2));
        assert_eq!(u.nodes["azasos"].gateway, Ipv4Addr::new(198, 19, 129, 1));
    }

    #[test]
    fn ipv6_mirrors_ipv4() {
        assert_eq!(ipv6_of(Ipv4Addr::new(198, 18, 3, 2)).to_string(), "2001:2:0:3::2");
        assert_eq!(ipv6_of(Ipv4Addr::new(198, 19, 129, 1)).to_string(), "2001:2:1:81::1");
        let (zone, len) = CENSORED_ZONE_V6;
        let inside = |a: Ipv6Addr| u128::from(a) >> (128 - len) == u128::from(zone) >> (128 - len);
        assert!(inside(ipv6_of(Ipv4Addr::new(198, 19, 127, 2))));
        assert!(!inside(ipv6_of(Ipv4Addr::new(198, 19, 128, 2))), "NAT LANs are outside, like 198.19.128/17");
    }

    #[test]
    fn nat_nodes_of_one_region_share_a_lan() {
        let mut inv = six_nodes();
        let mut twin = inv.nodes["yidhra"].clone();
        twin.id = 9;
        twin.public_key = inv.nodes["hastur"].public_key.clone();
        inv.nodes.insert("twin".into(), twin);
        let u = layout(&inv).unwrap();
        assert_eq!(u.nodes["twin"].parent, "_nat0");
        assert_eq!(u.nodes["twin"].address, Ipv4Addr::new(198, 19, 128, 3));
    }

    #[test]
    fn no_box_gets_the_internet_hosts_subnet() {
        let mut inv = six_nodes();
        let template = inv.nodes["hastur"].clone();
        // Six nodes attach 5 boxes to the core (hastur, kaambl, eihort,
        // _nat0, _gfw); add public nodes until the core is full.
        let mut i = 0;
        loop {
            let mut n = template.clone();
            n.id = 100 + i;
            inv.nodes.insert(format!("p{i}"), n);
            i += 1;
            match layout(&inv) {
                Ok(u) => {
                    let boxes = u.nodes.values().chain(u.routers.iter().map(|r| &r.uplink));
                    for uplink in boxes {
                        assert_ne!(uplink.address.octets()[..3], [198, 18, INTERNET_OCTET], "{uplink:?}");
                        assert_ne!(uplink.parent_interface, internet_uplink().parent_interface, "{uplink:?}");
                    }
                }
                Err(e) => {
                    assert!(e.contains("more than 254 boxes attached to _core"), "{e}");
                    break;
                }
            }
        }
        // Exactly 254 core boxes fit: 3 public six-nodes, _nat0, _gfw and i - 1 more.
        assert_eq!(3 + 2 + (i - 1), u32::from(MAX_CORE_BOXES));
        let inet = internet_uplink();
        assert_eq!((inet.address, inet.gateway), (INTERNET_ADDRESS, Ipv4Addr::new(198, 18, 255, 1)));
    }

    #[test]
    fn too_many_censored_boxes_is_an_error() {
        let mut inv = six_nodes();
        let template = inv.nodes["abhoth"].clone();
        for i in 0..130 {
            let mut n = template.clone();
            n.id = 100 + i;
            inv.nodes.insert(format!("c{i}"), n);
        }
        assert!(layout(&inv).unwrap_err().contains("_gfw"));
    }
}
