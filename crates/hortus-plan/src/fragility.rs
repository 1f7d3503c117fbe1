//! Where a plan's mesh hangs by a thread: nodes whose loss splits it
//! (articulation points of the link graph, found in one depth-first search,
//! O(nodes + links)), and nodes every link of which is forwarded (they
//! depend on the forwarders' servers). Read by `hortus check` and
//! `hortus graph`; nothing here changes the plan.

use crate::Path;
use crate::Plan;
use std::collections::BTreeMap;

/// A node whose loss cuts other nodes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinglePoint {
    /// The node.
    pub node: String,
    /// The nodes cut off from the rest without it (every part but the
    /// largest; of equal parts, the one holding the first node by name
    /// stays), by name.
    pub cut_off: Vec<String>,
}

/// A node all of whose links are forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedOnly {
    /// The node.
    pub node: String,
    /// The peers whose forwarders carry its links, by name.
    pub through: Vec<String>,
}

impl Plan {
    /// The nodes whose loss would split the mesh, by name.
    pub fn single_points(&self) -> Vec<SinglePoint> {
        let names: Vec<&String> = self.nodes.keys().collect();
        let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
        let adjacency: Vec<Vec<usize>> = self
            .nodes
            .values()
            .map(|n| n.links.iter().filter_map(|l| index.get(l.peer.as_str()).copied()).collect())
            .collect();
        let name = |i: usize| names[i].clone();
        articulation_points(&adjacency)
            .into_iter()
            .map(|(node, mut cut_off)| {
                cut_off.sort_unstable();
                SinglePoint { node: name(node), cut_off: cut_off.into_iter().map(name).collect() }
            })
            .collect()
    }

    /// The nodes with links all of which are forwarded, by name.
    pub fn forwarded_only(&self) -> Vec<ForwardedOnly> {
        self.nodes
            .iter()
            .filter(|(_, n)| !n.links.is_empty() && n.links.iter().all(|l| l.path == Path::Forwarded))
            .map(|(name, n)| ForwardedOnly {
                node: name.clone(),
                through: n.links.iter().map(|l| l.peer.clone()).collect(),
            })
            .collect()
    }
}

/// Per articulation point of the graph (node indices), the nodes cut off
/// without it: every component left but the largest. Iterative Tarjan,
/// O(V + E); the cut-off lists cost the size of what they list.
fn articulation_points(adjacency: &[Vec<usize>]) -> Vec<(usize, Vec<usize>)> {
    let n = adjacency.len();
    let mut order = vec![usize::MAX; n]; // discovery index
    let mut low = vec![0; n];
    let mut parent = vec![usize::MAX; n];
    let mut visit = vec![]; // nodes in discovery order
    let mut end = vec![0; n]; // one past the last discovery index of the subtree
    let mut out = vec![];
    for root in 0..n {
        if order[root] != usize::MAX {
            continue;
        }
        let component_start = visit.len();
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        order[root] = visit.len();
        low[root] = order[root];
        visit.push(root);
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&u) = adjacency[v].get(*next) {
                *next += 1;
                if order[u] == usize::MAX {
                    parent[u] = v;
                    order[u] = visit.len();
                    low[u] = order[u];
                    visit.push(u);
                    stack.push((u, 0));
                } else if u != parent[v] {
                    low[v] = low[v].min(order[u]);
                }
            } else {
                stack.pop();
                end[v] = visit.len();
                if let Some(&(p, _)) = stack.last() {
                    low[p] = low[p].min(low[v]);
                }
            }
        }
        let component = &visit[component_start..];
        for &v in component {
            // The children of v whose subtrees have no way around v.
            let separated: Vec<usize> = adjacency[v]
                .iter()
                .copied()
                .filter(|&u| parent[u] == v && low[u] >= order[v])
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let is_point = if v == root { separated.len() >= 2 } else { !separated.is_empty() };
            if !is_point {
                continue;
            }
            let subtree = |u: usize| visit[order[u]..end[u]].to_vec();
            let mut parts: Vec<Vec<usize>> = separated.iter().map(|&u| subtree(u)).collect();
            if v != root {
                let inside: std::collections::BTreeSet<usize> = parts.iter().flatten().copied().collect();
                parts.push(component.iter().copied().filter(|&w| w != v && !inside.contains(&w)).collect());
            }
            // The largest part stays "the rest"; of equal ones, the one with
            // the first node by name.
            let key = |p: &Vec<usize>| (p.len(), std::cmp::Reverse(p.iter().min().copied()));
            let largest = (0..parts.len()).max_by_key(|&i| key(&parts[i])).unwrap_or(0);
            let cut_off = parts.into_iter().enumerate().filter(|(i, _)| *i != largest).flat_map(|(_, p)| p).collect();
            out.push((v, cut_off));
        }
    }
    out.sort_by_key(|(v, _)| *v);
    out
}

#[cfg(test)]
mod tests {
    use super::articulation_points;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
        let mut adjacency = vec![vec![]; n];
        for &(a, b) in edges {
            adjacency[a].push(b);
            adjacency[b].push(a);
        }
        adjacency
    }

    #[test]
    fn a_chain_hangs_on_its_middle_nodes() {
        // 0 - 1 - 2 - 3
        let points = articulation_points(&graph(4, &[(0, 1), (1, 2), (2, 3)]));
        assert_eq!(points, [(1, vec![0]), (2, vec![3])]);
    }

    #[test]
    fn a_ring_has_none_and_a_star_has_its_centre() {
        assert!(articulation_points(&graph(4, &[(0, 1), (1, 2), (2, 3), (3, 0)])).is_empty());
        let star = articulation_points(&graph(4, &[(0, 1), (0, 2), (0, 3)]));
        assert_eq!(star.len(), 1);
        assert_eq!(star[0].0, 0);
        assert_eq!(star[0].1.len(), 2, "two of the three leaves (the largest part stays): {star:?}");
    }

    #[test]
    fn two_triangles_joined_at_a_node() {
        // 0-1-2-0 and 2-3-4-2, plus 5 hanging off 4.
        let points = articulation_points(&graph(6, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 2), (4, 5)]));
        assert_eq!(points, [(2, vec![0, 1]), (4, vec![5])]);
    }
}
