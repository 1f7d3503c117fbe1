//! `hortus check INVENTORY [--json]`: problems (exit 1), or the plan's
//! outline with its warnings, single points of failure and nodes reachable
//! only over forwarded links (exit 0).

use crate::files::{read_inventory, shown};
use crate::output::{outln, write_stdout};
use anyhow::{Context, Result};
use hortus_core::{build_plan, Error, Plan, Problem};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hortus check`.
#[derive(clap::Args)]
pub struct Args {
    /// Inventory file (TOML, or JSON when it ends in .json).
    inventory: PathBuf,
    /// Print the result as one JSON object on stdout (problems included;
    /// the exit status is the same).
    #[arg(long)]
    json: bool,
}

/// `hortus check --json`: the plan's outline, or every problem.
#[derive(Serialize)]
struct Report<'a> {
    /// No problem found.
    ok: bool,
    /// The inventory could not be parsed (then there are no problems).
    parse_error: Option<String>,
    /// Every problem: subject (`mesh`, `node` + name, `pair` + names), field, message.
    problems: &'a [Problem],
    /// Nodes planned.
    nodes: usize,
    /// Links planned.
    links: usize,
    /// Pairs left without a link, with the reason's code and text.
    skipped: Vec<Skipped>,
    /// The plan's warnings.
    warnings: &'a [String],
    /// Nodes whose loss splits the mesh, with the nodes it would cut off.
    single_points: Vec<SinglePoint>,
    /// Nodes all of whose links are forwarded, with the peers carrying them.
    forwarded_only: Vec<ForwardedOnly>,
}

#[derive(Serialize)]
struct SinglePoint {
    node: String,
    cut_off: Vec<String>,
}

#[derive(Serialize)]
struct ForwardedOnly {
    node: String,
    through: Vec<String>,
}

#[derive(Serialize)]
struct Skipped {
    nodes: [String; 2],
    reason: hortus_plan::SkipReason,
    message: String,
}

/// Validates the inventory. Without `--json` every problem is in the error,
/// one per line; with it, the report on stdout. Exit 1 on any problem.
pub fn run(args: Args) -> Result<ExitCode> {
    let inventory = read_inventory(&args.inventory);
    let in_file = || format!("in {}", shown(&args.inventory));
    if !args.json {
        let plan = build_plan(&inventory?).with_context(in_file)?;
        return summary(&plan);
    }
    let result = inventory.and_then(|inventory| build_plan(&inventory).map_err(anyhow::Error::from));
    let (plan, problems, parse_error) = match result {
        Ok(plan) => (Some(plan), vec![], None),
        // A problem list or a parse error is the report; failing to read the file is an error.
        Err(err) => match err.chain().find_map(|e| e.downcast_ref::<Error>()) {
            Some(Error::Invalid(problems)) => (None, problems.clone(), None),
            Some(other) => (None, vec![], Some(other.to_string())),
            None => return Err(err),
        },
    };
    let report = Report {
        ok: plan.is_some(),
        parse_error,
        problems: &problems,
        nodes: plan.as_ref().map_or(0, |p| p.nodes.len()),
        links: plan.as_ref().map_or(0, links),
        skipped: plan.as_ref().map_or_else(Vec::new, |p| {
            p.skipped_pairs()
                .into_iter()
                .map(|s| Skipped { message: s.reason.to_string(), nodes: s.nodes, reason: s.reason })
                .collect()
        }),
        warnings: plan.as_ref().map_or(&[], |p| &p.warnings),
        single_points: plan.as_ref().map_or_else(Vec::new, |p| {
            p.single_points().into_iter().map(|s| SinglePoint { node: s.node, cut_off: s.cut_off }).collect()
        }),
        forwarded_only: plan.as_ref().map_or_else(Vec::new, |p| {
            p.forwarded_only().into_iter().map(|f| ForwardedOnly { node: f.node, through: f.through }).collect()
        }),
    };
    let mut text = serde_json::to_string_pretty(&report)?;
    text.push('\n');
    write_stdout(text.as_bytes())?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn links(plan: &Plan) -> usize {
    plan.nodes.values().map(|n| n.links.len()).sum::<usize>() / 2
}

fn summary(plan: &Plan) -> Result<ExitCode> {
    for warning in &plan.warnings {
        outln!("warning: {warning}")?;
    }
    for point in plan.single_points() {
        outln!(
            "warning: `{}` is a single point of failure: without it {} {} cut off from the rest of the mesh",
            point.node,
            quoted(&point.cut_off),
            if point.cut_off.len() == 1 { "is" } else { "are" }
        )?;
    }
    for node in plan.forwarded_only() {
        outln!(
            "warning: `{}` is reachable only over forwarded links, through {}'s forwarder servers",
            node.node,
            quoted(&node.through)
        )?;
    }
    let skipped = plan.skipped_pairs();
    for skip in &skipped {
        outln!("skipped: {}–{}: {}", skip.nodes[0], skip.nodes[1], skip.reason)?;
    }
    outln!("ok: {} nodes, {} links, {} pairs skipped", plan.nodes.len(), links(plan), skipped.len())?;
    Ok(ExitCode::SUCCESS)
}

/// `a`, `b` and `c`, each in backquotes.
fn quoted(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
