//! Errors: a parse failure, or a list of every problem found in an inventory.

use crate::excerpt::{excerpt, excerpt_max, sanitize_message};
use serde::Serialize;
use std::fmt;

/// Longest problem message or parse error line shown, in characters.
const MAX_MESSAGE: usize = 400;

/// Where a problem is: the mesh settings, a node, or a pair of nodes.
/// Names are shown through [`excerpt`]: escaped, keys redacted, cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Subject {
    /// A mesh-wide setting (`[mesh]`).
    Mesh,
    /// A node (`[nodes.NAME]`).
    Node {
        /// The node's name.
        name: String,
    },
    /// The pair of two nodes (their link).
    Pair {
        /// The two names, lower id first.
        nodes: [String; 2],
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Mesh => f.write_str("mesh"),
            Subject::Node { name } => write!(f, "node `{name}`"),
            Subject::Pair { nodes: [a, b] } => write!(f, "pair `{a}`–`{b}`"),
        }
    }
}

/// One thing wrong with an inventory, naming where it is (`hortus check
/// --json` prints these as they are).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The mesh, a node or a pair.
    pub subject: Subject,
    /// The field at fault, e.g. `public_key` or `port` (dotted below the
    /// subject, e.g. `babel.hello_interval_ms` for the mesh).
    pub field: String,
    /// What was expected and what was found.
    pub message: String,
}

impl Problem {
    /// A problem with a field of node `node`.
    pub fn node(node: &str, field: &str, message: impl Into<String>) -> Self {
        Problem { subject: Subject::Node { name: excerpt(node) }, field: field.into(), message: shown(message) }
    }

    /// A problem with a mesh-wide setting.
    pub fn mesh(field: &str, message: impl Into<String>) -> Self {
        Problem { subject: Subject::Mesh, field: field.into(), message: shown(message) }
    }

    /// A problem with the link between nodes `a` and `b`.
    pub fn pair(a: &str, b: &str, field: &str, message: impl Into<String>) -> Self {
        Problem {
            subject: Subject::Pair { nodes: [excerpt(a), excerpt(b)] },
            field: field.into(),
            message: shown(message),
        }
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

fn shown(message: impl Into<String>) -> String {
    excerpt_max(&message.into(), MAX_MESSAGE)
}

impl Error {
    /// A parse error; the message is shown safely (see [`sanitize_message`]).
    pub fn parse(message: &str) -> Self {
        Error::Parse(sanitize_message(message, MAX_MESSAGE))
    }

    /// `--host` named `host`, which is not among `known` (sorted names).
    pub fn unknown_host<'a>(host: &str, known: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let count = known.len();
        let shown: Vec<&str> = known.take(20).collect();
        let more = count - shown.len();
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        Error::UnknownHost(excerpt(host), format!("{}{more}", excerpt_max(&shown.join(", "), MAX_MESSAGE)))
    }
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}
