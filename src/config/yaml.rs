//! The YAML boundary: the only place that names `serde_saphyr`.
//!
//! It owns the parser settings (the budgets that keep a hostile file from exhausting memory or
//! the stack), turns the parser's errors into a message, a hint and a location, and finds
//! where a key or a value is written ([`locate`]) for the problems found after the read, such
//! as an unknown key. It knows nothing of the file's rules: [`super::validate`] checks the
//! meaning of what was read. Swapping the YAML crate means rewriting this file and nothing else.

use serde::Deserialize;
use serde_saphyr::{Budget, Error, MessageFormatter, Options, UserMessageFormatter};

use crate::model::Location;

/// A value with the place it was written (line and column of the value, 1-based).
pub(crate) use serde_saphyr::Spanned;

/// The largest file read, in bytes. Ten thousand bindings take about 600 KiB.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// The deepest nesting of lists and mappings accepted. The format needs five levels.
const MAX_DEPTH: usize = 32;

/// A problem that stopped the parser, before any rule of the format could be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub hint: Option<String>,
    pub location: Location,
}

/// The parser settings: duplicate keys are errors (the default), and budgets cap depth,
/// nodes and events well above what a real file needs.
fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_nodes = 2_000_000;
    budget.max_events = 4_000_000;
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.max_total_scalar_bytes = MAX_FILE_BYTES;
    let mut options = Options::default();
    options.budget = Some(budget);
    // Aliases may repeat a part of the file, not blow it up.
    options.alias_limits.max_total_replayed_events = 100_000;
    options.alias_limits.max_replay_stack_depth = 16;
    options.with_snippet = false;
    options
}

/// Deserializes one YAML document into `T`, or describes the first problem met.
///
/// The path of keys to the problem (`prefixes[0].cidr`) is tracked only when there is a
/// problem: the document is then read a second time, which keeps the common case fast.
pub(crate) fn from_str<T: for<'de> Deserialize<'de>>(source: &str) -> Result<T, SyntaxError> {
    let first = serde_saphyr::from_str_with_options(source, options());
    first.map_err(|err| {
        // The second read meets the same problem; only the path it leaves in `track` is used.
        let mut track = serde_path_to_error::Track::new();
        let _second: Result<T, Error> =
            serde_saphyr::with_deserializer_from_str_with_options(source, options(), |de| {
                T::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
            });
        describe(&err, &path_text(&track.path()))
    })
}

/// Whether `source` holds no YAML document at all (nothing but blank lines and comments):
/// the reader takes such a file for an empty mapping. Reads up to the first node only.
pub(crate) fn is_empty(source: &str) -> bool {
    use serde_saphyr::granit_parser::{Event, Parser};
    for item in Parser::new_from_str(source) {
        match item {
            Ok((Event::StreamEnd, _)) => return true,
            Ok((
                Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_),
                _,
            ))
            | Err(_) => return false,
            Ok(_) => {}
        }
    }
    true
}

/// One step from a mapping or list to a value in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Key(&'static str),
    Index(usize),
}

/// What [`locate`] looks for: the key `key` of the mapping at `path`, or, without `key`, the
/// value at `path` itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    pub path: Vec<Step>,
    pub key: Option<String>,
}

