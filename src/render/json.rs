//! The JSON format: builds the versioned documents of [`crate::contract`] from a plan, an apply
//! report, the service catalog, a file's diagnostics or a failure, and writes them as pretty
//! JSON with a trailing newline.
//!
//! The shapes, their version and their schemas belong to `contract`; this module only fills
//! them in, with the service names of the account and the same sentences as the text format.

use std::collections::HashMap;
use std::io::{self, Write};

use super::{Context, PROPAGATION_NOTICE};
use crate::apply::{ApplyReport, Cascade, Seen, StepReport, StepStatus, WaitOutcome, Waited};
use crate::config::{Diagnostic, Diagnostics, Severity};
use crate::contract::apply_report::{
    ApplySummaryDoc, CascadeDoc, ErrorDoc, LiveChangeDoc, PrefixReportDoc, StalePrefixDoc,
    StepReportDoc, StepStatusDoc, WaitDoc, WaitOutcomeDoc, WatchedDoc,
};
use crate::contract::plan::{
    ChangeDoc, DeleteShareDoc, GapDoc, ImpactDoc, LiveBindingDoc, NoteDetail, NoteDoc, PrefixDoc,
    ProtectedMoveDoc, ProtectedRangeDoc, SafetyDoc, SummaryDoc, WarningDetail, WarningDoc,
};
use crate::contract::services::ServiceDoc;
use crate::contract::validation::{DiagnosticDoc, SeverityDoc, StateSummaryDoc};
use crate::contract::{
    ApplyReportDocument, ErrorDocument, FORMAT_VERSION, Kind, LiveChange, PlanDocument, ServiceRef,
    ServicesDocument, StalePrefix, StepDoc, ValidationDocument, svcbind_version,
};
use crate::model::{AccountId, Binding, PrefixId, Service, StateFile};
use crate::plan::{
    Change, MIN_LIVE_FOR_PERCENT, Note, Plan, PrefixPlan, PrefixState, Safety, Step, Warning,
};

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

fn live_binding(b: &Binding, ctx: &Context<'_>) -> LiveBindingDoc {
    LiveBindingDoc {
        cidr: b.cidr,
        binding_id: b.id.to_string(),
        service: service(ctx, &b.service_id),
        state: b.state.as_str().to_owned(),
    }
}

fn warning_doc(w: &Warning, p: &PrefixPlan, ctx: &Context<'_>) -> WarningDoc {
    let (cidr, detail) = match w {
        Warning::PrefixWideReplaced { from, to } => (
            p.cidr,
            WarningDetail::PrefixWideReplaced {
                from: service(ctx, from),
                to: service(ctx, to),
            },
        ),
        Warning::PrefixWideDeleted { service: s } => (
            p.cidr,
            WarningDetail::PrefixWideDeleted {
                service: service(ctx, s),
            },
        ),
        Warning::MissingPrefixWide { repaired } => (
            p.cidr,
            WarningDetail::MissingPrefixWide {
                repaired: *repaired,
            },
        ),
        Warning::DuplicateLive {
            cidr,
            count,
            ignored,
        } => (
            *cidr,
            WarningDetail::DuplicateLive {
                count: *count,
                ignored: *ignored,
            },
        ),
        Warning::BrokenLive {
            cidr,
            service: s,
            broken,
            ignored,
        } => (
            *cidr,
            WarningDetail::BrokenLive {
                service: service(ctx, s),
                broken: broken.as_str().to_owned(),
                ignored: *ignored,
            },
        ),
    };
    WarningDoc {
        detail,
        prefix: p.cidr,
        cidr,
        message: super::text::warning_text(w, p, ctx),
    }
}

fn note_doc(n: &Note, p: &PrefixPlan, ctx: &Context<'_>) -> NoteDoc {
    let (cidr, detail) = match n {
        Note::NotActive {
            cidr,
            service: s,
            state,
        } => (
            *cidr,
            NoteDetail::NotActive {
                service: service(ctx, s),
                state: state.clone(),
            },
        ),
    };
    NoteDoc {
        detail,
        prefix: p.cidr,
        cidr,
        message: super::text::note_text(n, ctx),
    }
}

fn prefix_doc(p: &PrefixPlan, live: Option<&[Binding]>, ctx: &Context<'_>) -> PrefixDoc {
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
            addresses: address_count(r.cidr),
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
        live_bindings: live
            .filter(|_| !p.is_unchanged())
            .map(|live| live.iter().map(|b| live_binding(b, ctx)).collect()),
        unchanged: p.is_unchanged(),
        changes,
        steps: p.steps.iter().map(|s| step_doc(s, ctx)).collect(),
        impact,
        gaps,
        warnings: p.warnings.iter().map(|w| warning_doc(w, p, ctx)).collect(),
        notes: p.notes.iter().map(|n| note_doc(n, p, ctx)).collect(),
    }
}

