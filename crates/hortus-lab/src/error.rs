//! The lab's errors: each names the node, namespace or command at fault.

use std::path::PathBuf;

/// Why a lab operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The inventory or plan is invalid.
    #[error(transparent)]
    Plan(#[from] hortus_core::Error),
    /// The lab's plan file could not be loaded, or lacks a node.
    #[error(transparent)]
    PlanFile(#[from] hortus_plan::LoadError),
    /// A config could not be rendered for a node.
    #[error("node `{node}`: {source}")]
    Render {
        /// Node name.
        node: String,
        /// The renderer's error.
        #[source]
        source: hortus_render::RenderError,
    },
    /// The lab needs root (network namespaces, nftables, mounts).
    #[error("the lab needs root (it creates network namespaces); run it as root")]
    NotRoot,
    /// A program the lab runs is not installed.
    #[error("missing tools: {}", .0.join(", "))]
    MissingTools(Vec<String>),
    /// An external command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status or spawn error.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// A file or directory of the lab state could not be used.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not valid JSON for this version of the lab.
    #[error("{}: not a lab state file: {message}", .path.display())]
    BadState {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `up` found a lab already running in the state directory.
    #[error("a lab is already up in {} (run `hortus lab down --state-dir {}` first)", .0.display(), .0.display())]
    AlreadyUp(PathBuf),
    /// No lab state in the state directory.
    #[error("no lab is up in {} (no state.json)", .0.display())]
    NotUp(PathBuf),
    /// A node name the lab does not know.
    #[error("node `{0}` is not in the lab (known: {1})")]
    UnknownNode(String, String),
    /// Two nodes the plan does not link.
    #[error("nodes `{0}` and `{1}` have no link in the plan")]
    NoLink(String, String),
    /// The inventory does not fit the lab's underlay address plan.
    #[error("the lab underlay cannot hold this inventory: {0}")]
    TooBig(String),
    /// An argument is out of range.
    #[error("{0}")]
    Usage(String),
    /// The lab plan differs from the inventory's plan beyond keys and endpoints.
    #[error("lab plan differs from the inventory's plan at node `{node}`: {what}")]
    PlanDrift {
        /// Node name.
        node: String,
        /// The field that differs.
        what: String,
    },
    /// Something did not happen in time.
    #[error("timed out after {seconds:.1} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: f64,
    },
}

impl LabError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LabError::Io { path: path.into(), source }
    }
}

/// Result with a [`LabError`].
pub type Result<T, E = LabError> = std::result::Result<T, E>;
