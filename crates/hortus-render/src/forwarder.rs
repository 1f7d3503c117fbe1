//! A host's forwarder instances (for hosts that are not NixOS, and for the
//! lab): per forwarded link running phantun, a systemd unit running it with
//! the plan's arguments; one nftables table with the plan's NAT rules
//! (`node.nat_rules`); and a oneshot unit loading that table. (IP
//! forwarding is in the plan's sysctls, [`crate::sysctl`], for every host.)
//!
//! Links whose forwarder is `none` (the operator's own) get nothing here.

use crate::nft;
use crate::text::check_path;
use crate::{RenderError, RenderedFile, HEADER};
use hortus_plan::{Forwarder, Host, HostPlan, Link, NatRule, Transport, Tun};

/// Name of the nftables table holding every forwarder rule.
pub const NFT_TABLE: &str = "hortus_forwarder";
/// The unit loading the nftables table.
pub const NFT_UNIT: &str = "hortus-forwarder-nft.service";
/// The nftables file, next to the units in the output.
pub const NFT_FILE: &str = "hortus-forwarder.nft";

/// The environment of every phantun unit.
pub const PHANTUN_ENVIRONMENT: &[(&str, &str)] = &[("RUST_LOG", "info")];
/// `[Service]` of every phantun unit besides `ExecStart=`: restarted when it
/// dies; only CAP_NET_ADMIN (to create its TUN and set its addresses); the
/// rest of the system out of reach.
pub const PHANTUN_SERVICE: &[(&str, &str)] = &[
    ("Restart", "always"),
    ("RestartSec", "2"),
    ("DynamicUser", "yes"),
    ("AmbientCapabilities", "CAP_NET_ADMIN"),
    ("CapabilityBoundingSet", "CAP_NET_ADMIN"),
    ("NoNewPrivileges", "yes"),
    ("DeviceAllow", "/dev/net/tun rw"),
    ("DevicePolicy", "closed"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_NETLINK AF_UNIX"),
    ("RestrictNamespaces", "yes"),
    ("RestrictRealtime", "yes"),
    ("LockPersonality", "yes"),
    ("MemoryDenyWriteExecute", "yes"),
    ("SystemCallArchitectures", "native"),
];

/// Paths the units point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// phantun's client binary (`client` in nixpkgs and `cargo install phantun`).
    pub phantun_client: String,
    /// phantun's server binary.
    pub phantun_server: String,
    /// Where the host keeps [`NFT_FILE`] (loaded by [`NFT_UNIT`]).
    pub nft_file: String,
    /// The `nft` binary.
    pub nft: String,
    /// The `hortus` binary (`hortus forwarder-client`, for clients dialling a name).
    pub hortus: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            phantun_client: "/usr/local/bin/phantun_client".into(),
            phantun_server: "/usr/local/bin/phantun_server".into(),
            nft_file: "/etc/hortus/forwarder.nft".into(),
            nft: "/usr/sbin/nft".into(),
            hortus: "/usr/local/bin/hortus".into(),
        }
    }
}

/// One phantun instance of the host: the link and its forwarder.
#[derive(Debug, Clone, Copy)]
pub struct PhantunInstance<'a> {
    /// The forwarded link.
    pub link: &'a Link,
    /// Its TUN device.
    pub tun: &'a Tun,
    /// Whether this end runs the client (else the server).
    pub client: bool,
}

impl PhantunInstance<'_> {
    /// The systemd unit name: `hortus-phantun-<peer>.service`.
    pub fn unit_name(&self) -> String {
        format!("hortus-phantun-{}.service", self.link.peer)
    }

    /// The command the instance runs: phantun with the plan's arguments;
    /// for a client whose remote is a DNS name, under `hortus
    /// forwarder-client` with the host's underlay and endpoint settings,
    /// which dials the name's current address and restarts phantun when
    /// the name moves (phantun alone resolves it once, at start).
    pub fn command(&self, host: &HostPlan, opts: &Options) -> Vec<String> {
        let binary = if self.client { &opts.phantun_client } else { &opts.phantun_server };
        let phantun =
            std::iter::once(binary.clone()).chain(self.link.forwarder.iter().flat_map(|f| f.args().iter().cloned()));
        let Some(Forwarder::Client { remote, .. }) = &self.link.forwarder else { return phantun.collect() };
        if !matches!(remote.host, Host::Dns(_)) {
            return phantun.collect();
        }
        let settings = &host.mesh.endpoints;
        [
            opts.hortus.clone(),
            "forwarder-client".into(),
            "--underlay".into(),
            host.node.underlay.to_string(),
            "--prefer".into(),
            settings.prefer.to_string(),
            "--switch-after-s".into(),
            settings.switch_after_s.to_string(),
            "--".into(),
        ]
        .into_iter()
        .chain(phantun)
        .collect()
    }
}

