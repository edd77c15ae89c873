//! The JSON contract: the versioned documents svcbind writes for programs (the plan, the apply
//! report, the service catalog, the validation of a file, the error of a failed command, the
//! drift report, the routing of `show` and `route`), and the way back from a saved plan to
//! domain types.
//!
//! Every document carries `format_version` (1) and a `kind` that tells it apart. Within a
//! version a field is never removed and never changes meaning; new fields may appear, so
//! readers must ignore what they do not know. The JSON Schemas in `schema/` are generated from
//! these types ([`schemas`]) and a test keeps every file there current.
//!
//! This module owns the shapes and their checks, nothing else: `render::json` builds documents
//! from a plan or a report (with the service names and the sentences of the other formats) and
//! writes them; reading a plan back ([`saved::read_plan`]) validates every id through the
//! `model` newtypes and every CIDR, names the field of the first problem, and refuses a plan
//! edited after svcbind wrote it. A document holds ids, CIDRs and service names, never a
//! credential.

pub mod apply_report;
pub mod drift;
pub mod error;
pub mod plan;
pub mod saved;
pub mod services;
pub mod show;
pub mod validation;

use std::borrow::Cow;

use ipnet::IpNet;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::model::IdError;

pub use apply_report::ApplyReportDocument;
pub use drift::DriftDocument;
pub use error::ErrorDocument;
pub use plan::PlanDocument;
pub use saved::{LiveChange, SavedPlan, StalePrefix, read_plan};
pub use services::ServicesDocument;
pub use show::{RouteDocument, ShowDocument};
pub use validation::ValidationDocument;

/// The version of the documents this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The svcbind version that writes a document.
pub fn svcbind_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// SHA-256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Appends the canonical form of `value` to `out`: compact JSON with every object's keys
/// sorted, whatever order the value keeps them in, so a digest over it does not depend on how
/// the document was formatted.
pub fn canonical_json(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(key.as_str()).to_string());
                out.push(':');
                canonical_json(&map[key], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The kind of a document, so a reader can tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Plan,
    ApplyReport,
    Services,
    Validation,
    Error,
    Drift,
    Show,
    Route,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Plan => "plan",
            Kind::ApplyReport => "apply_report",
            Kind::Services => "services",
            Kind::Validation => "validation",
            Kind::Error => "error",
            Kind::Drift => "drift",
            Kind::Show => "show",
            Kind::Route => "route",
        }
    }

    /// The schema of a document's `kind`: this one value.
    fn schema(self) -> Schema {
        json_schema!({
            "type": "string",
            "const": self.as_str(),
            "description": "What the document is.",
        })
    }
}

/// The JSON Schema of a CIDR string (IPv4 or IPv6).
pub struct CidrSchema;

impl JsonSchema for CidrSchema {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An IPv4 or IPv6 network in CIDR notation, host bits zero, e.g. 192.0.2.0/24 or 2001:db8::/48.",
            "pattern": "^(([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]{1,3})$"
        })
    }
}

/// The JSON Schema of a Cloudflare id (account, prefix, binding, service).
pub struct IdSchema;

impl JsonSchema for IdSchema {
    fn schema_name() -> Cow<'static, str> {
        "Id".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A Cloudflare id: 1 to 32 letters or digits.",
            "pattern": "^[0-9A-Za-z]{1,32}$"
        })
    }
}

/// A service: its id, and its name when the account's catalog has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRef {
    #[schemars(with = "IdSchema")]
    pub id: String,
    pub name: Option<String>,
}

/// One API call, in a plan or an apply report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StepDoc {
    Create {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        service: ServiceRef,
    },
    Delete {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        service: ServiceRef,
    },
}

/// Why a document could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// Not JSON at all (a truncated or corrupt file). The message is said once: the JSON
    /// error is part of it, not its source.
    #[error("not a JSON document: {0}")]
    Syntax(serde_json::Error),
    /// JSON, but neither `format_version` nor `kind`: no document svcbind writes.
    #[error("it has neither `format_version` nor `kind`, so svcbind did not write it")]
    NotADocument,
    /// Another `format_version`.
    #[error(
        "`format_version` is {found}, but this svcbind reads version {FORMAT_VERSION}; use the svcbind that wrote it, or write the document again with this one"
    )]
    Version { found: String },
    /// Another kind of document.
    #[error("`kind` is {found}, not \"{expected}\": this is not a {expected} document")]
    Kind {
        found: String,
        expected: &'static str,
    },
    /// A field is missing, has the wrong type, or holds a value that is not valid.
    #[error("{path}: {message}")]
    Field { path: String, message: String },
    /// Valid, but not what svcbind wrote: the content no longer matches its `checksum`.
    #[error(
        "the document was changed after svcbind wrote it (its content no longer matches its `checksum`)"
    )]
    Edited,
}

impl ContractError {
    fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        ContractError::Field {
            path: path.into(),
            message: message.into(),
        }
    }

    fn id(path: impl Into<String>, e: IdError) -> Self {
        Self::field(path, e.to_string())
    }
}

/// Parses `text` as the document `kind` of [`FORMAT_VERSION`]: the version and the kind are
/// checked first, so another version is reported as such and not as a missing field; then a
/// field that does not fit names its path (`prefixes[2].steps[0]`).
#[cfg(test)]
fn read<T: serde::de::DeserializeOwned>(text: &str, kind: Kind) -> Result<T, ContractError> {
    from_value(read_value(text, kind)?)
}

