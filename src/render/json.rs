//! The JSON contract: versioned documents for plans and apply reports.
//!
//! `format_version` is 1. A field is never removed or changes meaning within a version; new
//! fields may appear, so readers must ignore what they do not know. The JSON Schemas in
//! `schema/` are generated from these types (`plan.schema.json`, `apply-report.schema.json`)
//! and a test keeps them current. A saved plan holds ids, CIDRs and service names, never a
//! credential.

use std::borrow::Cow;
use std::io::{self, Write};

use ipnet::IpNet;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::{Context, PROPAGATION_NOTICE};
use crate::apply::{ApplyReport, StepStatus};
use crate::plan::{Change, Plan, PrefixPlan, Step};

/// The version of the documents this build writes.
pub const FORMAT_VERSION: u32 = 1;

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

/// The kind of a document, so a reader can tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Plan,
    ApplyReport,
}

/// A service: its id, and its name when the account's catalog has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRef {
    pub id: String,
    pub name: Option<String>,
}

/// `svcbind plan --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanDocument {
    /// Always 1 for this layout.
    pub format_version: u32,
    pub kind: Kind,
    /// The svcbind version that wrote the document.
    pub svcbind_version: String,
    pub account_id: String,
    pub summary: SummaryDoc,
    pub safety: SafetyDoc,
    /// Managed prefixes in the order of the file, unchanged ones included.
    pub prefixes: Vec<PrefixDoc>,
    /// The propagation notice, when the plan has changes.
    pub notice: Option<String>,
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
}

/// What the safety rules say: `needs_force` means apply refuses without `--force`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SafetyDoc {
    pub max_deletes: u32,
    /// Deletes plus replaces.
    pub destructive: usize,
    /// Prefixes whose prefix-wide binding is deleted or replaced.
    #[schemars(with = "Vec<CidrSchema>")]
    pub prefix_wide: Vec<IpNet>,
    pub needs_force: bool,
}

/// The plan of one prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrefixDoc {
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    /// SHA-256 (hex) of the sorted live (CIDR, service id, binding id) list.
    pub live_fingerprint: String,
    pub unchanged: bool,
    /// Logical changes, in the order their first step runs.
    pub changes: Vec<ChangeDoc>,
    /// API calls, in execution order.
    pub steps: Vec<StepDoc>,
    /// Ranges whose service changes, as minimal CIDR blocks.
    pub impact: Vec<ImpactDoc>,
    /// Ranges that briefly fall back to another service during a replace.
    pub gaps: Vec<GapDoc>,
    pub warnings: Vec<MessageDoc>,
    pub notes: Vec<MessageDoc>,
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
        binding_id: String,
        from: ServiceRef,
        to: ServiceRef,
    },
    Delete {
        #[schemars(with = "CidrSchema")]
        cidr: IpNet,
        binding_id: String,
        service: ServiceRef,
    },
}

/// One API call.
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

/// A warning or a note: a stable `kind` and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDoc {
    pub kind: String,
    pub message: String,
}

/// `svcbind apply --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyReportDocument {
    pub format_version: u32,
    pub kind: Kind,
    pub svcbind_version: String,
    pub account_id: String,
    pub summary: ApplySummaryDoc,
    /// Stopped by Ctrl-C before every step ran.
    pub interrupted: bool,
    /// Why apply refused to run any step (a safety rule, or no confirmation), if it did.
    pub refused: Option<String>,
    pub prefixes: Vec<PrefixReportDoc>,
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
    pub id: String,
    #[schemars(with = "CidrSchema")]
    pub cidr: IpNet,
    pub steps: Vec<StepReportDoc>,
}

/// One step and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepReportDoc {
    pub step: StepDoc,
    pub status: StepStatusDoc,
    /// Wall time of the call, for steps that ran.
    pub elapsed_ms: Option<u64>,
    /// The id of a created binding.
    pub binding_id: Option<String>,
    /// A delete whose binding was already gone.
    pub already_gone: bool,
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

fn service(ctx: &Context<'_>, id: &crate::model::ServiceId) -> ServiceRef {
    ServiceRef {
        id: id.to_string(),
        name: ctx.services.name(id).map(|n| n.to_owned()),
    }
}

