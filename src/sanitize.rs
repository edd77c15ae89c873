//! Making strings that came from outside (the API, a file) safe to print on a terminal:
//! control characters, escape sequences included, never reach the output.

use std::borrow::Cow;

/// Replaces control characters (C0, DEL, C1) with `\u{…}` escapes and caps the length.
pub fn text(s: &str) -> Cow<'_, str> {
    const MAX: usize = 200;
    if s.len() <= MAX && !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(MAX) + 8);
    for (i, c) in s.chars().enumerate() {
        if i >= MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escapes control characters like [`text`], without cutting: for whole error messages.
pub fn controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::{controls, text};

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(text("CDN"), "CDN");
        assert_eq!(text("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(text("line\nbreak"), "line\\u{a}break");
        assert_eq!(text("\u{9b}x"), "\\u{9b}x");
    }

    #[test]
    fn controls_escapes_without_cutting() {
        let long = format!("{}\x07", "y".repeat(300));
        let out = controls(&long);
        assert_eq!(out.len(), 300 + "\\u{7}".len());
        assert!(out.ends_with("\\u{7}"));
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(500);
        let out = text(&long);
        assert_eq!(out.chars().count(), 201);
        assert!(out.ends_with('…'));
    }
}
