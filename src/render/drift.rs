//! The drift report in the three formats: text (a unified diff between the file's bindings and
//! the live ones, rendered as YAML), markdown (the body of an issue, marked
//! `<!-- svcbind:drift -->`) and JSON (the [`DriftDocument`]).
//!
//! The diff is of each drifted prefix written as the file writes it, on one side the file's
//! bindings, on the other the same with the live state accepted: the `-` lines are what the
//! next apply would restore, the `+` lines what to copy into the file to accept the live state.
//! Service names are the account's; every string from the API is sanitized (the YAML writer
//! quotes and escapes, the text goes through [`crate::sanitize`], markdown through [`escape`]).

use std::fmt::Write as _;
use std::io::{self, Write};

use ipnet::IpNet;

use super::markdown::{escape, write_cut};
use super::text::Palette;
use super::{PROPAGATION_NOTICE, count};
use crate::contract::drift::{
    DriftPrefixDoc, DriftSummaryDoc, FindingDoc, LiveBindingDoc, NotActiveDoc, UnmanagedPrefixDoc,
};
use crate::contract::{DriftDocument, FORMAT_VERSION, Kind, ServiceRef, svcbind_version};
use crate::model::{DesiredBinding, DesiredPrefix, ServiceId, Services};
use crate::plan::drift::{Drift, DriftSummary, Finding, NotActive, PrefixDrift};
use crate::sanitize;

/// The marker of drift documents, so a job can find and update its issue.
pub const DRIFT_MARKER: &str = "<!-- svcbind:drift -->";

/// What the drift renderers need besides the drift.
#[derive(Debug, Clone, Copy)]
pub struct DriftContext<'a> {
    pub services: &'a Services,
    /// The desired-state file, as named on the command line.
    pub file: &'a str,
    /// The plan command to suggest: `svcbind plan`, with the `-c` flags the user gave.
    pub plan: &'a str,
}

impl DriftContext<'_> {
    fn service(&self, id: &ServiceId) -> String {
        sanitize::text(self.services.display(id)).into_owned()
    }

    fn service_ref(&self, id: &ServiceId) -> ServiceRef {
        ServiceRef {
            id: id.to_string(),
            name: self.services.name(id).map(str::to_owned),
        }
    }
}

/// `2 missing, 1 unexpected, 1 service mismatch` (the kinds with a count only).
fn findings_text(missing: usize, unexpected: usize, mismatch: usize) -> String {
    let mut parts = Vec::new();
    if missing > 0 {
        parts.push(format!("{missing} missing"));
    }
    if unexpected > 0 {
        parts.push(format!("{unexpected} unexpected"));
    }
    if mismatch > 0 {
        parts.push(count(mismatch, "service mismatch", "service mismatches"));
    }
    parts.join(", ")
}

fn prefix_findings(p: &PrefixDrift) -> String {
    let n = |kind: &str| p.findings.iter().filter(|f| f.kind() == kind).count();
    findings_text(n("missing"), n("unexpected"), n("service_mismatch"))
}

fn summary_findings(s: &DriftSummary) -> String {
    findings_text(s.missing, s.unexpected, s.service_mismatch)
}

/// The unified diff of one prefix: the file's bindings against the live ones, as YAML.
pub fn yaml_diff(p: &PrefixDrift, ctx: &DriftContext<'_>) -> String {
    let side = |bindings: Vec<(IpNet, ServiceId)>| DesiredPrefix {
        cidr: p.cidr,
        id: None,
        ignore: Vec::new(),
        bindings: bindings
            .into_iter()
            .map(|(cidr, service)| DesiredBinding {
                cidr,
                service: ctx.services.display(&service).to_owned(),
                id: None,
                state: None,
                location: Default::default(),
            })
            .collect(),
        location: Default::default(),
    };
    let file = crate::config::prefix_to_yaml(&side(
        p.desired.iter().map(|(c, s)| (*c, s.clone())).collect(),
    ));
    let live = crate::config::prefix_to_yaml(&side(p.accepted()));
    similar::TextDiff::from_lines(&file, &live)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{} ({})", sanitize::text(ctx.file), p.cidr),
            &format!("live ({})", p.cidr),
        )
        .to_string()
}

