//! The one plan loader: `hortus reconcile`, `hortus status`, the lab and
//! the CLI read plan files through [`PlanFile`]; the NixOS module checks the
//! same `version` field.

use crate::{HostPlan, Plan, PLAN_VERSION};
use std::path::{Path, PathBuf};

/// Most node names an error lists.
const MAX_NAMES: usize = 20;

/// Why a plan file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read the plan {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a plan at all.
    #[error("not a hortus plan: {0}")]
    NotAPlan(String),
    /// A plan of another format version.
    #[error("plan version {found}, this hortus reads version {PLAN_VERSION}; write it again with this hortus (`hortus plan`)")]
    Version {
        /// The file's version.
        found: u64,
    },
    /// A whole plan, and no host to pick.
    #[error("a whole plan needs a host name (--host, or this machine's hostname as a node name)")]
    NeedHost,
    /// The host is not in the plan.
    #[error("host `{host}` is not in the plan (nodes: {known})")]
    UnknownHost {
        /// The name asked for.
        host: String,
        /// The plan's node names, cut.
        known: String,
    },
    /// The file is another host's view.
    #[error("the plan is host `{view}`'s view, not `{wanted}`'s")]
    OtherHost {
        /// The view's host.
        view: String,
        /// The host asked for.
        wanted: String,
    },
}

impl LoadError {
    pub(crate) fn unknown_host<'a>(host: &str, known: impl ExactSizeIterator<Item = &'a String>) -> Self {
        let count = known.len();
        let shown: Vec<&str> = known.take(MAX_NAMES).map(String::as_str).collect();
        let more = if count > shown.len() { format!(" and {} more", count - shown.len()) } else { String::new() };
        LoadError::UnknownHost { host: host.into(), known: format!("{}{more}", shown.join(", ")) }
    }
}

/// A plan file: the whole mesh's plan or one host's view.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanFile {
    /// `hortus plan INVENTORY`.
    Whole(Box<Plan>),
    /// `hortus plan INVENTORY --host NAME`.
    Host(Box<HostPlan>),
}

impl PlanFile {
    /// Parses plan JSON, refusing any version but [`PLAN_VERSION`] before
    /// looking at the rest.
    pub fn parse(text: &str) -> Result<PlanFile, LoadError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            LoadError::NotAPlan(format!("not JSON ({e}); a plan is what `hortus plan INVENTORY` writes"))
        })?;
        PlanFile::from_value(value)
    }

    /// Plan JSON already parsed (by a caller that looked at it first),
    /// checked the same way as [`PlanFile::parse`].
    pub fn from_value(value: serde_json::Value) -> Result<PlanFile, LoadError> {
        let version = value
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| LoadError::NotAPlan("no `version` number".into()))?;
        if version != u64::from(PLAN_VERSION) {
            return Err(LoadError::Version { found: version });
        }
        let invalid = |e: serde_json::Error| LoadError::NotAPlan(e.to_string());
        if value.get("nodes").is_some() {
            serde_json::from_value(value).map(|plan| PlanFile::Whole(Box::new(plan))).map_err(invalid)
        } else {
            serde_json::from_value(value).map(|view| PlanFile::Host(Box::new(view))).map_err(invalid)
        }
    }

    /// Reads and parses the plan file at `path`.
    pub fn read(path: &Path) -> Result<PlanFile, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: path.into(), source })?;
        PlanFile::parse(&text)
    }

    /// The whole plan; a host view is refused.
    pub fn whole(self) -> Result<Plan, LoadError> {
        match self {
            PlanFile::Whole(plan) => Ok(*plan),
            PlanFile::Host(view) => Err(LoadError::NotAPlan(format!(
                "this is host `{}`'s view; the whole mesh's plan is needed (`hortus plan INVENTORY`)",
                view.host
            ))),
        }
    }

    /// One host's view: picked from a whole plan by `host` (required), or
    /// the view itself (whose host must be `host`, when given).
    pub fn host_view(self, host: Option<&str>) -> Result<HostPlan, LoadError> {
        match self {
            PlanFile::Whole(plan) => plan.host(host.ok_or(LoadError::NeedHost)?),
            PlanFile::Host(view) => match host {
                Some(wanted) if wanted != view.host => {
                    Err(LoadError::OtherHost { view: view.host, wanted: wanted.into() })
                }
                _ => Ok(*view),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_checked_before_the_rest() {
        let old = r#"{"version": 2, "nodes": {}, "skipped": [], "mesh": {"mtu": 1500}}"#;
        assert!(matches!(PlanFile::parse(old), Err(LoadError::Version { found: 2 })));
        assert!(matches!(PlanFile::parse("{}"), Err(LoadError::NotAPlan(_))));
        assert!(matches!(PlanFile::parse("not json"), Err(LoadError::NotAPlan(_))));
        let wrong_shape = format!(r#"{{"version": {PLAN_VERSION}, "nodes": {{}}}}"#);
        assert!(matches!(PlanFile::parse(&wrong_shape), Err(LoadError::NotAPlan(m)) if m.contains("missing field")));
    }
}