/// The number of addresses of `cidr`, in decimal.
fn address_count(cidr: ipnet::IpNet) -> String {
    let bits = u32::from(cidr.max_prefix_len() - cidr.prefix_len());
    match 1u128.checked_shl(bits) {
        Some(n) if bits < 128 => n.to_string(),
        _ => "340282366920938463463374607431768211456".to_owned(),
    }
}

/// The safety section of the plan document.
fn safety_doc(plan: &Plan, safety: Safety, ctx: &Context<'_>) -> SafetyDoc {
    let delete_share = safety
        .too_large_share
        .iter()
        .map(|s| DeleteShareDoc {
            prefix: s.prefix,
            destructive: s.destructive,
            live: s.live,
            limit: s.limit,
            message: super::text::delete_share_text(s),
        })
        .collect();
    let protected = safety
        .protected
        .iter()
        .map(|p| ProtectedRangeDoc {
            range: p.range,
            prefix: p.prefix,
            moves: p
                .moves
                .iter()
                .map(|m| ProtectedMoveDoc {
                    cidr: m.cidr,
                    addresses: address_count(m.cidr),
                    from: m.from.as_ref().map(|s| service(ctx, s)),
                    to: m.to.as_ref().map(|s| service(ctx, s)),
                    transient: m.transient,
                })
                .collect(),
            message: super::text::protected_text(p, ctx),
        })
        .collect();
    SafetyDoc {
        max_deletes: ctx.limits.max_deletes,
        max_delete_percent: ctx.limits.max_delete_percent,
        delete_percent_min_live: MIN_LIVE_FOR_PERCENT,
        protect: ctx.limits.protect.clone(),
        destructive: plan.destructive_count(),
        needs_force: safety.needs_force(),
        too_many_deletes: safety.too_many_deletes.is_some(),
        prefix_wide: safety.prefix_wide,
        delete_share,
        protected,
    }
}

/// Where a plan came from: what its document holds besides the plan, so that `svcbind apply`
/// can carry it out later and tell whether the account changed since.
#[derive(Debug, Clone, Copy, Default)]
pub struct Provenance<'a> {
    /// SHA-256 of the desired-state file ([`crate::contract::sha256_hex`]).
    pub desired_sha256: Option<&'a str>,
    /// The live state the plan was made from (each prefix's live bindings, by prefix id).
    pub states: &'a [PrefixState],
    /// What `plan --changed-since REF` left out.
    pub skipped: Option<super::Skipped<'a>>,
}

/// The plan as a [`PlanDocument`], sealed with its checksum. Without a [`Provenance`] (no
/// live bindings), a plan with changes cannot be applied from the document.
pub fn plan_document(plan: &Plan, ctx: &Context<'_>, from: &Provenance<'_>) -> PlanDocument {
    let s = plan.summary();
    let safety = plan.safety(&ctx.limits);
    let live: HashMap<&PrefixId, &[Binding]> = from
        .states
        .iter()
        .map(|state| (&state.id, state.live.as_slice()))
        .collect();
    let mut doc = PlanDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Plan,
        svcbind_version: svcbind_version(),
        account_id: plan.account_id.to_string(),
        desired_sha256: from.desired_sha256.map(str::to_owned),
        summary: SummaryDoc {
            create: s.create,
            replace: s.replace,
            delete: s.delete,
            steps: s.steps,
            changed_prefixes: s.changed_prefixes,
            unchanged_prefixes: s.unchanged_prefixes,
            has_changes: s.has_changes(),
            skipped_prefixes: from
                .skipped
                .map(|skipped| skipped.prefixes.to_vec())
                .unwrap_or_default(),
        },
        safety: safety_doc(plan, safety, ctx),
        prefixes: plan
            .prefixes
            .iter()
            .map(|p| prefix_doc(p, live.get(&p.id).copied(), ctx))
            .collect(),
        notice: s.has_changes().then(|| PROPAGATION_NOTICE.to_owned()),
        changed_since: from.skipped.map(|skipped| skipped.since.to_owned()),
        checksum: String::new(),
    };
    doc.seal();
    doc
}

/// Why apply refused to run any step, if it did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refusal<'a> {
    /// The reason, as stderr says it.
    pub reason: Option<&'a str>,
    /// The prefixes of a saved plan that changed since the plan was made.
    pub stale: &'a [StalePrefix],
}

