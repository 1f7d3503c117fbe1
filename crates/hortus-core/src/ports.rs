//! Pair ports: one UDP port per pair of nodes, the same on both ends, fixed
//! by the two ids alone so adding nodes never moves an existing pair.

use crate::inventory::PortScheme;

/// The port index (before adding the base) of the pair `{a, b}`; `a != b`.
/// Computed in 128 bits: no id pair can wrap it.
pub fn pair_index(scheme: PortScheme, a: u32, b: u32) -> u128 {
    let (lo, hi) = (u128::from(a.min(b)), u128::from(a.max(b)));
    match scheme {
        PortScheme::Cantor => (lo + hi) * (lo + hi + 1) / 2 + hi,
        PortScheme::Dense => hi * (hi - 1) / 2 + lo,
        PortScheme::Xor => lo ^ hi,
    }
}

/// The UDP port of the pair `{a, b}`, or the number that does not fit in 1..=65535.
pub fn pair_port(scheme: PortScheme, base: u32, a: u32, b: u32) -> Result<u16, u128> {
    let port = u128::from(base) + pair_index(scheme, a, b);
    match u16::try_from(port) {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err(port),
    }
}

/// The first port that appears twice in `ports` (a node's link ports must differ).
pub fn first_collision(ports: impl IntoIterator<Item = u16>) -> Option<u16> {
    let mut seen = std::collections::HashSet::new();
    ports.into_iter().find(|p| !seen.insert(*p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cantor_matches_reference() {
        assert_eq!(pair_port(PortScheme::Cantor, 51800, 0, 2), Ok(51805));
        assert_eq!(pair_port(PortScheme::Cantor, 51800, 5, 4), Ok(51850));
        assert_eq!(pair_port(PortScheme::Cantor, 51800, 0, 1), Ok(51802));
    }

    #[test]
    fn dense_and_xor() {
        assert_eq!(pair_index(PortScheme::Dense, 0, 1), 0);
        assert_eq!(pair_index(PortScheme::Dense, 2, 1), 2);
        assert_eq!(pair_index(PortScheme::Xor, 5, 3), 6);
    }

    #[test]
    fn overflow_is_reported() {
        assert_eq!(pair_port(PortScheme::Cantor, 65000, 20, 30), Err(65000 + 1305));
        assert_eq!(pair_port(PortScheme::Dense, 0, 0, 1), Err(0));
    }

    #[test]
    fn huge_ids_never_wrap() {
        // (2^32-2 + 2^32-1)(..+1)/2 is about 2^65: a u64 wrapped to a small, wrong port.
        let index = pair_index(PortScheme::Cantor, u32::MAX - 1, u32::MAX);
        assert_eq!(index, 36893488130239234050);
        assert_eq!(pair_port(PortScheme::Cantor, 51800, u32::MAX - 1, u32::MAX), Err(51800 + index));
        assert!(pair_port(PortScheme::Dense, 1, 0, u32::MAX).is_err());
    }

    #[test]
    fn collision_is_found() {
        assert_eq!(first_collision([1, 2, 3]), None);
        assert_eq!(first_collision([5, 7, 5]), Some(5));
    }

    #[test]
    fn schemes_are_injective_per_node() {
        for scheme in [PortScheme::Cantor, PortScheme::Dense, PortScheme::Xor] {
            for a in 0..64 {
                let ports = (0..64).filter(|b| *b != a).map(|b| pair_index(scheme, a, b));
                let ports: Vec<_> = ports.collect();
                let mut sorted = ports.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), ports.len(), "{scheme:?} node {a}");
            }
        }
    }
}
