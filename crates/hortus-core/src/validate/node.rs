//! Rules on each node's own fields (`[nodes.NAME]`), and on values two
//! nodes must not share.

use super::values::{bad_cost, bad_endpoint, bad_ipv4_address, bad_keepalive, bad_mtu, route};
use crate::addressing::{is_link_local_64, parse_endpoint};
use crate::excerpt::excerpt;
use crate::inventory::{Inventory, MeshSettings, Node, UseExit};
use crate::keys::{check_usable_public_key, decode_key};
use crate::resolve;
use crate::Problem;
use hortus_plan::IpPrefix;
use std::collections::HashMap;

/// Every problem of node `name`'s own fields.
pub fn node(mesh: &MeshSettings, name: &str, node: &Node) -> Vec<Problem> {
    let mut problems = vec![];
    let mut problem = |field: &str, message: String| problems.push(Problem::node(name, field, message));
    if name.is_empty()
        || name.len() > 63
        || !name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        problem("name", "expected 1 to 63 characters of [A-Za-z0-9_-], starting with a letter or digit".into());
    }
    if let Err(why) = decode_key(&node.public_key).and_then(|k| check_usable_public_key(&k)) {
        problem("public_key", why);
    }
    match node.address {
        Some(a) if !mesh.prefix.contains(a) => {
            problem("address", format!("{a} is outside the mesh prefix {}", mesh.prefix));
        }
        Some(a) if a == mesh.prefix.addr => {
            problem("address", format!("{a} is the network (subnet-router anycast) address of {}", mesh.prefix));
        }
        Some(_) => {}
        None if resolve::address(mesh, node).is_none() => problem(
            "id",
            format!(
                "id {} does not fit in prefix {} ({} host bits); use a larger prefix or an explicit address",
                node.id,
                mesh.prefix,
                mesh.prefix.host_bits()
            ),
        ),
        None => {}
    }
    match (mesh.ipv4_prefix, node.ipv4_address) {
        (None, Some(_)) => problem("ipv4_address", "set, but the mesh has no ipv4_prefix".into()),
        (Some(prefix), Some(explicit)) => {
            if let Some(why) = bad_ipv4_address(explicit, &prefix) {
                problem("ipv4_address", why);
            }
        }
        (Some(prefix), None) if resolve::ipv4_address(mesh, node).is_none() => problem(
            "id",
            format!(
                "id {} does not fit in ipv4_prefix {prefix}; use a larger prefix or an explicit ipv4_address",
                node.id
            ),
        ),
        _ => {}
    }
    if let Some(ll) = node.link_local.filter(|ll| !is_link_local_64(*ll)) {
        problem("link_local", format!("{ll} is not inside fe80::/64"));
    }
    let mut seen = HashMap::new();
    for (field, text) in
        node.endpoints.iter().map(|e| ("endpoints", e)).chain(node.lan_endpoints.iter().map(|e| ("lan_endpoints", e)))
    {
        match parse_endpoint(text) {
            Ok(host) => {
                if let Some(why) = bad_endpoint(&host, mesh) {
                    problem(field, why);
                } else if let Some(first) = seen.insert(host.clone(), field) {
                    problem(field, format!("`{host}` is listed twice (also in `{first}`)"));
                } else if let Some(lacking) = node.underlay.filter(|u| !u.dials(&host)) {
                    problem(
                        "underlay",
                        format!(
                            "`{lacking}`, but {field} lists `{host}`: a node has the families of its literal endpoints"
                        ),
                    );
                }
            }
            Err(why) => problem(field, why),
        }
    }
    if let Some(why) = node.mtu.and_then(bad_mtu) {
        problem("mtu", why);
    }
    if let Some(why) = node.keepalive.and_then(bad_keepalive) {
        problem("keepalive", why.into());
    }
    let mut routes = std::collections::BTreeSet::new();
    for text in &node.routes {
        match route(text, mesh) {
            Ok(IpPrefix::V4(_)) if mesh.ipv4_prefix.is_none() => problem(
                "routes",
                format!("`{text}` is IPv4, but the mesh has no ipv4_prefix: traffic to it needs this node's IPv4 overlay address as its source"),
            ),
            Ok(prefix) if !routes.insert(prefix) => problem("routes", format!("`{prefix}` is listed twice")),
            Ok(_) => {}
            Err(why) => problem("routes", why),
        }
    }
    if let UseExit::Pinned(name) = &node.use_exit {
        problem(
            "use_exit",
            format!(
                "`{}`: pinning one exit is not offered (Babel routes hop by hop, so a node in the middle follows its own nearest exit); use `use_exit = true`",
                excerpt(name)
            ),
        );
    }
    if node.exit && node.use_exit.wanted() {
        problem("use_exit", "the node is an exit itself (`exit = true`): an exit leaves through its own uplink".into());
    }
    for (field, set) in [("exit", node.exit), ("use_exit", node.use_exit.wanted())] {
        if set && mesh.ipv4_prefix.is_none() {
            problem(
                field,
                "needs the mesh's ipv4_prefix: IPv4 traffic through an exit needs the nodes' IPv4 overlay addresses as its source".into(),
            );
        }
    }
    if node.region.is_empty() {
        problem("region", "expected a non-empty region name".into());
    }
    if resolve::router_id(mesh, node).is_none() {
        problem("id", format!("id {} leaves no router id; use an ipv4_prefix or a smaller id", node.id));
    }
    problems
}

