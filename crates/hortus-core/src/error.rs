//! Errors: a parse failure, or a list of every problem found in an inventory.

use std::fmt;

/// One thing wrong with an inventory, naming where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Node name, pair (`a–b`), or `mesh` for mesh-wide settings.
    pub subject: String,
    /// The field at fault, e.g. `public_key` or `port`.
    pub field: String,
    /// What was expected and what was found.
    pub message: String,
}

impl Problem {
    /// A problem with a field of node `node`.
    pub fn node(node: &str, field: &str, message: impl Into<String>) -> Self {
        Problem { subject: format!("node `{node}`"), field: field.into(), message: message.into() }
    }

    /// A problem with a mesh-wide setting.
    pub fn mesh(field: &str, message: impl Into<String>) -> Self {
        Problem { subject: "mesh".into(), field: field.into(), message: message.into() }
    }

    /// A problem with the link between nodes `a` and `b`.
    pub fn pair(a: &str, b: &str, field: &str, message: impl Into<String>) -> Self {
        Problem { subject: format!("pair `{a}`–`{b}`"), field: field.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}`: {}", self.subject, self.field, self.message)
    }
}

/// Why an inventory could not become a plan.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not valid TOML/JSON for the inventory model (unknown
    /// field, wrong type, duplicate key...).
    #[error("cannot parse inventory: {0}")]
    Parse(String),
    /// The inventory parsed but is inconsistent; every problem is listed.
    #[error("{} problem(s) in inventory:\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
    /// `--host` named a node the inventory does not have.
    #[error("host `{0}` is not in the inventory (known: {1})")]
    UnknownHost(String, String),
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}
