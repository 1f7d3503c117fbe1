//! Why options could not be rendered.

/// A rendering option (or a path in the plan) that cannot go into a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A required option was left empty.
    #[error("{renderer}: `{field}` is required ({what})")]
    Missing {
        /// Which renderer (`bird`, `babeld`, `networkd`).
        renderer: &'static str,
        /// The option's name.
        field: &'static str,
        /// What the option is for.
        what: &'static str,
    },
    /// A path that cannot be written into the config's syntax safely.
    #[error("{renderer}: `{field}` = {path:?} {reason}")]
    BadPath {
        /// Which renderer.
        renderer: &'static str,
        /// The option or plan field holding the path.
        field: &'static str,
        /// The offending path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A plan setting the target daemon cannot express.
    #[error("{renderer}: `{field}` = {value}: {reason}")]
    Unsupported {
        /// Which renderer.
        renderer: &'static str,
        /// The plan field.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it cannot be rendered, and what to do instead.
        reason: &'static str,
    },
}
