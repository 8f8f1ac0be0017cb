//! Outside text shown inside our messages: a value quoted from a desired file, a
//! setting or an API answer may hold newlines, control characters or a megabyte of
//! anything, and an error must still be one short line (DESIGN section 7).
//!
//! This module only shapes text; it knows nothing of secrets (see `secret::Redactor`,
//! which runs on every printed line after this).

use std::fmt::Write as _;

/// The longest quoted value a message shows, in characters; longer ones keep their
/// start and end with `...` between.
pub const MAX_SHOWN_CHARS: usize = 200;

/// `text` on one line and at most about `max_chars` characters: control characters
/// (newlines, tabs, NUL, escape sequences) are written as Rust escapes, and a long text
/// keeps its first and last characters around `...`, so a message that quotes a huge
/// value still ends with what it expected.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let escaped = escape_controls(text);
    let count = escaped.chars().count();
    if count <= max_chars {
        return escaped;
    }
    let keep = max_chars.saturating_sub(3).max(2);
    let head: String = escaped.chars().take(keep / 2).collect();
    let tail: String = escaped.chars().skip(count - (keep - keep / 2)).collect();
    format!("{head}...{tail}")
}

/// A value quoted inside a message: [`one_line`] with [`MAX_SHOWN_CHARS`].
pub fn shown(text: &str) -> String {
    one_line(text, MAX_SHOWN_CHARS)
}

fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(one_line("unknown variant `x`", 50), "unknown variant `x`");
        assert_eq!(shown("é ünïcödé"), "é ünïcödé");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            one_line("a\nb\tc\r\0\u{1b}[1m", 50),
            "a\\nb\\tc\\r\\u{0}\\u{1b}[1m"
        );
    }

    #[test]
    fn long_text_keeps_both_ends() {
        let text = format!(
            "unknown variant `{}`, expected `iscale`",
            "x".repeat(10_000)
        );
        let line = one_line(&text, 100);
        assert_eq!(line.chars().count(), 100);
        assert!(line.starts_with("unknown variant `xxx"), "{line}");
        assert!(line.ends_with("xx`, expected `iscale`"), "{line}");
        assert!(line.contains("..."), "{line}");
    }

    #[test]
    fn tiny_limits_still_work() {
        assert_eq!(one_line("abcdef", 0), "a...f");
        assert_eq!(one_line("ééééééé", 5), "é...é");
    }
}
