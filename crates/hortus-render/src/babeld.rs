//! babeld configuration (babeld 1.12): the alternative to BIRD, with the
//! same behaviour from the same plan fields: Babel over every WireGuard
//! link as a tunnel, the route policy's accepted prefixes learned and its
//! announced ones redistributed, routes installed with the policy's source
//! address at the plan's Babel kernel metric (BIRD's `krt_metric`).

use crate::text::{babel_router_id, check_path, line, push_verbatim, seconds};
use crate::{RenderError, HEADER};
use hortus_plan::{DefaultRoute, FamilyRoutes, HostPlan};
use std::fmt::Display;

/// Where babeld keeps its files, and what the operator adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `state-file`: long-term state (sequence numbers) across restarts.
    pub state_file: String,
    /// `pid-file`.
    pub pid_file: String,
    /// `local-path`: babeld's read-only local socket, which `hortus status`
    /// reads (none by default: babeld must be able to create it there).
    pub local_path: Option<String>,
    /// Text appended verbatim after the generated config.
    pub extra_config: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            state_file: "/var/lib/babeld/babel-state".into(),
            pid_file: "/run/babeld.pid".into(),
            local_path: None,
            extra_config: None,
        }
    }
}

/// Checks what [`render`] writes verbatim, and refuses settings babeld
/// cannot express from the plan (Babel MAC keys are a BIRD `include` file).
pub fn validate(host: &HostPlan, opts: &Options) -> Result<(), RenderError> {
    check_path("babeld", "state_file", &opts.state_file)?;
    check_path("babeld", "pid_file", &opts.pid_file)?;
    if let Some(path) = &opts.local_path {
        check_path("babeld", "local_path", path)?;
    }
    if let Some(key_file) = &host.mesh.babel.mac_key_file {
        return Err(RenderError::Unsupported {
            renderer: "babeld",
            field: "mesh.babel.mac_key_file",
            value: key_file.clone(),
            reason: "the key file holds BIRD `password` statements, which babeld cannot read; \
                     render BIRD instead, or leave the babeld mesh unauthenticated by unsetting it",
        });
    }
    Ok(())
}

/// The babeld config of `host`. Paths are written verbatim: call
/// [`validate`] first.
pub fn render(host: &HostPlan, opts: &Options) -> String {
    let node = &host.node;
    let mesh = &host.mesh;
    let babel = &mesh.babel;
    let routes = &node.routes;
    let v4 = routes.ipv4.as_ref();
    let mut out = String::new();
    let w = &mut out;
    line(w, HEADER);
    line(w, &format!("# Host `{}` (id {}): Babel over {} WireGuard link(s).", host.host, node.id, node.links.len()));
    line(w, "");
    line(w, "# Stable id from the plan (WireGuard links have no MAC to derive one from).");
    line(w, &format!("router-id {}", babel_router_id(host.node.router_id)));
    line(w, &format!("state-file {}", opts.state_file));
    line(w, &format!("pid-file {}", opts.pid_file));
    if let Some(path) = &opts.local_path {
        line(w, "# Read-only local socket: `hortus status` reads Babel's view here.");
        line(w, &format!("local-path {path}"));
    }
    line(w, "# Same kernel metric as BIRD's Babel routes; beats the links' peer routes.");
    line(w, &format!("kernel-priority {}", mesh.kernel_metrics.babel));
    line(w, &format!("smoothing-half-life {}", babel.smoothing_half_life));
    line(w, "");
    line(w, "# Every WireGuard link is a tunnel with the mesh's timers and RTT cost, and its own link cost.");
    let mut defaults = format!(
        "default hello-interval {} update-interval {} link-quality {}",
        seconds(babel.hello_interval_ms),
        seconds(babel.update_interval_ms),
        babel.link_quality
    );
    if babel.rtt_cost > 0 {
        defaults += &format!(
            " enable-timestamps true max-rtt-penalty {} rtt-max {} rtt-decay {}",
            babel.rtt_cost, babel.rtt_max_ms, babel.rtt_decay
        );
    } else {
        defaults += " enable-timestamps false";
    }
    if v4.is_some() {
        defaults += " v4-via-v6 true";
    }
    line(w, &defaults);
    for link in &node.links {
        line(w, &format!("interface {} type tunnel rxcost {}", link.interface, link.rxcost));
    }
    line(w, "");
    line(w, "# Learn only the accepted prefixes, and the other nodes' subnets from their routers (the plan's route policy).");
    in_allow(w, &routes.ipv6);
    if let Some(v4) = v4 {
        in_allow(w, v4);
    }
    line(w, "in deny");
    line(w, "# Announce only what this node announces: its own mesh addresses, and its subnets.");
    redistribute(w, &routes.ipv6);
    if let Some(v4) = v4 {
        redistribute(w, v4);
    }
    line(w, "redistribute local deny");
    let exit = routes.ipv6.default_route == DefaultRoute::Announce;
    if exit || routes.ipv6.subnets.len() + v4.map_or(0, |r| r.subnets.len()) > 0 {
        line(w, "redistribute deny");
    }
    line(w, "# Install with this node's address as preferred source.");
    install(w, &routes.ipv6);
    if let Some(v4) = v4 {
        install(w, v4);
    }
    if let Some(extra) = &opts.extra_config {
        line(w, "");
        line(w, "# Extra configuration (verbatim).");
        push_verbatim(w, extra);
    }
    out
}

