//! # hortus-diff
//!
//! What an edit of the inventory does to a live mesh, before it is
//! deployed (`hortus diff OLD NEW`): per host, the links added, removed or
//! changed and which of their fields, the host's own changes, and what the
//! host must do, read off what really consumes the plan:
//!
//! - each part of the files `hortus render` writes ([`hortus_render::parts`])
//!   is rendered from both plans and compared; a part that differs names
//!   its consumer's step (systemd-networkd and `hortus reconcile`, `birdc
//!   configure`, a babeld restart, the perimeter, the forwarders, sysctl,
//!   the host services);
//! - for systemd-networkd, `hortus reconcile`'s own decision
//!   ([`hortus_host::diff::actions`]) on the interfaces the old plan left
//!   ([`hortus_host::live::as_planned`]) says which interfaces are removed
//!   or created anew, and why.
//!
//! A change every host must make at once (all ports moved by `base_port`
//! or `port_scheme`, all addresses by `prefix`, a renamed interface on
//! every peer) is a *flag day*: named first, with the mesh settings that
//! changed. Pure and deterministic; nothing is read or written here.

use hortus_plan::{HostPlan, Plan};
use hortus_render::parts::{self, Part};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Everything that changes between two plans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDiff {
    /// Set when every host present in both plans must change at once.
    pub flag_day: Option<FlagDay>,
    /// The mesh-wide settings that changed.
    pub mesh: Vec<FieldChange>,
    /// Every host of either plan, by name (unchanged ones included).
    pub hosts: Vec<HostDiff>,
}

impl PlanDiff {
    /// Whether anything changes.
    pub fn is_empty(&self) -> bool {
        self.mesh.is_empty() && self.hosts.iter().all(|h| h.change == HostChange::Unchanged)
    }
}

/// A change all hosts must make together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagDay {
    /// What forces it: the mesh settings that changed, or what changed on
    /// every host.
    pub causes: Vec<String>,
}

/// One field, before and after (compact JSON; `null` when absent). For a
/// list, only what left it and what joined it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The plan field, e.g. `port` or `babel.hello_interval_ms`.
    pub field: String,
    /// Its old value (for a list: the elements that left, as a list).
    pub old: String,
    /// Its new value (for a list: the elements that joined, as a list).
    pub new: String,
    /// Whether `old` and `new` are a list's elements that left and joined,
    /// rather than the whole value (a reordered list has neither).
    pub list: bool,
}

/// How a host changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostChange {
    /// Only in the new plan: a new machine to set up.
    Added,
    /// Only in the old plan: a machine leaving the mesh.
    Removed,
    /// In both, with changes.
    Changed,
    /// In both, the same files.
    Unchanged,
}

/// How a link changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkChange {
    /// A new peer.
    Added,
    /// A peer gone (or a pair now skipped).
    Removed,
    /// The same peer, some fields changed.
    Changed,
}

/// One link of a host, by peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkDiff {
    /// The peer's name.
    pub peer: String,
    /// Its interface (the new one, unless removed).
    pub interface: String,
    /// What happens to it.
    pub change: LinkChange,
    /// The fields that changed (for `changed`).
    pub fields: Vec<FieldChange>,
}

/// What a host must do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Install the new networkd files and run `hortus reconcile`, which
    /// removes or recreates these interfaces and reloads systemd-networkd.
    Networkd {
        /// `remove wg-x: why` / `recreate wg-x: why`, as reconcile says it.
        interfaces: Vec<String>,
    },
    /// Apply the sysctl.d file (`systemd-sysctl`).
    Sysctl,
    /// Load the perimeter table again (`hortus-firewall.service`).
    Firewall,
    /// Restart the phantun units (`forwarder/`).
    Forwarders,
    /// `birdc configure` (BIRD reloads in place).
    Bird,
    /// Restart babeld (it has no reload).
    Babeld,
    /// Restart `hortus-endpoints.service`.
    Endpoints,
    /// `hortus-failover.service` follows the plan file by itself; its unit
    /// changed (or came or went): install it and restart it.
    Failover,
}