/// Ids, addresses, link-locals, router ids and public keys must be unique;
/// the second node (in id order) with a value gets the problem.
pub fn unique(inventory: &Inventory) -> Vec<Problem> {
    let mesh = &inventory.mesh;
    let mut nodes: Vec<(&String, &Node)> = inventory.nodes.iter().collect();
    nodes.sort_by_key(|(_, n)| n.id);
    let mut problems = vec![];
    let mut check = |field: &str, key: &dyn Fn(&Node) -> Option<String>| {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (name, node) in &nodes {
            if let Some(k) = key(node) {
                if let Some(first) = seen.get(&k) {
                    problems.push(Problem::node(name, field, format!("{k} is also node `{first}`'s")));
                } else {
                    seen.insert(k, name);
                }
            }
        }
    };
    check("id", &|n| Some(n.id.to_string()));
    check("address", &|n| resolve::address(mesh, n).map(|a| a.to_string()));
    check("ipv4_address", &|n| resolve::ipv4_address(mesh, n).map(|a| a.to_string()));
    check("link_local", &|n| resolve::link_local(n).map(|a| a.to_string()));
    check("router_id", &|n| resolve::router_id(mesh, n).map(|a| a.to_string()));
    check("public_key", &|n| Some(n.public_key.trim().to_string()));
    problems
}

/// A node using an exit needs a node offering one.
pub fn exits(inventory: &Inventory) -> Vec<Problem> {
    if inventory.nodes.values().any(|n| n.exit) {
        return vec![];
    }
    inventory
        .nodes
        .iter()
        .filter(|(_, n)| n.use_exit == UseExit::Nearest(true))
        .map(|(name, _)| Problem::node(name, "use_exit", "no node is an exit: set `exit = true` on one (or more)"))
        .collect()
}

/// Link costs within Babel's range, naming other nodes, and agreeing when
/// both ends of a link name each other.
pub fn costs(inventory: &Inventory) -> Vec<Problem> {
    let mut problems = vec![];
    for (name, node) in &inventory.nodes {
        if let Some(why) = node.cost.and_then(bad_cost) {
            problems.push(Problem::node(name, "cost", why));
        }
        for (peer, cost) in &node.link_costs {
            let field = format!("link_costs.{peer}");
            let Some(other) = inventory.nodes.get(peer).filter(|_| peer != name) else {
                let why =
                    if peer == name { "a node has no link to itself".to_string() } else { format!("no node `{peer}`") };
                problems.push(Problem::node(name, &field, why));
                continue;
            };
            if let Some(why) = bad_cost(*cost) {
                problems.push(Problem::node(name, &field, why));
            }
            match other.link_costs.get(name) {
                Some(theirs) if theirs != cost && name < peer => problems.push(Problem::pair(
                    name,
                    peer,
                    "link_costs",
                    format!("`{name}` says {cost}, `{peer}` says {theirs}: a link has one cost, give it once or alike"),
                )),
                _ => {}
            }
        }
    }
    problems
}