fn stale_doc(p: &StalePrefix, ctx: &Context<'_>) -> StalePrefixDoc {
    StalePrefixDoc {
        id: p.id.to_string(),
        cidr: p.cidr,
        gone: p.gone,
        changes: p
            .changes
            .iter()
            .map(|c| match c {
                LiveChange::Added(b) => LiveChangeDoc::Added {
                    cidr: b.cidr,
                    binding_id: b.id.to_string(),
                    service: service(ctx, &b.service_id),
                },
                LiveChange::Removed(b) => LiveChangeDoc::Removed {
                    cidr: b.cidr,
                    binding_id: b.id.to_string(),
                    service: service(ctx, &b.service_id),
                },
                LiveChange::Moved {
                    cidr,
                    from,
                    to,
                    before,
                    after,
                } => LiveChangeDoc::Moved {
                    cidr: *cidr,
                    from: service(ctx, from),
                    to: service(ctx, to),
                    planned_binding_id: before.to_string(),
                    binding_id: after.to_string(),
                },
                LiveChange::Recreated {
                    cidr,
                    service: s,
                    before,
                    after,
                } => LiveChangeDoc::Recreated {
                    cidr: *cidr,
                    service: service(ctx, s),
                    planned_binding_id: before.to_string(),
                    binding_id: after.to_string(),
                },
            })
            .collect(),
    }
}

/// The apply report as an [`ApplyReportDocument`].
pub fn apply_document(
    plan: &Plan,
    report: &ApplyReport,
    ctx: &Context<'_>,
    refused: &Refusal<'_>,
) -> ApplyReportDocument {
    let c = report.counts();
    ApplyReportDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::ApplyReport,
        svcbind_version: svcbind_version(),
        account_id: plan.account_id.to_string(),
        summary: ApplySummaryDoc {
            done: c.done,
            failed: c.failed,
            not_run: c.not_run,
        },
        interrupted: report.interrupted,
        refused: refused.reason.map(str::to_owned),
        stale: refused.stale.iter().map(|p| stale_doc(p, ctx)).collect(),
        prefixes: report
            .prefixes
            .iter()
            .map(|p| PrefixReportDoc {
                id: p.id.to_string(),
                cidr: p.cidr,
                steps: p.steps.iter().map(|s| step_report_doc(s, ctx)).collect(),
                cascade: p.cascade.as_ref().map(|c| match c {
                    Cascade::Finished => CascadeDoc::Finished,
                    Cascade::Restored { steps } => CascadeDoc::Restored {
                        steps: steps.iter().map(|s| step_report_doc(s, ctx)).collect(),
                    },
                }),
                unbound: p.unbound(),
            })
            .collect(),
        wait: report.waited.as_ref().map(|w| wait_doc(w, ctx)),
    }
}

/// One step of an apply report and its outcome.
fn step_report_doc(s: &StepReport, ctx: &Context<'_>) -> StepReportDoc {
    let (status, elapsed, binding_id, already_gone, error) = match &s.status {
        StepStatus::Done {
            elapsed,
            created,
            already_gone,
            read_back: _,
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
                message: crate::sanitize::controls(&error.to_string()).into_owned(),
            }),
        ),
        StepStatus::NotRun => (StepStatusDoc::NotRun, None, None, false, None),
    };
    StepReportDoc {
        step: step_doc(&s.step, ctx),
        status,
        elapsed_ms: elapsed.map(|d| millis(*d)),
        binding_id,
        already_gone,
        read_back: matches!(
            s.status,
            StepStatus::Done {
                read_back: true,
                ..
            }
        ),
        error,
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What `--wait` saw.
fn wait_doc(w: &Waited, ctx: &Context<'_>) -> WaitDoc {
    WaitDoc {
        outcome: match w.outcome {
            WaitOutcome::Settled => WaitOutcomeDoc::Active,
            WaitOutcome::TimedOut => WaitOutcomeDoc::TimedOut,
            WaitOutcome::Interrupted => WaitOutcomeDoc::Interrupted,
        },
        elapsed_ms: millis(w.elapsed),
        bindings: w
            .bindings
            .iter()
            .map(|b| WatchedDoc {
                prefix: b.prefix,
                cidr: b.cidr,
                service: service(ctx, &b.service),
                binding_id: b.binding.to_string(),
                state: match &b.state {
                    Seen::State(state) => Some(crate::sanitize::text(state.as_str()).into_owned()),
                    Seen::Unread | Seen::Gone => None,
                },
                gone: b.state == Seen::Gone,
            })
            .collect(),
    }
}

/// Writes a plan as pretty JSON with a trailing newline, without [`Provenance`]; `svcbind plan`
/// writes [`plan_document`] with it ([`write_document`]).
pub fn write_plan(out: &mut impl Write, plan: &Plan, ctx: &Context<'_>) -> io::Result<()> {
    write(out, &plan_document(plan, ctx, &Provenance::default()))
}

/// Writes an apply report as pretty JSON with a trailing newline.
pub fn write_apply_report(
    out: &mut impl Write,
    plan: &Plan,
    report: &ApplyReport,
    ctx: &Context<'_>,
    refused: &Refusal<'_>,
) -> io::Result<()> {
    write(out, &apply_document(plan, report, ctx, refused))
}

/// The service catalog as a [`ServicesDocument`].
pub fn services_document(account_id: &AccountId, services: &[Service]) -> ServicesDocument {
    ServicesDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Services,
        svcbind_version: svcbind_version(),
        account_id: account_id.to_string(),
        services: services
            .iter()
            .map(|s| ServiceDoc {
                id: s.id.to_string(),
                name: s.name.clone(),
            })
            .collect(),
    }
}

