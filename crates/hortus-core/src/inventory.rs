//! The inventory: what an operator writes (`hortus.toml`) or what Nix passes
//! (`builtins.toJSON`). One serde model serves both; unknown fields are
//! refused so a typo never silently falls back to a default.

use crate::Error;
pub use hortus_plan::{
    BabelSettings, EndpointSettings, FailoverSettings, PortScheme, RoutingDaemon, Transport, Underlay,
};
use hortus_plan::{Ipv4Prefix, Ipv6Prefix};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The whole input: mesh-wide settings and the nodes by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Mesh-wide settings; every field has a default.
    #[serde(default)]
    pub mesh: MeshSettings,
    /// Nodes keyed by name (the name is the peer part of `wg-<peer>`).
    #[serde(deserialize_with = "unique_keys")]
    pub nodes: BTreeMap<String, Node>,
}

/// Mesh-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeshSettings {
    /// ULA prefix for node addresses; node address = prefix + (id + 1).
    pub prefix: Ipv6Prefix,
    /// Optional IPv4 overlay prefix; node address = prefix + (id + 1).
    pub ipv4_prefix: Option<Ipv4Prefix>,
    /// Port of the pair scheme's index 0.
    pub base_port: u32,
    /// How pair ports are numbered.
    pub port_scheme: PortScheme,
    /// Prefix of the per-peer WireGuard interface names.
    pub interface_prefix: String,
    /// Interface carrying the node's ULA (BIRD's `protocol direct` matches `anchor-*`).
    pub anchor: String,
    /// Underlay MTU of every node unless the node overrides it.
    pub mtu: u32,
    /// PersistentKeepalive seconds where the policy asks for keepalive.
    pub keepalive: u16,
    /// The forwarder forwarded links run: `phantun` (planned, rendered and
    /// run by hortus) or `none` (described; the operator brings it).
    pub forwarder: Transport,
    /// Bytes the forwarder adds per packet; `None` takes the transport's
    /// measured value (phantun: 12), or 40 for `forwarder = "none"`.
    pub forward_overhead: Option<u32>,
    /// IPv4 prefix of the forwarders' point-to-point TUN addresses (each
    /// host uses the pair `2(peer id + 1)`, `+1` for its link to a peer).
    pub forwarder_ipv4_prefix: Ipv4Prefix,
    /// IPv6 prefix of the forwarders' TUN addresses, numbered the same way.
    pub forwarder_ipv6_prefix: Ipv6Prefix,
    /// Routing daemon.
    pub routing: RoutingDaemon,
    /// Babel timers and costs.
    pub babel: BabelSettings,
    /// Endpoint order (`prefer`) and switching (`switch_after_s`).
    pub endpoints: EndpointSettings,
    /// Link probing (`hortus failover`, with BIRD).
    pub failover: FailoverSettings,
}

impl Default for MeshSettings {
    fn default() -> Self {
        MeshSettings {
            prefix: "fdcc::/64".parse().expect("valid default prefix"),
            ipv4_prefix: None,
            base_port: 51800,
            port_scheme: PortScheme::Cantor,
            interface_prefix: "wg-".into(),
            anchor: "anchor-0".into(),
            mtu: 1500,
            keepalive: 25,
            forwarder: Transport::Phantun,
            forward_overhead: None,
            forwarder_ipv4_prefix: "10.237.0.0/16".parse().expect("valid default prefix"),
            forwarder_ipv6_prefix: "fcc8::/64".parse().expect("valid default prefix"),
            routing: RoutingDaemon::Bird,
            babel: BabelSettings::default(),
            endpoints: EndpointSettings::default(),
            failover: FailoverSettings::default(),
        }
    }
}

