//! Forwarders, as hortus decides them: what each transport costs and needs
//! (overhead, TUN devices, the protocol its server accepts), a link end's
//! forwarder with its TUN addresses and program arguments, and the NAT
//! rules a host's forwarders need. The types are the plan's
//! ([`hortus_plan::forwarder`]).
//!
//! Adding a transport (udp2raw, hysteria2) means a [`Transport`] variant,
//! its facts here, and a renderer.

use crate::ifname::interface_name;
use hortus_plan::{Dial, ForwardRule, Forwarder, Host, Ipv4Prefix, Ipv6Prefix, NatRule, Transport, Tun, Underlay};
use std::net::Ipv4Addr;

/// Bytes per packet assumed for an operator's own forwarder
/// (`mesh.forwarder = "none"`) unless `mesh.forward_overhead` says otherwise.
pub const EXTERNAL_DEFAULT_OVERHEAD: u32 = 40;

/// Bytes the transport adds to each WireGuard packet on top of the UDP
/// header it replaces; `None` when hortus does not know the transport.
///
/// phantun: a 20-byte TCP header instead of the 8-byte UDP header, no
/// framing, measured in the lab (docs/link-policy.md): a 1428-byte inner
/// packet on a 1500-byte IPv4 underlay leaves as one 1500-byte frame payload.
pub fn overhead(transport: Transport) -> Option<u32> {
    match transport {
        Transport::Phantun => Some(12),
        Transport::External => None,
    }
}

/// Prefix of the per-link TUN device names, for transports that need one.
pub fn tun_prefix(transport: Transport) -> Option<&'static str> {
    match transport {
        Transport::Phantun => Some("ph-"),
        Transport::External => None,
    }
}

/// The protocol the server accepts on the link's port, for the firewall.
pub fn protocol(transport: Transport) -> Option<&'static str> {
    match transport {
        Transport::Phantun => Some("tcp"),
        Transport::External => None,
    }
}

/// The TUN device of the forwarder toward peer `peer` (id `peer_id`):
/// `<prefix><peer>` shortened like WireGuard interface names, and the
/// point-to-point pair `2(id+1)`, `2(id+1)+1` in each prefix. `Err` names
/// the prefix that is too small.
pub fn tun_for(
    transport: Transport,
    peer: &str,
    peer_id: u32,
    v4: Ipv4Prefix,
    v6: Ipv6Prefix,
) -> Result<Option<Tun>, &'static str> {
    let Some(prefix) = tun_prefix(transport) else { return Ok(None) };
    let base = peer_id.checked_add(1).and_then(|n| n.checked_mul(2));
    let pair4 = base.and_then(|b| Some((v4.nth(b)?, v4.nth(b + 1)?))).ok_or("forwarder_ipv4_prefix")?;
    let base = 2 * (u128::from(peer_id) + 1);
    let pair6 = v6.nth(base).zip(v6.nth(base + 1)).ok_or("forwarder_ipv6_prefix")?;
    Ok(Some(Tun { name: interface_name(prefix, peer), local: pair4.0, peer: pair4.1, local6: pair6.0, peer6: pair6.1 }))
}

/// Where WireGuard meets its local forwarder on a forwarded link.
pub fn local_dial(port: u16) -> Dial {
    Host::Ip(Ipv4Addr::LOCALHOST.into()).with_port(port)
}

/// The forwarder one end of a forwarded link on `port` runs: the client,
/// dialling `remote` (the peer's endpoint), or the server, with `tun`. A
/// client of a node with IPv4 only (`underlay`) that dials a DNS name
/// connects over IPv4 only (phantun takes the name's first address, which
/// may be IPv6).
pub fn end(transport: Transport, port: u16, remote: Option<Dial>, tun: Option<Tun>, underlay: Underlay) -> Forwarder {
    let local = local_dial(port).socket();
    match remote {
        Some(remote) => {
            let ipv4_only = underlay == Underlay::Ipv4 && matches!(remote.host, Host::Dns(_));
            let args = program_args(transport, &local, &remote.socket(), tun.as_ref(), ipv4_only);
            Forwarder::Client { transport, listen: local, remote, tun, args }
        }
        None => {
            let args = program_args(transport, &port.to_string(), &local, tun.as_ref(), false);
            Forwarder::Server { transport, port, deliver: local, tun, args }
        }
    }
}

