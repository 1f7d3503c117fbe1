//! Small text helpers shared by the renderers.

use crate::RenderError;
use std::net::Ipv4Addr;

/// Checks that `path` can be written verbatim into a BIRD string, a babeld
/// word and a systemd value: absolute, and free of whitespace, control
/// characters, quotes, backslashes and `#`.
pub(crate) fn check_path(renderer: &'static str, field: &'static str, path: &str) -> Result<(), RenderError> {
    let bad = |reason| Err(RenderError::BadPath { renderer, field, path: path.into(), reason });
    if path.is_empty() {
        return bad("is empty; expected an absolute path");
    }
    if !path.starts_with('/') {
        return bad("is not an absolute path");
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | '#')) {
        return bad("contains whitespace, a control character, a quote, a backslash or `#`");
    }
    Ok(())
}

/// `ms` milliseconds as decimal seconds without trailing zeros (`1500` →
/// `1.5`, `2000` → `2`), the form babeld's interval options take.
pub(crate) fn seconds(ms: u32) -> String {
    let (whole, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:03}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A 32-bit router id as Babel's 64-bit one, `00:00:00:00:a:b:c:d` in hex,
/// as babeld writes it (`router-id`, `id`); BIRD derives the same from its
/// 32-bit `router id`.
pub(crate) fn babel_router_id(id: Ipv4Addr) -> String {
    let [a, b, c, d] = id.octets();
    format!("00:00:00:00:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// Appends `text` and a newline.
pub(crate) fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// Appends `extra` verbatim, followed by a newline if it lacks one.
pub(crate) fn push_verbatim(out: &mut String, extra: &str) {
    out.push_str(extra);
    if !extra.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(1000), "1");
        assert_eq!(seconds(2000), "2");
        assert_eq!(seconds(1500), "1.5");
        assert_eq!(seconds(250), "0.25");
        assert_eq!(seconds(1), "0.001");
        assert_eq!(seconds(655_350), "655.35");
    }

    #[test]
    fn paths_must_be_plain_absolute() {
        assert!(check_path("bird", "include", "/etc/bird/extra.conf").is_ok());
        for bad in ["", "relative/key", "/with space", "/quo\"te", "/new\nline", "/hash#x", "/back\\slash"] {
            let err = check_path("bird", "include", bad).unwrap_err().to_string();
            assert!(err.starts_with("bird: `include` = "), "{err}");
        }
    }
}
