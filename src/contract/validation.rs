//! The validation document (`svcbind validate --format json`, `kind: "validation"`): the
//! problems of the desired-state file, each located, as the text format prints them.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::Kind;

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Validation.schema()
}

/// `svcbind validate --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ValidationDocument {
    pub format_version: u32,
    #[schemars(schema_with = "kind_schema")]
    pub kind: Kind,
    pub svcbind_version: String,
    /// The file, as given on the command line.
    pub file: String,
    /// No errors (warnings alone leave a file valid); `svcbind validate` exits 0 exactly then.
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    /// What the file describes, when it is valid.
    pub summary: Option<StateSummaryDoc>,
    /// Every problem, in file order.
    pub diagnostics: Vec<DiagnosticDoc>,
}

/// The size of a valid desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StateSummaryDoc {
    pub prefixes: usize,
    pub bindings: usize,
}

/// One problem at one place of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DiagnosticDoc {
    /// The file name as the user gave it.
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u32,
    /// 1-based, in characters; 0 when unknown.
    pub column: u32,
    pub severity: SeverityDoc,
    pub message: String,
    /// The likely fix, when there is one.
    pub hint: Option<String>,
}

/// `error` stops a run; `warning` is shown and lets it go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityDoc {
    Error,
    Warning,
}