/// A binding that is not active, as one sentence.
pub fn not_active_text(n: &NotActive, ctx: &DriftContext<'_>) -> String {
    let b = &n.binding;
    let file = match &n.desired {
        Some(s) if *s == b.service_id => "as in the file".to_owned(),
        Some(s) => format!("the file has {}", ctx.service(s)),
        None => "not in the file".to_owned(),
    };
    format!(
        "{} ({}) is {}, not active yet ({file}); not counted as drift",
        b.cidr,
        ctx.service(&b.service_id),
        sanitize::text(b.state.as_str())
    )
}

fn ignored_text(b: &crate::model::Binding, ctx: &DriftContext<'_>) -> String {
    format!(
        "{} ({}) lies inside `ignore`: left alone",
        b.cidr,
        ctx.service(&b.service_id)
    )
}

/// Writes the drift report as text.
pub fn text(
    out: &mut impl Write,
    drift: &Drift,
    ctx: &DriftContext<'_>,
    color: bool,
) -> io::Result<()> {
    let p = Palette::new(color);
    let (bold, dim, warn) = (p.bold, p.dim, p.warn);
    let s = drift.summary();
    writeln!(out, "{bold}Account {}{bold:#}", drift.account_id)?;
    if s.has_drift() {
        writeln!(
            out,
            "In each diff, `-` lines are in {} but not live (the next apply restores them); `+` lines are live but not in the file (copy them into the file to keep them).",
            sanitize::text(ctx.file)
        )?;
    }
    for prefix in &drift.prefixes {
        writeln!(out)?;
        if prefix.in_sync() {
            writeln!(out, "{bold}{}{bold:#}: in sync", prefix.cidr)?;
        } else {
            writeln!(
                out,
                "{bold}{}{bold:#} {dim}(prefix {}){dim:#}: {}",
                prefix.cidr,
                prefix.id,
                prefix_findings(prefix)
            )?;
            for line in yaml_diff(prefix, ctx).lines() {
                let style = if line.starts_with("---") || line.starts_with("+++") {
                    p.bold
                } else if line.starts_with('-') {
                    p.delete
                } else if line.starts_with('+') {
                    p.create
                } else if line.starts_with("@@") {
                    p.dim
                } else {
                    anstyle::Style::new()
                };
                writeln!(out, "{style}{line}{style:#}")?;
            }
        }
        for b in &prefix.ignored {
            writeln!(out, "  ignored: {}", ignored_text(b, ctx))?;
        }
        for n in &prefix.not_active {
            writeln!(out, "  note: {}", not_active_text(n, ctx))?;
        }
    }
    writeln!(out)?;
    match &drift.unmanaged {
        Some(unmanaged) if !unmanaged.is_empty() => {
            writeln!(
                out,
                "Unmanaged prefixes (in the account, not in the file; svcbind never touches them):"
            )?;
            for u in unmanaged {
                write!(out, "  {} {dim}(prefix {}){dim:#}", u.cidr, u.id)?;
                if let Some(d) = u.description.as_deref().filter(|d| !d.is_empty()) {
                    write!(out, " {}", sanitize::text(d))?;
                }
                writeln!(out)?;
            }
            writeln!(out)?;
        }
        Some(_) => {}
        None => {
            writeln!(
                out,
                "{dim}Unmanaged prefixes were not looked for: every prefix of the file pins its id, so the prefix listing was not read.{dim:#}"
            )?;
            writeln!(out)?;
        }
    }
    if s.has_drift() {
        writeln!(
            out,
            "{bold}Drift:{bold:#} {} in {}; {} in sync.",
            summary_findings(&s),
            count(s.drifted_prefixes, "prefix", "prefixes"),
            count(s.in_sync_prefixes, "prefix", "prefixes"),
        )?;
        writeln!(
            out,
            "Run `{}` to see how apply would restore the file, or edit the file to accept the live state.",
            ctx.plan
        )?;
        writeln!(out)?;
        writeln!(out, "{warn}{PROPAGATION_NOTICE}{warn:#}")?;
    } else {
        writeln!(
            out,
            "{bold}No drift.{bold:#} The live bindings match the file ({}).",
            count(s.in_sync_prefixes, "prefix", "prefixes")
        )?;
    }
    Ok(())
}

