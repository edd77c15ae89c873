//! Writing a [`StateFile`] back in the file's format (for `export` and emulator state dumps).
//!
//! The output is written by hand rather than through a serializer so that it reads like a file
//! a person wrote: block style for prefixes, one flow mapping per binding, a quoted string only
//! where a plain one would read differently. Reading the output back gives the same state.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{DesiredPrefix, StateFile};

/// The first line of a written file: what the file is, and where its JSON Schema is for an
/// editor. No `$schema` address is written: the schema has no published address, and a
/// relative path would only be right from one directory.
pub const FILE_HEADER: &str = "# svcbind desired-state file (version 1); JSON Schema: \
schema/svcbind.schema.json in the svcbind repository";

/// Comments to write into a file (`export`'s header, the prefix ids, what is odd about a
/// binding). Each is one line of text; line breaks and control characters are replaced, so a
/// comment can never end early and turn into YAML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comments {
    /// Lines after the [`FILE_HEADER`].
    pub header: Vec<String>,
    /// Lines above prefix `i`.
    pub above_prefix: BTreeMap<usize, Vec<String>>,
    /// At the end of the `- cidr:` line of prefix `i`.
    pub prefix: BTreeMap<usize, String>,
    /// Lines above binding `j` of prefix `i`.
    pub above_binding: BTreeMap<(usize, usize), Vec<String>>,
    /// At the end of the line of binding `j` of prefix `i`.
    pub after_binding: BTreeMap<(usize, usize), String>,
}

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
    to_yaml_with(state, &Comments::default())
}

/// [`to_yaml`] with `comments` in their places. Comments change nothing of what the file
/// says: [`super::parse`] of the result gives `state` back all the same.
pub fn to_yaml_with(state: &StateFile, comments: &Comments) -> String {
    let mut out = String::with_capacity(64 + state.binding_count() * 96);
    // Writing to a String cannot fail: the results of `writeln!` below are ignored.
    let _ = writeln!(out, "{FILE_HEADER}");
    for line in &comments.header {
        let _ = writeln!(out, "#{}", comment(line));
    }
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
    for (i, prefix) in state.prefixes.iter().enumerate() {
        write_prefix(&mut out, prefix, i, comments);
    }
    out
}

/// One entry of `prefixes:` as the file writes it (the `  - cidr:` line and what follows),
/// for showing a prefix on its own, as `drift` does.
pub fn prefix_to_yaml(prefix: &DesiredPrefix) -> String {
    let mut out = String::with_capacity(64 + prefix.bindings.len() * 96);
    write_prefix(&mut out, prefix, 0, &Comments::default());
    out
}

fn write_prefix(out: &mut String, prefix: &DesiredPrefix, i: usize, comments: &Comments) {
    for line in comments.above_prefix.get(&i).into_iter().flatten() {
        let _ = writeln!(out, "  #{}", comment(line));
    }
    let _ = write!(out, "  - cidr: {}", prefix.cidr);
    end_line(out, comments.prefix.get(&i));
    if let Some(id) = &prefix.id {
        let _ = writeln!(out, "    id: {}", scalar(id.as_str()));
    }
    if !prefix.ignore.is_empty() {
        let ranges: Vec<String> = prefix.ignore.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "    ignore: [{}]", ranges.join(", "));
    }
    if prefix.bindings.is_empty() {
        let _ = writeln!(out, "    bindings: []");
        return;
    }
    let _ = writeln!(out, "    bindings:");
    for (j, b) in prefix.bindings.iter().enumerate() {
        for line in comments.above_binding.get(&(i, j)).into_iter().flatten() {
            let _ = writeln!(out, "      #{}", comment(line));
        }
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
        out.push_str(" }");
        end_line(out, comments.after_binding.get(&(i, j)));
    }
}

/// Ends a line, with a trailing comment when there is one.
fn end_line(out: &mut String, trailing: Option<&String>) {
    if let Some(text) = trailing {
        let _ = write!(out, "  #{}", comment(text));
    }
    out.push('\n');
}

/// ` text` for after a `#`: one line, without control characters (a line break would end the
/// comment and let the rest be read as YAML).
fn comment(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim_end();
    if clean.is_empty() {
        String::new()
    } else {
        format!(" {clean}")
    }
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
    fn comments_go_in_their_places_and_change_nothing() {
        let source = "version: 1\naccount_id: acc\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - { cidr: 192.0.2.0/24, service: CDN }\n      - { cidr: 192.0.2.16/29, service: Spectrum }\n  - cidr: 2001:db8::/48\n    bindings: []\n";
        let state = crate::config::parse(source, "f.yaml", crate::config::Mode::Desired)
            .unwrap()
            .state;
        let comments = Comments {
            header: vec!["Exported from account acc.".into()],
            above_prefix: [(1, vec!["second".to_owned()])].into(),
            prefix: [(1, "prefix p2".to_owned())].into(),
            above_binding: [((0, 1), vec!["odd:\nversion: 2".to_owned()])].into(),
            after_binding: [((0, 0), "provisioning".to_owned())].into(),
        };
        let text = to_yaml_with(&state, &comments);
        assert_eq!(
            text,
            format!(
                "{FILE_HEADER}\n# Exported from account acc.\nversion: 1\naccount_id: acc\nprefixes:\n  - cidr: 192.0.2.0/24\n    bindings:\n      - {{ cidr: 192.0.2.0/24, service: CDN }}  # provisioning\n      # odd: version: 2\n      - {{ cidr: 192.0.2.16/29, service: Spectrum }}\n  # second\n  - cidr: 2001:db8::/48  # prefix p2\n    bindings: []\n"
            )
        );
        let back = crate::config::parse(&text, "f.yaml", crate::config::Mode::Desired)
            .unwrap()
            .state;
        let strip = |s: &StateFile| {
            let mut s = s.clone();
            for p in &mut s.prefixes {
                p.location = Default::default();
                for b in &mut p.bindings {
                    b.location = Default::default();
                }
            }
            s
        };
        assert_eq!(strip(&back), strip(&state));
        assert_eq!(
            prefix_to_yaml(&state.prefixes[1]),
            "  - cidr: 2001:db8::/48\n    bindings: []\n"
        );
    }

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
