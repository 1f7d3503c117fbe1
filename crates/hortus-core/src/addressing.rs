//! Node addresses (ULA, IPv4 overlay, link-local, router id) and underlay
//! endpoints, derived or parsed from the inventory.

use crate::hash::fnv1a64;
use hortus_plan::Host;
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

/// Parses an inventory endpoint: `192.0.2.1`, `2001:db8::1`,
/// `[2001:db8::1]` or `host.example.org`, never with a port.
pub fn parse_endpoint(text: &str) -> Result<Host, String> {
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
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
        return Err(format!("`{text}` is neither a complete IP address nor a DNS name (its last label is all digits)"));
    }
    Ok(Host::Dns(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoint("192.0.2.1").unwrap().with_port(7).socket(), "192.0.2.1:7");
        assert_eq!(parse_endpoint("2001:db8::1").unwrap().with_port(7).socket(), "[2001:db8::1]:7");
        assert_eq!(parse_endpoint("[2001:db8::1]").unwrap().with_port(7).socket(), "[2001:db8::1]:7");
        assert_eq!(parse_endpoint("a.example.org").unwrap().with_port(7).socket(), "a.example.org:7");
        assert!(parse_endpoint("a.example.org:51820").is_err());
        assert!(parse_endpoint("bad_name").is_err());
        assert!(parse_endpoint("198.51.100").unwrap_err().contains("last label is all digits"));
        assert!(parse_endpoint("1").is_err());
        assert!(parse_endpoint("host1.example.org").is_ok());
        assert!(parse_endpoint("").is_err());
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