fn md_service(ctx: &DriftContext<'_>, id: &ServiceId) -> String {
    escape(&ctx.service(id))
}

/// Writes the drift report as markdown, for the body of an issue.
pub fn markdown(out: &mut impl Write, drift: &Drift, ctx: &DriftContext<'_>) -> io::Result<()> {
    let mut md = String::new();
    let s = drift.summary();
    let file = escape(ctx.file);
    let _ = writeln!(md, "{DRIFT_MARKER}");
    if s.has_drift() {
        let _ = writeln!(md, "### svcbind drift: {}\n", summary_findings(&s));
        let _ = writeln!(
            md,
            "The live bindings of {} of {} in account `{}` differ from `{file}`: they were changed outside svcbind, or a change to the file was not applied.\n",
            s.drifted_prefixes,
            count(drift.prefixes.len(), "managed prefix", "managed prefixes"),
            drift.account_id
        );
    } else {
        let _ = writeln!(md, "### svcbind drift: in sync\n");
        let _ = writeln!(
            md,
            "The live bindings of account `{}` match `{file}` ({}).\n",
            drift.account_id,
            count(s.in_sync_prefixes, "prefix", "prefixes")
        );
    }
    for prefix in drift.prefixes.iter().filter(|p| !p.in_sync()) {
        let _ = writeln!(
            md,
            "#### `{}` (prefix `{}`): {}\n",
            prefix.cidr,
            prefix.id,
            prefix_findings(prefix)
        );
        let _ = writeln!(
            md,
            "| Finding | CIDR | In the file | Live | Binding |\n|---|---|---|---|---|"
        );
        for f in &prefix.findings {
            let (what, cidr, file, live, id) = match f {
                Finding::Missing { cidr, service } => (
                    "missing",
                    cidr,
                    md_service(ctx, service),
                    "—".to_owned(),
                    String::new(),
                ),
                Finding::Unexpected { binding } => (
                    "unexpected",
                    &binding.cidr,
                    "—".to_owned(),
                    md_service(ctx, &binding.service_id),
                    format!("`{}`", binding.id),
                ),
                Finding::ServiceMismatch { binding, desired } => (
                    "service mismatch",
                    &binding.cidr,
                    md_service(ctx, desired),
                    md_service(ctx, &binding.service_id),
                    format!("`{}`", binding.id),
                ),
            };
            let _ = writeln!(md, "| {what} | `{cidr}` | {file} | {live} | {id} |");
        }
        let _ = writeln!(md, "\n```diff\n{}```\n", yaml_diff(prefix, ctx));
        for b in &prefix.ignored {
            let _ = writeln!(md, "- ignored: {}", escape(&ignored_text(b, ctx)));
        }
        for n in &prefix.not_active {
            let _ = writeln!(md, "- note: {}", escape(&not_active_text(n, ctx)));
        }
        if !prefix.ignored.is_empty() || !prefix.not_active.is_empty() {
            md.push('\n');
        }
    }
    let in_sync: Vec<String> = drift
        .prefixes
        .iter()
        .filter(|p| p.in_sync())
        .map(|p| format!("`{}`", p.cidr))
        .collect();
    if s.has_drift() && !in_sync.is_empty() {
        let _ = writeln!(md, "In sync: {}\n", in_sync.join(", "));
    }
    for prefix in drift.prefixes.iter().filter(|p| p.in_sync()) {
        for b in &prefix.ignored {
            let _ = writeln!(
                md,
                "- `{}`: ignored: {}",
                prefix.cidr,
                escape(&ignored_text(b, ctx))
            );
        }
        for n in &prefix.not_active {
            let _ = writeln!(
                md,
                "- `{}`: note: {}",
                prefix.cidr,
                escape(&not_active_text(n, ctx))
            );
        }
    }
    if drift
        .prefixes
        .iter()
        .any(|p| p.in_sync() && (!p.ignored.is_empty() || !p.not_active.is_empty()))
    {
        md.push('\n');
    }
    if let Some(unmanaged) = drift.unmanaged.as_ref().filter(|u| !u.is_empty()) {
        let _ = writeln!(
            md,
            "**Unmanaged prefixes** (in the account, not in the file; svcbind never touches them):\n"
        );
        for u in unmanaged {
            let _ = write!(md, "- `{}` (prefix `{}`)", u.cidr, u.id);
            if let Some(d) = u.description.as_deref().filter(|d| !d.is_empty()) {
                let _ = write!(md, " {}", escape(d));
            }
            md.push('\n');
        }
        md.push('\n');
    }
    if s.has_drift() {
        let _ = writeln!(
            md,
            "**What to do.** To restore the file, run `{}` and review how apply would change the account (the `-` lines come back, the `+` lines go). To keep the live state, copy the `+` lines into `{file}` and drop the `-` lines.\n",
            ctx.plan
        );
        let _ = writeln!(md, "> [!WARNING]\n> {PROPAGATION_NOTICE}");
    }
    write_cut(out, &md, "svcbind drift", "the whole report")
}

