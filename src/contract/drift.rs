//! The drift report (`svcbind drift --format json` and `--report FILE`, `kind: "drift"`).

use ipnet::IpNet;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::{CidrSchema, IdSchema, Kind, ServiceRef};

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Drift.schema()
}

/// `svcbind drift --format json`: how the live bindings of the managed prefixes differ from
/// the file. `summary.has_drift` is what exit code 2 means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DriftDocument {
    /// Always 1 for this layout.
    pub format_version: u32,
    #[schemars(schema_with = "kind_schema")]
    pub kind: Kind,
    /// The svcbind version that wrote the document.
    pub svcbind_version: String,
    #[schemars(with = "IdSchema")]
    pub account_id: String,
    pub summary: DriftSummaryDoc,
    /// Managed prefixes in the order of the file, those in sync included.
    pub prefixes: Vec<DriftPrefixDoc>,
    /// Live prefixes the file does not list (never read for changes, never touched); `null`
    /// when the prefix listing was not read because every managed prefix pins its id.
    pub unmanaged_prefixes: Option<Vec<UnmanagedPrefixDoc>>,
    /// The propagation notice, when there is drift (restoring the file moves traffic).
    pub notice: Option<String>,
}

/// Counts of a drift report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DriftSummaryDoc {
    pub missing: usize,
    pub unexpected: usize,
    pub service_mismatch: usize,
    pub drifted_prefixes: usize,
    pub in_sync_prefixes: usize,
    /// Live bindings not `active` yet (notes, never drift).
    pub not_active: usize,
    /// Live bindings inside `ignore` ranges (left alone, never drift).
    pub ignored: usize,
    pub has_drift: bool,
}

/// The drift of one managed prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DriftPrefixDoc {
    #[schemars(with = "IdSchema")]
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub in_sync: bool,
    /// By CIDR.
    pub findings: Vec<FindingDoc>,
    /// Live bindings inside `ignore` ranges.
    pub ignored: Vec<LiveBindingDoc>,
    /// Live bindings (outside `ignore`) that are not `active` yet.
    pub not_active: Vec<NotActiveDoc>,
}

/// One difference between the file and the live bindings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FindingDoc {
    /// In the file, not live: the next apply creates it.
    Missing {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        /// The file's service.
        file: ServiceRef,
    },
    /// Live, not in the file: the next apply deletes it.
    Unexpected {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        /// The live service.
        live: ServiceRef,
    },
    /// In both, with another service: the next apply replaces it.
    ServiceMismatch {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        file: ServiceRef,
        live: ServiceRef,
    },
}

/// A live binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LiveBindingDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    #[schemars(with = "IdSchema")]
    pub binding_id: String,
    pub service: ServiceRef,
    /// `provisioning.state` as the API gives it (`active`, `provisioning`, …).
    pub state: String,
}

/// A live binding that is not `active` yet: a change in flight, not drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotActiveDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    #[schemars(with = "IdSchema")]
    pub binding_id: String,
    /// The live service.
    pub service: ServiceRef,
    pub state: String,
    /// The file's service for this CIDR, if the file has it.
    pub file: Option<ServiceRef>,
    /// The same as one sentence.
    pub message: String,
}

/// A live prefix the file does not manage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedPrefixDoc {
    #[schemars(with = "IdSchema")]
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub description: Option<String>,
}
