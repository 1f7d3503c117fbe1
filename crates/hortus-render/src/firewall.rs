//! The mesh's boundary as an nftables table of its own (for hosts that are
//! not NixOS, and for the lab; the NixOS module loads the same table): the
//! plan's perimeter (`node.firewall.perimeter`), TCP MSS clamping on
//! packets entering a mesh interface, and the masquerading of mesh traffic
//! into the node's subnets and out of an exit's uplink (`node.nat_rules`).
//!
//! The forward chain has policy accept and only drops what crosses the
//! boundary without being allowed, so it adds to whatever firewall the host
//! has: it never opens what another table closes. An `accept` here ends
//! this chain only; a forward-filtering firewall elsewhere must accept the
//! same traffic (the NixOS module adds it to its forward rules).

use crate::text::check_path;
use crate::{nft, RenderError, RenderedFile};
use hortus_plan::{HostPlan, IpPrefix, NatRule};

/// Name of the nftables table.
pub const NFT_TABLE: &str = "hortus_firewall";
/// The unit loading the table.
pub const NFT_UNIT: &str = "hortus-firewall.service";
/// The nftables file, next to the unit in the output.
pub const NFT_FILE: &str = "hortus-firewall.nft";

/// Paths the unit points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where the host keeps [`NFT_FILE`] (loaded by [`NFT_UNIT`]).
    pub nft_file: String,
    /// The `nft` binary.
    pub nft: String,
}

impl Default for Options {
    fn default() -> Self {
        Options { nft_file: "/etc/hortus/firewall.nft".into(), nft: "/usr/sbin/nft".into() }
    }
}

/// [`NFT_FILE`] and [`NFT_UNIT`].
pub fn render(host: &HostPlan, opts: &Options) -> Result<Vec<RenderedFile>, RenderError> {
    check_path("firewall", "nft_file", &opts.nft_file)?;
    check_path("firewall", "nft", &opts.nft)?;
    let unit = nft::unit(
        &format!("Host `{}`: the mesh's perimeter, MSS clamping and masquerading ({}).", host.host, opts.nft_file),
        "hortus: the mesh's perimeter (nftables)",
        &opts.nft,
        &opts.nft_file,
        NFT_TABLE,
    );
    Ok(vec![
        RenderedFile { name: NFT_FILE.into(), contents: nftables(host) },
        RenderedFile { name: NFT_UNIT.into(), contents: unit },
    ])
}

/// The ruleset: set `mesh` (the mesh interfaces), chain `forward` (MSS
/// clamping, then the perimeter) and chain `postrouting` (masquerading).
pub fn nftables(host: &HostPlan) -> String {
    let node = &host.node;
    let perimeter = &node.firewall.perimeter;
    let mut body = String::from("  set mesh {\n    type ifname\n");
    if !node.firewall.mesh_interfaces.is_empty() {
        let names: Vec<String> = node.firewall.mesh_interfaces.iter().map(|i| format!("\"{i}\"")).collect();
        body += &format!("    elements = {{ {} }}\n", names.join(", "));
    }
    body += "  }\n";
    let mut forward = String::new();
    let mut rule = |text: &str| forward += &format!("    {text}\n");
    rule("# TCP into the mesh: MSS clamped to the route's MTU (links differ; a forwarded one is smaller).");
    rule("oifname @mesh tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu");
    rule("ct state established,related accept");
    rule("# From the mesh: to the mesh (Babel's detours) and to this node's subnets.");
    rule("iifname @mesh oifname @mesh accept");
    for (family, set) in by_family(&perimeter.subnets) {
        rule(&format!("iifname @mesh {family} daddr {set} accept"));
    }
    if perimeter.exit {
        rule("# An exit: mesh traffic leaves through any interface.");
        rule("iifname @mesh accept");
    } else {
        rule("iifname @mesh drop");
    }
    rule("# Into the mesh: from this node's subnets only (and replies).");
    for (family, set) in by_family(&perimeter.subnets) {
        rule(&format!("oifname @mesh {family} saddr {set} accept"));
    }
    rule("oifname @mesh drop");
    body += &nft::chain("forward", "filter", "forward", "filter", &forward);
    let mut post = String::new();
    for nat in &node.nat_rules {
        match nat {
            NatRule::MasqueradeSubnets { destinations } => {
                for (family, set) in by_family(destinations) {
                    post += &format!("    iifname @mesh {family} daddr {set} masquerade\n");
                }
            }
            NatRule::MasqueradeExit { except } if except.is_empty() => {
                post += "    iifname @mesh oifname != @mesh masquerade\n";
            }
            NatRule::MasqueradeExit { except } => {
                // A `daddr` match only matches its own family: one rule each.
                let excepted = by_family(except);
                for (family, nfproto) in [("ip", "ipv4"), ("ip6", "ipv6")] {
                    let filter = match excepted.iter().find(|(f, _)| *f == family) {
                        Some((_, set)) => format!("{family} daddr != {set}"),
                        None => format!("meta nfproto {nfproto}"),
                    };
                    post += &format!("    iifname @mesh oifname != @mesh {filter} masquerade\n");
                }
            }
            NatRule::Dnat { .. } | NatRule::Masquerade { .. } => {}
        }
    }
    if !post.is_empty() {
        body += &nft::chain("postrouting", "nat", "postrouting", "srcnat", &post);
    }
    nft::ruleset(
        &format!("Host `{}`: the mesh's perimeter, MSS clamping and masquerading (docs/renderers.md).", host.host),
        NFT_TABLE,
        &body,
    )
}

/// The prefixes of each family as an anonymous set: `("ip", "{ a, b }")`
/// then `("ip6", …)`, a family without prefixes left out.
fn by_family(prefixes: &[IpPrefix]) -> Vec<(&'static str, String)> {
    let set = |v4: bool| {
        let items: Vec<String> = prefixes.iter().filter(|p| p.is_ipv4() == v4).map(ToString::to_string).collect();
        (!items.is_empty()).then(|| format!("{{ {} }}", items.join(", ")))
    };
    [("ip", set(true)), ("ip6", set(false))].into_iter().filter_map(|(f, s)| Some((f, s?))).collect()
}
