//! The plan document (`svcbind plan --format json`, `plan --out PLAN.json`, `kind: "plan"`).
//!
//! One document serves both uses: what a program reads from `plan --format json`, and the saved
//! plan that `svcbind apply PLAN.json` carries out ([`super::saved`] reads it back). Besides the
//! plan itself it holds what that apply needs: the account, each changed prefix's live bindings
//! and their fingerprint, the SHA-256 of the desired-state file, the safety verdict, and a
//! [`checksum`](PlanDocument::checksum) over everything else, so an edited plan is refused.

use ipnet::IpNet;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::{CidrSchema, IdSchema, Kind, ServiceRef, StepDoc};

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::Plan.schema()
}

/// `svcbind plan --format json`, and the file `plan --out` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanDocument {
    /// Always 1 for this layout.
    pub format_version: u32,
    #[schemars(schema_with = "kind_schema")]
    pub kind: Kind,
    /// The svcbind version that wrote the document.
    pub svcbind_version: String,
    #[schemars(with = "IdSchema")]
    pub account_id: String,
    /// SHA-256 (64 lowercase hex digits) of the desired-state file the plan was made from.
    pub desired_sha256: Option<String>,
    pub summary: SummaryDoc,
    pub safety: SafetyDoc,
    /// Managed prefixes in the order of the file, unchanged ones included.
    pub prefixes: Vec<PrefixDoc>,
    /// The propagation notice, when the plan has changes.
    pub notice: Option<String>,
    /// With `plan --changed-since REF`: REF, the git revision the desired-state file was
    /// compared with; only the prefixes whose entry differs from it were planned (the others
    /// are in `summary.skipped_prefixes`). `null` when every prefix of the file was considered.
    #[serde(default)]
    pub changed_since: Option<String>,
    /// SHA-256 (64 lowercase hex digits) of the rest of the document in canonical form
    /// (compact JSON, object keys sorted, this field left out): `svcbind apply PLAN.json`
    /// refuses a plan whose content no longer matches it.
    pub checksum: String,
}

/// Counts of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryDoc {
    pub create: usize,
    pub replace: usize,
    pub delete: usize,
    /// API calls an apply would make.
    pub steps: usize,
    pub changed_prefixes: usize,
    pub unchanged_prefixes: usize,
    pub has_changes: bool,
    /// The file's prefixes left out of the plan by `--changed-since`, in file order: their
    /// entry in the file is the same as at `changed_since`, and their live bindings were not
    /// read.
    #[serde(default)]
    #[schemars(with = "Vec<CidrSchema>")]
    pub skipped_prefixes: Vec<IpNet>,
}

/// What the safety rules say: `needs_force` means apply refuses without `--force`, for each
/// reason listed (`prefix_wide`, `too_many_deletes`, `delete_share`, `protected`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SafetyDoc {
    pub max_deletes: u32,
    /// `max_delete_percent`, or `null` when it is not set.
    #[serde(default)]
    pub max_delete_percent: Option<u8>,
    /// The fewest live bindings a prefix has for `max_delete_percent` to apply to it.
    #[serde(default)]
    pub delete_percent_min_live: usize,
    /// The protected ranges (`safety.protect`).
    #[serde(default)]
    #[schemars(with = "Vec<CidrSchema>")]
    pub protect: Vec<IpNet>,
    /// Deletes plus replaces.
    pub destructive: usize,
    /// Prefixes whose prefix-wide binding is deleted or replaced.
    #[schemars(with = "Vec<CidrSchema>")]
    pub prefix_wide: Vec<IpNet>,
    /// Whether `destructive` exceeds `max_deletes`.
    #[serde(default)]
    pub too_many_deletes: bool,
    /// Prefixes whose deletes plus replaces exceed `max_delete_percent` of their live
    /// bindings.
    #[serde(default)]
    pub delete_share: Vec<DeleteShareDoc>,
    /// Protected ranges the plan moves to another service, with what moves.
    #[serde(default)]
    pub protected: Vec<ProtectedRangeDoc>,
    pub needs_force: bool,
}

/// A prefix over `max_delete_percent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteShareDoc {
    #[schemars(with = "CidrSchema")]
    pub prefix: IpNet,
    /// Deletes plus replaces in the prefix.
    pub destructive: usize,
    /// Its live bindings.
    pub live: usize,
    /// `max_delete_percent`.
    pub limit: u8,
    /// The same as one sentence.
    pub message: String,
}

/// A protected range that the plan moves to another service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtectedRangeDoc {
    /// The range of `safety.protect`.
    #[schemars(with = "CidrSchema")]
    pub range: IpNet,
    /// The prefix it lies in.
    #[schemars(with = "CidrSchema")]
    pub prefix: IpNet,
    /// Every part of it that moves: for good (from the prefix's impact) or, with `transient`,
    /// between a replace's delete and create (from its gaps).
    pub moves: Vec<ProtectedMoveDoc>,
    /// The same as one sentence.
    pub message: String,
}

/// Addresses of a protected range that go to another service; `null` means no service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtectedMoveDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// Number of addresses, in decimal (a string: IPv6 counts exceed JSON's safe integers).
    pub addresses: String,
    /// Their service before the plan; with `transient`, the service of the binding over them
    /// that is replaced.
    pub from: Option<ServiceRef>,
    /// Their service after the plan; with `transient`, where they go while it is replaced.
    pub to: Option<ServiceRef>,
    /// Only during a replace, not once the plan is done.
    pub transient: bool,
}