/// The host's phantun instances, in link order.
pub fn phantun_instances(host: &HostPlan) -> Vec<PhantunInstance<'_>> {
    host.node
        .links
        .iter()
        .filter_map(|link| {
            let forwarder = link.forwarder.as_ref()?;
            let tun = forwarder.tun()?;
            (forwarder.transport() == Transport::Phantun).then_some(PhantunInstance {
                link,
                tun,
                client: forwarder.is_client(),
            })
        })
        .collect()
}

/// The nftables ruleset of the host's forwarder NAT rules (`None` without
/// any). Loading it replaces the table as a whole, so it is safe to load
/// again after a plan change. (The mesh's masquerading is the perimeter's,
/// [`crate::firewall`].)
pub fn nftables(host: &HostPlan) -> Option<String> {
    let mut pre = String::new();
    let mut post = String::new();
    for rule in &host.node.nat_rules {
        match rule {
            NatRule::Dnat { port, except_interface, to, to6 } => {
                for (family, to) in [("ip", to.to_string()), ("ip6", to6.to_string())] {
                    pre += &format!(
                        "    iifname != \"{except_interface}\" fib daddr type local tcp dport {port} dnat {family} to {to}\n"
                    );
                }
            }
            NatRule::Masquerade { interface, .. } => post += &format!("    iifname \"{interface}\" masquerade\n"),
            NatRule::MasqueradeSubnets { .. } | NatRule::MasqueradeExit { .. } => {}
        }
    }
    if pre.is_empty() && post.is_empty() {
        return None;
    }
    let body = nft::chain("prerouting", "nat", "prerouting", "dstnat", &pre)
        + &nft::chain("postrouting", "nat", "postrouting", "srcnat", &post);
    Some(nft::ruleset(&format!("phantun's NAT for host `{}` (docs/link-policy.md).", host.host), NFT_TABLE, &body))
}

