//! Writing a [`StateFile`] back in the file's format (for `export` and emulator state dumps).
//!
//! The output is written by hand rather than through a serializer so that it reads like a file
//! a person wrote: block style for prefixes, one flow mapping per binding, a quoted string only
//! where a plain one would read differently. Reading the output back gives the same state.

use std::fmt::Write as _;

use crate::model::StateFile;

/// The first line of a written file: what the file is, and where its JSON Schema is for an
/// editor. No `$schema` address is written: the schema has no published address, and a
/// relative path would only be right from one directory.
pub const FILE_HEADER: &str = "# svcbind desired-state file (version 1); JSON Schema: \
schema/svcbind.schema.json in the svcbind repository";

/// The `safety` mapping, when the state sets any of it.
fn write_safety(out: &mut String, state: &StateFile) {
    if state.max_deletes.is_none() && state.max_delete_percent.is_none() && state.protect.is_empty()
    {
        return;
    }
    let _ = writeln!(out, "safety:");
    if let Some(max) = state.max_deletes {
        let _ = writeln!(out, "  max_deletes: {max}");
    }
    if let Some(percent) = state.max_delete_percent {
        let _ = writeln!(out, "  max_delete_percent: {percent}");
    }
    if !state.protect.is_empty() {
        let ranges: Vec<String> = state.protect.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "  protect: [{}]", ranges.join(", "));
    }
}

/// The state as a desired-state file, starting with the [`FILE_HEADER`] comment.
/// [`super::parse`] of the result gives `state` back (locations aside).
pub fn to_yaml(state: &StateFile) -> String {
    let mut out = String::with_capacity(64 + state.binding_count() * 96);
    // Writing to a String cannot fail: the results of `writeln!` below are ignored.
    let _ = writeln!(out, "{FILE_HEADER}");
    let _ = writeln!(out, "version: 1");
    if let Some(account) = &state.account_id {
        let _ = writeln!(out, "account_id: {}", scalar(account.as_str()));
    }
    write_safety(&mut out, state);
    if !state.services.is_empty() {
        let _ = writeln!(out, "services:");
        for (name, id) in &state.services {
            let _ = writeln!(out, "  {}: {}", scalar(name), scalar(id.as_str()));
        }
    }
    if state.prefixes.is_empty() {
        let _ = writeln!(out, "prefixes: []");
        return out;
    }
    let _ = writeln!(out, "prefixes:");
    for prefix in &state.prefixes {
        let _ = writeln!(out, "  - cidr: {}", prefix.cidr);
        if let Some(id) = &prefix.id {
            let _ = writeln!(out, "    id: {}", scalar(id.as_str()));
        }
        if !prefix.ignore.is_empty() {
            let ranges: Vec<String> = prefix.ignore.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "    ignore: [{}]", ranges.join(", "));
        }
        if prefix.bindings.is_empty() {
            let _ = writeln!(out, "    bindings: []");
            continue;
        }
        let _ = writeln!(out, "    bindings:");
        for b in &prefix.bindings {
            let _ = write!(
                out,
                "      - {{ cidr: {}, service: {}",
                b.cidr,
                scalar(&b.service)
            );
            if let Some(id) = &b.id {
                let _ = write!(out, ", id: {}", scalar(id.as_str()));
            }
            if let Some(state) = &b.state {
                let _ = write!(out, ", state: {}", scalar(state.as_str()));
            }
            let _ = writeln!(out, " }}");
        }
    }
    out
}

/// `text` as a YAML scalar that reads back as the same string in block and flow context:
/// plain when that is unambiguous, else double-quoted.
fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        double_quoted(text)
    }
}

/// Whether `text` can be written unquoted. Deliberately strict: letters, digits and
/// `._/:-` with inner spaces, not starting with punctuation, not read as a number, a boolean
/// or null by any YAML version.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | ':' | '-' | ' ');
    first.is_ascii_alphanumeric()
        && text.len() <= 200
        && text.chars().all(allowed)
        && !text.ends_with([' ', ':'])
        && !text.contains(": ")
        && !text.contains("  ")
        && !is_special_word(text)
        && !looks_numeric(text)
}

fn is_special_word(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
    )
}

/// Integers, floats, hex/octal/binary and base-60 numbers of YAML 1.1 and 1.2 (a superset).
fn looks_numeric(text: &str) -> bool {
    let body = text.trim_start_matches(['+', '-']);
    let lower = body.to_ascii_lowercase();
    for radix_prefix in ["0x", "0o", "0b"] {
        if let Some(rest) = lower.strip_prefix(radix_prefix)
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '_')
        {
            return true;
        }
    }
    body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | ':' | 'e' | 'E' | '+' | '-'))
}

/// A double-quoted YAML scalar; escapes what YAML does not allow raw (control characters,
/// DEL, C1 controls, surrogates' neighbours U+FFFE/U+FFFF) and the quote and backslash.
fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_where_safe_quoted_elsewhere() {
        assert_eq!(scalar("CDN"), "CDN");
        assert_eq!(scalar("Magic Transit"), "Magic Transit");
        assert_eq!(
            scalar("023e105f4ecef8ad9ca31a8372d0c353"),
            "023e105f4ecef8ad9ca31a8372d0c353"
        );
        assert_eq!(scalar("2001:db8::/48"), "2001:db8::/48");
        assert_eq!(scalar("12345"), "\"12345\"");
        assert_eq!(scalar("1e5"), "\"1e5\"");
        assert_eq!(scalar("0x1F"), "\"0x1F\"");
        assert_eq!(scalar("1:20"), "\"1:20\"");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("Null"), "\"Null\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("a, b"), "\"a, b\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("#x"), "\"#x\"");
        assert_eq!(scalar("caf\u{e9}"), "\"caf\u{e9}\"");
        assert_eq!(
            scalar("q\"\\\n\u{7f}\u{85}\u{1}"),
            "\"q\\\"\\\\\\n\\x7f\\x85\\x01\""
        );
    }
}
