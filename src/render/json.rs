//! The JSON format: builds the versioned documents of [`crate::contract`] from a plan, an apply
//! report or the service catalog, and writes them as pretty JSON with a trailing newline.
//!
//! The shapes, their version and their schemas belong to `contract`; this module only fills
//! them in, with the service names of the account and the same sentences as the text format.

use std::io::{self, Write};

use super::{Context, PROPAGATION_NOTICE};
use crate::apply::{ApplyReport, StepStatus};
use crate::contract::apply_report::{
    ApplySummaryDoc, ErrorDoc, PrefixReportDoc, StepReportDoc, StepStatusDoc,
};
use crate::contract::plan::{
    ChangeDoc, DeleteShareDoc, GapDoc, ImpactDoc, MessageDoc, PrefixDoc, ProtectedMoveDoc,
    ProtectedRangeDoc, SafetyDoc, SummaryDoc,
};
use crate::contract::services::ServiceDoc;
use crate::contract::{
    ApplyReportDocument, FORMAT_VERSION, Kind, PlanDocument, ServiceRef, ServicesDocument, StepDoc,
    svcbind_version,
};
use crate::model::{AccountId, Service};
use crate::plan::{Change, MIN_LIVE_FOR_PERCENT, Plan, PrefixPlan, Safety, Step};

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
    let safety = plan.safety(&ctx.limits);
    PlanDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Plan,
        svcbind_version: svcbind_version(),
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
        safety: safety_doc(plan, safety, ctx),
        prefixes: plan.prefixes.iter().map(|p| prefix_doc(p, ctx)).collect(),
        notice: s.has_changes().then(|| PROPAGATION_NOTICE.to_owned()),
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
        svcbind_version: svcbind_version(),
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
    write(out, &plan_document(plan, ctx))
}

/// Writes an apply report as pretty JSON with a trailing newline.
pub fn write_apply_report(
    out: &mut impl Write,
    plan: &Plan,
    report: &ApplyReport,
    ctx: &Context<'_>,
    refused: Option<String>,
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

fn write(out: &mut impl Write, doc: &impl serde::Serialize) -> io::Result<()> {
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
