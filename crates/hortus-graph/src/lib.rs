//! # hortus-graph
//!
//! The mesh as a picture. [`Picture::new`] takes a plan (regions, NAT and
//! censored nodes, links direct or forwarded, the skipped pairs) and optionally `hortus status` reports of some hosts
//! (links down, routes detoured); [`Picture::dot`] writes Graphviz DOT
//! (regions as clusters) and [`Picture::svg`] lays the same graph out with
//! the `layout-rs` crate, in-process, without Graphviz (which draws no
//! clusters: the region is in each node's label and colour).

use hortus_plan::{Path, Plan};
use hortus_status::assess::Reach;
use hortus_status::HostStatus;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use svg::FramedSvg;

mod svg;

/// What the marks mean.
const LEGEND: &str =
    "solid: direct link, dashed: forwarded link\\nred border: censored node\\nthick border: single point of failure, or forwarded links only";
/// What the status marks mean.
const STATUS_LEGEND: &str = "green: up, red: DOWN, orange: route detoured, gray: no report";

/// Fill colours for regions, in order of first appearance.
const REGION_COLOURS: [&str; 6] = ["#dbe9f6", "#e2f0d9", "#fde9d9", "#ede1f3", "#fff2cc", "#dddddd"];

/// A node as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeMark {
    name: String,
    region: String,
    nat: bool,
    censored: bool,
    /// Its loss would split the mesh ([`Plan::single_points`]).
    single_point: bool,
    /// Every link of it is forwarded ([`Plan::forwarded_only`]).
    forwarded_only: bool,
}

/// What the status reports say about a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    /// No report covers it.
    Unknown,
    /// Every report of it says up.
    Up,
    /// Some end reports it down.
    Down,
}

/// A planned link as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    a: String,
    b: String,
    path: Path,
    state: LinkState,
    /// Ends whose route to the other end goes through a third node.
    detours: Vec<String>,
}

/// The graph to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    nodes: Vec<NodeMark>,
    edges: Vec<Edge>,
    skipped: Vec<(String, String, String)>,
    with_status: bool,
}

impl Picture {
    /// The picture of `plan`, with `status` reports overlaid when given.
    pub fn new(plan: &Plan, status: &[HostStatus]) -> Picture {
        let single: Vec<String> = plan.single_points().into_iter().map(|p| p.node).collect();
        let forwarded: Vec<String> = plan.forwarded_only().into_iter().map(|f| f.node).collect();
        let mut nodes: Vec<NodeMark> = plan
            .nodes
            .iter()
            .map(|(name, n)| NodeMark {
                name: name.clone(),
                region: n.region.clone(),
                nat: n.nat,
                censored: n.censored,
                single_point: single.contains(name),
                forwarded_only: forwarded.contains(name),
            })
            .collect();
        nodes.sort_by_key(|n| plan.nodes[&n.name].id);
        let reports: BTreeMap<&str, &HostStatus> = status.iter().map(|s| (s.host.as_str(), s)).collect();
        let mut edges = vec![];
        for (name, node) in &plan.nodes {
            for link in node.links.iter().filter(|l| name < &l.peer) {
                let ends = [(name.as_str(), link.peer.as_str()), (link.peer.as_str(), name.as_str())];
                let mut state = LinkState::Unknown;
                let mut detours = vec![];
                for (from, to) in ends {
                    let Some(report) = reports.get(from) else { continue };
                    if let Some(l) = report.links.iter().find(|l| l.peer == to) {
                        state = match (state, l.up) {
                            (LinkState::Down, _) | (_, false) => LinkState::Down,
                            _ => LinkState::Up,
                        };
                    }
                    let detoured =
                        report.destinations.iter().any(|d| d.node == to && matches!(d.reach, Reach::Via { .. }));
                    if detoured {
                        detours.push(from.to_string());
                    }
                }
                edges.push(Edge { a: name.clone(), b: link.peer.clone(), path: link.path, state, detours });
            }
        }
        let order: BTreeMap<&str, u32> = plan.nodes.iter().map(|(n, node)| (n.as_str(), node.id)).collect();
        edges.sort_by_key(|e| (order[e.a.as_str()], order[e.b.as_str()]));
        let skipped = plan
            .skipped_pairs()
            .into_iter()
            .map(|s| {
                let [a, b] = s.nodes;
                (a, b, s.reason.to_string())
            })
            .collect();
        Picture { nodes, edges, skipped, with_status: !status.is_empty() }
    }