/// One machine of the mesh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique, stable-forever non-negative id; it fixes ports and addresses.
    pub id: u32,
    /// WireGuard public key, base64 of 32 bytes.
    pub public_key: String,
    /// Public addresses peers can dial: IPv4, IPv6 or DNS names, without port.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// LAN addresses only peers of its region dial, before `endpoints`
    /// (two machines at home need no hairpin NAT through their router).
    #[serde(default)]
    pub lan_endpoints: Vec<String>,
    /// The underlay families it can send from; by default the families of
    /// its literal endpoints when it has only literals, `dual` when it has a
    /// DNS name, `ipv4` when it has none.
    #[serde(default)]
    pub underlay: Option<Underlay>,
    /// Behind NAT: accepts no inbound connection from outside its region.
    #[serde(default)]
    pub nat: bool,
    /// Behind a censor that drops direct UDP to uncensored nodes.
    #[serde(default)]
    pub censored: bool,
    /// Region name; NAT'd nodes of one region can reach each other's endpoints.
    #[serde(default = "default_region")]
    pub region: String,
    /// Explicit IPv6 link-local (in fe80::/64); derived from the public key otherwise.
    #[serde(default)]
    pub link_local: Option<Ipv6Addr>,
    /// Explicit ULA inside the mesh prefix; prefix + (id + 1) otherwise.
    #[serde(default)]
    pub address: Option<Ipv6Addr>,
    /// Explicit IPv4 overlay address inside `ipv4_prefix`.
    #[serde(default)]
    pub ipv4_address: Option<Ipv4Addr>,
    /// This node's underlay MTU, overriding the mesh's.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// This node's keepalive seconds, overriding the mesh's.
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// The Babel cost of every link of this node (`rxcost` at both ends),
    /// overriding `mesh.babel.rxcost`: a node whose links routes should
    /// avoid (a metered or slow uplink). A link between two such nodes
    /// takes the larger.
    #[serde(default)]
    pub cost: Option<u32>,
    /// The Babel cost of this node's link to each named peer, overriding
    /// `cost` on both nodes: prefer one link over another. When both ends
    /// name each other, they must agree.
    #[serde(default)]
    pub link_costs: BTreeMap<String, u32>,
    /// Networks reachable behind this node (IPv4 or IPv6 prefixes), which it
    /// announces into Babel. Several nodes may list the same prefix
    /// (redundant routers on one LAN).
    #[serde(default)]
    pub routes: Vec<String>,
    /// Whether this node installs the other nodes' `routes`.
    #[serde(default = "yes")]
    pub accept_routes: bool,
    /// Whether mesh traffic into this node's `routes` leaves with the node's
    /// LAN address (masquerade; the default), so LAN hosts need no route
    /// back. Turn it off when the LAN's gateway routes the mesh back.
    #[serde(default = "yes")]
    pub masquerade_routes: bool,
    /// Offers the mesh a way out: announces its uplink's default routes and
    /// masquerades mesh traffic leaving through it.
    #[serde(default)]
    pub exit: bool,
    /// Sends this node's own traffic through the nearest exit (`true`). A
    /// name (pinning one exit) is read so that it can be refused clearly.
    #[serde(default)]
    pub use_exit: UseExit,
}

/// A node's `use_exit`: `true`/`false`, or an exit's name, which hortus
/// refuses (Babel routes hop by hop: a pin would not hold past the next
/// node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum UseExit {
    /// `use_exit = true` or `false`.
    Nearest(bool),
    /// `use_exit = "NAME"`: refused by validation.
    Pinned(String),
}

impl Default for UseExit {
    fn default() -> Self {
        UseExit::Nearest(false)
    }
}

