//! `--daemon`, the routing daemon choice of `hortus status` and `hortus lab
//! up`, spelt as the daemon's program name ([`RoutingDaemon::program`]).

use clap::builder::PossibleValue;
use clap::ValueEnum;
use hortus_plan::RoutingDaemon;

/// A routing daemon given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daemon(pub RoutingDaemon);

impl ValueEnum for Daemon {
    fn value_variants<'a>() -> &'a [Self] {
        &[Daemon(RoutingDaemon::Bird), Daemon(RoutingDaemon::Babeld)]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.program()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelt_as_in_the_inventory() {
        for daemon in Daemon::value_variants() {
            let json = serde_json::to_string(&daemon.0).unwrap();
            assert_eq!(json, format!("\"{}\"", daemon.0.program()));
            assert_eq!(Daemon::from_str(daemon.0.program(), false), Ok(*daemon));
        }
    }
}
