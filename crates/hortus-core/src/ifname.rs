//! Interface names: `<prefix><peer>`, shortened deterministically to fit
//! Linux's IFNAMSIZ (15 bytes) when the peer name is long.

use crate::hash::fnv1a64;

/// Longest interface name Linux accepts.
pub const IFNAMSIZ_MAX: usize = 15;

/// The interface name for `peer` with `prefix`. Names that fit are kept;
/// longer ones keep as much of the name as fits before 4 hex digits of a
/// stable hash of the full name, e.g. `wg-averylon3fa2`.
pub fn interface_name(prefix: &str, peer: &str) -> String {
    let full = format!("{prefix}{peer}");
    if full.len() <= IFNAMSIZ_MAX {
        return full;
    }
    let keep = IFNAMSIZ_MAX.saturating_sub(prefix.len() + 4);
    let head: String = peer.chars().take(keep).collect();
    format!("{prefix}{head}{:04x}", fnv1a64(peer.as_bytes()) & 0xffff)
}

/// Whether `name` is usable as a Linux interface name.
pub fn valid_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAMSIZ_MAX
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(interface_name("wg-", "hastur"), "wg-hastur");
        assert_eq!(interface_name("wg-", "twelve-chars"), "wg-twelve-chars");
    }

    #[test]
    fn long_names_are_shortened_uniquely() {
        let a = interface_name("wg-", "a-very-long-peer-name-1");
        let b = interface_name("wg-", "a-very-long-peer-name-2");
        assert_eq!(a.len(), 15);
        assert!(a.starts_with("wg-a-very-l"));
        assert_ne!(a, b);
        assert_eq!(a, interface_name("wg-", "a-very-long-peer-name-1"));
    }

    #[test]
    fn validity() {
        assert!(valid_interface_name("anchor-0"));
        assert!(!valid_interface_name("sixteen-chars-xx"));
        assert!(!valid_interface_name("a b"));
    }
}