/// Parses `text` as JSON and checks its `format_version` and `kind`.
fn read_value(text: &str, kind: Kind) -> Result<serde_json::Value, ContractError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ContractError::Syntax)?;
    let shown = |v: Option<&serde_json::Value>| {
        v.map_or_else(
            || "missing".to_owned(),
            |v| crate::sanitize::text(&v.to_string()).into_owned(),
        )
    };
    if value.get("format_version").is_none() && value.get("kind").is_none() {
        return Err(ContractError::NotADocument);
    }
    let version = value.get("format_version");
    if version.and_then(serde_json::Value::as_u64) != Some(u64::from(FORMAT_VERSION)) {
        return Err(ContractError::Version {
            found: shown(version),
        });
    }
    let found = value.get("kind");
    if found.and_then(serde_json::Value::as_str) != Some(kind.as_str()) {
        return Err(ContractError::Kind {
            found: shown(found),
            expected: kind.as_str(),
        });
    }
    Ok(value)
}

/// Whether `text` is a plan svcbind wrote, whatever its version or state: a JSON object whose
/// `kind` is "plan" with a numeric `format_version`, or the start of one cut short (a
/// truncated plan). What `plan --out` may overwrite, and what `apply` offers to make again.
pub fn looks_like_plan(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => {
            value.get("kind").and_then(serde_json::Value::as_str) == Some(Kind::Plan.as_str())
                && value
                    .get("format_version")
                    .is_some_and(serde_json::Value::is_u64)
        }
        Err(e) if e.is_eof() => {
            text.trim_start().starts_with('{')
                && text.contains("\"format_version\"")
                && text.contains("\"kind\": \"plan\"")
        }
        Err(_) => false,
    }
}

/// The typed document of a JSON value; a field that does not fit names its path.
fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ContractError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ContractError::field(path, e.into_inner().to_string())
    })
}

/// A CIDR read from a document: host bits must be zero.
fn checked_cidr(path: &str, cidr: IpNet) -> Result<IpNet, ContractError> {
    if cidr.trunc() == cidr {
        Ok(cidr)
    } else {
        Err(ContractError::field(
            path,
            format!(
                "`{cidr}` has host bits set (did you mean `{}`?)",
                cidr.trunc()
            ),
        ))
    }
}

/// The JSON Schemas of the documents, by file name under `schema/`.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    let value = |schema: Schema| serde_json::to_value(schema).unwrap_or_default();
    vec![
        (
            "plan.schema.json",
            value(schemars::schema_for!(PlanDocument)),
        ),
        (
            "apply-report.schema.json",
            value(schemars::schema_for!(ApplyReportDocument)),
        ),
        (
            "services.schema.json",
            value(schemars::schema_for!(ServicesDocument)),
        ),
        (
            "validation.schema.json",
            value(schemars::schema_for!(ValidationDocument)),
        ),
        (
            "error.schema.json",
            value(schemars::schema_for!(ErrorDocument)),
        ),
        (
            "drift.schema.json",
            value(schemars::schema_for!(DriftDocument)),
        ),
        (
            "show.schema.json",
            value(schemars::schema_for!(ShowDocument)),
        ),
        (
            "route.schema.json",
            value(schemars::schema_for!(RouteDocument)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `schema/` is generated: the documents' here, the desired-state file's by
    /// `config`.
    #[test]
    fn the_committed_schemas_are_up_to_date() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        let mut generated = schemas();
        generated.push(("svcbind.schema.json", crate::config::json_schema()));
        for (name, schema) in &generated {
            let path = dir.join(name);
            let text = serde_json::to_string_pretty(schema).unwrap() + "\n";
            if std::env::var_os("SVCBIND_BLESS").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "schema/{name} is out of date with its types (src/contract/, src/config/file.rs);\n\
                 regenerate it with: SVCBIND_BLESS=1 cargo test --lib the_committed_schemas_are_up_to_date"
            );
        }
        let mut committed: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        committed.sort();
        let mut names: Vec<&str> = generated.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        assert_eq!(committed, names, "schema/ holds a file no type generates");
    }

    #[test]
    fn another_version_or_kind_is_named_before_any_field() {
        let err = read::<PlanDocument>(r#"{"format_version": 2, "kind": "plan"}"#, Kind::Plan)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`format_version` is 2, but this svcbind reads version 1; use the svcbind that wrote it, or write the document again with this one"
        );
        let err = read::<PlanDocument>(r#"{"kind": "plan"}"#, Kind::Plan).unwrap_err();
        assert!(err.to_string().starts_with("`format_version` is missing"));
        // Not a document of svcbind at all: no advice about versions.
        let err = read::<PlanDocument>("{}", Kind::Plan).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it has neither `format_version` nor `kind`, so svcbind did not write it"
        );
        let err = read::<PlanDocument>(
            r#"{"format_version": 1, "kind": "apply_report"}"#,
            Kind::Plan,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`kind` is \"apply_report\", not \"plan\": this is not a plan document"
        );
        let err = read::<PlanDocument>(r#"{"format_version": 1, "kind": "plan""#, Kind::Plan)
            .unwrap_err();
        assert!(matches!(err, ContractError::Syntax(_)), "{err}");
        // Said once: the JSON error is in the message, not repeated as its source.
        assert!(std::error::Error::source(&err).is_none());
    }

    #[test]
    fn a_plan_is_told_from_other_files() {
        let plan = r#"{"format_version": 1, "kind": "plan", "prefixes": []}"#;
        assert!(looks_like_plan(plan));
        assert!(looks_like_plan(r#"{"format_version": 2, "kind": "plan"}"#));
        // Cut short: still the start of a plan.
        assert!(looks_like_plan(&plan[..plan.len() - 5]));
        for other in [
            "{}",
            r#"{"format_version": 1, "kind": "apply_report"}"#,
            "version: 1\nprefixes: []\n",
            "",
            "[1, 2",
        ] {
            assert!(!looks_like_plan(other), "{other}");
        }
    }
}
