//! Node addresses (ULA, IPv4 overlay, link-local, router id) and underlay
//! endpoints.

use crate::hash::fnv1a64;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The link-local derived from a public key: `fe80::` + 64 bits of a stable
/// hash of the key, so it survives renumbering and never depends on ids.
pub fn derived_link_local(public_key: &[u8; 32]) -> Ipv6Addr {
    let low = fnv1a64(public_key);
    Ipv6Addr::from((0xfe80u128 << 112) | u128::from(low))
}

/// Whether `addr` lies in fe80::/64, the link-local range hortus uses.
pub fn is_link_local_64(addr: Ipv6Addr) -> bool {
    u128::from(addr) >> 64 == 0xfe80u128 << 48
}

/// The router id when the mesh has no IPv4 overlay: `id + 1` as a dotted quad
/// (never 0.0.0.0, unique because ids are).
pub fn router_id_from_id(id: u32) -> Option<Ipv4Addr> {
    id.checked_add(1).map(Ipv4Addr::from)
}

/// Where peers dial a node: an address or a DNS name, never with a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A literal IP address.
    Ip(IpAddr),
    /// A DNS name, resolved by WireGuard at interface setup.
    Dns(String),
}

impl Endpoint {
    /// Parses `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]` or `host.example.org`.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Endpoint::Ip(ip));
        }
        if text.contains(':') {
            return Err(format!(
                "`{text}` is neither an IP address nor a DNS name (endpoints carry no port: the pair port is added)"
            ));
        }
        let labels_ok = text.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if text.len() > 253 || !labels_ok {
            return Err(format!("`{text}` is neither an IP address nor a valid DNS name"));
        }
        // `198.51.100` is no host name (a top-level domain is never all
        // digits) but resolvers read it as the address 198.51.0.100.
        if text.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!(
                "`{text}` is neither a complete IP address nor a DNS name (its last label is all digits)"
            ));
        }
        Ok(Endpoint::Dns(text.to_string()))
    }

    /// Bytes of outer headers WireGuard adds over this underlay: 60 for IPv4,
    /// 80 for IPv6 and for DNS names (which may resolve to IPv6).
    pub fn overhead(&self) -> u32 {
        match self {
            Endpoint::Ip(IpAddr::V4(_)) => 60,
            _ => 80,
        }
    }

    /// `host:port`, with IPv6 bracketed.
    pub fn with_port(&self, port: u16) -> String {
        format!("{}:{port}", HostPart(self))
    }
}

struct HostPart<'a>(&'a Endpoint);

impl fmt::Display for HostPart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Endpoint::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            Endpoint::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Endpoint::Dns(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::parse("192.0.2.1").unwrap().with_port(7), "192.0.2.1:7");
        assert_eq!(Endpoint::parse("2001:db8::1").unwrap().with_port(7), "[2001:db8::1]:7");
        assert_eq!(Endpoint::parse("[2001:db8::1]").unwrap().overhead(), 80);
        assert_eq!(Endpoint::parse("a.example.org").unwrap().with_port(7), "a.example.org:7");
        assert!(Endpoint::parse("a.example.org:51820").is_err());
        assert!(Endpoint::parse("bad_name").is_err());
        assert!(Endpoint::parse("198.51.100").unwrap_err().contains("last label is all digits"));
        assert!(Endpoint::parse("1").is_err());
        assert!(Endpoint::parse("host1.example.org").is_ok());
        assert!(Endpoint::parse("").is_err());
    }

    #[test]
    fn link_locals() {
        let ll = derived_link_local(&[7; 32]);
        assert!(is_link_local_64(ll));
        assert_ne!(ll, derived_link_local(&[8; 32]));
        assert!(!is_link_local_64("fe80:1::1".parse().unwrap()));
        assert_eq!(router_id_from_id(0), Some(Ipv4Addr::new(0, 0, 0, 1)));
        assert_eq!(router_id_from_id(u32::MAX), None);
    }
}
