//! BIRD 3 configuration: Babel over the node's WireGuard links, the node's
//! own addresses from the anchor, Babel routes into the kernel with the
//! node's address as preferred source — all from the plan's route policy
//! (`node.routes`) and kernel metrics (`mesh.kernel_metrics`).
//!
//! The config exports to Babel what the node announces (`RTS_DEVICE`, from
//! the anchor) and the accepted routes it learned (`RTS_BABEL`):
//! re-advertising learned routes is what lets traffic go around a broken
//! link. The kernel protocols run with `metric 0` so the per-route
//! `krt_metric` from the filters applies (with BIRD's default `metric 32`
//! the attribute is ignored).

use crate::text::{check_path, line, push_verbatim};
use crate::{RenderError, HEADER};
use hortus_plan::{BabelSettings, DefaultRoute, FamilyRoutes, HostPlan, KernelMetrics};
use std::fmt::Display;

/// Name of the Babel protocol instance (`birdc show babel neighbors mesh`).
pub const BABEL_PROTOCOL: &str = "mesh";

/// What the operator adds to the generated config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Text appended verbatim after the generated config.
    pub extra_config: Option<String>,
    /// Absolute path of a file to `include "PATH";` at the very end.
    pub include: Option<String>,
}

/// Checks what [`render`] writes verbatim from the options: the include
/// path. (The plan's values, timers and the MAC key file path among them,
/// were validated when it was built.)
pub fn validate(opts: &Options) -> Result<(), RenderError> {
    if let Some(include) = &opts.include {
        check_path("bird", "include", include)?;
    }
    Ok(())
}

/// The BIRD 3 config of `host`. Paths are written verbatim: call
/// [`validate`] first.
pub fn render(host: &HostPlan, opts: &Options) -> String {
    let node = &host.node;
    let routes = &node.routes;
    let v4 = routes.ipv4.as_ref();
    let mut out = String::new();
    let w = &mut out;
    line(w, HEADER);
    line(w, &format!("# Host `{}` (id {}): Babel over {} WireGuard link(s).", host.host, node.id, node.links.len()));
    line(w, "");
    line(w, &format!("router id {};", node.router_id));
    line(w, "");
    line(w, "# What this node announces, and what it accepts from Babel (the plan's route policy).");
    sets(w, "6", &routes.ipv6);
    if let Some(v4) = v4 {
        sets(w, "4", v4);
    }
    line(w, "");
    line(w, "protocol device {");
    line(w, "}");
    line(w, "");
    line(w, "# The node's own address(es), from the anchor interface.");
    line(w, "protocol direct {");
    if v4.is_some() {
        line(w, "\tipv4;");
    }
    line(w, "\tipv6;");
    line(w, &format!("\tinterface \"{}\";", node.anchor));
    line(w, "}");
    line(w, "");
    let scan_s = host.mesh.babel.kernel_scan_s;
    let metrics = &host.mesh.kernel_metrics;
    subnets_protocol(w, &routes.ipv6.subnets, v4.map_or(&[][..], |r| &r.subnets[..]));
    families(w, &Family::of(&routes.ipv6, "6"), scan_s, metrics);
    if let Some(v4) = v4 {
        families(w, &Family::of(v4, "4"), scan_s, metrics);
    }
    babel_protocol(w, host);
    if let Some(extra) = &opts.extra_config {
        line(w, "");
        line(w, "# Extra configuration (verbatim).");
        push_verbatim(w, extra);
    }
    if let Some(include) = &opts.include {
        line(w, "");
        line(w, &format!("include \"{include}\";"));
    }
    out
}

