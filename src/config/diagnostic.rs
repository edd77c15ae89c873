//! Located problems in a file, and their two renderings: for people (with a source snippet)
//! and for GitHub Actions (workflow commands that annotate the pull request).
//!
//! This module owns the wording conventions shared by every diagnostic (values quoted and
//! clipped, "did you mean" suggestions) but none of the rules: `validate` and the other stages
//! decide what is wrong. Rendering writes to any [`std::io::Write`] and prints nothing itself.

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

use crate::model::Location;

/// How bad a problem is: errors stop the run, warnings are shown and let it go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// `error` or `warning`, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }

    fn style(self) -> Style {
        let color = match self {
            Self::Error => AnsiColor::Red,
            Self::Warning => AnsiColor::Yellow,
        };
        Style::new().bold().fg_color(Some(color.into()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem at one place of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file name as the user gave it.
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u32,
    /// 1-based, in characters; 0 when unknown.
    pub column: u32,
    /// Lowercase, with the offending value quoted.
    pub message: String,
    /// The likely fix, when there is one.
    pub hint: Option<String>,
    /// The text of line `line`, for the snippet (without its line break).
    pub source_line: Option<String>,
    /// A guess made offline that the account settles (a service name none of the documented
    /// ones): `validate` shows it; a command that reads the account leaves it to that check,
    /// which accepts the name or reports it as an error.
    pub settled_by_account: bool,
}

impl Diagnostic {
    /// The place of the problem within its file.
    pub fn location(&self) -> Location {
        Location {
            file: 0,
            line: self.line,
            column: self.column,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `FILE:LINE:COL: error: message`, on one line, without snippet or hint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, self)?;
        write!(
            f,
            " {}: {}",
            self.severity,
            crate::sanitize::text(&self.message)
        )
    }
}

fn write_place(f: &mut impl fmt::Write, d: &Diagnostic) -> fmt::Result {
    let file = crate::sanitize::text(&d.file);
    match (d.line, d.column) {
        (0, _) => write!(f, "{file}:"),
        (line, 0) => write!(f, "{file}:{line}:"),
        (line, column) => write!(f, "{file}:{line}:{column}:"),
    }
}

/// All the problems found in a run, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Puts the diagnostics in file order (line, then column); equal places keep their order.
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// `2 errors and 1 warning`, `1 error`, `no problems`.
    pub fn summary(&self) -> String {
        fn count(n: usize, what: &str) -> String {
            format!("{n} {what}{}", if n == 1 { "" } else { "s" })
        }
        match (self.error_count(), self.warning_count()) {
            (0, 0) => "no problems".to_owned(),
            (e, 0) => count(e, "error"),
            (0, w) => count(w, "warning"),
            (e, w) => format!("{} and {}", count(e, "error"), count(w, "warning")),
        }
    }

    /// The diagnostics a command that reads the account shows: all but those the account
    /// settles ([`Diagnostic::settled_by_account`]).
    pub fn unsettled(&self) -> Diagnostics {
        Self(
            self.0
                .iter()
                .filter(|d| !d.settled_by_account)
                .cloned()
                .collect(),
        )
    }

    /// The diagnostics shown of each file: its first [`SHOWN_PER_FILE`], then, when there are
    /// more, the file and how many of each severity are left out.
    fn shown(&self) -> Vec<Shown<'_>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.0.len() {
            let file = &self.0[i].file;
            let end = i + self.0[i..].iter().take_while(|d| d.file == *file).count();
            let group = &self.0[i..end];
            out.extend(group.iter().take(SHOWN_PER_FILE).map(Shown::One));
            if let Some(rest) = group.get(SHOWN_PER_FILE..) {
                let errors = rest.iter().filter(|d| d.is_error()).count();
                out.push(Shown::More {
                    file,
                    errors,
                    warnings: rest.len() - errors,
                });
            }
            i = end;
        }
        out
    }

    /// Writes each diagnostic for a person: the `FILE:LINE:COL: error: message` line, the
    /// source line with a caret under the column, and `  = hint: …`. Colour only if `color`.
    /// At most [`SHOWN_PER_FILE`] of a file are written, then a line that counts the rest: the
    /// first problems are the ones to fix, and a file with thousands of them would otherwise
    /// print megabytes. The count, the exit code and any document still hold them all.
    pub fn render(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        for shown in self.shown() {
            match shown {
                Shown::One(d) => render_one(out, d, color)?,
                Shown::More {
                    file,
                    errors,
                    warnings,
                } => {
                    let bold = Style::new().bold();
                    writeln!(
                        out,
                        "{} note: {} not shown; fix the ones above first",
                        paint(color, bold, &format!("{}:", crate::sanitize::text(file))),
                        more_text(errors, warnings),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Writes each diagnostic as a GitHub Actions workflow command
    /// (`::error file=F,line=L,col=C::message`), which annotates the pull request; as
    /// [`Diagnostics::render`], at most [`SHOWN_PER_FILE`] of a file, then a `::notice` that
    /// counts the rest.
    pub fn render_github(&self, out: &mut impl Write) -> io::Result<()> {
        for shown in self.shown() {
            let d = match shown {
                Shown::One(d) => d,
                Shown::More {
                    file,
                    errors,
                    warnings,
                } => {
                    writeln!(
                        out,
                        "::notice file={}::{}",
                        escape_property(file),
                        escape_data(&format!(
                            "{} not annotated; fix the ones above first",
                            more_text(errors, warnings)
                        ))
                    )?;
                    continue;
                }
            };
            let mut props = format!("file={}", escape_property(&d.file));
            if d.line > 0 {
                props.push_str(&format!(",line={}", d.line));
                if d.column > 0 {
                    props.push_str(&format!(",col={}", d.column));
                }
            }
            let mut data = d.message.clone();
            if let Some(hint) = &d.hint {
                data.push_str("\nhint: ");
                data.push_str(hint);
            }
            writeln!(out, "::{} {props}::{}", d.severity, escape_data(&data))?;
        }
        Ok(())
    }
}

/// The most diagnostics of one file that are printed (all of them are counted).
pub const SHOWN_PER_FILE: usize = 100;

/// A diagnostic to print, or the count of those of a file left out.
enum Shown<'a> {
    One(&'a Diagnostic),
    More {
        file: &'a str,
        errors: usize,
        warnings: usize,
    },
}

/// `3 more errors and 1 more warning`.
fn more_text(errors: usize, warnings: usize) -> String {
    let count = |n: usize, what: &str| format!("{n} more {what}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (e, 0) => count(e, "error"),
        (0, w) => count(w, "warning"),
        (e, w) => format!("{} and {}", count(e, "error"), count(w, "warning")),
    }
}

impl fmt::Display for Diagnostics {
    /// The summary: `2 errors and 1 warning`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(v: Vec<Diagnostic>) -> Self {
        Self(v)
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The widest part of a long source line shown in a snippet, in characters.
const SNIPPET_WIDTH: usize = 120;

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_owned()
    }
}

fn render_one(out: &mut impl Write, d: &Diagnostic, color: bool) -> io::Result<()> {
    let mut place = String::new();
    // Writing to a String cannot fail.
    let _ = write_place(&mut place, d);
    let bold = Style::new().bold();
    let gutter_style = Style::new().fg_color(Some(AnsiColor::Blue.into())).bold();
    writeln!(
        out,
        "{} {}: {}",
        paint(color, bold, &place),
        paint(color, d.severity.style(), d.severity.as_str()),
        paint(color, bold, &crate::sanitize::text(&d.message)),
    )?;
    let width = d.line.to_string().len();
    let gutter = paint(color, gutter_style, &format!("{:width$} |", ""));
    if let (Some(line), true) = (&d.source_line, d.line > 0) {
        let (shown, caret_at, caret_len) = snippet(line, d.column as usize);
        writeln!(out, "{gutter}")?;
        let number = paint(color, gutter_style, &format!("{:>width$} |", d.line));
        if shown.is_empty() {
            writeln!(out, "{number}")?;
        } else {
            writeln!(out, "{number} {shown}")?;
        }
        if d.column > 0 {
            let pad: String = " ".repeat(caret_at);
            let carets = paint(color, d.severity.style(), &"^".repeat(caret_len));
            writeln!(out, "{gutter} {pad}{carets}")?;
        }
    }
    if let Some(hint) = &d.hint {
        let label = paint(color, bold, "= hint:");
        writeln!(out, "{:width$} {label} {}", "", crate::sanitize::text(hint))?;
    }
    Ok(())
}

/// The part of `line` to show, the caret's offset in it and the caret's length, all in
/// characters. Tabs and control characters become spaces, and invisible format characters
/// (bidi controls, zero-width ones: [`crate::sanitize::is_hidden`]) a visible `�`, one
/// character for one so the caret stays aligned.
fn snippet(line: &str, column: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            c if crate::sanitize::is_hidden(c) => '\u{FFFD}',
            c => c,
        })
        .collect();
    let col = column.saturating_sub(1).min(chars.len());
    let len = token_len(&chars[col..]).max(1);
    let (start, prefix) = if chars.len() > SNIPPET_WIDTH && col > SNIPPET_WIDTH / 2 {
        (col - SNIPPET_WIDTH / 2, "…")
    } else {
        (0, "")
    };
    let end = (start + SNIPPET_WIDTH).min(chars.len());
    let suffix = if end < chars.len() { "…" } else { "" };
    let shown: String = prefix
        .chars()
        .chain(chars[start..end].iter().copied())
        .chain(suffix.chars())
        .collect::<String>()
        .trim_end()
        .to_owned();
    let caret_at = col - start + prefix.chars().count();
    let caret_len = len.min(end.saturating_sub(col).max(1));
    (shown, caret_at, caret_len)
}

/// The length of the YAML scalar (or key) starting at `rest`: one character for a flow
/// collection's bracket, a quoted string up to its closing quote, else up to a `: `, `,`, `]`, `}`, ` #` or the end of the line.
fn token_len(rest: &[char]) -> usize {
    match rest.first() {
        Some('{' | '[') => 1,
        Some(&q @ ('"' | '\'')) => {
            let mut i = 1;
            while i < rest.len() {
                if rest[i] == '\\' && q == '"' {
                    i += 2;
                    continue;
                }
                if rest[i] == q {
                    return i + 1;
                }
                i += 1;
            }
            rest.len()
        }
        _ => {
            let mut end = 0;
            for (i, &c) in rest.iter().enumerate() {
                let next = rest.get(i + 1).copied();
                let stop = matches!(c, ',' | ']' | '}')
                    || (c == ':' && matches!(next, None | Some(' ')))
                    || (c == ' ' && next == Some('#'));
                if stop {
                    break;
                }
                end = i + 1;
            }
            rest[..end]
                .iter()
                .rposition(|c| *c != ' ')
                .map_or(0, |p| p + 1)
        }
    }
}

/// Escapes workflow-command data: `%`, CR and LF as GitHub requires; other control
/// characters as `\u{…}` so they never reach the log.
fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a workflow-command property value: as data, plus `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The longest a value is quoted in a message, in characters.
const MAX_QUOTED: usize = 64;

/// A value from the file, made safe and short enough to quote in a message.
pub fn clip(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_QUOTED)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if value.chars().count() > MAX_QUOTED {
        out.push('…');
    }
    out
}

/// `did you mean `bindings`?` when one of `candidates` is close to `word` (a typo away).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{}`?", clip(c)))
}

