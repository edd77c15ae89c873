//! Making strings that came from outside (the API, a file) safe to print on a terminal or in
//! a pull-request comment: control characters (escape sequences included) and invisible format
//! characters never reach the output raw.
//!
//! Format characters are the ones that change how the text around them reads without showing
//! themselves: the bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
//! U+061C) that can make `CDN` display over another service's name ("Trojan Source"), the
//! zero-width characters (U+200B–U+200D, U+2060, U+FEFF) that make two names that look alike
//! differ, and the rest of Unicode's `Cf` category, with the line and paragraph separators
//! (U+2028, U+2029). Each becomes a visible `\u{…}` escape.

use std::borrow::Cow;

/// Whether `c` is a format character that does not show itself (Unicode's `Cf` category as of
/// Unicode 15.1), or a line or paragraph separator.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Whether `c` must not reach the output raw: a control character (C0, DEL, C1) or a hidden
/// one ([`is_hidden`]).
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_hidden(c)
}

/// Replaces control and hidden characters with `\u{…}` escapes and caps the length.
pub fn text(s: &str) -> Cow<'_, str> {
    const MAX: usize = 200;
    if s.len() <= MAX && !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(MAX) + 8);
    for (i, c) in s.chars().enumerate() {
        if i >= MAX {
            out.push('…');
            break;
        }
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escapes control and hidden characters like [`text`], without cutting: for whole error
/// messages.
pub fn controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{controls, is_hidden, text};

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(text("CDN"), "CDN");
        assert_eq!(text("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(text("line\nbreak"), "line\\u{a}break");
        assert_eq!(text("\u{9b}x"), "\\u{9b}x");
    }

    #[test]
    fn bidi_and_invisible_format_characters_are_escaped_visibly() {
        // "CDN" written right to left over a trailing name, a zero-width space, a BOM.
        assert_eq!(text("\u{202E}NDC\u{202C}"), "\\u{202e}NDC\\u{202c}");
        assert_eq!(controls("C\u{200B}DN"), "C\\u{200b}DN");
        assert_eq!(text("\u{FEFF}Spectrum"), "\\u{feff}Spectrum");
        assert_eq!(
            controls("a\u{2066}b\u{2069}c\u{200F}\u{2028}"),
            "a\\u{2066}b\\u{2069}c\\u{200f}\\u{2028}"
        );
        for c in [
            '\u{202A}',
            '\u{202B}',
            '\u{202D}',
            '\u{2067}',
            '\u{2068}',
            '\u{200E}',
            '\u{061C}',
            '\u{2060}',
            '\u{00AD}',
            '\u{E0041}',
        ] {
            assert!(is_hidden(c), "{c:?}");
            assert_ne!(text(&c.to_string()), c.to_string());
        }
        // Visible text of any script is left alone.
        for s in [
            "Magic Transit",
            "Übertragung",
            "עברית",
            "日本語",
            "CDN → Spectrum",
            "…",
        ] {
            assert_eq!(text(s), s);
            assert_eq!(controls(s), s);
        }
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