/// The prefix sets of one family: `ANNOUNCE{family}`, `MESH{family}`
/// (accepted), and with subnets `SUBNETS{family}` (this node's) and
/// `LEARN{family}` (the other nodes', exactly).
///
/// BIRD learns a subnet by its exact prefix only: BIRD 3.1.8 hands filters
/// `babel_router_id` as a value of no comparable type (`print` shows
/// `[unknown type 2]`; a comparison is never true), so it cannot check the
/// announcing router as babeld does (`in ... id`). Found in the lab
/// (`crates/hortus-lab/tests/subnets.rs`).
fn sets<A, P: Display>(w: &mut String, family: &str, routes: &FamilyRoutes<A, P>) {
    let set = |prefixes: &mut dyn Iterator<Item = &P>, suffix: &str| {
        prefixes.map(|p| format!("{p}{suffix}")).collect::<Vec<_>>().join(", ")
    };
    line(w, &format!("define ANNOUNCE{family} = [ {} ];", set(&mut routes.announce.iter(), "")));
    line(w, &format!("define MESH{family} = [ {} ];", set(&mut routes.accept.iter(), "+")));
    if !routes.subnets.is_empty() {
        line(w, &format!("define SUBNETS{family} = [ {} ];", set(&mut routes.subnets.iter(), "")));
    }
    if !routes.learn.is_empty() {
        line(w, &format!("define LEARN{family} = [ {} ];", set(&mut routes.learn.iter().map(|l| &l.prefix), "")));
    }
    if routes.default_route != DefaultRoute::None {
        let default = if family == "6" { "::/0" } else { "0.0.0.0/0" };
        line(w, &format!("define DEFAULT{family} = [ {default} ];"));
    }
}

/// What the filters of one family need to know.
struct Family<'a> {
    /// `"6"` or `"4"`.
    name: &'a str,
    /// The preferred source of installed routes.
    source: String,
    /// The node has subnets (`SUBNETS{name}` exists).
    subnets: bool,
    /// The node learns subnets (`LEARN{name}` exists).
    learn: bool,
    /// What it does with the default route (`DEFAULT{name}` exists unless none).
    default: &'a DefaultRoute,
}

impl<'a> Family<'a> {
    fn of<A: Display, P>(routes: &'a FamilyRoutes<A, P>, name: &'a str) -> Family<'a> {
        Family {
            name,
            source: routes.source.to_string(),
            subnets: !routes.subnets.is_empty(),
            learn: !routes.learn.is_empty(),
            default: &routes.default_route,
        }
    }
}

/// The node's subnets, from the interfaces that carry them: the device
/// route of an interface address in the prefix (none without subnets).
fn subnets_protocol<P6, P4>(w: &mut String, v6: &[P6], v4: &[P4]) {
    if v6.is_empty() && v4.is_empty() {
        return;
    }
    line(w, "# This node's subnets, from the interfaces that carry them (announced while one does).");
    line(w, "protocol direct hortus_subnets {");
    if !v4.is_empty() {
        line(w, "\tipv4 { import where net ~ SUBNETS4; };");
    }
    if !v6.is_empty() {
        line(w, "\tipv6 { import where net ~ SUBNETS6; };");
    }
    line(w, "\tinterface \"*\";");
    line(w, "}");
    line(w, "");
}

/// Filters and kernel protocol of one address family, the kernel table
/// scanned every `scan_s` seconds.
fn families(w: &mut String, f: &Family, scan_s: u32, metrics: &KernelMetrics) {
    let (babel, anchor, family, source) = (metrics.babel, metrics.anchor, f.name, &f.source);
    line(w, "# To Babel: what this node announces and the accepted routes it learned.");
    line(w, &format!("filter hortus_babel_out{family} {{"));
    line(w, &format!("\tif source = RTS_DEVICE && net ~ ANNOUNCE{family} then accept;"));
    if f.subnets {
        line(w, &format!("\tif source = RTS_DEVICE && net ~ SUBNETS{family} then accept;"));
    }
    line(w, &format!("\tif source = RTS_BABEL && net ~ MESH{family} then accept;"));
    if f.learn {
        line(w, &format!("\tif source = RTS_BABEL && net ~ LEARN{family} then accept;"));
    }
    match f.default {
        DefaultRoute::None => {}
        DefaultRoute::Announce => {
            line(w, "\t# An exit: the default route of its uplink, learned from the kernel.");
            line(w, &format!("\tif source = RTS_INHERIT && net ~ DEFAULT{family} then accept;"));
        }
        DefaultRoute::Carry { .. } => {
            line(w, &format!("\tif source = RTS_BABEL && net ~ DEFAULT{family} then accept;"))
        }
    }
    line(w, "\treject;");
    line(w, "}");
    line(w, "");
    line(
        w,
        &format!(
        "# To the kernel: Babel routes with source {source}, metric {babel}; own address metric {anchor}; nothing else."
    ),
    );
    line(w, &format!("filter hortus_kernel_out{family} {{"));
    if f.learn {
        line(w, &format!("\tif net !~ MESH{family} && net !~ LEARN{family} then reject;"));
    } else {
        line(w, &format!("\tif net !~ MESH{family} then reject;"));
    }
    line(w, "\tif source = RTS_BABEL then {");
    installed(w, source, babel);
    line(w, "\t}");
    line(w, "\tif source = RTS_DEVICE then {");
    line(w, &format!("\t\tkrt_metric = {anchor};"));
    line(w, "\t\taccept;");
    line(w, "\t}");
    line(w, "\treject;");
    line(w, "}");
    line(w, "");
    let exit = *f.default == DefaultRoute::Announce;
    let kernel = KernelProtocol { name: format!("kernel{family}"), family, kernel_table: None, learn_default: exit };
    kernel_protocol(w, &kernel, scan_s);
    if let DefaultRoute::Carry { table, .. } = f.default {
        exit_table(w, family, source, *table, scan_s, babel);
    }
}

