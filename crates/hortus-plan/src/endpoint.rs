//! Underlay endpoints, typed: a node's addresses peers may dial ([`Host`]),
//! and what one end of a link dials ([`Dial`]: a host and the pair port).
//! In JSON each carries its `family` (`ipv4`, `ipv6` or `dns`) and, for a
//! [`Dial`], the `socket` text WireGuard takes (`host:port`, IPv6
//! bracketed), so no consumer formats or parses one.

use crate::exit::IpFamily;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The address family of an endpoint; a DNS name may resolve to either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// An IPv4 literal.
    Ipv4,
    /// An IPv6 literal.
    Ipv6,
    /// A DNS name, resolved by WireGuard when the interface is configured.
    Dns,
}

/// Where peers dial a node: an address or a DNS name, never with a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawHost", into = "RawHost")]
pub enum Host {
    /// A literal IP address.
    Ip(IpAddr),
    /// A DNS name.
    Dns(String),
}

impl Host {
    /// The family.
    pub fn family(&self) -> Family {
        match self {
            Host::Ip(IpAddr::V4(_)) => Family::Ipv4,
            Host::Ip(IpAddr::V6(_)) => Family::Ipv6,
            Host::Dns(_) => Family::Dns,
        }
    }

    /// This host with `port`.
    pub fn with_port(&self, port: u16) -> Dial {
        Dial { host: self.clone(), port }
    }
}

impl fmt::Display for Host {
    /// The address or name, unbracketed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Dns(name) => f.write_str(name),
        }
    }
}

/// What one end of a link dials: a host and the port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawDial", into = "RawDial")]
pub struct Dial {
    /// The host.
    pub host: Host,
    /// The port.
    pub port: u16,
}

impl Dial {
    /// `host:port`, IPv6 bracketed: WireGuard's `Endpoint=`.
    pub fn socket(&self) -> String {
        match &self.host {
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]:{}", self.port),
            host => format!("{host}:{}", self.port),
        }
    }

    /// The socket address, when the host is a literal.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Dns(_) => None,
        }
    }
}

/// The underlay address families a node can send from: a pair never
/// plans an endpoint of a family its dialler lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Underlay {
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
    /// Both.
    Dual,
}

impl Underlay {
    /// Whether the node has `family`.
    pub fn has(self, family: IpFamily) -> bool {
        matches!(
            (self, family),
            (Underlay::Dual, _) | (Underlay::Ipv4, IpFamily::Ipv4) | (Underlay::Ipv6, IpFamily::Ipv6)
        )
    }

    /// Whether the node can dial `host`: a literal of a family it has, or
    /// a DNS name (which it resolves to its families only).
    pub fn dials(self, host: &Host) -> bool {
        match host {
            Host::Ip(ip) => self.has(IpFamily::of(*ip)),
            Host::Dns(_) => true,
        }
    }
}

impl fmt::Display for Underlay {
    /// As the inventory spells it: `ipv4`, `ipv6` or `dual`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Underlay::Ipv4 => "ipv4",
            Underlay::Ipv6 => "ipv6",
            Underlay::Dual => "dual",
        })
    }
}

/// How links pick and change endpoints: the order of a link's candidates
/// and when `hortus endpoints` moves a link to its next candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointSettings {
    /// The family tried first when both ends have both (`ipv6` by default).
    pub prefer: IpFamily,
    /// Seconds without a packet from the peer after which a dialling end
    /// moves to its next candidate (re-resolving a DNS name when it gets
    /// to one). Babel's hellos keep a working link busy far more often.
    pub switch_after_s: u32,
}

impl Default for EndpointSettings {
    fn default() -> Self {
        EndpointSettings { prefer: IpFamily::Ipv6, switch_after_s: 30 }
    }
}

/// The JSON form of a [`Host`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    family: Family,
    host: String,
}

impl From<Host> for RawHost {
    fn from(host: Host) -> Self {
        RawHost { family: host.family(), host: host.to_string() }
    }
}

impl TryFrom<RawHost> for Host {
    type Error = String;
    fn try_from(raw: RawHost) -> Result<Self, String> {
        let host = match (raw.family, raw.host.parse::<IpAddr>()) {
            (Family::Dns, Err(_)) if !raw.host.is_empty() => Host::Dns(raw.host),
            (_, Ok(ip)) => Host::Ip(ip),
            _ => return Err(format!("`{}` is not of family {:?}", raw.host, raw.family)),
        };
        if host.family() != raw.family {
            return Err(format!("`{host}` is not of family {:?}", raw.family));
        }
        Ok(host)
    }
}

/// The JSON form of a [`Dial`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDial {
    family: Family,
    host: String,
    port: u16,
    socket: String,
}

impl From<Dial> for RawDial {
    fn from(dial: Dial) -> Self {
        let socket = dial.socket();
        RawDial { family: dial.host.family(), host: dial.host.to_string(), port: dial.port, socket }
    }
}

impl TryFrom<RawDial> for Dial {
    type Error = String;
    fn try_from(raw: RawDial) -> Result<Self, String> {
        let host = Host::try_from(RawHost { family: raw.family, host: raw.host })?;
        let dial = Dial { host, port: raw.port };
        if dial.socket() != raw.socket {
            return Err(format!("socket `{}` does not match host and port (`{}`)", raw.socket, dial.socket()));
        }
        Ok(dial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dials_carry_family_and_socket() {
        let v6 = Host::Ip("2001:db8::1".parse().unwrap()).with_port(7);
        let json = serde_json::to_string(&v6).unwrap();
        assert_eq!(json, r#"{"family":"ipv6","host":"2001:db8::1","port":7,"socket":"[2001:db8::1]:7"}"#);
        assert_eq!(serde_json::from_str::<Dial>(&json).unwrap(), v6);
        let dns = Host::Dns("a.example.org".into()).with_port(9);
        assert_eq!(dns.socket(), "a.example.org:9");
        assert_eq!(dns.socket_addr(), None);
        assert_eq!(serde_json::from_str::<Dial>(&serde_json::to_string(&dns).unwrap()).unwrap(), dns);
    }

    #[test]
    fn families_are_displayed_as_the_plan_spells_them() {
        for f in [IpFamily::Ipv4, IpFamily::Ipv6] {
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
        }
        for u in [Underlay::Ipv4, Underlay::Ipv6, Underlay::Dual] {
            assert_eq!(serde_json::to_string(&u).unwrap(), format!("\"{u}\""));
        }
    }

    #[test]
    fn inconsistent_json_is_refused() {
        for bad in [
            r#"{"family":"ipv4","host":"2001:db8::1","port":7,"socket":"[2001:db8::1]:7"}"#,
            r#"{"family":"ipv4","host":"192.0.2.1","port":7,"socket":"192.0.2.1:8"}"#,
            r#"{"family":"dns","host":"192.0.2.1","port":7,"socket":"192.0.2.1:7"}"#,
        ] {
            assert!(serde_json::from_str::<Dial>(bad).is_err(), "{bad}");
        }
    }
}