/// Every file for the host's forwarders (empty without phantun instances):
/// one unit per instance, [`NFT_UNIT`] and [`NFT_FILE`], sorted by name.
pub fn render(host: &HostPlan, opts: &Options) -> Result<Vec<RenderedFile>, RenderError> {
    for (field, path) in [
        ("phantun_client", &opts.phantun_client),
        ("phantun_server", &opts.phantun_server),
        ("nft_file", &opts.nft_file),
        ("nft", &opts.nft),
        ("hortus", &opts.hortus),
    ] {
        check_path("forwarder", field, path)?;
    }
    let Some(ruleset) = nftables(host) else { return Ok(vec![]) };
    let mut files: Vec<RenderedFile> = phantun_instances(host)
        .iter()
        .map(|i| RenderedFile { name: i.unit_name(), contents: phantun_unit(host, i, opts) })
        .collect();
    files.push(RenderedFile { name: NFT_UNIT.into(), contents: nft_unit(host, opts) });
    files.push(RenderedFile { name: NFT_FILE.into(), contents: ruleset });
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// A phantun instance as a service: only CAP_NET_ADMIN (to create its TUN
/// and set its addresses), restarted when it dies, started after the
/// network and the NAT rules and before WireGuard traffic needs it.
fn phantun_unit(host: &HostPlan, i: &PhantunInstance, opts: &Options) -> String {
    let side = if i.client { "client" } else { "server" };
    let wg = i.link.interface.as_str();
    format!(
        "{HEADER}
# Host `{host}`: phantun {side} of the forwarded link to `{peer}` (port {port}).
[Unit]
Description=hortus: phantun {side} for the link to {peer}
Documentation=https://github.com/dndx/phantun
Requires={NFT_UNIT}
After={NFT_UNIT} network-online.target systemd-networkd.service
Wants=network-online.target
# With the WireGuard interface it carries: stopped with systemd-networkd
# (which owns {wg}), started again with it.
PartOf=systemd-networkd.service

[Service]
{environment}ExecStart={command}
{service}
[Install]
WantedBy=multi-user.target
",
        host = host.host,
        peer = i.link.peer,
        port = i.link.port,
        command = i.command(host, opts).join(" "),
        environment = PHANTUN_ENVIRONMENT.iter().map(|(k, v)| format!("Environment={k}={v}\n")).collect::<String>(),
        service = PHANTUN_SERVICE.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>(),
    )
}

fn nft_unit(host: &HostPlan, opts: &Options) -> String {
    nft::unit(
        &format!("Host `{}`: the NAT rules of its phantun instances ({}).", host.host, opts.nft_file),
        "hortus: nftables rules for phantun",
        &opts.nft,
        &opts.nft_file,
        NFT_TABLE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hortus_core::{build_plan, Inventory};

    fn six_nodes() -> hortus_core::Plan {
        let text = include_str!("../../../examples/six-nodes.toml");
        build_plan(&Inventory::from_toml_str(text).unwrap()).unwrap()
    }

    #[test]
    fn server_and_client_arguments() {
        let plan = six_nodes();
        let hastur = plan.host("hastur").unwrap();
        let server = phantun_instances(&hastur).into_iter().find(|i| i.link.peer == "abhoth").unwrap();
        assert!(!server.client);
        assert_eq!(
            server.link.forwarder.as_ref().unwrap().args().join(" "),
            "--local 51814 --remote 127.0.0.1:51814 --tun ph-abhoth --tun-local 10.237.0.10 --tun-peer 10.237.0.11 \
             --tun-local6 fcc8::a --tun-peer6 fcc8::b"
        );
        let abhoth = plan.host("abhoth").unwrap();
        let client = phantun_instances(&abhoth).into_iter().find(|i| i.link.peer == "hastur").unwrap();
        assert!(client.client);
        assert!(client
            .link
            .forwarder
            .as_ref()
            .unwrap()
            .args()
            .join(" ")
            .starts_with("--local 127.0.0.1:51814 --remote 198.51.100.10:51814 --tun ph-hastur"));
        assert_eq!(client.unit_name(), "hortus-phantun-hastur.service");
    }

    #[test]
    fn nat_rules_per_role() {
        let plan = six_nodes();
        let hastur = nftables(&plan.host("hastur").unwrap()).unwrap();
        assert!(
            hastur.contains("iifname != \"ph-abhoth\" fib daddr type local tcp dport 51814 dnat ip to 10.237.0.11\n")
        );
        assert!(hastur.contains("tcp dport 51814 dnat ip6 to fcc8::b\n"));
        assert!(!hastur.contains("masquerade"));
        let abhoth = nftables(&plan.host("abhoth").unwrap()).unwrap();
        assert!(abhoth.contains("iifname \"ph-hastur\" masquerade\n"));
        // A host without forwarded links gets no files.
        let mut inv = Inventory::from_toml_str(include_str!("../../../examples/six-nodes.toml")).unwrap();
        inv.nodes.retain(|_, n| !n.censored);
        let plan = build_plan(&inv).unwrap();
        assert_eq!(render(&plan.host("hastur").unwrap(), &Options::default()).unwrap(), vec![]);
    }

    #[test]
    fn external_forwarders_render_nothing() {
        let mut inv = Inventory::from_toml_str(include_str!("../../../examples/six-nodes.toml")).unwrap();
        inv.mesh.forwarder = hortus_core::inventory::Transport::External;
        let plan = build_plan(&inv).unwrap();
        assert!(phantun_instances(&plan.host("hastur").unwrap()).is_empty());
    }

    #[test]
    fn bad_paths_are_refused() {
        let plan = six_nodes();
        let opts = Options { phantun_client: "phantun client".into(), ..Options::default() };
        let err = render(&plan.host("abhoth").unwrap(), &opts).unwrap_err().to_string();
        assert!(err.contains("phantun_client"), "{err}");
    }
}