fn step_doc(step: &Step, ctx: &Context<'_>) -> StepDoc {
    match step {
        Step::Create { cidr, service: s } => StepDoc::Create {
            cidr: *cidr,
            service: service(ctx, s),
        },
        Step::Delete {
            binding,
            cidr,
            service: s,
        } => StepDoc::Delete {
            cidr: *cidr,
            binding_id: binding.to_string(),
            service: service(ctx, s),
        },
    }
}

fn prefix_doc(p: &PrefixPlan, ctx: &Context<'_>) -> PrefixDoc {
    let changes = p
        .changes
        .iter()
        .map(|c| match c {
            Change::Create { cidr, service: s } => ChangeDoc::Create {
                cidr: *cidr,
                service: service(ctx, s),
            },
            Change::Replace { from, to } => ChangeDoc::Replace {
                cidr: from.cidr,
                binding_id: from.id.to_string(),
                from: service(ctx, &from.service_id),
                to: service(ctx, to),
            },
            Change::Delete { binding } => ChangeDoc::Delete {
                cidr: binding.cidr,
                binding_id: binding.id.to_string(),
                service: service(ctx, &binding.service_id),
            },
        })
        .collect();
    let impact = p
        .impact
        .iter()
        .map(|r| ImpactDoc {
            cidr: r.cidr,
            addresses: (1u128 << r.address_bits()).to_string(),
            from: r.from.as_ref().map(|s| service(ctx, s)),
            to: r.to.as_ref().map(|s| service(ctx, s)),
        })
        .collect();
    let gaps = p
        .gaps
        .iter()
        .map(|g| GapDoc {
            cidr: g.cidr,
            from: service(ctx, &g.from),
            to: service(ctx, &g.to),
            during: g.during.as_ref().map(|s| service(ctx, s)),
        })
        .collect();
    PrefixDoc {
        id: p.id.to_string(),
        cidr: p.cidr,
        live_fingerprint: p.live_fingerprint.clone(),
        unchanged: p.is_unchanged(),
        changes,
        steps: p.steps.iter().map(|s| step_doc(s, ctx)).collect(),
        impact,
        gaps,
        warnings: p
            .warnings
            .iter()
            .map(|w| MessageDoc {
                kind: w.kind().to_owned(),
                message: super::text::warning_text(w, p, ctx),
            })
            .collect(),
        notes: p
            .notes
            .iter()
            .map(|n| MessageDoc {
                kind: n.kind().to_owned(),
                message: super::text::note_text(n, ctx),
            })
            .collect(),
    }
}

/// The plan as a [`PlanDocument`].
pub fn plan_document(plan: &Plan, ctx: &Context<'_>) -> PlanDocument {
    let s = plan.summary();
    let safety = plan.safety(ctx.max_deletes);
    PlanDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Plan,
        svcbind_version: env!("CARGO_PKG_VERSION").to_owned(),
        account_id: plan.account_id.to_string(),
        summary: SummaryDoc {
            create: s.create,
            replace: s.replace,
            delete: s.delete,
            steps: s.steps,
            changed_prefixes: s.changed_prefixes,
            unchanged_prefixes: s.unchanged_prefixes,
            has_changes: s.has_changes(),
        },
        safety: SafetyDoc {
            max_deletes: ctx.max_deletes,
            destructive: plan.destructive_count(),
            needs_force: safety.needs_force(),
            prefix_wide: safety.prefix_wide,
        },
        prefixes: plan.prefixes.iter().map(|p| prefix_doc(p, ctx)).collect(),
        notice: s.has_changes().then(|| PROPAGATION_NOTICE.to_owned()),
    }
}