/// Where each query is in `source`, a document that [`from_str`] read without error.
///
/// A key that is not written at its path (it came into the mapping by a `<<` merge) is
/// located at its mapping, and a value reached through an alias at the alias; what cannot be
/// found at all gets the whole-file location. One pass over the parser's events, without
/// building anything: the callers use it only when a file has a key to point at.
pub(crate) fn locate(source: &str, queries: &[Query]) -> Vec<Location> {
    use serde_saphyr::granit_parser::{Event, Parser};

    /// How a node is reached from its parent; `Opaque` for a key that is not a plain scalar
    /// and everything inside such a key, which no query names.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Here {
        Key(String),
        Index(usize),
        Opaque,
    }
    enum Frame {
        Seq {
            next: usize,
        },
        Map {
            awaiting_key: bool,
            value_step: Here,
        },
    }
    fn matches(path: &[Here], query: &[Step]) -> bool {
        path.len() == query.len()
            && path
                .iter()
                .zip(query)
                .all(|(here, step)| match (here, step) {
                    (Here::Key(a), Step::Key(b)) => a == b,
                    (Here::Index(a), Step::Index(b)) => a == b,
                    _ => false,
                })
    }

    let mut keys: Vec<Option<Location>> = vec![None; queries.len()];
    let mut nodes: Vec<Option<Location>> = vec![None; queries.len()];
    let mut stack: Vec<Frame> = Vec::new();
    // The steps to the collection on top of `stack` (the root collection has none).
    let mut path: Vec<Here> = Vec::new();
    for item in Parser::new_from_str(source) {
        let Ok((event, span)) = item else { break };
        let at = Location {
            file: 0,
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
            column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        };
        let (is_collection, scalar) = match &event {
            Event::MappingStart(..) | Event::SequenceStart(..) => (true, None),
            Event::Scalar(text, ..) => (false, Some(text.as_ref())),
            Event::Alias(_) => (false, None),
            Event::SequenceEnd | Event::MappingEnd => {
                if stack.pop().is_some() && !stack.is_empty() {
                    path.pop();
                }
                complete(&mut stack);
                continue;
            }
            Event::DocumentEnd => break,
            _ => continue,
        };
        // Where the node sits: a key of the mapping on top, or a value reached by `step`.
        let step = match stack.last_mut() {
            None => None,
            Some(Frame::Seq { next }) => Some(Here::Index(*next)),
            Some(Frame::Map {
                awaiting_key: true,
                value_step,
            }) => {
                *value_step = scalar.map_or(Here::Opaque, |k| Here::Key(k.to_owned()));
                if let Some(key) = scalar {
                    for (query, slot) in queries.iter().zip(&mut keys) {
                        if slot.is_none()
                            && query.key.as_deref() == Some(key)
                            && matches(&path, &query.path)
                        {
                            *slot = Some(at);
                        }
                    }
                }
                Some(Here::Opaque)
            }
            Some(Frame::Map { value_step, .. }) => {
                Some(std::mem::replace(value_step, Here::Opaque))
            }
        };
        if step.as_ref() != Some(&Here::Opaque) {
            let depth = path.len();
            path.extend(step.clone());
            for (query, slot) in queries.iter().zip(&mut nodes) {
                if slot.is_none() && matches(&path, &query.path) {
                    *slot = Some(at);
                }
            }
            path.truncate(depth);
        }
        if is_collection {
            if !stack.is_empty() {
                path.push(step.unwrap_or(Here::Opaque));
            }
            stack.push(match event {
                Event::SequenceStart(..) => Frame::Seq { next: 0 },
                _ => Frame::Map {
                    awaiting_key: true,
                    value_step: Here::Opaque,
                },
            });
        } else {
            complete(&mut stack);
        }
    }

    /// A node ended: its parent moves on to the next item, key or value.
    fn complete(stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Seq { next }) => *next += 1,
            Some(Frame::Map { awaiting_key, .. }) => *awaiting_key = !*awaiting_key,
            None => {}
        }
    }

    keys.into_iter()
        .zip(nodes)
        .map(|(key, node)| key.or(node).unwrap_or_default())
        .collect()
}

/// Reads any YAML document as JSON (for checking files against the JSON Schema).
#[cfg(test)]
pub(crate) fn to_json(source: &str) -> Result<serde_json::Value, SyntaxError> {
    from_str(source)
}

/// `prefixes[0].cidr`, without the wrapper fields of spanned values and unknown segments.
fn path_text(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key == "value" || key == "referenced" || key == "defined" {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

fn location_of(err: &Error) -> Location {
    err.location()
        .map(|l| Location {
            file: 0,
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        })
        .unwrap_or_default()
}

/// Where the error happened, as ` in `prefixes[0]``, or nothing at the top level.
fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" in `{path}`")
    }
}

/// The last key of a path: `cidr` for `prefixes[0].cidr`.
fn last_key(path: &str) -> &str {
    let tail = path.rsplit('.').next().unwrap_or(path);
    tail.split('[').next().unwrap_or(tail)
}

