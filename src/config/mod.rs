//! The desired-state file: YAML in, a validated [`crate::model::StateFile`] out, with every
//! problem reported as a located diagnostic.
//!
//! One format serves the desired file ([`Mode::Desired`]), the emulator's seed ([`Mode::Seed`])
//! and `export`'s output ([`to_yaml`]). This module owns the format, its offline rules
//! (SPEC §1), its JSON Schema and the rendering of diagnostics; it does no network I/O and
//! prints nothing: callers render [`Diagnostics`] where they choose.
//!
//! A desired state may be split over several files ([`ConfigPaths`]: `-c` repeated, or a
//! directory's `*.yaml` files), so that teams can own their prefixes. The files are one
//! desired state: each is checked on its own, then together (`merge`), and every diagnostic
//! names its file.
//!
//! Parts: `file` (the input structs), `yaml` (the parser, the only place naming serde-saphyr),
//! `validate` (the rules of one file), `merge` (the rules across files, and the one state they
//! make), `diagnostic` (located problems and their rendering), `write` (back to YAML).

mod diagnostic;
mod export;
mod file;
mod merge;
mod validate;
mod write;
mod yaml;

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::model::{Location, StateFile};

pub use diagnostic::{
    Diagnostic, Diagnostics, SHOWN_PER_FILE, Severity, clip, closest, did_you_mean,
};
pub use export::{Exported, LiveInput, export, violations};
pub use validate::DOCUMENTED_SERVICES;
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

/// The file read when `-c` is not given and `SVCBIND_CONFIG` is unset.
pub const DEFAULT_CONFIG: &str = "svcbind.yaml";

/// Where a run's desired state is read from: each path a file, or a directory whose `*.yaml`
/// files are read in name order (see [`load`]). Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths(Vec<PathBuf>);

impl ConfigPaths {
    /// The paths given with `-c`; when none are, those of `SVCBIND_CONFIG` (`env`), several
    /// separated as in `PATH` (`:`, or `;` on Windows); when it is unset or empty,
    /// [`DEFAULT_CONFIG`].
    pub fn new(given: Vec<PathBuf>, env: Option<&OsStr>) -> Self {
        if !given.is_empty() {
            return Self(given);
        }
        let from_env: Vec<PathBuf> = env
            .map(|value| {
                std::env::split_paths(value)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if from_env.is_empty() {
            Self(vec![PathBuf::from(DEFAULT_CONFIG)])
        } else {
            Self(from_env)
        }
    }

    /// The paths, in the order given.
    pub fn paths(&self) -> &[PathBuf] {
        &self.0
    }

    /// Whether any of the paths exists.
    pub fn exists(&self) -> bool {
        self.0.iter().any(|p| p.exists())
    }

    /// The paths as a message names them: `a.yaml`, or `a.yaml, teams/`.
    pub fn display(&self) -> impl fmt::Display + '_ {
        self
    }
}

impl Default for ConfigPaths {
    fn default() -> Self {
        Self(vec![PathBuf::from(DEFAULT_CONFIG)])
    }
}

impl From<PathBuf> for ConfigPaths {
    fn from(path: PathBuf) -> Self {
        Self(vec![path])
    }
}

impl fmt::Display for ConfigPaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .0
            .iter()
            .map(|p| crate::sanitize::text(&p.display().to_string()).into_owned())
            .collect();
        f.write_str(&names.join(", "))
    }
}

/// What [`load`] reads: one path ([`Path`], [`PathBuf`]) or several ([`ConfigPaths`]).
pub trait Sources {
    /// The paths, in order.
    fn given(&self) -> Vec<&Path>;
}

impl Sources for Path {
    fn given(&self) -> Vec<&Path> {
        vec![self]
    }
}

impl Sources for PathBuf {
    fn given(&self) -> Vec<&Path> {
        vec![self.as_path()]
    }
}

impl Sources for ConfigPaths {
    fn given(&self) -> Vec<&Path> {
        self.0.iter().map(PathBuf::as_path).collect()
    }
}

/// The file, or files, that passed validation: one state, its warnings, and the text of each
/// file for later diagnostics.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub state: StateFile,
    /// Problems that do not stop a run (may be empty), file by file.
    pub warnings: Diagnostics,
    sources: Vec<SourceMap>,
}

