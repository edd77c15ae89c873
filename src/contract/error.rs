//! The error document (`kind: "error"`): what every command with `--format json` writes on
//! stdout when it fails, so a program always has a document to read (SPEC §5).

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::Kind;
use super::validation::DiagnosticDoc;

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Error.schema()
}

/// A failed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDocument {
    pub format_version: u32,
    #[schemars(schema_with = "kind_schema")]
    pub kind: Kind,
    pub svcbind_version: String,
    /// The command that failed: `plan`, `apply`, `validate`, `services`, ….
    pub command: String,
    /// The exit status svcbind ends with: 1 for an error, 3 when apply refused.
    pub exit_code: u8,
    /// What went wrong, as stderr says it.
    pub message: String,
    /// What to do about it, when that is predictable.
    pub hint: Option<String>,
    /// The located problems of the desired-state file, when they are the cause.
    pub diagnostics: Vec<DiagnosticDoc>,
}