/// What kind of value a key expects, in words, when the format knows it.
fn expected_kind(path: &str) -> Option<&'static str> {
    Some(match last_key(path) {
        "prefixes" | "bindings" | "ignore" | "protect" => "a list",
        "safety" | "services" => "a mapping",
        "max_deletes" => "a whole number from 0 to 4294967295",
        "max_delete_percent" => "a whole number from 0 to 100",
        "cidr" => "a CIDR such as 192.0.2.0/24",
        "service" => "a service name or id",
        "account_id" | "id" => "an id of letters and digits",
        "state" => "a provisioning state such as `active`",
        _ if path.starts_with("services.") => "a service id",
        _ => return None,
    })
}

fn describe(err: &Error, path: &str) -> SyntaxError {
    let err = err.without_snippet();
    // An empty file has no place to point at: the diagnostic is about the whole file.
    let location = match err {
        Error::Eof { .. } => Location::default(),
        _ => location_of(err),
    };
    let (message, hint) = match err {
        Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let message = format!("unknown key `{}`", super::diagnostic::clip(field));
            let hint = super::diagnostic::did_you_mean(field, expected.iter().copied())
                .or_else(|| Some(format!("expected one of {}", quoted_list(expected))));
            (message, hint)
        }
        Error::SerdeMissingField { field, .. } => {
            let hint = match *field {
                "version" => Some("start the file with `version: 1`".to_owned()),
                "bindings" => {
                    Some("write `bindings: []` if the prefix shall have no bindings".to_owned())
                }
                _ => None,
            };
            (format!("missing key `{field}`{}", at(path)), hint)
        }
        Error::DuplicateMappingKey { key, .. } => {
            let message = match key {
                Some(key) => format!("duplicate key `{}`", super::diagnostic::clip(key)),
                None => "duplicate key".to_owned(),
            };
            (
                message,
                Some("a key may appear once per mapping".to_owned()),
            )
        }
        Error::NullIntoString { .. } => (
            format!("`{}` has no value", last_key(path)),
            expected_kind(path).map(|k| format!("expected {k}")),
        ),
        Error::Eof { .. } => (
            "the file is empty".to_owned(),
            Some("start the file with `version: 1`".to_owned()),
        ),
        Error::MultipleDocuments { .. } => (
            "more than one YAML document in the file".to_owned(),
            Some("remove the `---` line: the file holds one document".to_owned()),
        ),
        Error::Budget { .. } => (
            format!("the file is too large or too deeply nested{}", at(path)),
            None,
        ),
        Error::Unexpected { .. }
        | Error::SerdeInvalidType { .. }
        | Error::SerdeInvalidValue { .. }
        | Error::InvalidScalar { .. }
        | Error::SerdeInvalidLength { .. }
            if !path.is_empty() =>
        {
            let expected = expected_kind(path).unwrap_or("another kind of value");
            (format!("`{path}` must be {expected}"), None)
        }
        Error::Unexpected { .. } | Error::SerdeInvalidType { .. } => (
            "the file must be a mapping of keys such as `version` and `prefixes`".to_owned(),
            None,
        ),
        other => {
            let text = UserMessageFormatter.format_message(other);
            (format!("{}{}", lowercase_first(&text), at(path)), None)
        }
    };
    SyntaxError {
        message,
        hint,
        location,
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if !chars.as_str().starts_with(|c: char| c.is_uppercase()) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[allow(dead_code)]
        name: Spanned<String>,
        #[serde(default)]
        #[allow(dead_code)]
        ignore: Vec<String>,
    }

    fn err(source: &str) -> SyntaxError {
        from_str::<Doc>(source).unwrap_err()
    }

    #[test]
    fn spanned_values_carry_line_and_column() {
        let doc: Doc = from_str("# c\nname:   hello\n").unwrap();
        assert_eq!(doc.name.value, "hello");
        assert_eq!(doc.name.referenced.line(), 2);
        assert_eq!(doc.name.referenced.column(), 9);
    }

    #[test]
    fn unknown_key_points_at_the_key_and_suggests() {
        let e = err("name: x\nignroe: []\n");
        assert_eq!(e.message, "unknown key `ignroe`");
        assert_eq!(e.hint.as_deref(), Some("did you mean `ignore`?"));
        assert_eq!(
            e.location,
            Location {
                file: 0,
                line: 2,
                column: 1
            }
        );
        let e = err("name: x\nzzzzzz: []\n");
        assert_eq!(e.hint.as_deref(), Some("expected one of `name`, `ignore`"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = err("name: x\nname: y\n");
        assert_eq!(e.message, "duplicate key `name`");
        assert_eq!(
            e.location,
            Location {
                file: 0,
                line: 2,
                column: 1
            }
        );
    }

    #[test]
    fn type_errors_name_the_key() {
        let e = err("name: x\nignore: {a: 1}\n");
        assert_eq!(e.message, "`ignore` must be a list");
        assert_eq!(e.location.line, 2);
        let e = err("name: [1]\n");
        assert_eq!(e.message, "`name` must be another kind of value");
    }

    #[test]
    fn syntax_errors_and_empty_files_are_located() {
        let e = err("name: x\nignore: [x\n");
        assert_eq!(e.location.line, 2);
        assert!(e.message.contains("bracket"), "{}", e.message);
        assert_eq!(err("").message, "the file is empty");
        assert_eq!(
            err("name: x\n---\nname: y\n").message,
            "more than one YAML document in the file"
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = format!(
            "name: x\nignore: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(from_str::<Doc>(&deep).is_err());
        let mut block = String::from("name: x\nignore:\n");
        for depth in 0..2_000 {
            block.push_str(&" ".repeat(depth));
            block.push_str("- \n");
        }
        assert!(from_str::<Doc>(&block).is_err());
        assert!(from_str::<serde_json::Value>(&deep).is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(from_str::<serde_json::Value>(&bomb).is_err());
    }

    fn query(path: &[Step], key: Option<&str>) -> Query {
        Query {
            path: path.to_vec(),
            key: key.map(str::to_owned),
        }
    }

    fn at(line: u32, column: u32) -> Location {
        Location {
            file: 0,
            line,
            column,
        }
    }

    #[test]
    fn locate_finds_keys_and_values_in_block_and_flow_style() {
        let source = "\
# comment
top: 1
list:
  - a: 1
    b: {c: 2, 'd e': [3, {f: 4}]}
  - [x, {g: 5}]
";
        let list = Step::Key("list");
        let queries = [
            query(&[], Some("top")),
            query(&[], None),
            query(&[list, Step::Index(0)], Some("b")),
            query(&[list, Step::Index(0), Step::Key("b")], Some("d e")),
            query(&[list, Step::Index(0), Step::Key("b")], None),
            query(&[list, Step::Index(1), Step::Index(1)], Some("g")),
            query(&[list, Step::Index(1)], None),
            query(&[list, Step::Index(0)], None),
        ];
        assert_eq!(
            locate(source, &queries),
            [
                at(2, 1),
                at(2, 1),
                at(5, 5),
                at(5, 15),
                at(5, 8),
                at(6, 10),
                at(6, 5),
                at(4, 5),
            ]
        );
    }

    #[test]
    fn locate_falls_back_to_the_mapping_then_to_the_whole_file() {
        let source = "\
base: &base {x: 1}
one:
  <<: *base
  y: 2
two: *base
? [k]
: {z: 3}
";
        let queries = [
            // Merged in: not written in `one`, which is pointed at instead.
            query(&[Step::Key("one")], Some("x")),
            query(&[Step::Key("one")], Some("y")),
            // Reached through an alias: the alias.
            query(&[Step::Key("two")], Some("x")),
            // Nothing under a key that is not a plain scalar is named by a path.
            query(&[Step::Key("k")], Some("z")),
            query(&[Step::Key("nowhere")], None),
        ];
        assert_eq!(
            locate(source, &queries),
            [at(3, 3), at(4, 3), at(5, 6), at(0, 0), at(0, 0)]
        );
    }

    #[test]
    fn empty_means_no_document() {
        assert!(is_empty(""));
        assert!(is_empty("# only\n\n# comments\n"));
        assert!(!is_empty("~\n"));
        assert!(!is_empty("{}"));
        assert!(!is_empty("# c\nversion: 1\n"));
        assert!(!is_empty("version: [\n"));
    }
}