/// Writes the service catalog as pretty JSON with a trailing newline.
pub fn write_services(
    out: &mut impl Write,
    account_id: &AccountId,
    services: &[Service],
) -> io::Result<()> {
    write(out, &services_document(account_id, services))
}

/// One diagnostic as the documents carry it.
pub fn diagnostic_doc(d: &Diagnostic) -> DiagnosticDoc {
    DiagnosticDoc {
        file: d.file.clone(),
        line: d.line,
        column: d.column,
        severity: match d.severity {
            Severity::Error => SeverityDoc::Error,
            Severity::Warning => SeverityDoc::Warning,
        },
        message: d.message.clone(),
        hint: d.hint.clone(),
    }
}

/// The result of validating `file`: its diagnostics, and the state when it is valid.
pub fn validation_document(
    file: &str,
    diagnostics: &Diagnostics,
    state: Option<&StateFile>,
) -> ValidationDocument {
    ValidationDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Validation,
        svcbind_version: svcbind_version(),
        file: file.to_owned(),
        valid: !diagnostics.has_errors(),
        errors: diagnostics.error_count(),
        warnings: diagnostics.warning_count(),
        summary: state.map(|state| StateSummaryDoc {
            prefixes: state.prefixes.len(),
            bindings: state.binding_count(),
        }),
        diagnostics: diagnostics.iter().map(diagnostic_doc).collect(),
    }
}

/// A failed command as an [`ErrorDocument`].
pub fn error_document(
    command: &str,
    exit_code: u8,
    message: &str,
    hint: Option<&str>,
    diagnostics: &Diagnostics,
) -> ErrorDocument {
    ErrorDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Error,
        svcbind_version: svcbind_version(),
        command: command.to_owned(),
        exit_code,
        message: message.to_owned(),
        hint: hint.map(str::to_owned),
        diagnostics: diagnostics.iter().map(diagnostic_doc).collect(),
    }
}

/// Writes any document as pretty JSON with a trailing newline.
pub fn write_document(out: &mut impl Write, doc: &impl serde::Serialize) -> io::Result<()> {
    write(out, doc)
}

pub(crate) fn write(out: &mut impl Write, doc: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AccountId, Binding, BindingId, PrefixId, ProvisioningState, Service, ServiceId, Services,
    };
    use crate::plan::{PrefixState, plan};

    #[test]
    fn address_counts_are_exact_up_to_a_whole_family() {
        let count = |s: &str| address_count(s.parse().unwrap());
        assert_eq!(count("192.0.2.16/29"), "8");
        assert_eq!(count("0.0.0.0/0"), "4294967296");
        assert_eq!(count("2001:db8::/64"), "18446744073709551616");
        assert_eq!(count("::/1"), "170141183460469231731687303715884105728");
        assert_eq!(count("::/0"), "340282366920938463463374607431768211456");
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
            limits: crate::plan::SafetyLimits::max_deletes(10),
        };
        let mut out = Vec::new();
        write_plan(&mut out, &plan, &ctx).unwrap();
        let doc: PlanDocument = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc, plan_document(&plan, &ctx, &Provenance::default()));
        assert_eq!(
            doc.prefixes[0].impact[0].addresses,
            "1208925819614629174706176"
        );
        assert!(doc.safety.needs_force);
        assert_eq!(
            doc.prefixes[0].warnings[0].detail,
            WarningDetail::PrefixWideReplaced {
                from: ServiceRef {
                    id: "mt".into(),
                    name: Some("Magic Transit".into())
                },
                to: ServiceRef {
                    id: "cdn".into(),
                    name: Some("CDN".into())
                },
            }
        );
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let schema = serde_json::to_value(schemars::schema_for!(PlanDocument)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn the_services_document_fits_its_schema() {
        let services = [Service {
            id: ServiceId::new("cdn").unwrap(),
            name: "CDN".into(),
        }];
        let mut out = Vec::new();
        write_services(&mut out, &AccountId::new("acc").unwrap(), &services).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["kind"], "services");
        assert_eq!(value["format_version"], 1);
        assert_eq!(value["services"][0]["name"], "CDN");
        let schema = serde_json::to_value(schemars::schema_for!(ServicesDocument)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&value));
    }
}