/// The apply report as an [`ApplyReportDocument`].
pub fn apply_document(
    plan: &Plan,
    report: &ApplyReport,
    ctx: &Context<'_>,
    refused: Option<String>,
) -> ApplyReportDocument {
    let c = report.counts();
    ApplyReportDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::ApplyReport,
        svcbind_version: env!("CARGO_PKG_VERSION").to_owned(),
        account_id: plan.account_id.to_string(),
        summary: ApplySummaryDoc {
            done: c.done,
            failed: c.failed,
            not_run: c.not_run,
        },
        interrupted: report.interrupted,
        refused,
        prefixes: report
            .prefixes
            .iter()
            .map(|p| PrefixReportDoc {
                id: p.id.to_string(),
                cidr: p.cidr,
                steps: p
                    .steps
                    .iter()
                    .map(|s| {
                        let (status, elapsed, binding_id, already_gone, error) = match &s.status {
                            StepStatus::Done {
                                elapsed,
                                created,
                                already_gone,
                                ..
                            } => (
                                StepStatusDoc::Done,
                                Some(elapsed),
                                created.as_ref().map(|id| id.to_string()),
                                *already_gone,
                                None,
                            ),
                            StepStatus::Failed { elapsed, error } => (
                                StepStatusDoc::Failed,
                                Some(elapsed),
                                None,
                                false,
                                Some(ErrorDoc {
                                    status: error.status(),
                                    codes: error.codes(),
                                    message: crate::sanitize::controls(&error.to_string())
                                        .into_owned(),
                                }),
                            ),
                            StepStatus::NotRun => (StepStatusDoc::NotRun, None, None, false, None),
                        };
                        StepReportDoc {
                            step: step_doc(&s.step, ctx),
                            status,
                            elapsed_ms: elapsed
                                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                            binding_id,
                            already_gone,
                            error,
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Writes a plan as pretty JSON with a trailing newline.
pub fn write_plan(out: &mut impl Write, plan: &Plan, ctx: &Context<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &plan_document(plan, ctx))?;
    writeln!(out)
}

/// Writes an apply report as pretty JSON with a trailing newline.
pub fn write_apply_report(
    out: &mut impl Write,
    plan: &Plan,
    report: &ApplyReport,
    ctx: &Context<'_>,
    refused: Option<String>,
) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &apply_document(plan, report, ctx, refused))?;
    writeln!(out)
}

/// The JSON Schemas of the documents, by file name under `schema/`.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    let gen_for = |schema: Schema| serde_json::to_value(schema).unwrap_or_default();
    vec![
        (
            "plan.schema.json",
            gen_for(schemars::schema_for!(PlanDocument)),
        ),
        (
            "apply-report.schema.json",
            gen_for(schemars::schema_for!(ApplyReportDocument)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AccountId, Binding, BindingId, PrefixId, ProvisioningState, Service, ServiceId, Services,
    };
    use crate::plan::{PrefixState, plan};

    #[test]
    fn the_committed_schemas_are_up_to_date() {
        for (name, schema) in schemas() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("schema")
                .join(name);
            let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if std::env::var_os("SVCBIND_BLESS").is_some() {
                std::fs::write(&path, &generated).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "schema/{name} is out of date with src/render/json.rs;\n\
                 regenerate it with: SVCBIND_BLESS=1 cargo test --lib the_committed_schemas_are_up_to_date"
            );
        }
    }

    fn sample() -> (Plan, Services) {
        let id = |s: &str| ServiceId::new(s).unwrap();
        let services = Services::new([
            Service {
                id: id("mt"),
                name: "Magic Transit".into(),
            },
            Service {
                id: id("cdn"),
                name: "CDN".into(),
            },
        ]);
        let state = PrefixState {
            id: PrefixId::new("p1").unwrap(),
            cidr: "2001:db8::/48".parse().unwrap(),
            desired: [("2001:db8::/48".parse().unwrap(), id("cdn"))].into(),
            ignore: Vec::new(),
            live: vec![Binding {
                id: BindingId::new("b1").unwrap(),
                cidr: "2001:db8::/48".parse().unwrap(),
                service_id: id("mt"),
                service_name: None,
                state: ProvisioningState::Active,
            }],
        };
        (
            plan(AccountId::new("acc").unwrap(), &[state]).unwrap(),
            services,
        )
    }

    #[test]
    fn a_plan_round_trips_and_large_counts_are_strings() {
        let (plan, services) = sample();
        let ctx = Context {
            services: &services,
            max_deletes: 10,
        };
        let mut out = Vec::new();
        write_plan(&mut out, &plan, &ctx).unwrap();
        let doc: PlanDocument = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc, plan_document(&plan, &ctx));
        assert_eq!(
            doc.prefixes[0].impact[0].addresses,
            "1208925819614629174706176"
        );
        assert!(doc.safety.needs_force);
        assert_eq!(doc.prefixes[0].warnings[0].kind, "prefix_wide_replaced");
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let schema = serde_json::to_value(schemars::schema_for!(PlanDocument)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}
