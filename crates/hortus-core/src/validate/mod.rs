//! The validate stage: every rule an inventory must meet, each written once.
//! What an accepted inventory promises (to WireGuard, the kernel,
//! systemd-networkd, BIRD 3 and babeld) is listed in `docs/validation.md`.
//!
//! - [`inventory`] runs before anything is derived: the mesh settings
//!   ([`mesh`]), each node's own fields ([`node`]) and the values two nodes
//!   must not share ([`node::unique`]).
//! - [`pair`] holds the rules on what the pair decisions produce (ports,
//!   MTUs, TUN addresses, a host's interface names, a mesh in one piece);
//!   the plan stages call them where those values are computed.
//! - [`values`] says what makes a single value unusable, whoever owns it.
//!
//! Every rule gives a [`Problem`]: subject (mesh, node or pair), field and
//! message; all problems are reported at once.

pub mod mesh;
pub mod node;
pub mod pair;
pub mod values;

use crate::inventory::Inventory;
use crate::Problem;

/// Every problem found before any value is derived, in order: mesh
/// settings, then each node by name, then shared values.
pub fn inventory(inventory: &Inventory) -> Vec<Problem> {
    let mut problems = mesh::mesh(&inventory.mesh);
    if inventory.nodes.is_empty() {
        problems.push(Problem::mesh("nodes", "the inventory has no nodes"));
    }
    for (name, node) in &inventory.nodes {
        problems.extend(node::node(&inventory.mesh, name, node));
    }
    problems.extend(node::unique(inventory));
    problems.extend(node::exits(inventory));
    problems.extend(node::costs(inventory));
    problems
}