impl Loaded {
    /// The file names as given to [`load`] or [`parse`] (joined by `, ` when several).
    pub fn file(&self) -> String {
        let names: Vec<&str> = self.sources.iter().map(|s| s.file.as_str()).collect();
        names.join(", ")
    }

    /// What a digest of the desired state covers: the text of the file; for several files,
    /// each file's name and text, each followed by a NUL byte (which neither holds), so that
    /// moving a prefix from one file to another changes it too.
    pub fn contents(&self) -> std::borrow::Cow<'_, [u8]> {
        match self.sources.as_slice() {
            [one] => std::borrow::Cow::Borrowed(one.source.as_bytes()),
            several => {
                let mut all = Vec::new();
                for s in several {
                    all.extend_from_slice(s.file.as_bytes());
                    all.push(0);
                    all.extend_from_slice(s.source.as_bytes());
                    all.push(0);
                }
                std::borrow::Cow::Owned(all)
            }
        }
    }

    /// Each file read, in order: its name and its text.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sources
            .iter()
            .map(|s| (s.file.as_str(), s.source.as_str()))
    }

    /// A diagnostic about a file found by a later stage (e.g. `unknown service `CDNN``
    /// at a binding's [`crate::model::DesiredBinding::location`]), with file name and snippet.
    pub fn diagnostic(
        &self,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        let index = usize::try_from(location.file).unwrap_or(usize::MAX);
        match self.sources.get(index) {
            Some(map) => map.diagnostic(severity, location, message, hint),
            None => SourceMap::new(&self.file(), "").diagnostic(
                severity,
                Location::default(),
                message,
                hint,
            ),
        }
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
    #[error(
        "no `*.yaml` file in the directory `{}`{}",
        crate::sanitize::text(&path.display().to_string()),
        no_files_hint(yml)
    )]
    NoFiles {
        path: PathBuf,
        /// The `*.yml` files found there instead (names), which are not read.
        yml: Vec<String>,
    },
    /// The files have errors (all of them, with any warnings, file by file).
    #[error("{}", invalid_summary(.0))]
    Invalid(Diagnostics),
}