/// One host's changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostDiff {
    /// The host.
    pub host: String,
    /// How it changes.
    pub change: HostChange,
    /// Its own fields that changed (address, key, routes, ...; not links).
    pub node: Vec<FieldChange>,
    /// Its links that changed.
    pub links: Vec<LinkDiff>,
    /// What it must do (for `changed`).
    pub steps: Vec<Step>,
}

/// The private key file path the networkd files are rendered with: only
/// the path is written, and it is the same on both sides.
const KEY_FILE: &str = "/etc/hortus/private.key";

/// What changes from `old` to `new`.
pub fn diff(old: &Plan, new: &Plan) -> PlanDiff {
    let mesh = fields("", &to_value(&old.mesh), &to_value(&new.mesh));
    let names: BTreeSet<&String> = old.nodes.keys().chain(new.nodes.keys()).collect();
    let hosts: Vec<HostDiff> = names
        .into_iter()
        .map(|name| match (old.host(name).ok(), new.host(name).ok()) {
            (Some(old), Some(new)) => host_diff(&old, &new),
            (None, Some(_)) => lone(name, HostChange::Added),
            _ => lone(name, HostChange::Removed),
        })
        .collect();
    let flag_day = flag_day(&mesh, &hosts);
    PlanDiff { flag_day, mesh, hosts }
}

fn lone(name: &str, change: HostChange) -> HostDiff {
    HostDiff { host: name.to_string(), change, node: vec![], links: vec![], steps: vec![] }
}

/// A host in both plans.
fn host_diff(old: &HostPlan, new: &HostPlan) -> HostDiff {
    let node = {
        let (mut a, mut b) = (to_value(&old.node), to_value(&new.node));
        for v in [&mut a, &mut b] {
            if let Value::Object(map) = v {
                map.remove("links");
            }
        }
        fields("", &a, &b)
    };
    let old_links: BTreeMap<&str, _> = old.node.links.iter().map(|l| (l.peer.as_str(), l)).collect();
    let new_links: BTreeMap<&str, _> = new.node.links.iter().map(|l| (l.peer.as_str(), l)).collect();
    let peers: BTreeSet<&str> = old_links.keys().chain(new_links.keys()).copied().collect();
    let mut links = vec![];
    for peer in peers {
        let diff = match (old_links.get(peer), new_links.get(peer)) {
            (Some(a), Some(b)) => {
                let changed = fields("", &to_value(a), &to_value(b));
                if changed.is_empty() {
                    continue;
                }
                LinkDiff {
                    peer: peer.into(),
                    interface: b.interface.clone(),
                    change: LinkChange::Changed,
                    fields: changed,
                }
            }
            (None, Some(b)) => LinkDiff {
                peer: peer.into(),
                interface: b.interface.clone(),
                change: LinkChange::Added,
                fields: vec![],
            },
            (Some(a), None) => LinkDiff {
                peer: peer.into(),
                interface: a.interface.clone(),
                change: LinkChange::Removed,
                fields: vec![],
            },
            (None, None) => continue,
        };
        links.push(diff);
    }
    let steps = steps(old, new);
    let change = if node.is_empty() && links.is_empty() && steps.is_empty() {
        HostChange::Unchanged
    } else {
        HostChange::Changed
    };
    HostDiff { host: new.host.clone(), change, node, links, steps }
}

/// The steps whose files differ between the two host plans.
fn steps(old: &HostPlan, new: &HostPlan) -> Vec<Step> {
    let mut opts = parts::Options::default();
    opts.networkd.private_key_file = KEY_FILE.into();
    let differs = |part: Part| {
        let render = |host: &HostPlan| parts::render(host, &opts, part).map_err(|e| e.to_string());
        render(old) != render(new)
    };
    let mut steps = vec![];
    if differs(Part::Networkd) {
        let interfaces = hortus_host::diff::actions(new, &hortus_host::live::as_planned(old));
        steps.push(Step::Networkd { interfaces: interfaces.iter().map(ToString::to_string).collect() });
    }
    let table = [
        (Part::Sysctl, Step::Sysctl),
        (Part::Firewall, Step::Firewall),
        (Part::Forwarder, Step::Forwarders),
        (Part::Bird, Step::Bird),
        (Part::Babeld, Step::Babeld),
        (Part::Endpoints, Step::Endpoints),
        (Part::Failover, Step::Failover),
    ];
    for (part, step) in table {
        // Only the routing daemon the new plan runs.
        let daemon = match part {
            Part::Bird => new.mesh.routing == hortus_plan::RoutingDaemon::Bird,
            Part::Babeld => new.mesh.routing == hortus_plan::RoutingDaemon::Babeld,
            _ => true,
        };
        if daemon && differs(part) {
            steps.push(step);
        }
    }
    steps
}

