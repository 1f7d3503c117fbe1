//! # hortus-core
//!
//! Turns an [`Inventory`] of machines into a [`Plan`]: a full mesh of
//! point-to-point WireGuard links, one per pair of nodes, with the addresses,
//! ports and NAT/censorship decisions every renderer (BIRD, babeld,
//! systemd-networkd, the NixOS module, the lab) consumes.
//!
//! [`build_plan`] decides every pair (O(n²)); [`build_host_plan`] gives one
//! host's view in O(n). What an accepted inventory promises is in
//! `docs/validation.md` ([`rules`]).
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
//! ```

pub mod addressing;
pub mod error;
pub mod excerpt;
pub mod forwarder;
pub mod hash;
pub mod ifname;
pub mod inventory;
pub mod keys;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod prefix;
pub mod rules;

pub use error::{Error, Problem};
pub use inventory::{Inventory, MeshSettings, Node};
pub use plan::{build_host_plan, build_plan, HostPlan, Link, NodePlan, Plan, PLAN_VERSION};
