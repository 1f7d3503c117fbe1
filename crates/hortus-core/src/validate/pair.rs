//! Rules on what the pair decisions produce: a pair's port and MTU, a
//! forwarder's TUN addresses, each host's interface names and ports, and a
//! mesh that is one piece.

use super::values::MIN_MTU;
use crate::inventory::MeshSettings;
use crate::ports::first_collision;
use crate::Problem;
use hortus_plan::{NodePlan, Transport};
use std::collections::HashMap;

/// The problem of a pair port outside 1..=65535 (`port` is the number computed).
pub fn port_out_of_range(mesh: &MeshSettings, (a, a_id): (&str, u32), (b, b_id): (&str, u32), port: u128) -> Problem {
    Problem::pair(
        a,
        b,
        "port",
        format!(
            "port {port} is outside 1..=65535 (ids {a_id} and {b_id}, scheme {:?}, base {}); use port_scheme = \"xor\" or \"dense\", or another base_port",
            mesh.port_scheme, mesh.base_port
        ),
    )
}

/// The problem of a link MTU below IPv6's minimum, if it is.
pub fn link_mtu(a: &str, b: &str, underlay: u32, overhead: u32) -> Option<Problem> {
    let mtu = underlay.saturating_sub(overhead);
    (mtu < MIN_MTU).then(|| {
        Problem::pair(
            a,
            b,
            "mtu",
            format!(
                "link MTU {mtu} (underlay {underlay} - {overhead} bytes of headers) is below IPv6's minimum {MIN_MTU}"
            ),
        )
    })
}

/// The problem of a forwarder TUN for `peer` (id `peer_id`) that does not
/// fit in `field` (a mesh prefix).
pub fn tun_prefix(me: &str, transport: Transport, (peer, peer_id): (&str, u32), field: &str) -> Problem {
    Problem::node(
        me,
        field,
        format!(
            "the {} TUN addresses for peer `{peer}` (id {peer_id}) do not fit in mesh.{field}; use a larger prefix",
            transport.name()
        ),
    )
}

/// Interface names (links, forwarder TUNs, the anchor) and link ports of
/// one host must all differ.
pub fn host_links(name: &str, node: &NodePlan) -> Vec<Problem> {
    let mut problems = vec![];
    let mut seen: HashMap<&str, String> = HashMap::from([(node.anchor.as_str(), "the anchor".to_string())]);
    for link in &node.links {
        let tun = link.forwarder.as_ref().and_then(|f| f.tun()).map(|t| t.name.as_str());
        let names = [(Some(link.interface.as_str()), "interface"), (tun, "forwarder TUN")];
        for (iface, what) in names.into_iter().filter_map(|(n, w)| Some((n?, w))) {
            if let Some(other) = seen.insert(iface, format!("the {what} for peer `{}`", link.peer)) {
                problems.push(Problem::node(
                    name,
                    "interface",
                    format!("{what} `{iface}` for peer `{}` collides with {other}; rename one of the nodes", link.peer),
                ));
            }
        }
    }
    if let Some(port) = first_collision(node.links.iter().map(|l| l.port)) {
        problems.push(Problem::node(name, "port", format!("two links use port {port}")));
    }
    problems
}

/// The connected parts of a graph of `n` nodes with `edges` (pairs of
/// indices), each sorted, in order of their smallest index.
pub fn islands(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in edges {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut parts: Vec<Vec<usize>> = vec![];
    let mut index_of_root = vec![usize::MAX; n];
    for i in 0..n {
        let r = root(&mut parent, i);
        if index_of_root[r] == usize::MAX {
            index_of_root[r] = parts.len();
            parts.push(vec![]);
        }
        parts[index_of_root[r]].push(i);
    }
    parts
}

/// The problem of a mesh split into `parts` (node names), if it is split.
pub fn split_mesh(parts: &[Vec<&str>]) -> Option<Problem> {
    if parts.len() < 2 {
        return None;
    }
    let shown: Vec<String> = parts
        .iter()
        .take(5)
        .map(|part| {
            let names = part.iter().take(5).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            if part.len() > 5 {
                format!("{{{names} and {} more}}", part.len() - 5)
            } else {
                format!("{{{names}}}")
            }
        })
        .collect();
    let more = if parts.len() > 5 { format!(" and {} more", parts.len() - 5) } else { String::new() };
    Some(Problem::mesh(
        "nodes",
        format!(
            "the mesh is split into {} parts that can never reach each other: {}{more}; every pair between them is skipped (see `hortus ports`): give a node an endpoint both sides can reach",
            parts.len(),
            shown.join(" | ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn islands_are_found() {
        assert_eq!(islands(4, &[(0, 2), (1, 3)]), vec![vec![0, 2], vec![1, 3]]);
        assert_eq!(islands(3, &[(0, 1), (1, 2)]), vec![vec![0, 1, 2]]);
        assert_eq!(islands(2, &[]).len(), 2);
    }
}
