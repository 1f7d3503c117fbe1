//! The exit codes of `hortus`, in one place. They are part of the command
//! line interface: monitoring units and scripts branch on them, so a code
//! never changes its meaning. README.md ("Exit codes") and `hortus --help`
//! ([`HELP`]) list them.
//!
//! Two commands are outside this table: `hortus lab exec NODE -- CMD` and
//! `hortus forwarder-client ... -- CMD` exit with CMD's own status (128 +
//! the signal when one ended it, [`of_child`]), as `ip netns exec` does;
//! only their own failures (no lab, unknown node, a bad command line) are 1.
//!

use std::process::ExitCode;

/// Success (also `--help` and `--version`).
pub const SUCCESS: u8 = 0;

/// An error, printed on stderr as `hortus: error: ...`, or a check that
/// failed (`hortus lab ping` without a reply).
pub const ERROR: u8 = 1;

/// A usage error: an unknown flag, a bad value, conflicting flags. clap
/// reports it (and uses the same code on its own).
pub const USAGE: u8 = 2;

/// `hortus status --down-after D`: a planned link has been down for longer
/// than `D`. Not [`USAGE`], so a typo in a monitoring unit does not read as
/// a down link.
pub const LINK_DOWN: u8 = 3;

/// `hortus diff OLD NEW`: the plans differ (0 when they do not), so a
/// script can tell "nothing to deploy" from "something to deploy" from an
/// error.
pub const DIFFERS: u8 = 4;

/// The exit codes as `hortus --help` shows them, after the commands.
pub const HELP: &str = "\
Exit codes:
  0  success
  1  error (or a failed check, e.g. `hortus lab ping` without a reply)
  2  usage error (bad arguments)
  3  `hortus status --down-after`: a planned link has been down longer than that
  4  `hortus diff`: the plans differ";

/// A child's status as ours: its code, or 128 + the signal that ended it.
pub fn of_child(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(ERROR))
}

/// `code` as the process' exit code.
pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_code_once() {
        for (code, what) in [
            (SUCCESS, "success"),
            (ERROR, "error"),
            (USAGE, "usage error"),
            (LINK_DOWN, "--down-after"),
            (DIFFERS, "diff"),
        ] {
            let lines: Vec<&str> = HELP.lines().filter(|l| l.starts_with(&format!("  {code}  "))).collect();
            assert_eq!(lines.len(), 1, "code {code} in {HELP}");
            assert!(lines[0].contains(what), "{}", lines[0]);
        }
    }
}
