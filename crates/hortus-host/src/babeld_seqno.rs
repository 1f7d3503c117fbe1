//! babeld's sequence number across a crash (`hortus babeld-seqno`, run
//! before babeld starts).
//!
//! babeld reads its sequence number from its state file at start, deletes
//! the file, and writes it again only when it exits cleanly. After a crash
//! or a power loss it starts from a random number instead; half the time
//! that is behind what its neighbours remember, they take its routes for
//! stale, and babeld ignores their requests for a newer one when they are
//! more than 100 ahead. Its own addresses are then unreachable until the
//! neighbours forget the old number, minutes later (BENCHMARKS.md: 8 of 10
//! revived nodes not reached within a minute).
//!
//! So before babeld starts, its state file gets a number that grows with
//! the clock, one every [`SECONDS_PER_STEP`] seconds, unless the file holds
//! a newer one (babeld's own, from a clean exit after it ran ahead). That
//! number is ahead of the one a crashed run used as long as, since the
//! clock last set it, babeld bumped it less than once every
//! [`SECONDS_PER_STEP`] seconds (it bumps only when a neighbour asks) and
//! fewer than 3.8 days passed (half of the 16-bit wrap-around); a run longer
//! than that is no worse off than babeld alone.

use std::io;
use std::path::Path;

/// Seconds per step of the clock-based sequence number.
pub const SECONDS_PER_STEP: u64 = 10;

/// What [`seed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// The state file holds a number no older than the clock's (babeld's
    /// own, from a clean exit): kept.
    Kept(u16),
    /// It was missing, unreadable or older: the clock's number was written.
    Written(u16),
}

/// The clock-based sequence number at `unix_s`.
pub fn clock_seqno(unix_s: u64) -> u16 {
    ((unix_s / SECONDS_PER_STEP) % 65536) as u16
}

/// Whether `a` is newer than `b` in Babel's modular order (RFC 8966:
/// `0 < (a - b) mod 2^16 < 2^15`).
fn newer(a: u16, b: u16) -> bool {
    (1..32768).contains(&a.wrapping_sub(b))
}

/// Writes babeld's state file at `path` (mode 0600, atomically) with
/// [`clock_seqno`] unless it holds a newer number.
pub fn seed(path: &Path, unix_s: u64) -> io::Result<Seeded> {
    let clock = clock_seqno(unix_s);
    let held = std::fs::read_to_string(path).ok().and_then(|text| text.trim().parse::<u16>().ok());
    if let Some(held) = held.filter(|held| !newer(clock, *held)) {
        return Ok(Seeded::Kept(held));
    }
    hortus_fs::write_atomic(path, format!("{clock}\n").as_bytes(), 0o600)?;
    Ok(Seeded::Written(clock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_s_number_unless_the_file_holds_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("babel-state");
        let now = 1_000_000; // step 100000, 34464 mod 2^16
        assert_eq!(seed(&path, now).unwrap(), Seeded::Written(34464));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "34464\n");
        // babeld ran ahead of the clock and exited cleanly: its number stays.
        std::fs::write(&path, "34500\n").unwrap();
        assert_eq!(seed(&path, now + 10).unwrap(), Seeded::Kept(34500));
        // An older or broken file gives way to the clock.
        std::fs::write(&path, "34000\n").unwrap();
        assert_eq!(seed(&path, now).unwrap(), Seeded::Written(34464));
        std::fs::write(&path, "junk").unwrap();
        assert_eq!(seed(&path, now).unwrap(), Seeded::Written(34464));
    }

    #[test]
    fn after_a_crash_the_clock_is_ahead_of_the_crashed_run() {
        let start = 1_796_000_000;
        // A two-day run that bumped its number a thousand times, a crash,
        // a restart a minute later.
        let crashed = clock_seqno(start).wrapping_add(1000);
        assert!(newer(clock_seqno(start + 2 * 86_400 + 60), crashed));
        // And the wrap-around.
        assert!(newer(clock_seqno(65536 * SECONDS_PER_STEP), clock_seqno(65535 * SECONDS_PER_STEP)));
    }
}
