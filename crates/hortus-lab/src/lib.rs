//! # hortus-lab
//!
//! Brings a hortus inventory up on one Linux machine (as root): one network
//! namespace per node on a simulated underlay with NAT routers and a
//! censor, real WireGuard tunnels (kernel, or wireguard-go where the kernel
//! has no module) configured from the plan, real phantun on forwarded links
//! (or a stand-in relay when the operator brings the forwarder), and the routing daemon (BIRD 3 or babeld) running the
//! config `hortus-render` produces. Then it breaks things: cuts links, kills
//! nodes, and measures what Babel does about it.
//!
//! The lab's plan is the inventory's plan with fresh keys and underlay
//! endpoints; everything else (ports, who listens and dials, keepalives,
//! MTUs, link-locals, ULAs, interface names) is the original's
//! ([`lab_plan`]). Routes come from the routing daemon only.
//!
//! What a node sees is `hortus status` (crate `hortus-status`) run in its
//! namespace ([`status`], [`watch`]); a kernel route is the host runtime's
//! model ([`Route`], from `hortus-host`).
//!
//! The modules import one another without a circle: [`lab`] (the [`Lab`]
//! itself, up and down) builds on the leaves ([`error`], [`exec`],
//! [`process`], [`tools`], [`state`], [`network`], [`underlay`], [`lans`], ...), and
//! the modules that add to [`Lab`] ([`node`], [`forwarders`], [`faults`],
//! [`probe`], [`status`], [`watch`], [`internet`]) build on [`lab`], never the reverse.
//!
//! ```no_run
//! # fn main() -> Result<(), hortus_lab::LabError> {
//! let text = std::fs::read_to_string("examples/six-nodes.toml").unwrap();
//! let inventory = hortus_core::Inventory::from_toml_str(&text)?;
//! let opts = hortus_lab::UpOptions {
//!     state_dir: "/run/hortus-lab".into(),
//!     prefix: "hl-".into(),
//!     daemon: None,
//!     hortus_exe: "/usr/bin/hortus".into(),
//! };
//! let mut lab = hortus_lab::Lab::up(&inventory, &opts, &mut |line| eprintln!("{line}"))?;
//! lab.wait_connected(std::time::Duration::from_secs(60))?;
//! lab.cut("hastur", "kaambl", hortus_lab::CutMode::Underlay)?;
//! println!("{:?}", lab.ping("hastur", "kaambl", 10, 0.2)?);
//! hortus_lab::down(lab.state_dir())?;
//! # Ok(()) }
//! ```
//!
//! `docs/lab.md` describes the topology and the commands.

mod boundary;
pub mod error;
pub mod exec;
pub mod faults;
pub mod forwarders;
pub mod internet;
pub mod lab;
pub mod lab_plan;
pub mod lans;
pub mod limits;
pub mod names;
pub mod network;
pub mod node;
pub mod probe;
pub mod process;
pub mod relay;
pub mod state;
pub mod status;
pub mod tools;
pub mod underlay;
pub mod watch;

pub use error::{LabError, Result};
pub use internet::{InternetCapture, INTERNET_ADDRESS};
pub use lab::{down, DownReport, Lab, UpOptions, DEFAULT_PREFIX, DEFAULT_STATE_DIR};
pub use probe::{Connectivity, PingResult};
pub use state::{CutMode, LabState};
pub use status::{NodeStatus, Route};
