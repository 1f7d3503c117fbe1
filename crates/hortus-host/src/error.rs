//! Errors of live-host operations.

/// Why a live-host operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A netlink request failed.
    #[error("netlink: cannot {what}")]
    Netlink {
        /// What was being done.
        what: String,
        /// The kernel's (or the socket's) error.
        source: std::io::Error,
    },
    /// systemd-networkd could not be asked to reload.
    #[error("`{command}` failed: {status}")]
    Reload {
        /// The reload command line.
        command: String,
        /// Its exit status or start error.
        status: String,
    },
}

impl HostError {
    /// Turns the I/O error of netlink operation `what` into a [`HostError::Netlink`].
    pub(crate) fn netlink(what: &str) -> impl FnOnce(std::io::Error) -> HostError {
        let what = what.to_string();
        move |source| HostError::Netlink { what, source }
    }
}