fn live_binding_doc(b: &crate::model::Binding, ctx: &DriftContext<'_>) -> LiveBindingDoc {
    LiveBindingDoc {
        cidr: b.cidr,
        binding_id: b.id.to_string(),
        service: ctx.service_ref(&b.service_id),
        state: sanitize::text(b.state.as_str()).into_owned(),
    }
}

/// The drift report as a [`DriftDocument`].
pub fn document(drift: &Drift, ctx: &DriftContext<'_>) -> DriftDocument {
    let s = drift.summary();
    let prefix_doc = |p: &PrefixDrift| DriftPrefixDoc {
        id: p.id.to_string(),
        cidr: p.cidr,
        in_sync: p.in_sync(),
        findings: p
            .findings
            .iter()
            .map(|f| match f {
                Finding::Missing { cidr, service } => FindingDoc::Missing {
                    cidr: *cidr,
                    file: ctx.service_ref(service),
                },
                Finding::Unexpected { binding } => FindingDoc::Unexpected {
                    cidr: binding.cidr,
                    binding_id: binding.id.to_string(),
                    live: ctx.service_ref(&binding.service_id),
                },
                Finding::ServiceMismatch { binding, desired } => FindingDoc::ServiceMismatch {
                    cidr: binding.cidr,
                    binding_id: binding.id.to_string(),
                    file: ctx.service_ref(desired),
                    live: ctx.service_ref(&binding.service_id),
                },
            })
            .collect(),
        ignored: p.ignored.iter().map(|b| live_binding_doc(b, ctx)).collect(),
        not_active: p
            .not_active
            .iter()
            .map(|n| NotActiveDoc {
                cidr: n.binding.cidr,
                binding_id: n.binding.id.to_string(),
                service: ctx.service_ref(&n.binding.service_id),
                state: sanitize::text(n.binding.state.as_str()).into_owned(),
                file: n.desired.as_ref().map(|d| ctx.service_ref(d)),
                message: not_active_text(n, ctx),
            })
            .collect(),
    };
    DriftDocument {
        format_version: FORMAT_VERSION,
        kind: Kind::Drift,
        svcbind_version: svcbind_version(),
        account_id: drift.account_id.to_string(),
        summary: DriftSummaryDoc {
            missing: s.missing,
            unexpected: s.unexpected,
            service_mismatch: s.service_mismatch,
            drifted_prefixes: s.drifted_prefixes,
            in_sync_prefixes: s.in_sync_prefixes,
            not_active: s.not_active,
            ignored: s.ignored,
            has_drift: s.has_drift(),
        },
        prefixes: drift.prefixes.iter().map(prefix_doc).collect(),
        unmanaged_prefixes: drift.unmanaged.as_ref().map(|u| {
            u.iter()
                .map(|p| UnmanagedPrefixDoc {
                    id: p.id.to_string(),
                    cidr: p.cidr,
                    description: p
                        .description
                        .as_deref()
                        .map(|d| sanitize::text(d).into_owned()),
                })
                .collect()
        }),
        notice: s.has_drift().then(|| PROPAGATION_NOTICE.to_owned()),
    }
}

