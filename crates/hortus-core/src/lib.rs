//! # hortus-core
//!
//! Turns an [`Inventory`] of machines into a [`Plan`] (the contract in the
//! `hortus-plan` crate): a full mesh of point-to-point WireGuard links, one
//! per pair of nodes, with the addresses, ports, NAT/censorship decisions,
//! route policy, firewall and sysctls every consumer (renderers, the NixOS
//! module, the host runtime, status, the lab) reads.
//!
//! The stages, each in its own module: parse ([`inventory`]) → validate
//! ([`validate`], every rule once, structured [`Problem`]s) → resolve
//! (derived node values) → decide pairs (one pair loop, [`policy`] per
//! pair) → assemble. [`build_plan`] decides every pair (O(n²));
//! [`build_host_plan`] gives one host's view in O(n). What an accepted
//! inventory promises is in `docs/validation.md`.
//!
//! This crate does no I/O beyond (de)serialising; the `hortus` binary reads
//! files and writes outputs.
//!
//! ```
//! let inventory = hortus_core::Inventory::from_toml_str(r#"
//!     [nodes.a]
//!     id = 0
//!     public_key = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
//!     endpoints = ["192.0.2.1"]
//!     [nodes.b]
//!     id = 1
//!     public_key = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
//!     endpoints = ["192.0.2.2"]
//! "#).unwrap();
//! let plan = hortus_core::build_plan(&inventory).unwrap();
//! assert_eq!(plan.nodes["a"].links[0].port, 51802);
//! assert_eq!(plan.nodes["b"].links[0].endpoint().unwrap().socket(), "192.0.2.1:51802");
//! ```

pub mod addressing;
mod assemble;
mod candidates;
pub mod error;
pub mod excerpt;
mod exits;
pub mod forwarder;
pub mod hash;
pub mod ifname;
pub mod interfaces;
pub mod inventory;
pub mod keys;
mod pairs;
pub mod policy;
pub mod ports;
mod resolve;
pub mod validate;
mod warnings;

pub use assemble::{build_host_plan, build_plan};
pub use error::{Error, Problem, Subject};
pub use hortus_plan::{HostPlan, Link, NodePlan, Plan, PLAN_VERSION};
pub use inventory::{Inventory, MeshSettings, Node};