/// Link fields whose change breaks the link until both ends have it: the
/// port, the peer's key, a dialled endpoint, the path (direct or
/// forwarded) and its forwarder.
const BREAKING_LINK_FIELDS: [&str; 5] = ["port", "peer_public_key", "endpoints", "path", "forwarder"];

/// Node fields whose change breaks every link of the node until its peers
/// have it: its key, its mesh address.
const BREAKING_NODE_FIELDS: [&str; 2] = ["public_key", "address"];

/// The breaking changes of a host: link fields by [`BREAKING_LINK_FIELDS`]
/// (the top-level name), node fields by [`BREAKING_NODE_FIELDS`].
fn breaking(host: &HostDiff) -> BTreeSet<String> {
    let top = |field: &str| field.split('.').next().unwrap_or(field).to_string();
    let links = host
        .links
        .iter()
        .flat_map(|l| l.fields.iter().map(|f| top(&f.field)))
        .filter(|f| BREAKING_LINK_FIELDS.contains(&f.as_str()));
    let node = host.node.iter().map(|f| top(&f.field)).filter(|f| BREAKING_NODE_FIELDS.contains(&f.as_str()));
    links.chain(node.map(|f| format!("node.{f}"))).collect()
}

/// Every host in both plans has a change that breaks links until the
/// other ends have it too; the causes: the mesh settings that changed,
/// else the breaking fields every host shares.
fn flag_day(mesh: &[FieldChange], hosts: &[HostDiff]) -> Option<FlagDay> {
    let both: Vec<BTreeSet<String>> = hosts
        .iter()
        .filter(|h| matches!(h.change, HostChange::Changed | HostChange::Unchanged))
        .map(breaking)
        .collect();
    if both.len() < 2 || both.iter().any(BTreeSet::is_empty) {
        return None;
    }
    let mut causes: Vec<String> = mesh.iter().map(|f| format!("mesh.{}", show(f))).collect();
    if causes.is_empty() {
        let common = both.iter().skip(1).fold(both[0].clone(), |acc, s| &acc & s);
        let fields = if common.is_empty() { both.iter().flatten().cloned().collect() } else { common };
        causes = fields.into_iter().map(|f| format!("links break until both ends change: {f}")).collect();
    }
    Some(FlagDay { causes })
}

/// `field old -> new`, or for a list `field -[left] +[joined]`.
pub fn show(change: &FieldChange) -> String {
    if change.list {
        let mut out = change.field.clone();
        if change.old != "[]" {
            out += &format!(" -{}", change.old);
        }
        if change.new != "[]" {
            out += &format!(" +{}", change.new);
        }
        out
    } else {
        format!("{} {} -> {}", change.field, change.old, change.new)
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The leaves of two JSON values that differ, as dotted paths under
/// `prefix` (arrays compared whole).
fn fields(prefix: &str, old: &Value, new: &Value) -> Vec<FieldChange> {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter()
                .flat_map(|k| {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    fields(&path, a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null))
                })
                .collect()
        }
        (a, b) if a == b => vec![],
        (Value::Array(a), Value::Array(b)) => {
            let left: Vec<&Value> = a.iter().filter(|v| !b.contains(v)).collect();
            let joined: Vec<&Value> = b.iter().filter(|v| !a.contains(v)).collect();
            let show = |values: Vec<&Value>| Value::Array(values.into_iter().cloned().collect()).to_string();
            if left.is_empty() && joined.is_empty() {
                // The same elements in another order.
                return vec![FieldChange {
                    field: prefix.to_string(),
                    old: show(a.iter().collect()),
                    new: show(b.iter().collect()),
                    list: false,
                }];
            }
            vec![FieldChange { field: prefix.to_string(), old: show(left), new: show(joined), list: true }]
        }
        (a, b) => vec![FieldChange { field: prefix.to_string(), old: a.to_string(), new: b.to_string(), list: false }],
    }
}
