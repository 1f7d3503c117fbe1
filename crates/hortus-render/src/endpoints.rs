//! The unit running `hortus endpoints` on a host that is not NixOS (the
//! NixOS module defines the same service as `hortus-endpoints.service`):
//! present only when the plan says the host switches endpoints
//! (`node.switches_endpoints`).

use crate::text::check_path;
use crate::{RenderError, RenderedFile, HEADER};
use hortus_plan::HostPlan;

/// The unit's file name.
pub const UNIT: &str = "hortus-endpoints.service";

/// Paths the unit points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The `hortus` binary.
    pub hortus: String,
    /// Where the host keeps its plan (`hortus plan INVENTORY --host NAME`).
    pub plan_file: String,
}

impl Default for Options {
    fn default() -> Self {
        Options { hortus: "/usr/local/bin/hortus".into(), plan_file: "/etc/hortus/plan.json".into() }
    }
}

/// [`UNIT`], or nothing when the host has no link to switch.
pub fn render(host: &HostPlan, opts: &Options) -> Result<Vec<RenderedFile>, RenderError> {
    check_path("endpoints", "hortus", &opts.hortus)?;
    check_path("endpoints", "plan_file", &opts.plan_file)?;
    if !host.node.switches_endpoints {
        return Ok(vec![]);
    }
    let unit = format!(
        "{HEADER}
# Host `{host}`: a dialled link that received nothing for {after} s moves
# to its next endpoint candidate (DNS names re-resolved).
# Reads {plan}, from `hortus plan INVENTORY --host {host}`.
[Unit]
Description=hortus: keep every link this host dials on an endpoint that works
Wants=systemd-networkd.service
After=systemd-networkd.service

[Service]
ExecStart={hortus} endpoints --plan {plan}
Restart=always
RestartSec=5
DynamicUser=yes
AmbientCapabilities=CAP_NET_ADMIN
CapabilityBoundingSet=CAP_NET_ADMIN
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_NETLINK AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
",
        host = host.host,
        after = host.mesh.endpoints.switch_after_s,
        plan = opts.plan_file,
        hortus = opts.hortus,
    );
    Ok(vec![RenderedFile { name: UNIT.into(), contents: unit }])
}
