//! Errors of status collection.

use std::path::PathBuf;

/// Why the live state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A control socket could not be talked to.
    #[error("{what} at {path}: {source}")]
    Socket {
        /// Which daemon.
        what: &'static str,
        /// The socket path.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A daemon answered something unexpected.
    #[error("{what}: unexpected reply: {line}")]
    Reply {
        /// Which daemon.
        what: &'static str,
        /// The offending line.
        line: String,
    },
    /// The host runtime could not read the kernel's links or routes.
    #[error(transparent)]
    Host(#[from] hortus_host::HostError),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