    /// Graphviz DOT: regions as clusters, forwarded links dashed, links
    /// down red, detours orange, skipped pairs in a note.
    pub fn dot(&self) -> String {
        self.write_dot(true)
    }

    /// SVG, laid out by `layout-rs` from the same graph (without clusters,
    /// which it does not draw).
    pub fn svg(&self) -> Result<String, String> {
        use layout::gv::{DotParser, GraphBuilder};
        let dot = self.write_dot(false);
        let ast = DotParser::new(&dot).process().map_err(|e| format!("layout-rs cannot parse the graph: {e}"))?;
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&ast);
        let mut graph = builder.get();
        let mut svg = FramedSvg::new();
        graph.do_it(false, false, false, &mut svg);
        Ok(svg.finish())
    }

    fn write_dot(&self, clusters: bool) -> String {
        let mut out = String::from("graph hortus {\n  node [shape=box, fontsize=12];\n");
        let mut colours: BTreeMap<&str, &str> = BTreeMap::new();
        for n in &self.nodes {
            let next = REGION_COLOURS[colours.len() % REGION_COLOURS.len()];
            colours.entry(n.region.as_str()).or_insert(next);
        }
        let regions: BTreeSet<&str> = self.nodes.iter().map(|n| n.region.as_str()).collect();
        for region in regions {
            let indent = if clusters {
                let _ = writeln!(out, "  subgraph \"cluster_{region}\" {{\n    label=\"{}\";", region_label(region));
                "    "
            } else {
                "  "
            };
            for n in self.nodes.iter().filter(|n| n.region == region) {
                let mut marks = vec![];
                if n.nat {
                    marks.push("NAT");
                }
                if n.censored {
                    marks.push("censored");
                }
                if n.single_point {
                    marks.push("single point of failure");
                }
                if n.forwarded_only {
                    marks.push("forwarded links only");
                }
                let mut label = n.name.clone();
                if !n.region.is_empty() {
                    let _ = write!(label, "\\n[{}]", n.region);
                }
                if !marks.is_empty() {
                    let _ = write!(label, "\\n{}", marks.join(", "));
                }
                let border = if n.censored { "red" } else { "black" };
                let weight = if n.single_point || n.forwarded_only { ", penwidth=3" } else { "" };
                let _ = writeln!(
                    out,
                    "{indent}\"{}\" [label=\"{label}\", style=filled, fillcolor=\"{}\", color=\"{border}\"{weight}];",
                    n.name,
                    colours[n.region.as_str()]
                );
            }
            if clusters {
                out.push_str("  }\n");
            }
        }
        for e in &self.edges {
            let mut attrs = vec![];
            let mut label = vec![];
            if e.path == Path::Forwarded {
                attrs.push("style=dashed".to_string());
            }
            match e.state {
                LinkState::Down => {
                    attrs.push("color=\"red\", penwidth=3".into());
                    label.push("DOWN".into());
                }
                LinkState::Up if !e.detours.is_empty() => attrs.push("color=\"orange\", penwidth=2".into()),
                LinkState::Up => attrs.push("color=\"darkgreen\"".into()),
                LinkState::Unknown if self.with_status => attrs.push("color=\"gray\"".into()),
                LinkState::Unknown => {}
            }
            if !e.detours.is_empty() {
                label.push(format!("detoured at {}", e.detours.join(", ")));
            }
            if !label.is_empty() {
                attrs.push(format!("label=\"{}\"", label.join(" ")));
            }
            let _ = writeln!(out, "  \"{}\" -- \"{}\" [{}];", e.a, e.b, attrs.join(", "));
        }
        let mut notes = vec![LEGEND.to_string()];
        if self.with_status {
            notes.push(STATUS_LEGEND.into());
        }
        if !self.skipped.is_empty() {
            notes.push("skipped pairs (no link):".into());
            for (a, b, why) in &self.skipped {
                notes.push(format!("{a} - {b}: {}", wrap(why, 44).join("\\n")));
            }
        }
        let _ = writeln!(
            out,
            "  \"notes\" [label=\"{}\", shape=box, style=filled, fillcolor=\"#f4f4f4\", color=\"gray\"];",
            notes.join("\\n").replace('"', "'")
        );
        out.push_str("}\n");
        out
    }
}

