//! The unit running `hortus failover` on a host that is not NixOS (the
//! NixOS module defines the same service as `hortus-failover.service`):
//! present only when the plan says the host probes its links
//! (`mesh.failover.probe`: with BIRD).

use crate::service::{unit, Options, Service};
use crate::{RenderError, RenderedFile};
use hortus_plan::HostPlan;

/// The unit's file name.
pub const UNIT: &str = "hortus-failover.service";

/// Where the unit keeps its state (`/run/hortus-failover/state.json`,
/// which `hortus status` reads).
pub const RUNTIME_DIRECTORY: &str = "hortus-failover";

/// [`UNIT`], or nothing when the host probes no link.
pub fn render(host: &HostPlan, opts: &Options) -> Result<Vec<RenderedFile>, RenderError> {
    opts.check("failover")?;
    let settings = &host.mesh.failover;
    if !settings.probe {
        return Ok(vec![]);
    }
    let comment = [
        format!(
            "Host `{}`: each link is probed every {} ms; one without a reply for {} ms",
            host.host,
            settings.probe_interval_ms,
            settings.detection().as_millis()
        ),
        format!(
            "leaves BIRD's Babel at once, and is back after {} ms of replies (doubled each time it fails again soon after).",
            settings.hold_down_ms
        ),
    ];
    let service = Service {
        host: &host.host,
        comment: &comment,
        description: "hortus: take a dead link out of BIRD's Babel within a second",
        subcommand: "failover",
        restart_sec: 1,
        // Raw ICMPv6 probes; a link's link-local address removed and put back over netlink.
        capabilities: "CAP_NET_ADMIN CAP_NET_RAW",
        address_families: "AF_NETLINK AF_INET6",
        runtime_directory: Some(RUNTIME_DIRECTORY),
    };
    Ok(vec![RenderedFile { name: UNIT.into(), contents: unit(&service, opts) }])
}