/// The accepted prefixes (anything inside), then each learned subnet
/// exactly, from each router that announces it.
fn in_allow<A, P: Prefix>(w: &mut String, routes: &FamilyRoutes<A, P>) {
    for prefix in &routes.accept {
        line(w, &format!("in ip {prefix} allow"));
    }
    for learned in &routes.learn {
        for router in &learned.routers {
            line(w, &format!("in {} id {} allow", exactly(&learned.prefix), babel_router_id(*router)));
        }
    }
    if let DefaultRoute::Carry { exits, .. } = &routes.default_route {
        for exit in exits {
            line(w, &format!("in {} id {} allow", exactly(&P::DEFAULT), babel_router_id(*exit)));
        }
    }
}

/// The node's own addresses (local), then its subnets (the kernel's routes to them).
fn redistribute<A, P: Prefix>(w: &mut String, routes: &FamilyRoutes<A, P>) {
    for prefix in &routes.announce {
        line(w, &format!("redistribute local ip {prefix} allow"));
    }
    for prefix in &routes.subnets {
        line(w, &format!("redistribute {} allow", exactly(prefix)));
    }
    if routes.default_route == DefaultRoute::Announce {
        // An exit's uplink default: any protocol but `boot` by default, so
        // `boot` (3, what `ip route add` writes) is listed too.
        line(w, &format!("redistribute {} allow", exactly(&P::DEFAULT)));
        line(w, &format!("redistribute {} proto 3 allow", exactly(&P::DEFAULT)));
    }
}

fn install<A: Display, P: Prefix>(w: &mut String, routes: &FamilyRoutes<A, P>) {
    for prefix in &routes.accept {
        line(w, &format!("install ip {prefix} pref-src {}", routes.source));
    }
    for learned in &routes.learn {
        line(w, &format!("install {} pref-src {}", exactly(&learned.prefix), routes.source));
    }
    if let DefaultRoute::Carry { table, .. } = &routes.default_route {
        line(w, &format!("install {} table {table} pref-src {}", exactly(&P::DEFAULT), routes.source));
    }
}

/// A prefix of either family, with its length.
trait Prefix: Display + Sized {
    /// The family's default route.
    const DEFAULT: Self;
    /// The prefix length.
    fn len(&self) -> u8;
}

impl Prefix for hortus_plan::Ipv4Prefix {
    const DEFAULT: Self = hortus_plan::Ipv4Prefix::DEFAULT;
    fn len(&self) -> u8 {
        self.len
    }
}

impl Prefix for hortus_plan::Ipv6Prefix {
    const DEFAULT: Self = hortus_plan::Ipv6Prefix::DEFAULT;
    fn len(&self) -> u8 {
        self.len
    }
}

/// babeld's selector of exactly `prefix`: `ip P eq LEN`.
fn exactly(prefix: &impl Prefix) -> String {
    format!("ip {prefix} eq {}", prefix.len())
}
