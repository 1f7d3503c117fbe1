//! The mesh-wide part of a plan: settings with every default filled in and
//! every optional input resolved, plus the constants hortus decides for all
//! hosts (kernel route metrics).

use crate::endpoint::EndpointSettings;
use crate::forwarder::Transport;
use crate::prefix::{Ipv4Prefix, Ipv6Prefix};
use serde::{Deserialize, Serialize};

/// How the UDP port of a pair is computed from the two node ids `a < b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortScheme {
    /// `base + (a+b)(a+b+1)/2 + b`: the reference scheme, unique mesh-wide.
    Cantor,
    /// `base + b(b-1)/2 + a`: unique mesh-wide, packed (ids 0..n use n(n-1)/2 ports).
    Dense,
    /// `base + (a XOR b)`: unique per node only (all a node needs), ids < 2^k
    /// use 2^k ports; the scheme for meshes of hundreds or thousands of nodes.
    Xor,
}

/// Which routing daemon carries Babel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingDaemon {
    /// BIRD 3 (what NixOS's `services.bird` ships).
    Bird,
    /// babeld.
    Babeld,
}

impl RoutingDaemon {
    /// The daemon's program (and systemd service) name: `bird` or `babeld`.
    pub fn program(self) -> &'static str {
        match self {
            RoutingDaemon::Bird => "bird",
            RoutingDaemon::Babeld => "babeld",
        }
    }
}

/// Babel timers and link costs, shared by the BIRD and babeld renderers.
/// The defaults are the inventory's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BabelSettings {
    /// Hello interval in milliseconds (default 100: with `link_quality`,
    /// `rxcost` and `hello_limit` a dead link is noticed within a second or
    /// two, and a lossy one does not flap; BENCHMARKS.md, "Babel timers
    /// under loss").
    pub hello_interval_ms: u32,
    /// Update interval in milliseconds (default 2000).
    pub update_interval_ms: u32,
    /// The cost of receiving over a link that loses nothing: Babel
    /// `rxcost` on every link, both daemons (default 96).
    pub rxcost: u32,
    /// babeld: a link's cost grows with its lost hellos (`link-quality
    /// true`: doubled for each one missed in a row) rather than jumping to
    /// infinity after two of the last three (default true).
    pub link_quality: bool,
    /// BIRD: a link is down while fewer than this many of the last 16
    /// hellos arrived (`limit`, default 4: thirteen lost). With
    /// `failover.probe` (the default), `hortus failover` notices a dead link
    /// first and this is the backstop, low so that a lossy link does not
    /// flap; BIRD alone (`probe = false`) wants 11, about a second, where
    /// its own 12 flapped more.
    pub hello_limit: u32,
    /// Maximal RTT cost added to a link's metric.
    pub rtt_cost: u32,
    /// RTT (ms) at which the full `rtt_cost` applies.
    pub rtt_max_ms: u32,
    /// RTT smoothing decay (BIRD `rtt decay`, 1..=256).
    pub rtt_decay: u32,
    /// babeld `smoothing-half-life` in seconds (default 0, none: babeld's
    /// own 4 s delays every switch driven by a link's cost, and the way
    /// back to a healed link by ~40 s).
    pub smoothing_half_life: u32,
    /// BIRD kernel protocol `scan time` in seconds. BIRD 3 skips a kernel
    /// update whose route was seen in the last scan, so a route that changes
    /// and changes back between two scans stays wrong in the kernel until the
    /// next one: this bounds how long (see docs/renderers.md).
    pub kernel_scan_s: u32,
    /// Optional path of a file holding Babel MAC keys (BIRD `include`d); never the key itself.
    pub mac_key_file: Option<String>,
}

impl Default for BabelSettings {
    fn default() -> Self {
        BabelSettings {
            hello_interval_ms: 100,
            update_interval_ms: 2000,
            rxcost: 96,
            link_quality: true,
            hello_limit: 4,
            rtt_cost: 192,
            rtt_max_ms: 300,
            rtt_decay: 60,
            smoothing_half_life: 0,
            kernel_scan_s: 1,
            mac_key_file: None,
        }
    }
}

/// Link probing (`hortus failover`, with BIRD): each host sends an ICMPv6
/// echo to the peer's link-local over each link every `probe_interval_ms`;
/// a link with no reply for `probe_misses` intervals leaves BIRD's Babel
/// at once (BIRD's own hello timeout ticks once a second), and comes back
/// once replies have flowed for `hold_down_ms` (twice that after each
/// failure soon after it came back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailoverSettings {
    /// Whether hosts probe their links: in the inventory, wanted (default
    /// true); in the plan, whether they do (only with BIRD: babeld's link
    /// quality notices a dead link by itself).
    pub probe: bool,
    /// Milliseconds between two probes of a link (default 50).
    pub probe_interval_ms: u32,
    /// Probe intervals without a reply after which a link is down (default 7).
    pub probe_misses: u32,
    /// Milliseconds of replies before a link that was down is up again
    /// (default 500): a link that comes and goes is not taken back each time.
    pub hold_down_ms: u32,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        FailoverSettings { probe: true, probe_interval_ms: 50, probe_misses: 7, hold_down_ms: 500 }
    }
}

impl FailoverSettings {
    /// How long a link may stay silent before it is down.
    pub fn detection(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.probe_interval_ms) * u64::from(self.probe_misses))
    }
}

/// Kernel route metrics (IPv6 "priority") every host uses. Lower wins:
/// the anchor's own routes, then Babel's, then a link's peer route, which
/// is only a fallback and never beats a Babel route (failover).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelMetrics {
    /// Routes to the node's own addresses (BIRD's `protocol direct`).
    pub anchor: u32,
    /// Routes the routing daemon learned from Babel.
    pub babel: u32,
    /// The peer route of a link's point-to-point ULA address.
    pub peer: u32,
}

/// The mesh-wide settings of a plan, resolved: no field is left for a
/// consumer to default or derive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// ULA prefix of the node addresses.
    pub prefix: Ipv6Prefix,
    /// IPv4 overlay prefix, when the mesh has one.
    pub ipv4_prefix: Option<Ipv4Prefix>,
    /// Port of the pair scheme's index 0.
    pub base_port: u16,
    /// How pair ports are numbered.
    pub port_scheme: PortScheme,
    /// Prefix of the per-peer WireGuard interface names: every interface
    /// with it is the mesh's (reconcile deletes those the plan lacks).
    pub interface_prefix: String,
    /// Name of the anchor interface carrying the node's own addresses.
    pub anchor: String,
    /// The forwarder forwarded links run.
    pub forwarder: Transport,
    /// Bytes the forwarder adds per packet (the MTUs account for it).
    pub forward_overhead: u32,
    /// IPv4 prefix of the forwarders' TUN addresses.
    pub forwarder_ipv4_prefix: Ipv4Prefix,
    /// IPv6 prefix of the forwarders' TUN addresses.
    pub forwarder_ipv6_prefix: Ipv6Prefix,
    /// Routing daemon.
    pub routing: RoutingDaemon,
    /// Babel timers and costs.
    pub babel: BabelSettings,
    /// Endpoint order and switching.
    pub endpoints: EndpointSettings,
    /// Link probing.
    pub failover: FailoverSettings,
    /// Kernel route metrics.
    pub kernel_metrics: KernelMetrics,
}
