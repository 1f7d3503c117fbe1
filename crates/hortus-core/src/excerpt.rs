//! Text from an inventory or the command line, made safe to show in an
//! error: control characters escaped (a name never drives the terminal),
//! anything shaped like a WireGuard key (44 characters of base64 for 32
//! bytes, public or private) replaced by `<key>`, and long text cut.

/// Longest excerpt of one line shown, in characters.
pub const MAX_CHARS: usize = 200;

/// `text` made safe for a one-line message, cut to [`MAX_CHARS`].
pub fn excerpt(text: &str) -> String {
    excerpt_max(text, MAX_CHARS)
}

/// `text` made safe for a one-line message (newlines escaped too), cut to `max` characters.
pub fn excerpt_max(text: &str, max: usize) -> String {
    cut(&escape(&redact_keys(text)), max)
}

/// A whole (possibly multi-line) message made safe: keys redacted, control
/// characters other than newline escaped, each line cut to `max_line` characters.
pub fn sanitize_message(text: &str, max_line: usize) -> String {
    let redacted = redact_keys(text);
    redacted.split('\n').map(|line| cut(&escape(line), max_line)).collect::<Vec<_>>().join("\n")
}

/// Escapes control characters and bidirectional overrides as `\n`, `\t`, `\u{1b}`...
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out
}

/// Cuts `text` to `max` characters, saying how much was left out.
fn cut(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} more characters)", count - max)
}

/// Replaces every 43 base64 characters followed by `=` (a 32-byte key) by `<key>`.
fn redact_keys(text: &str) -> String {
    let bytes = text.as_bytes();
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if is_b64(bytes[i]) && (i == 0 || !is_b64(bytes[i - 1])) {
            let run = bytes[i..].iter().take_while(|b| is_b64(**b)).count();
            if run == 43 && bytes.get(i + 43) == Some(&b'=') && bytes.get(i + 44) != Some(&b'=') {
                out.push_str(&text[copied..i]);
                out.push_str("<key>");
                i += 44;
                copied = i;
                continue;
            }
            i += run;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_redacted() {
        let key = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=";
        assert_eq!(excerpt(&format!("private_key = \"{key}\"")), "private_key = \"<key>\"");
        assert_eq!(excerpt(&format!("x{key}")), format!("x{key}"), "part of a longer token: not a key");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(excerpt("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\\nc");
        assert_eq!(sanitize_message("one\u{7}\ntwo", 100), "one\\u{7}\ntwo");
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(10_000);
        let shown = excerpt(&long);
        assert!(shown.len() < 300 && shown.ends_with("(9800 more characters)"), "{shown}");
    }
}
