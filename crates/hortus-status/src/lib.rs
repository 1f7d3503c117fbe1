//! # hortus-status
//!
//! What a deployed hortus host looks like compared with its plan: the live
//! WireGuard state of every planned interface, Babel's view (BIRD's control
//! socket or babeld's local socket: neighbours, costs, selected routes) and
//! the kernel's route to every node's ULA, with every difference from the
//! plan flagged.
//!
//! This crate owns what is status-specific: the Babel readers ([`bird`],
//! [`babeld`]), the comparison ([`mod@assess`]), the output ([`render`]) and the
//! route flap log of `hortus status --watch` ([`watch`]). Links, WireGuard
//! state and kernel routes (dumped, or followed over netlink) come from the
//! host runtime, `hortus-host`.
//!
//! Collection sits behind three small traits ([`live::WireGuardSource`],
//! [`live::BabelSource`], [`live::RouteSource`]) that [`live::collect`]
//! reads into a [`live::Snapshot`] ([`live::Host`] is the real host's
//! WireGuard and kernel); [`assess::assess`] compares a snapshot with the
//! plan; [`render`] prints the result as text or Prometheus textfile
//! metrics (JSON is the [`assess::HostStatus`] serialised). `hortus status`
//! runs this on a host; `hortus lab status` runs that same command inside
//! each lab node's namespace.

pub mod assess;
pub mod babeld;
pub mod bird;
pub mod error;
pub mod live;
pub mod render;
pub mod watch;

pub use assess::{assess, HostStatus};
pub use error::{Error, Result};
pub use live::{collect, Snapshot};