fn region_label(region: &str) -> String {
    if region.is_empty() {
        "no region".into()
    } else {
        format!("region {region}")
    }
}

/// `text` in lines of at most `width` characters (longer words alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn six_nodes() -> Plan {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/six-nodes.toml")).unwrap();
        hortus_core::build_plan(&hortus_core::Inventory::from_toml_str(&text).unwrap()).unwrap()
    }

    #[test]
    fn same_graph_same_bytes() {
        let plan = six_nodes();
        let picture = Picture::new(&plan, &[]);
        let first = picture.svg().unwrap();
        // layout-rs' class order varied in about one run in five.
        for _ in 0..30 {
            assert!(picture.svg().unwrap() == first, "SVG differs between runs");
        }
    }

    #[test]
    fn marks_single_points_of_failure_and_forwarded_only_nodes() {
        // home (NAT) and laptop (NAT, censored) hang on vps alone.
        let text = r#"
            [nodes.vps]
            id = 0
            public_key = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU="
            endpoints = ["198.51.100.10"]
            [nodes.home]
            id = 1
            public_key = "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY="
            nat = true
            region = "home"
            [nodes.laptop]
            id = 2
            public_key = "uMJ9PmQmAynIDpZ8Q10e2dBoT+CvGGYIoA5rH5q48T0="
            nat = true
            censored = true
            region = "cg"
        "#;
        let plan = hortus_core::build_plan(&hortus_core::Inventory::from_toml_str(text).unwrap()).unwrap();
        let dot = Picture::new(&plan, &[]).dot();
        assert!(dot.contains("\"vps\" [label=\"vps\\n[default]\\nsingle point of failure\""), "{dot}");
        assert!(dot.contains("forwarded links only\", style=filled"), "{dot}");
        assert_eq!(dot.matches("penwidth=3]").count(), 2, "{dot}");
        assert!(Picture::new(&plan, &[]).svg().is_ok());
        let six = Picture::new(&six_nodes(), &[]).dot();
        assert!(!six.contains("single point of failure\"") && !six.contains("penwidth=3]"), "{six}");
    }

    #[test]
    fn wraps() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
    }

    #[test]
    fn marks_regions_nat_censored_forwarded_and_skipped() {
        let plan = six_nodes();
        let dot = Picture::new(&plan, &[]).dot();
        assert!(dot.contains("subgraph \"cluster_eu\""), "{dot}");
        assert!(dot.contains("\"azasos\" [label=\"azasos\\n[cn]\\nNAT, censored\""), "{dot}");
        assert!(dot.contains("\"abhoth\" -- \"hastur\" [style=dashed]"), "{dot}");
        assert!(dot.contains("yidhra - azasos"), "{dot}");
        let links: usize = plan.nodes.values().map(|n| n.links.len()).sum();
        assert_eq!(dot.matches(" -- ").count(), links / 2);
        let svg = Picture::new(&plan, &[]).svg().unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("azasos") && svg.contains("stroke-dasharray"), "dashed links");
    }
}