/// The plan of one prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrefixDoc {
    #[schemars(with = "IdSchema")]
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// SHA-256 (hex) of the sorted live (CIDR, service id, binding id) list.
    pub live_fingerprint: String,
    /// The live bindings the plan was made against, for a prefix with steps (what
    /// `live_fingerprint` covers, so apply can say what changed since); `null` when unchanged.
    pub live_bindings: Option<Vec<LiveBindingDoc>>,
    pub unchanged: bool,
    /// Logical changes, in the order their first step runs.
    pub changes: Vec<ChangeDoc>,
    /// API calls, in execution order.
    pub steps: Vec<StepDoc>,
    /// Ranges whose service changes, as minimal CIDR blocks.
    pub impact: Vec<ImpactDoc>,
    /// Ranges that briefly fall back to another service during a replace.
    pub gaps: Vec<GapDoc>,
    pub warnings: Vec<WarningDoc>,
    pub notes: Vec<NoteDoc>,
}

/// A live binding as the plan saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LiveBindingDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    #[schemars(with = "IdSchema")]
    pub binding_id: String,
    pub service: ServiceRef,
    /// `provisioning.state` as the API gave it (`active`, `provisioning`, …).
    pub state: String,
}

/// A logical change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ChangeDoc {
    Create {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        service: ServiceRef,
    },
    Replace {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        from: ServiceRef,
        to: ServiceRef,
    },
    Delete {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        service: ServiceRef,
    },
}

/// A range whose service changes; `null` means no binding covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImpactDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// Number of addresses, in decimal (a string: IPv6 counts exceed JSON's safe integers).
    pub addresses: String,
    pub from: Option<ServiceRef>,
    pub to: Option<ServiceRef>,
}

/// Between a replace's delete and create, `cidr` goes to `during`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GapDoc {
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub from: ServiceRef,
    pub to: ServiceRef,
    pub during: Option<ServiceRef>,
}

/// Something a reviewer must read before approving: its `kind` and the fields of that kind,
/// the prefix and the CIDR it concerns, and the sentence the other formats print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WarningDoc {
    #[serde(flatten)]
    pub detail: WarningDetail,
    /// The prefix the warning belongs to.
    #[schemars(with = "CidrSchema")]
    pub prefix: IpNet,
    /// The range it concerns (the prefix itself for a prefix-wide binding).
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// The warning as one sentence.
    pub message: String,
}

/// The kinds of warning, with their fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WarningDetail {
    /// The prefix-wide binding changes service: every address of the prefix is disrupted;
    /// apply needs `--force`.
    PrefixWideReplaced { from: ServiceRef, to: ServiceRef },
    /// The prefix-wide binding is deleted (`bindings: []`); apply needs `--force`.
    PrefixWideDeleted { service: ServiceRef },
    /// The live prefix has more-specific bindings but no prefix-wide one; `repaired` when the
    /// plan creates it.
    MissingPrefixWide { repaired: bool },
    /// `count` live bindings share `cidr`: all but one are deleted, unless `ignored` (the CIDR
    /// lies inside an `ignore` range).
    DuplicateLive { count: usize, ignored: bool },
    /// The live binding of `cidr` breaks the API's own rules (`broken`): for a CIDR
    /// (`host_bits`, `other_family` or `outside_prefix`; its `cidr` may lie outside the
    /// prefix, and the traffic impact leaves it out), or it has the service of the binding
    /// that covers it (`same_service_as_cover`; it routes like that binding). It is deleted
    /// before any other step, unless `ignored` (inside an `ignore` range).
    BrokenLive {
        service: ServiceRef,
        broken: String,
        ignored: bool,
    },
}

/// A fact worth showing that is not a risk: its `kind` and fields, the prefix and the CIDR,
/// and the sentence the other formats print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoteDoc {
    #[serde(flatten)]
    pub detail: NoteDetail,
    /// The prefix the note belongs to.
    #[schemars(with = "CidrSchema")]
    pub prefix: IpNet,
    /// The range it concerns.
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// The note as one sentence.
    pub message: String,
}

/// The kinds of note, with their fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoteDetail {
    /// A live binding is not `active` yet (`state` as the API gives it).
    NotActive { service: ServiceRef, state: String },
}

impl PlanDocument {
    /// Sets [`PlanDocument::checksum`] over the rest of the document.
    pub fn seal(&mut self) {
        self.checksum = String::new();
        let value = serde_json::to_value(&*self).unwrap_or_default();
        self.checksum = checksum(&value);
    }
}

/// The checksum of a plan document given as JSON: SHA-256 of its canonical form without the
/// `checksum` field.
pub fn checksum(value: &serde_json::Value) -> String {
    let mut canonical = String::new();
    match value {
        serde_json::Value::Object(map) => {
            let rest: serde_json::Map<String, serde_json::Value> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "checksum")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            super::canonical_json(&serde_json::Value::Object(rest), &mut canonical);
        }
        other => super::canonical_json(other, &mut canonical),
    }
    super::sha256_hex(canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_over_the_canonical_form_without_itself() {
        let a = serde_json::json!({"b": [1, {"y": "é", "x": null}], "a": true, "checksum": "x"});
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "a": true, "b": [1, {"x": null, "y": "\u00e9"}] }"#).unwrap();
        assert_eq!(checksum(&a), checksum(&b));
        let mut canonical = String::new();
        super::super::canonical_json(&a, &mut canonical);
        assert_eq!(
            canonical,
            r#"{"a":true,"b":[1,{"x":null,"y":"é"}],"checksum":"x"}"#
        );
        assert_eq!(
            checksum(&b),
            super::super::sha256_hex(r#"{"a":true,"b":[1,{"x":null,"y":"é"}]}"#.as_bytes())
        );
    }
}