impl<'de> Deserialize<'de> for UseExit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = UseExit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<UseExit, E> {
                Ok(UseExit::Nearest(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<UseExit, E> {
                Ok(UseExit::Pinned(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl UseExit {
    /// Whether the node asks for an exit at all.
    pub fn wanted(&self) -> bool {
        !matches!(self, UseExit::Nearest(false))
    }
}

fn yes() -> bool {
    true
}

fn default_region() -> String {
    "default".into()
}

impl Inventory {
    /// Parses the TOML form (`hortus.toml`). A leading byte order mark is
    /// skipped. Errors name the line and column but never quote the source
    /// line (it may hold a secret, or be 50 MB long).
    pub fn from_toml_str(text: &str) -> Result<Self, Error> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        toml::from_str(text).map_err(|e| {
            let message = match e.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    format!("TOML error at line {line}, column {column}: {}", e.message())
                }
                None => e.message().to_string(),
            };
            let generic = toml::from_str::<serde_json::Value>(text).ok();
            Error::parse(&with_unknown_fields(message.trim_end(), generic.as_ref()))
        })
    }

    /// Parses the JSON form (what Nix's `builtins.toJSON` writes). A leading
    /// byte order mark is skipped.
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        serde_json::from_str(text).map_err(|e| {
            let generic = serde_json::from_str::<serde_json::Value>(text).ok();
            Error::parse(&with_unknown_fields(&e.to_string(), generic.as_ref()))
        })
    }

    /// Parses by file name: `.json` (any case) is JSON; `-` (stdin) is JSON
    /// when its first non-blank character is `{`; anything else is TOML.
    pub fn from_named_str(name: &str, text: &str) -> Result<Self, Error> {
        let json = if name == "-" {
            text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']).starts_with('{')
        } else {
            name.len() >= 5
                && name.is_char_boundary(name.len() - 5)
                && name[name.len() - 5..].eq_ignore_ascii_case(".json")
        };
        if json {
            Self::from_json_str(text)
        } else {
            Self::from_toml_str(text)
        }
    }
}

/// Fields of each level of the inventory (checked against the types by a test).
const TOP_FIELDS: &[&str] = &["mesh", "nodes"];
const MESH_FIELDS: &[&str] = &[
    "prefix",
    "ipv4_prefix",
    "base_port",
    "port_scheme",
    "interface_prefix",
    "anchor",
    "mtu",
    "keepalive",
    "forwarder",
    "forward_overhead",
    "forwarder_ipv4_prefix",
    "forwarder_ipv6_prefix",
    "routing",
    "babel",
    "endpoints",
    "failover",
];
const ENDPOINT_FIELDS: &[&str] = &["prefer", "switch_after_s"];
const FAILOVER_FIELDS: &[&str] = &["probe", "probe_interval_ms", "probe_misses", "hold_down_ms"];
const BABEL_FIELDS: &[&str] = &[
    "hello_interval_ms",
    "update_interval_ms",
    "rxcost",
    "link_quality",
    "hello_limit",
    "rtt_cost",
    "rtt_max_ms",
    "rtt_decay",
    "smoothing_half_life",
    "kernel_scan_s",
    "mac_key_file",
];
const NODE_FIELDS: &[&str] = &[
    "id",
    "public_key",
    "endpoints",
    "lan_endpoints",
    "underlay",
    "nat",
    "censored",
    "region",
    "link_local",
    "address",
    "ipv4_address",
    "mtu",
    "keepalive",
    "cost",
    "link_costs",
    "routes",
    "accept_routes",
    "masquerade_routes",
    "exit",
    "use_exit",
];

/// `message`, plus every unknown field of `generic` (serde stops at the first).
fn with_unknown_fields(message: &str, generic: Option<&serde_json::Value>) -> String {
    let unknown = generic.map(unknown_fields).unwrap_or_default();
    if unknown.len() < 2 {
        return message.to_string();
    }
    let listed: Vec<String> = unknown.iter().map(|f| format!("`{f}`")).collect();
    format!("{message}\nall {} unknown fields: {}", unknown.len(), listed.join(", "))
}

/// Dotted paths of the fields of `value` the inventory model does not have.
fn unknown_fields(value: &serde_json::Value) -> Vec<String> {
    fn extra(value: &serde_json::Value, known: &[&str], at: &str, out: &mut Vec<String>) {
        if let Some(map) = value.as_object() {
            out.extend(map.keys().filter(|k| !known.contains(&k.as_str())).map(|k| format!("{at}{k}")));
        }
    }
    let mut out = vec![];
    extra(value, TOP_FIELDS, "", &mut out);
    if let Some(mesh) = value.get("mesh") {
        extra(mesh, MESH_FIELDS, "mesh.", &mut out);
        if let Some(babel) = mesh.get("babel") {
            extra(babel, BABEL_FIELDS, "mesh.babel.", &mut out);
        }
        if let Some(endpoints) = mesh.get("endpoints") {
            extra(endpoints, ENDPOINT_FIELDS, "mesh.endpoints.", &mut out);
        }
        if let Some(failover) = mesh.get("failover") {
            extra(failover, FAILOVER_FIELDS, "mesh.failover.", &mut out);
        }
    }
    if let Some(nodes) = value.get("nodes").and_then(|n| n.as_object()) {
        for (name, node) in nodes {
            extra(node, NODE_FIELDS, &format!("nodes.{name}."), &mut out);
        }
    }
    out
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Deserialises a map, refusing a key seen twice (serde_json would keep the last).
fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UniqueKeys<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueKeys<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of node names to nodes")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, V>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("duplicate node name `{key}`")));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(UniqueKeys(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: serde_json::Value) -> Vec<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn field_lists_match_the_model() {
        let mesh = MeshSettings::default();
        assert_eq!(keys(serde_json::to_value(&mesh).unwrap()), sorted(MESH_FIELDS));
        assert_eq!(keys(serde_json::to_value(&mesh.babel).unwrap()), sorted(BABEL_FIELDS));
        assert_eq!(keys(serde_json::to_value(&mesh.endpoints).unwrap()), sorted(ENDPOINT_FIELDS));
        assert_eq!(keys(serde_json::to_value(&mesh.failover).unwrap()), sorted(FAILOVER_FIELDS));
        let inventory = Inventory::from_toml_str("[nodes.a]\nid = 0\npublic_key = \"k\"").unwrap();
        assert_eq!(keys(serde_json::to_value(&inventory).unwrap()), sorted(TOP_FIELDS));
        assert_eq!(keys(serde_json::to_value(&inventory.nodes["a"]).unwrap()), sorted(NODE_FIELDS));
    }
}
