//! The kernel settings a mesh router needs, as a sysctl.d file (for hosts
//! that are not NixOS; the NixOS module sets the same keys in
//! `boot.kernel.sysctl`). The plan decides them (`node.sysctl`): forwarding,
//! and no reverse-path filter on the mesh interfaces.

use crate::{RenderedFile, HEADER};
use hortus_plan::HostPlan;

/// The file name, for `/etc/sysctl.d/`.
pub const FILE: &str = "60-hortus.conf";

/// The sysctl.d file of `host`: every key of the plan's `node.sysctl`, in order.
pub fn render(host: &HostPlan) -> RenderedFile {
    let mut contents = format!(
        "{HEADER}\n# Host `{}`: what a mesh router needs (load with `sysctl --system` or systemd-sysctl).\n",
        host.host
    );
    for (key, value) in &host.node.sysctl {
        contents += &format!("{key} = {value}\n");
    }
    RenderedFile { name: FILE.into(), contents }
}