/// Writes the drift report as pretty JSON with a trailing newline.
pub fn json(out: &mut impl Write, drift: &Drift, ctx: &DriftContext<'_>) -> io::Result<()> {
    super::json::write(out, &document(drift, ctx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, Service};
    use crate::plan::drift::classify;
    use crate::plan::tests::{live, state};

    fn services() -> Services {
        let id = |s: &str| ServiceId::new(s).unwrap();
        Services::new([
            Service {
                id: id("mt"),
                name: "Magic Transit".into(),
            },
            Service {
                id: id("cdn"),
                name: "CDN".into(),
            },
            Service {
                id: id("spectrum"),
                name: "Spectrum".into(),
            },
        ])
    }

    fn sample() -> Drift {
        let s = state(
            "192.0.2.0/24",
            &[
                ("192.0.2.0/24", "mt"),
                ("192.0.2.16/29", "cdn"),
                ("192.0.2.64/27", "spectrum"),
            ],
            vec![
                live("b1", "192.0.2.0/24", "mt"),
                live("b2", "192.0.2.64/27", "cdn"),
                live("b3", "192.0.2.200/29", "cdn"),
            ],
        );
        Drift {
            account_id: AccountId::new("acc").unwrap(),
            prefixes: vec![classify(&s)],
            unmanaged: Some(Vec::new()),
        }
    }

    #[test]
    fn the_diff_shows_what_apply_restores_and_what_to_accept() {
        let services = services();
        let ctx = DriftContext {
            services: &services,
            file: "svcbind.yaml",
            plan: "svcbind plan",
        };
        let diff = yaml_diff(&sample().prefixes[0], &ctx);
        assert_eq!(
            diff,
            "--- svcbind.yaml (192.0.2.0/24)
+++ live (192.0.2.0/24)
@@ -1,5 +1,5 @@
   - cidr: 192.0.2.0/24
     bindings:
       - { cidr: 192.0.2.0/24, service: Magic Transit }
-      - { cidr: 192.0.2.16/29, service: CDN }
-      - { cidr: 192.0.2.64/27, service: Spectrum }
+      - { cidr: 192.0.2.64/27, service: CDN }
+      - { cidr: 192.0.2.200/29, service: CDN }
"
        );
    }

    #[test]
    fn the_document_fits_its_schema() {
        let services = services();
        let ctx = DriftContext {
            services: &services,
            file: "svcbind.yaml",
            plan: "svcbind plan",
        };
        let mut out = Vec::new();
        json(&mut out, &sample(), &ctx).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let schema = serde_json::to_value(schemars::schema_for!(DriftDocument)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(value["kind"], "drift");
        assert_eq!(
            value["prefixes"][0]["findings"][1]["kind"],
            "service_mismatch"
        );
        assert_eq!(value["summary"]["has_drift"], true);
        let back: DriftDocument = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, document(&sample(), &ctx));
    }
}
