//! The service catalog (`svcbind services --format json`, `kind: "services"`).

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::{IdSchema, Kind};

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Services.schema()
}

/// `svcbind services --format json`: the account's services, by name then id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServicesDocument {
    pub format_version: u32,
    #[schemars(schema_with = "kind_schema")]
    pub kind: Kind,
    pub svcbind_version: String,
    #[schemars(with = "IdSchema")]
    pub account_id: String,
    pub services: Vec<ServiceDoc>,
}

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceDoc {
    #[schemars(with = "IdSchema")]
    pub id: String,
    /// The name as the API gives it (`Magic Transit`, `CDN`, `Spectrum`, …).
    pub name: String,
}
