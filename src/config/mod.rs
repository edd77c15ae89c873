//! The desired-state file: YAML in, a validated [`crate::model::StateFile`] out, with every
//! problem reported as a located diagnostic.
//!
//! One format serves the desired file ([`Mode::Desired`]), the emulator's seed ([`Mode::Seed`])
//! and `export`'s output ([`to_yaml`]). This module owns the format, its offline rules
//! (SPEC §1), its JSON Schema and the rendering of diagnostics; it does no network I/O and
//! prints nothing: callers render [`Diagnostics`] where they choose.
//!
//! Parts: `file` (the input structs), `yaml` (the parser, the only place naming serde-saphyr),
//! `validate` (the rules), `diagnostic` (located problems and their rendering), `write` (back
//! to YAML).

mod diagnostic;
mod export;
mod file;
mod validate;
mod write;
mod yaml;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::model::{Location, StateFile};

pub use diagnostic::{Diagnostic, Diagnostics, Severity, clip, closest, did_you_mean};
pub use export::{Exported, LiveInput, export, violations};
pub use write::{Comments, FILE_HEADER, prefix_to_yaml, to_yaml, to_yaml_with};
pub use yaml::MAX_FILE_BYTES;

use diagnostic::SourceMap;

/// Which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A desired-state file: every rule is enforced.
    Desired,
    /// An emulator seed, which may describe a broken live account: a missing prefix-wide
    /// binding, Magic Transit on a more-specific range and redundancy are warnings.
    Seed,
}

/// A file that passed validation: its state, its warnings, and its text for later diagnostics.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub state: StateFile,
    /// Problems that do not stop a run (may be empty).
    pub warnings: Diagnostics,
    source: SourceMap,
}

impl Loaded {
    /// The file name as given to [`load`] or [`parse`].
    pub fn file(&self) -> &str {
        &self.source.file
    }

    /// The file's text.
    pub fn source(&self) -> &str {
        &self.source.source
    }

    /// A diagnostic about this file found by a later stage (e.g. `unknown service `CDNN``
    /// at a binding's [`crate::model::DesiredBinding::location`]), with file name and snippet.
    pub fn diagnostic(
        &self,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        self.source.diagnostic(severity, location, message, hint)
    }
}

/// Why [`load`] gave no state.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "cannot read the desired-state file `{}`; name another with `-c FILE` or `SVCBIND_CONFIG`",
        crate::sanitize::text(&path.display().to_string())
    )]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file has errors (all of them, with any warnings, in file order).
    #[error("{}", invalid_summary(.0))]
    Invalid(Diagnostics),
}

fn invalid_summary(diagnostics: &Diagnostics) -> String {
    let file = diagnostics.iter().next().map_or("", |d| d.file.as_str());
    format!(
        "`{}` has {}",
        crate::sanitize::text(file),
        diagnostics.summary()
    )
}

/// Reads and validates a file. A file larger than [`MAX_FILE_BYTES`] or not UTF-8 is invalid.
pub fn load(path: &Path, mode: Mode) -> Result<Loaded, LoadError> {
    let read_error = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    let name = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(source) => parse(&source, &name, mode).map_err(LoadError::Invalid),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let text = String::from_utf8_lossy(valid);
            let line = text.split('\n').count();
            let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let at = Location {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            };
            let map = SourceMap::new(&name, &String::from_utf8_lossy(e.as_bytes()));
            Err(LoadError::Invalid(Diagnostics::from(vec![map.diagnostic(
                Severity::Error,
                at,
                "the file is not UTF-8 text",
                Some("save it as UTF-8".to_owned()),
            )])))
        }
    }
}

/// Validates the text of a file named `file_name` (used in diagnostics). All problems are
/// reported together; a YAML syntax or type error, which stops the parser, comes alone.
pub fn parse(source: &str, file_name: &str, mode: Mode) -> Result<Loaded, Diagnostics> {
    if source.len() > MAX_FILE_BYTES {
        let map = SourceMap::new(file_name, "");
        return Err(Diagnostics::from(vec![map.diagnostic(
            Severity::Error,
            Location::default(),
            format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            None,
        )]));
    }
    let map = SourceMap::new(file_name, source);
    if yaml::is_empty(source) {
        // The whole file is the problem: no line to point at.
        return Err(Diagnostics::from(vec![map.diagnostic(
            Severity::Error,
            Location::default(),
            "the file is empty",
            Some("start the file with `version: 1`".to_owned()),
        )]));
    }
    let input: file::FileInput = match yaml::from_str(source) {
        Ok(input) => input,
        Err(e) => {
            return Err(Diagnostics::from(vec![map.diagnostic(
                Severity::Error,
                e.location,
                e.message,
                e.hint,
            )]));
        }
    };
    let (state, mut diagnostics) = validate::validate(input, mode, &map);
    diagnostics.sort();
    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok(Loaded {
            state,
            warnings: diagnostics,
            source: map,
        })
    }
}

/// The JSON Schema of the file (draft 2020-12), generated from the input structs. The
/// committed copy is `schema/svcbind.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<file::FileInput>()
        .to_value();
    drop_null_defaults(&mut schema);
    schema
}

/// Optional fields are absent rather than null, so a `"default": null` would contradict
/// their schema; editors would offer it.
fn drop_null_defaults(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("default").is_some_and(serde_json::Value::is_null) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null_defaults);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_defaults),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
