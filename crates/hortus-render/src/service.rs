//! The units of hortus' own services on a host that is not NixOS (`hortus
//! endpoints`, `hortus failover`): one shape, with the hardening of
//! nixpkgs' babeld and bird units ([`HARDENING`], which the NixOS module
//! reads from `nix/render-constants.json` for the same services).

use crate::text::check_path;
use crate::{RenderError, HEADER};

/// `[Service]` settings every hortus service shares: a dynamic user, the
/// rest of the system out of reach. Each service adds its capabilities
/// and address families.
pub const HARDENING: &[(&str, &str)] = &[
    ("DynamicUser", "yes"),
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("RestrictNamespaces", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("LockPersonality", "yes"),
    ("MemoryDenyWriteExecute", "yes"),
    ("SystemCallArchitectures", "native"),
];

/// Paths the units point at.
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

impl Options {
    /// Checks both paths, for `renderer`'s errors.
    pub(crate) fn check(&self, renderer: &'static str) -> Result<(), RenderError> {
        check_path(renderer, "hortus", &self.hortus)?;
        check_path(renderer, "plan_file", &self.plan_file)
    }
}

/// One hortus service.
pub(crate) struct Service<'a> {
    /// The host it runs on.
    pub host: &'a str,
    /// Comment lines after the header (without `# `).
    pub comment: &'a [String],
    /// `Description=`.
    pub description: &'a str,
    /// `hortus <subcommand> --plan FILE`.
    pub subcommand: &'a str,
    /// Seconds before a restart.
    pub restart_sec: u32,
    /// Ambient (and bounding) capabilities.
    pub capabilities: &'a str,
    /// `RestrictAddressFamilies=`.
    pub address_families: &'a str,
    /// `RuntimeDirectory=`, if any.
    pub runtime_directory: Option<&'a str>,
}

/// The unit of `service`, after systemd-networkd (which creates the links).
pub(crate) fn unit(service: &Service, opts: &Options) -> String {
    let comment: String = service.comment.iter().map(|l| format!("# {l}\n")).collect();
    let runtime = service.runtime_directory.map(|d| format!("RuntimeDirectory={d}\n")).unwrap_or_default();
    let hardening: String = HARDENING.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    format!(
        "{HEADER}
{comment}# Reads {plan}, from `hortus plan INVENTORY --host {host}`.
[Unit]
Description={description}
Wants=systemd-networkd.service
After=systemd-networkd.service

[Service]
ExecStart={hortus} {subcommand} --plan {plan}
Restart=always
RestartSec={restart_sec}
{runtime}AmbientCapabilities={capabilities}
CapabilityBoundingSet={capabilities}
RestrictAddressFamilies={families}
{hardening}
[Install]
WantedBy=multi-user.target
",
        plan = opts.plan_file,
        host = service.host,
        description = service.description,
        hortus = opts.hortus,
        subcommand = service.subcommand,
        restart_sec = service.restart_sec,
        capabilities = service.capabilities,
        families = service.address_families,
    )
}