/// What a Babel route gets in the kernel: the node's address as preferred
/// source and the Babel kernel metric; accepted.
fn installed(w: &mut String, source: &str, babel: u32) {
    line(w, &format!("\t\tkrt_prefsrc = {source};"));
    line(w, &format!("\t\tkrt_metric = {babel};"));
    line(w, "\t\taccept;");
}

/// One `protocol kernel`: exporting filter `hortus_<name>_out` of BIRD
/// table `master{family}` into the main table, or, with `kernel_table`,
/// table `exits{family}` into that kernel table.
struct KernelProtocol<'a> {
    /// Protocol name, `kernel6` or `exit6`.
    name: String,
    /// `"6"` or `"4"`.
    family: &'a str,
    /// The kernel table, when not the main one.
    kernel_table: Option<u32>,
    /// An exit learns its uplink's default route from the kernel.
    learn_default: bool,
}

fn kernel_protocol(w: &mut String, k: &KernelProtocol, scan_s: u32) {
    let family = k.family;
    line(w, &format!("protocol kernel {} {{", k.name));
    if let Some(table) = k.kernel_table {
        line(w, &format!("\tkernel table {table};"));
    }
    line(w, "\tmetric 0;\t# use each route's krt_metric");
    line(w, "\t# BIRD 3 skips an update to a route seen in the last scan: a route that");
    line(w, "\t# flips away and back between scans is repaired only by the next one.");
    line(w, &format!("\tscan time {scan_s};"));
    if k.learn_default {
        line(w, "\t# An exit learns its uplink's default route (not BIRD's own) to announce it.");
        line(w, "\tlearn;");
    }
    line(w, &format!("\tipv{family} {{"));
    if k.kernel_table.is_some() {
        line(w, &format!("\t\ttable exits{family};"));
    }
    if k.learn_default {
        line(w, &format!("\t\timport where net ~ DEFAULT{family};"));
    } else {
        line(w, "\t\timport none;");
    }
    line(
        w,
        &format!("\t\texport filter hortus_{}_out{family};", if k.kernel_table.is_some() { "exit" } else { "kernel" }),
    );
    line(w, "\t};");
    line(w, "}");
    line(w, "");
}

/// The default routes learned from the exits, into their own kernel table
/// (the plan's policy routing decides which traffic looks it up). BIRD
/// attaches one kernel protocol per BIRD table, so they go through a table
/// of their own, `exits{family}`, fed by a pipe.
fn exit_table(w: &mut String, family: &str, source: &str, table: u32, scan_s: u32, babel: u32) {
    line(w, &format!("# The exits' default route, into kernel table {table} only (never the main table)."));
    line(w, &format!("ipv{family} table exits{family};"));
    line(w, "");
    line(w, &format!("protocol pipe exits{family}_pipe {{"));
    line(w, &format!("\ttable master{family};"));
    line(w, &format!("\tpeer table exits{family};"));
    line(w, "\timport none;");
    line(w, &format!("\texport where source = RTS_BABEL && net ~ DEFAULT{family};"));
    line(w, "}");
    line(w, "");
    line(w, &format!("filter hortus_exit_out{family} {{"));
    line(w, &format!("\tif source = RTS_BABEL && net ~ DEFAULT{family} then {{"));
    installed(w, source, babel);
    line(w, "\t}");
    line(w, "\treject;");
    line(w, "}");
    line(w, "");
    let kernel =
        KernelProtocol { name: format!("exit{family}"), family, kernel_table: Some(table), learn_default: false };
    kernel_protocol(w, &kernel, scan_s);
}