/// What to do about a directory without a `*.yaml` file: rename its `*.yml` files, if any.
fn no_files_hint(yml: &[String]) -> String {
    if yml.is_empty() {
        return "; put the desired state there, or name a file with `-c FILE`".to_owned();
    }
    let renames: Vec<String> = yml
        .iter()
        .map(|name| {
            format!(
                "{} to {}.yaml",
                crate::sanitize::text(name),
                crate::sanitize::text(name.trim_end_matches(".yml"))
            )
        })
        .collect();
    format!(
        "; found {} (of a directory, only `*.yaml` files are read): rename {}",
        yml.iter()
            .map(|n| crate::sanitize::text(n).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
        renames.join(", ")
    )
}

fn invalid_summary(diagnostics: &Diagnostics) -> String {
    let mut files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    files.dedup();
    let names = files
        .iter()
        .map(|f| format!("`{}`", crate::sanitize::text(f)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{names} {} {}",
        if files.len() > 1 { "have" } else { "has" },
        diagnostics.summary()
    )
}

/// Reads and validates the desired state at `sources`: one file, or several files that are
/// one desired state (the rules across files are the `merge` part's).
///
/// A path that is a directory stands for every `*.yaml` file directly in it, in name order;
/// its subdirectories and hidden files (`.name`) are not read, and a `*.yml` file gets a
/// warning saying it is not read. A file named twice is read once. A file larger than
/// [`MAX_FILE_BYTES`] or not UTF-8 is invalid.
pub fn load<S: Sources + ?Sized>(sources: &S, mode: Mode) -> Result<Loaded, LoadError> {
    let (paths, unread) = expand(&sources.given())?;
    let mut files = Vec::with_capacity(paths.len());
    for path in &paths {
        files.push(read_one(path, mode)?);
    }
    merge::merge(files, unread).map_err(LoadError::Invalid)
}

/// The files `given` names, in order, each once, and a warning for each `*.yml` file of a
/// directory.
fn expand(given: &[&Path]) -> Result<(Vec<PathBuf>, Diagnostics), LoadError> {
    let mut files = Vec::new();
    let mut unread = Diagnostics::new();
    for &path in given {
        if !path.is_dir() {
            files.push(path.to_owned());
            continue;
        }
        let read_error = |source| LoadError::Read {
            path: path.to_owned(),
            source,
        };
        let mut yaml = Vec::new();
        let mut yml = Vec::new();
        for entry in std::fs::read_dir(path).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let file = path.join(entry.file_name());
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || file.is_dir() {
                continue;
            }
            let extension = file.extension().and_then(OsStr::to_str);
            if extension == Some("yaml") {
                yaml.push(file);
            } else if extension == Some("yml") {
                yml.push(name.clone());
                unread.push(SourceMap::new(&file.display().to_string(), "").diagnostic(
                    Severity::Warning,
                    Location::default(),
                    "not read: of a directory, the `*.yaml` files are read, not the `*.yml` ones",
                    Some(format!(
                        "rename it to `{}.yaml` to make it part of the desired state",
                        name.trim_end_matches(".yml")
                    )),
                ));
            }
        }
        if yaml.is_empty() {
            yml.sort();
            return Err(LoadError::NoFiles {
                path: path.to_owned(),
                yml,
            });
        }
        yaml.sort();
        files.extend(yaml);
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok((files, unread))
}

/// Reads and checks one file on its own.
fn read_one(path: &Path, mode: Mode) -> Result<merge::OneFile, LoadError> {
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
        Ok(source) => Ok(check_one(&source, &name, mode)),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let text = String::from_utf8_lossy(valid);
            let line = text.split('\n').count();
            let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let at = Location {
                file: 0,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            };
            let map = SourceMap::new(&name, &String::from_utf8_lossy(e.as_bytes()));
            let diagnostic = map.diagnostic(
                Severity::Error,
                at,
                "the file is not UTF-8 text",
                Some("save it as UTF-8".to_owned()),
            );
            Ok(merge::OneFile::unreadable(map, diagnostic))
        }
    }
}

/// Validates the text of one file named `file_name` (used in diagnostics). All problems are
/// reported together; a YAML syntax or type error, which stops the parser, comes alone.
pub fn parse(source: &str, file_name: &str, mode: Mode) -> Result<Loaded, Diagnostics> {
    merge::merge(vec![check_one(source, file_name, mode)], Diagnostics::new())
}

/// Validates the texts of several files, `(name, text)` in order, as one desired state, as
/// [`load`] does with files (`plan --changed-since` reads a split state as it was at a git
/// revision this way).
pub fn parse_files(files: &[(&str, &str)], mode: Mode) -> Result<Loaded, Diagnostics> {
    let checked = files
        .iter()
        .map(|(name, source)| check_one(source, name, mode))
        .collect();
    merge::merge(checked, Diagnostics::new())
}

/// Checks one file on its own: what is valid of it, and its problems.
fn check_one(source: &str, file_name: &str, mode: Mode) -> merge::OneFile {
    if source.len() > MAX_FILE_BYTES {
        let map = SourceMap::new(file_name, "");
        let diagnostic = map.diagnostic(
            Severity::Error,
            Location::default(),
            format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            None,
        );
        return merge::OneFile::unreadable(map, diagnostic);
    }
    let map = SourceMap::new(file_name, source);
    if yaml::is_empty(source) {
        // The whole file is the problem: no line to point at.
        let diagnostic = map.diagnostic(
            Severity::Error,
            Location::default(),
            "the file is empty",
            Some("start the file with `version: 1`".to_owned()),
        );
        return merge::OneFile::unreadable(map, diagnostic);
    }
    let input: file::FileInput = match yaml::from_str(source) {
        Ok(input) => input,
        Err(e) => {
            let diagnostic = map.diagnostic(Severity::Error, e.location, e.message, e.hint);
            return merge::OneFile::unreadable(map, diagnostic);
        }
    };
    let checked = validate::validate(input, mode, &map);
    merge::OneFile::checked(map, checked)
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
