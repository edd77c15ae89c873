//! The routing of prefixes (`svcbind show --format json`, `kind: "show"`) and of addresses
//! (`svcbind route --format json`, `kind: "route"`).

use ipnet::IpNet;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::{CidrSchema, IdSchema, Kind};

fn show_kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Show.schema()
}

fn route_kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Route.schema()
}

/// Where the bindings shown come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceDoc {
    /// The live account.
    Live,
    /// The desired-state file (`--desired`), read offline.
    Desired,
}

/// A service as the views name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceLabelDoc {
    /// The service's name: from the account's catalog (live), or as written in the file
    /// (`--desired`: a name or an id); the id when the catalog does not know it.
    pub name: String,
    /// The service id (live only).
    #[schemars(with = "Option<IdSchema>")]
    pub id: Option<String>,
}

/// `svcbind show --format json`: each prefix's bindings as a tree, and its effective routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowDocument {
    /// Always 1 for this layout.
    pub format_version: u32,
    #[schemars(schema_with = "show_kind_schema")]
    pub kind: Kind,
    /// The svcbind version that wrote the document.
    pub svcbind_version: String,
    pub source: SourceDoc,
    /// The account (live), or the file's `account_id` if it has one (`--desired`).
    #[schemars(with = "Option<IdSchema>")]
    pub account_id: Option<String>,
    /// By CIDR (live), or in the order of the file (`--desired`).
    pub prefixes: Vec<ShowPrefixDoc>,
}

/// One prefix: its bindings and its effective table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowPrefixDoc {
    /// The prefix id (live, or pinned in the file).
    #[schemars(with = "Option<IdSchema>")]
    pub id: Option<String>,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// Number of addresses, in decimal (a string: IPv6 counts exceed JSON's safe integers).
    pub addresses: String,
    /// The bindings in tree order: each one, then the bindings inside it.
    pub bindings: Vec<ShowBindingDoc>,
    /// The prefix as minimal CIDR blocks in address order, each with the binding that wins
    /// it (the most specific that contains it).
    pub table: Vec<TableRowDoc>,
}

/// One binding of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowBindingDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub service: ServiceLabelDoc,
    #[schemars(with = "Option<IdSchema>")]
    pub binding_id: Option<String>,
    /// `provisioning.state` (live only).
    pub state: Option<String>,
    /// 0 for a binding no other covers (the prefix-wide one), 1 directly inside it, …
    pub depth: usize,
    /// The index in `bindings` of the binding that directly covers this one.
    pub parent: Option<usize>,
    /// Number of addresses of the CIDR, in decimal.
    pub addresses: String,
}

/// One row of the effective table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TableRowDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// Number of addresses, in decimal.
    pub addresses: String,
    /// The winning binding's service; `null` when no binding covers the block.
    pub service: Option<ServiceLabelDoc>,
    /// The winning binding's CIDR.
    #[schemars(with = "Option<CidrSchema>")]
    pub binding: Option<IpNet>,
}

/// `svcbind route --format json`: where each address goes, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteDocument {
    /// Always 1 for this layout.
    pub format_version: u32,
    #[schemars(schema_with = "route_kind_schema")]
    pub kind: Kind,
    /// The svcbind version that wrote the document.
    pub svcbind_version: String,
    pub source: SourceDoc,
    #[schemars(with = "Option<IdSchema>")]
    pub account_id: Option<String>,
    /// In the order asked.
    pub routes: Vec<RouteAnswerDoc>,
}

/// Where one address goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteAnswerDoc {
    /// The address, as asked (normalised).
    pub address: String,
    pub prefix: RoutePrefixDoc,
    /// The service that gets the address; `null` when no binding covers it.
    pub service: Option<ServiceLabelDoc>,
    /// The binding that wins: the most specific that contains the address (the last link of
    /// `chain`).
    pub binding: Option<ChainLinkDoc>,
    /// Every binding that contains the address, from the least specific to the winner.
    pub chain: Vec<ChainLinkDoc>,
}

/// The prefix an address lies in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoutePrefixDoc {
    #[schemars(with = "Option<IdSchema>")]
    pub id: Option<String>,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
}

/// A binding that contains an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChainLinkDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub service: ServiceLabelDoc,
    #[schemars(with = "Option<IdSchema>")]
    pub binding_id: Option<String>,
    pub state: Option<String>,
}