/// The Babel protocol over every WireGuard link of the host.
fn babel_protocol(w: &mut String, host: &HostPlan) {
    let babel = &host.mesh.babel;
    let routes = &host.node.routes;
    line(w, &format!("protocol babel {BABEL_PROTOCOL} {{"));
    if let Some(v4) = &routes.ipv4 {
        channel(w, "4", v4);
    }
    channel(w, "6", &routes.ipv6);
    let links = &host.node.links;
    if links.is_empty() {
        line(w, "\t# No WireGuard links: this node has no peers.");
        line(w, "}");
        return;
    }
    // One block per link cost, lowest first, each in link order.
    let mut by_cost: Vec<u32> = links.iter().map(|l| l.rxcost).collect();
    by_cost.sort_unstable();
    by_cost.dedup();
    for (n, rxcost) in by_cost.into_iter().enumerate() {
        let costing: Vec<&str> = links.iter().filter(|l| l.rxcost == rxcost).map(|l| l.interface.as_str()).collect();
        interface_block(w, babel, rxcost, &costing, n == 0);
    }
    line(w, "}");
}

/// One `interface` block of the Babel protocol: `interfaces`, of cost `rxcost`.
fn interface_block(w: &mut String, babel: &BabelSettings, rxcost: u32, interfaces: &[&str], first: bool) {
    if first {
        line(w, "\t# The plan's WireGuard interfaces, one per peer, by link cost.");
    }
    line(w, "\tinterface");
    for (i, interface) in interfaces.iter().enumerate() {
        let end = if i + 1 == interfaces.len() { " {" } else { "," };
        line(w, &format!("\t\t\"{interface}\"{end}"));
    }
    line(w, "\t\ttype tunnel;");
    line(w, &format!("\t\thello interval {} ms;", babel.hello_interval_ms));
    line(w, &format!("\t\tupdate interval {} ms;", babel.update_interval_ms));
    line(w, &format!("\t\trxcost {rxcost};"));
    line(w, &format!("\t\tlimit {};", babel.hello_limit));
    line(w, &format!("\t\trtt cost {};", babel.rtt_cost));
    if babel.rtt_cost > 0 {
        line(w, &format!("\t\trtt max {} ms;", babel.rtt_max_ms));
        line(w, &format!("\t\trtt decay {};", babel.rtt_decay));
    }
    line(w, "\t\tcheck link no;");
    line(w, "\t\textended next hop yes;");
    if let Some(key_file) = &babel.mac_key_file {
        line(w, "\t\tauthentication mac;");
        line(w, "\t\t# The key file holds the `password` statements.");
        line(w, &format!("\t\tinclude \"{key_file}\";"));
    }
    line(w, "\t};");
}

/// A Babel channel importing only accepted prefixes, learned subnets when
/// there are any, and the default route when the node carries it.
fn channel<A, P>(w: &mut String, family: &str, routes: &FamilyRoutes<A, P>) {
    line(w, &format!("\tipv{family} {{"));
    let mut sets = vec![format!("net ~ MESH{family}")];
    if !routes.learn.is_empty() {
        sets.push(format!("net ~ LEARN{family}"));
    }
    if matches!(routes.default_route, DefaultRoute::Carry { .. }) {
        sets.push(format!("net ~ DEFAULT{family}"));
    }
    line(w, &format!("\t\timport where {};", sets.join(" || ")));
    line(w, &format!("\t\texport filter hortus_babel_out{family};"));
    line(w, "\t};");
}