/// The transport program's arguments: phantun's `--local`, `--remote`, the
/// TUN name and both address pairs, or with `ipv4_only` `--ipv4-only` and
/// the IPv4 pair (phantun refuses the IPv6 pair with it); none for an
/// operator's forwarder.
fn program_args(transport: Transport, local: &str, remote: &str, tun: Option<&Tun>, ipv4_only: bool) -> Vec<String> {
    let (Transport::Phantun, Some(tun)) = (transport, tun) else { return vec![] };
    let mut args: Vec<String> = [
        ("--local", local.to_string()),
        ("--remote", remote.to_string()),
        ("--tun", tun.name.clone()),
        ("--tun-local", tun.local.to_string()),
        ("--tun-peer", tun.peer.to_string()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_string(), value])
    .collect();
    if ipv4_only {
        args.push("--ipv4-only".into());
    } else {
        args.extend(["--tun-local6".into(), tun.local6.to_string(), "--tun-peer6".into(), tun.peer6.to_string()]);
    }
    args
}

/// The NAT rule one forwarder end needs, if any: a server's TCP port
/// DNATed to its TUN peer (phantun accepts there), a client's TUN
/// masqueraded on the way out.
pub fn nat_rule(forwarder: &Forwarder) -> Option<NatRule> {
    let tun = forwarder.tun()?;
    Some(match forwarder {
        Forwarder::Server { port, .. } => {
            NatRule::Dnat { port: *port, except_interface: tun.name.clone(), to: tun.peer, to6: tun.peer6 }
        }
        Forwarder::Client { .. } => {
            NatRule::Masquerade { interface: tun.name.clone(), from: tun.peer, from6: tun.peer6 }
        }
    })
}

/// What a forward-filtering firewall must accept for one forwarder end with
/// a TUN: everything arriving from its TUN, and on a server the DNATed TCP
/// connections leaving into it.
pub fn forward_accept(forwarder: &Forwarder) -> Vec<ForwardRule> {
    let Some(tun) = forwarder.tun() else { return vec![] };
    let mut rules = vec![];
    if let Forwarder::Server { port, .. } = forwarder {
        rules.push(ForwardRule {
            input_interface: None,
            output_interface: Some(tun.name.clone()),
            tcp_port: Some(*port),
        });
    }
    rules.push(ForwardRule { input_interface: Some(tun.name.clone()), output_interface: None, tcp_port: None });
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> (Ipv4Prefix, Ipv6Prefix) {
        ("10.237.0.0/16".parse().unwrap(), "fcc8::/64".parse().unwrap())
    }

    #[test]
    fn tun_addresses_are_a_pair_per_peer_id() {
        let (v4, v6) = prefixes();
        let tun = tun_for(Transport::Phantun, "hastur", 0, v4, v6).unwrap().unwrap();
        assert_eq!(tun.name, "ph-hastur");
        assert_eq!((tun.local, tun.peer), (Ipv4Addr::new(10, 237, 0, 2), Ipv4Addr::new(10, 237, 0, 3)));
        assert_eq!((tun.local6, tun.peer6), ("fcc8::2".parse().unwrap(), "fcc8::3".parse().unwrap()));
        let other = tun_for(Transport::Phantun, "abhoth", 4, v4, v6).unwrap().unwrap();
        assert_eq!(other.local, Ipv4Addr::new(10, 237, 0, 10));
        let long = tun_for(Transport::Phantun, "a-very-long-peer-name", 7, v4, v6).unwrap().unwrap();
        assert!(long.name.len() <= 15 && long.name.starts_with("ph-a-very-l"), "{}", long.name);
    }

    #[test]
    fn too_big_an_id_names_the_prefix() {
        let (_, v6) = prefixes();
        let small: Ipv4Prefix = "10.237.0.0/24".parse().unwrap();
        assert!(tun_for(Transport::Phantun, "x", 125, small, v6).is_ok());
        assert_eq!(tun_for(Transport::Phantun, "x", 126, small, v6), Err("forwarder_ipv4_prefix"));
        assert_eq!(tun_for(Transport::Phantun, "x", u32::MAX, small, v6), Err("forwarder_ipv4_prefix"));
    }

    #[test]
    fn external_forwarders_have_no_tun_and_no_known_overhead() {
        let (v4, v6) = prefixes();
        assert_eq!(tun_for(Transport::External, "x", 1, v4, v6), Ok(None));
        assert_eq!(overhead(Transport::External), None);
        assert_eq!(overhead(Transport::Phantun), Some(12));
    }
}
