//! IPv6 and IPv4 prefixes written as `addr/len`, serialised as strings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv6 prefix such as `fdcc::/64`; host bits must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv6Prefix {
    /// Network address.
    pub addr: Ipv6Addr,
    /// Prefix length, 0..=128.
    pub len: u8,
}

/// An IPv4 prefix such as `10.42.0.0/24`; host bits must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Prefix {
    /// Network address.
    pub addr: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub len: u8,
}

fn split(s: &str) -> Result<(&str, u8), String> {
    let (addr, len) = s.split_once('/').ok_or_else(|| format!("expected ADDRESS/LENGTH, got `{s}`"))?;
    let len = len.parse::<u8>().map_err(|_| format!("bad prefix length in `{s}`"))?;
    Ok((addr, len))
}

impl Ipv6Prefix {
    /// Number of host bits (128 - len).
    pub fn host_bits(&self) -> u32 {
        128 - u32::from(self.len)
    }

    /// The address `offset` inside the prefix, or `None` if it does not fit.
    pub fn nth(&self, offset: u128) -> Option<Ipv6Addr> {
        let bits = self.host_bits();
        if bits < 128 && offset >> bits != 0 {
            return None;
        }
        Some(Ipv6Addr::from(u128::from(self.addr) | offset))
    }

    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: Ipv6Addr) -> bool {
        let bits = self.host_bits();
        bits >= 128 || (u128::from(addr) >> bits) == (u128::from(self.addr) >> bits)
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Ipv6Prefix) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
}

impl Ipv4Prefix {
    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let host_mask = u32::MAX.checked_shr(u32::from(self.len)).unwrap_or(0);
        u32::from(addr) & !host_mask == u32::from(self.addr)
    }

    /// The all-ones host address (broadcast) of the prefix.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | u32::MAX.checked_shr(u32::from(self.len)).unwrap_or(0))
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Ipv4Prefix) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
}

impl Ipv4Prefix {
    /// The address `offset` inside the prefix, or `None` if it does not fit
    /// (the all-ones host part is refused too).
    pub fn nth(&self, offset: u32) -> Option<Ipv4Addr> {
        let bits = 32 - u32::from(self.len);
        let size = if bits >= 32 { u64::MAX } else { 1u64 << bits };
        if u64::from(offset) + 1 >= size {
            return None;
        }
        Some(Ipv4Addr::from(u32::from(self.addr) | offset))
    }
}

impl FromStr for Ipv6Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = split(s)?;
        let addr: Ipv6Addr = addr.parse().map_err(|_| format!("bad IPv6 address in `{s}`"))?;
        if len > 128 {
            return Err(format!("prefix length {len} > 128 in `{s}`"));
        }
        let host_mask = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
        if u128::from(addr) & host_mask != 0 {
            return Err(format!("`{s}` has host bits set"));
        }
        Ok(Ipv6Prefix { addr, len })
    }
}

impl FromStr for Ipv4Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = split(s)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| format!("bad IPv4 address in `{s}`"))?;
        if len > 32 {
            return Err(format!("prefix length {len} > 32 in `{s}`"));
        }
        let host_mask = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
        if u32::from(addr) & host_mask != 0 {
            return Err(format!("`{s}` has host bits set"));
        }
        Ok(Ipv4Prefix { addr, len })
    }
}

macro_rules! string_serde {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}/{}", self.addr, self.len)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(Ipv6Prefix);
string_serde!(Ipv4Prefix);

/// An IPv4 or IPv6 prefix, written `addr/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpPrefix {
    /// IPv4.
    V4(Ipv4Prefix),
    /// IPv6.
    V6(Ipv6Prefix),
}

impl FromStr for IpPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains(':') {
            s.parse().map(IpPrefix::V6)
        } else {
            s.parse().map(IpPrefix::V4)
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpPrefix::V4(p) => p.fmt(f),
            IpPrefix::V6(p) => p.fmt(f),
        }
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpPrefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Ipv6Prefix {
    /// The default route, `::/0`.
    pub const DEFAULT: Ipv6Prefix = Ipv6Prefix { addr: Ipv6Addr::UNSPECIFIED, len: 0 };
}

impl Ipv4Prefix {
    /// The default route, `0.0.0.0/0`.
    pub const DEFAULT: Ipv4Prefix = Ipv4Prefix { addr: Ipv4Addr::UNSPECIFIED, len: 0 };
}

impl IpPrefix {
    /// `addr/len` in `addr`'s family, taken as it is (no host-bit check:
    /// for host prefixes and what the kernel reports).
    pub fn of(addr: std::net::IpAddr, len: u8) -> IpPrefix {
        match addr {
            std::net::IpAddr::V4(addr) => IpPrefix::V4(Ipv4Prefix { addr, len }),
            std::net::IpAddr::V6(addr) => IpPrefix::V6(Ipv6Prefix { addr, len }),
        }
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        matches!(self, IpPrefix::V4(_))
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        match self {
            IpPrefix::V4(p) => p.len,
            IpPrefix::V6(p) => p.len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_indexes() {
        let p: Ipv6Prefix = "fdcc::/64".parse().unwrap();
        assert_eq!(p.nth(1), Some("fdcc::1".parse().unwrap()));
        assert!(p.contains("fdcc::ffff".parse().unwrap()));
        assert!(!p.contains("fdcd::1".parse().unwrap()));
        let small: Ipv6Prefix = "fdcc::/126".parse().unwrap();
        assert_eq!(small.nth(3), Some("fdcc::3".parse().unwrap()));
        assert_eq!(small.nth(4), None);
        let v4: Ipv4Prefix = "10.42.0.0/30".parse().unwrap();
        assert_eq!(v4.nth(2), Some("10.42.0.2".parse().unwrap()));
        assert_eq!(v4.nth(3), None, "all-ones host part refused");
    }

    #[test]
    fn full_length_prefixes_have_no_host_bits() {
        // Shifting by the full width wrapped (release) or panicked (debug).
        assert_eq!("fdcc::1/128".parse::<Ipv6Prefix>().unwrap().len, 128);
        assert_eq!("10.0.0.1/32".parse::<Ipv4Prefix>().unwrap().len, 32);
        assert!("::/0".parse::<Ipv6Prefix>().is_ok());
        assert!("::1/0".parse::<Ipv6Prefix>().is_err());
        let v4: Ipv4Prefix = "10.42.0.0/24".parse().unwrap();
        assert!(v4.contains("10.42.0.9".parse().unwrap()) && !v4.contains("10.43.0.9".parse().unwrap()));
        assert_eq!(v4.broadcast(), "10.42.0.255".parse::<Ipv4Addr>().unwrap());
    }

    #[test]
    fn rejects_bad_prefixes() {
        assert!("fdcc::1/64".parse::<Ipv6Prefix>().is_err());
        assert!("fdcc::/129".parse::<Ipv6Prefix>().is_err());
        assert!("fdcc::".parse::<Ipv6Prefix>().is_err());
        assert!("10.0.0.1/24".parse::<Ipv4Prefix>().is_err());
    }
}
