//! The unit running `hortus endpoints` on a host that is not NixOS (the
//! NixOS module defines the same service as `hortus-endpoints.service`):
//! present only when the plan says the host switches endpoints
//! (`node.switches_endpoints`).

use crate::service::{unit, Options, Service};
use crate::{RenderError, RenderedFile};
use hortus_plan::HostPlan;

/// The unit's file name.
pub const UNIT: &str = "hortus-endpoints.service";

/// [`UNIT`], or nothing when the host has no link to switch.
pub fn render(host: &HostPlan, opts: &Options) -> Result<Vec<RenderedFile>, RenderError> {
    opts.check("endpoints")?;
    if !host.node.switches_endpoints {
        return Ok(vec![]);
    }
    let comment = [
        format!(
            "Host `{}`: a dialled link that received nothing for {} s moves",
            host.host, host.mesh.endpoints.switch_after_s
        ),
        "to its next endpoint candidate (DNS names re-resolved).".into(),
    ];
    let service = Service {
        host: &host.host,
        comment: &comment,
        description: "hortus: keep every link this host dials on an endpoint that works",
        subcommand: "endpoints",
        restart_sec: 5,
        // Setting a peer's endpoint; netlink, wireguard-go's socket, DNS.
        capabilities: "CAP_NET_ADMIN",
        address_families: "AF_NETLINK AF_UNIX AF_INET AF_INET6",
        runtime_directory: None,
    };
    Ok(vec![RenderedFile { name: UNIT.into(), contents: unit(&service, opts) }])
}