/// The candidate closest to `word`, if it is within a typo or two (case is ignored).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&word_lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| *distance <= (c.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// A file's name and text, to quote line N of it in a diagnostic.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceMap {
    pub file: String,
    pub source: String,
    /// Byte offset where each line starts (line N at index N - 1). Found on the first
    /// diagnostic: a valid file, the common case, never needs them.
    starts: OnceLock<Vec<usize>>,
}

impl SourceMap {
    pub fn new(file: &str, source: &str) -> Self {
        Self {
            file: file.to_owned(),
            source: source.to_owned(),
            starts: OnceLock::new(),
        }
    }

    fn starts(&self) -> &[usize] {
        self.starts.get_or_init(|| {
            // YAML breaks lines at LF, CRLF and a lone CR.
            let bytes = self.source.as_bytes();
            let mut starts = vec![0];
            for (i, &byte) in bytes.iter().enumerate() {
                match byte {
                    b'\n' => starts.push(i + 1),
                    b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                    _ => {}
                }
            }
            starts
        })
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let starts = self.starts();
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).copied().unwrap_or(self.source.len());
        Some(self.source[start..end].trim_end_matches(['\n', '\r']))
    }

    /// A diagnostic of this file at `location`, with the snippet's source line filled in.
    pub fn diagnostic(
        &self,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            file: self.file.clone(),
            line: location.line,
            column: location.column,
            message: message.into(),
            hint,
            source_line: self.line(location.line).map(str::to_owned),
            settled_by_account: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(severity: Severity, line: u32, column: u32, source_line: &str) -> Diagnostic {
        Diagnostic {
            severity,
            file: "svcbind.yaml".into(),
            line,
            column,
            message: "host bits set in `192.0.2.1/24`".into(),
            hint: Some("did you mean `192.0.2.0/24`?".into()),
            source_line: Some(source_line.into()),
            settled_by_account: false,
        }
    }

    fn rendered(d: Diagnostics, color: bool) -> String {
        let mut out = Vec::new();
        d.render(&mut out, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn render_shows_place_snippet_caret_and_hint() {
        let d = Diagnostics::from(vec![diag(
            Severity::Error,
            7,
            15,
            "      - cidr: 192.0.2.1/24   # comment",
        )]);
        assert_eq!(
            rendered(d, false),
            "svcbind.yaml:7:15: error: host bits set in `192.0.2.1/24`\n  |\n7 |       - cidr: 192.0.2.1/24   # comment\n  |               ^^^^^^^^^^^^\n  = hint: did you mean `192.0.2.0/24`?\n"
        );
    }

    #[test]
    fn render_underlines_flow_values_and_quoted_strings() {
        let d = Diagnostics::from(vec![
            diag(
                Severity::Warning,
                12,
                40,
                "      - { cidr: 192.0.2.0/24, service: CDN }",
            ),
            diag(Severity::Error, 3, 11, "  - cidr: \"a \\\" b\" # x"),
        ]);
        let text = rendered(d, false);
        assert!(text.contains("12:40: warning:"), "{text}");
        assert!(
            text.contains("   |                                        ^^^\n"),
            "{text}"
        );
        assert!(text.contains("  |           ^^^^^^^^\n"), "{text}");
    }

    #[test]
    fn render_colours_only_when_asked() {
        let d = || Diagnostics::from(vec![diag(Severity::Error, 1, 1, "x: y")]);
        assert!(!rendered(d(), false).contains('\x1b'));
        let coloured = rendered(d(), true);
        assert!(coloured.contains("\x1b["), "{coloured:?}");
        assert!(coloured.contains("error"));
    }

    #[test]
    fn render_handles_tabs_long_lines_and_no_location() {
        let long = format!("{}target{}", "a".repeat(300), "b".repeat(300));
        let d = Diagnostics::from(vec![
            diag(Severity::Error, 2, 301, &long),
            Diagnostic {
                line: 0,
                column: 0,
                source_line: None,
                hint: None,
                ..diag(Severity::Warning, 0, 0, "")
            },
        ]);
        let text = rendered(d, false);
        let lines: Vec<&str> = text.lines().collect();
        let code = lines[2];
        let caret = lines[3];
        let at = caret.find('^').unwrap();
        assert!(code.chars().count() < 140, "{code}");
        assert_eq!(
            &code[code.char_indices().nth(at).unwrap().0..][..6],
            "target"
        );
        assert!(text.contains("svcbind.yaml: warning: host bits"), "{text}");

        let empty = Diagnostics::from(vec![diag(Severity::Error, 3, 1, "")]);
        assert!(rendered(empty, false).contains("\n3 |\n  | ^\n"));
        let (_, _, len) = snippet("  - { cidr: x }", 5);
        assert_eq!(len, 1);
        let (shown, at, len) = snippet("a:\tb", 4);
        assert_eq!((shown.as_str(), at, len), ("a: b", 3, 1));
        // A bidi override in the file shows, instead of turning the line around.
        let (shown, at, _) = snippet("service: \u{202E}NDC x: 1", 16);
        assert_eq!((shown.as_str(), at), ("service: \u{FFFD}NDC x: 1", 15));
    }

    #[test]
    fn github_commands_escape_data_and_properties() {
        let mut d = diag(Severity::Warning, 3, 5, "");
        d.file = "dir,a:b/f%.yaml".into();
        d.message = "50% of\r\nit\u{1b}".into();
        d.hint = None;
        let mut out = Vec::new();
        Diagnostics::from(vec![d, diag(Severity::Error, 1, 2, "")])
            .render_github(&mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::warning file=dir%2Ca%3Ab/f%25.yaml,line=3,col=5::50%25 of%0D%0Ait\\u{1b}\n\
             ::error file=svcbind.yaml,line=1,col=2::host bits set in `192.0.2.1/24`%0Ahint: did you mean `192.0.2.0/24`?\n"
        );
    }

    #[test]
    fn counts_and_summary() {
        let mut d = Diagnostics::new();
        assert_eq!(d.summary(), "no problems");
        d.push(diag(Severity::Warning, 9, 1, ""));
        assert!(!d.has_errors());
        assert_eq!(d.summary(), "1 warning");
        d.push(diag(Severity::Error, 2, 1, ""));
        d.push(diag(Severity::Error, 1, 1, ""));
        assert_eq!((d.error_count(), d.warning_count(), d.len()), (2, 1, 3));
        assert_eq!(d.to_string(), "2 errors and 1 warning");
        d.sort();
        let lines: Vec<u32> = d.iter().map(|d| d.line).collect();
        assert_eq!(lines, [1, 2, 9]);
    }

    #[test]
    fn suggestions_only_when_close() {
        let keys = ["cidr", "id", "ignore", "bindings"];
        assert_eq!(
            did_you_mean("bindngs", keys).as_deref(),
            Some("did you mean `bindings`?")
        );
        assert_eq!(
            did_you_mean("Bindings", keys).as_deref(),
            Some("did you mean `bindings`?")
        );
        assert_eq!(
            did_you_mean("ignroe", keys).as_deref(),
            Some("did you mean `ignore`?")
        );
        assert_eq!(did_you_mean("services", keys), None);
        assert_eq!(did_you_mean("x", keys), None);
        assert_eq!(
            closest("CDNN", ["CDN", "Spectrum", "Magic Transit"]),
            Some("CDN")
        );
    }

    #[test]
    fn clip_escapes_and_shortens() {
        assert_eq!(clip("a\u{1b}b"), "a\\u{1b}b");
        assert_eq!(clip(&"x".repeat(100)).chars().count(), 65);
    }

    #[test]
    fn source_map_finds_lines_across_line_endings() {
        let map = SourceMap::new("f", "a\r\nb\rc\n\nd");
        assert_eq!(map.line(1), Some("a"));
        assert_eq!(map.line(2), Some("b"));
        assert_eq!(map.line(3), Some("c"));
        assert_eq!(map.line(4), Some(""));
        assert_eq!(map.line(5), Some("d"));
        assert_eq!(map.line(6), None);
        assert_eq!(map.line(0), None);
        let d = map.diagnostic(
            Severity::Error,
            Location {
                file: 0,
                line: 5,
                column: 1,
            },
            "m",
            None,
        );
        assert_eq!(d.source_line.as_deref(), Some("d"));
        assert_eq!(d.to_string(), "f:5:1: error: m");
    }
}
