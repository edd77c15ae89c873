//! The apply report (`svcbind apply --format json`, `kind: "apply_report"`).

use ipnet::IpNet;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::{CidrSchema, IdSchema, Kind, ServiceRef, StepDoc};

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    Kind::ApplyReport.schema()
}

/// `svcbind apply --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyReportDocument {
    pub format_version: u32,
    #[schemars(schema_with = "kind_schema")]
    pub kind: Kind,
    pub svcbind_version: String,
    #[schemars(with = "IdSchema")]
    pub account_id: String,
    pub summary: ApplySummaryDoc,
    /// Stopped by a signal (Ctrl-C, SIGTERM) before every step ran.
    pub interrupted: bool,
    /// Why apply refused to run any step (a safety rule, no confirmation, or a saved plan the
    /// account has moved away from), if it did.
    pub refused: Option<String>,
    /// When apply refused a saved plan because the account changed since it was made: each
    /// prefix that changed, and how.
    pub stale: Vec<StalePrefixDoc>,
    pub prefixes: Vec<PrefixReportDoc>,
    /// What `apply --wait` saw after the steps: the final provisioning state of every binding
    /// the apply created. Absent without `--wait`, or when the steps did not all run.
    pub wait: Option<WaitDoc>,
}

/// A prefix of a saved plan whose live bindings changed since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StalePrefixDoc {
    #[schemars(with = "IdSchema")]
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// The prefix no longer exists in the account.
    pub gone: bool,
    /// The bindings that changed, by CIDR.
    pub changes: Vec<LiveChangeDoc>,
}

/// One binding change since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum LiveChangeDoc {
    /// A binding the plan did not see.
    Added {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        service: ServiceRef,
    },
    /// A binding the plan saw is gone.
    Removed {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        #[schemars(with = "IdSchema")]
        binding_id: String,
        service: ServiceRef,
    },
    /// The CIDR is now bound to another service.
    Moved {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        from: ServiceRef,
        to: ServiceRef,
        /// The binding the plan saw.
        #[schemars(with = "IdSchema")]
        planned_binding_id: String,
        /// The binding there now.
        #[schemars(with = "IdSchema")]
        binding_id: String,
    },
    /// The CIDR was bound again to the same service: another binding than the plan saw.
    Recreated {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        service: ServiceRef,
        #[schemars(with = "IdSchema")]
        planned_binding_id: String,
        #[schemars(with = "IdSchema")]
        binding_id: String,
    },
}

/// Counts of an apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplySummaryDoc {
    pub done: usize,
    pub failed: usize,
    pub not_run: usize,
}

/// The steps of one prefix and what became of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrefixReportDoc {
    #[schemars(with = "IdSchema")]
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub steps: Vec<StepReportDoc>,
    /// Set when the apply was stopped (a signal, or a failure) in the middle of this prefix's
    /// prefix-wide cascade: whether the cascade was finished anyway or undone.
    pub cascade: Option<CascadeDoc>,
    /// The prefix is left without a prefix-wide binding (its old one was deleted and the new
    /// one could not be created): none of its addresses is bound to a service until a new
    /// apply creates it.
    pub unbound: bool,
}

/// What a stop did to a prefix-wide cascade it came in the middle of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CascadeDoc {
    /// The stop came after the old prefix-wide binding was deleted: the cascade's remaining
    /// steps ran anyway (see the prefix's `steps`).
    Finished,
    /// The stop came while the old prefix-wide binding still stood: the more-specific bindings
    /// the cascade had deleted were created again with their old services by these steps, so
    /// the prefix is as it was before the apply. Its later plan steps did not run.
    Restored { steps: Vec<StepReportDoc> },
}

/// What `apply --wait` saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaitDoc {
    /// `active`: every created binding is active (or was deleted by someone meanwhile);
    /// `timed_out`: the time ran out first (exit 1); `interrupted`: a signal ended the wait.
    pub outcome: WaitOutcomeDoc,
    /// How long the wait took.
    pub elapsed_ms: u64,
    /// Every binding the apply created, in report order, as last read.
    pub bindings: Vec<WatchedDoc>,
}

/// How `apply --wait` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitOutcomeDoc {
    Active,
    TimedOut,
    Interrupted,
}

/// A binding the apply created, as `--wait` last read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WatchedDoc {
    /// The prefix's CIDR.
    #[schemars(with = "CidrSchema")]
    pub prefix: IpNet,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub service: ServiceRef,
    #[schemars(with = "IdSchema")]
    pub binding_id: String,
    /// Its `provisioning.state` as last read (`active`, `provisioning`, …); null when no read
    /// of its prefix succeeded, or when it is gone.
    pub state: Option<String>,
    /// The prefix no longer has it: someone deleted it meanwhile.
    pub gone: bool,
}

/// One step and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepReportDoc {
    pub step: StepDoc,
    pub status: StepStatusDoc,
    /// Wall time of the call, for steps that ran.
    pub elapsed_ms: Option<u64>,
    /// The id of a created binding.
    #[schemars(with = "Option<IdSchema>")]
    pub binding_id: Option<String>,
    /// A delete whose binding was already gone.
    pub already_gone: bool,
    /// The API's answer was lost (a timeout, a 5xx, a dropped connection) and reading the
    /// prefix back showed the step had happened: the binding was adopted, or is gone.
    #[serde(default)]
    pub read_back: bool,
    pub error: Option<ErrorDoc>,
}

/// `done`, `failed` or `not_run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatusDoc {
    Done,
    Failed,
    NotRun,
}

/// An API error: the HTTP status when there was one, the API's codes and messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDoc {
    pub status: Option<u16>,
    pub codes: Vec<u32>,
    pub message: String,
}
