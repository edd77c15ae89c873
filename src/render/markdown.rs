//! The pull-request format: a hidden marker so CI can update its comment in place, the
//! summary, a disruption banner, one table per prefix, the impact, and the warnings; cut below
//! 65,000 characters (GitHub's comment limit is 65,536) with a note saying so.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Context, PROPAGATION_NOTICE, addresses, count};
use crate::apply::{ApplyReport, StepStatus};
use crate::plan::{Change, Plan, PrefixPlan, Step};

/// The marker of plan comments.
pub const PLAN_MARKER: &str = "<!-- svcbind:plan -->";
/// The marker of apply-report comments.
pub const APPLY_MARKER: &str = "<!-- svcbind:apply -->";
/// Outputs are cut below this many characters.
pub const LIMIT: usize = 65_000;

/// Escapes text for a table cell: `|`, backticks, and HTML.
pub fn escape(s: &str) -> String {
    let clean = crate::sanitize::controls(s);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("&#96;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' => out.push_str("\\\\"),
            '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn svc(ctx: &Context<'_>, id: &crate::model::ServiceId) -> String {
    escape(&ctx.service(id))
}

/// Writes a plan.
pub fn plan(out: &mut impl Write, plan: &Plan, ctx: &Context<'_>) -> io::Result<()> {
    let mut md = String::new();
    let s = plan.summary();
    let _ = writeln!(md, "{PLAN_MARKER}");
    if s.has_changes() {
        let _ = writeln!(
            md,
            "### svcbind plan: {} to create, {} to replace, {} to delete; {} unchanged\n",
            s.create,
            s.replace,
            s.delete,
            count(s.unchanged_prefixes, "prefix", "prefixes")
        );
        let _ = writeln!(
            md,
            "> [!WARNING]\n> **Applying this plan moves traffic.** {PROPAGATION_NOTICE}\n"
        );
    } else {
        let _ = writeln!(
            md,
            "### svcbind plan: no changes\n\nThe live bindings match the file ({}).\n",
            count(s.unchanged_prefixes, "prefix", "prefixes")
        );
    }
    let _ = writeln!(md, "Account `{}`\n", plan.account_id);
    let safety = plan.safety(&ctx.limits);
    if let Some((n, limit)) = safety.too_many_deletes {
        let _ = writeln!(
            md,
            "> [!CAUTION]\n> This plan deletes or replaces {}, more than `max_deletes` ({limit}); apply needs `--force`.\n",
            count(n, "binding", "bindings")
        );
    }
    for share in &safety.too_large_share {
        let _ = writeln!(
            md,
            "> [!CAUTION]\n> {}; apply needs `--force`.\n",
            escape(&super::text::delete_share_text(share))
        );
    }
    for range in &safety.protected {
        let _ = writeln!(
            md,
            "> [!CAUTION]\n> {}; apply needs `--force`.\n",
            escape(&super::text::protected_text(range, ctx))
        );
    }
    let unchanged: Vec<String> = plan
        .prefixes
        .iter()
        .filter(|p| p.is_unchanged())
        .map(|p| format!("`{}`", p.cidr))
        .collect();
    for prefix in plan.prefixes.iter().filter(|p| !p.is_unchanged()) {
        prefix_section(&mut md, prefix, ctx);
    }
    if !unchanged.is_empty() {
        let _ = writeln!(md, "Unchanged: {}\n", unchanged.join(", "));
    }
    // What is worth knowing about the unchanged prefixes.
    for prefix in plan.prefixes.iter().filter(|p| p.is_unchanged()) {
        for w in &prefix.warnings {
            let _ = writeln!(
                md,
                "> [!CAUTION]\n> `{}`: {}\n",
                prefix.cidr,
                escape(&super::text::warning_text(w, prefix, ctx))
            );
        }
        for note in &prefix.notes {
            let _ = writeln!(
                md,
                "- `{}`: {}",
                prefix.cidr,
                escape(&super::text::note_text(note, ctx))
            );
        }
    }
    write_limited(out, &md)
}

fn prefix_section(md: &mut String, prefix: &PrefixPlan, ctx: &Context<'_>) {
    let _ = writeln!(md, "#### `{}` (prefix `{}`)\n", prefix.cidr, prefix.id);
    for w in &prefix.warnings {
        let _ = writeln!(
            md,
            "> [!CAUTION]\n> {}\n",
            escape(&super::text::warning_text(w, prefix, ctx))
        );
    }
    let _ = writeln!(
        md,
        "| Step | Action | CIDR | From | To |\n|---:|---|---|---|---|"
    );
    let cascade = prefix.touches_prefix_wide() && prefix.steps.len() > prefix.changes.len() + 1;
    if cascade {
        // Every step, since unchanged bindings are deleted and re-created too.
        for (i, step) in prefix.steps.iter().enumerate() {
            let (action, cidr, from, to) = match step {
                Step::Create { cidr, service } => ("create", cidr, "".into(), svc(ctx, service)),
                Step::Delete { cidr, service, .. } => {
                    ("delete", cidr, svc(ctx, service), "".into())
                }
            };
            let _ = writeln!(md, "| {} | {action} | `{cidr}` | {from} | {to} |", i + 1);
        }
    } else {
        let mut step = 1;
        for change in &prefix.changes {
            let (action, cidr, from, to, steps) = match change {
                Change::Create { cidr, service } => {
                    ("create", cidr, String::new(), svc(ctx, service), 1)
                }
                Change::Replace { from, to } => (
                    "replace",
                    &from.cidr,
                    svc(ctx, &from.service_id),
                    svc(ctx, to),
                    2,
                ),
                Change::Delete { binding } => (
                    "delete",
                    &binding.cidr,
                    svc(ctx, &binding.service_id),
                    String::new(),
                    1,
                ),
            };
            let label = if steps == 2 {
                format!("{}–{}", step, step + 1)
            } else {
                step.to_string()
            };
            step += steps;
            let _ = writeln!(md, "| {label} | {action} | `{cidr}` | {from} | {to} |");
        }
    }
    md.push('\n');
    if !prefix.impact.is_empty() {
        let _ = writeln!(
            md,
            "**Traffic impact**\n\n| Addresses | Count | From | To |\n|---|---:|---|---|"
        );
        for r in &prefix.impact {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                r.cidr,
                addresses(r.address_bits()),
                escape(&ctx.maybe_service(r.from.as_ref())),
                escape(&ctx.maybe_service(r.to.as_ref()))
            );
        }
        md.push('\n');
    }
    for gap in &prefix.gaps {
        let _ = writeln!(md, "- {}", escape(&super::text::gap_text(gap, ctx)));
    }
    for note in &prefix.notes {
        let _ = writeln!(md, "- {}", escape(&super::text::note_text(note, ctx)));
    }
    if !prefix.gaps.is_empty() || !prefix.notes.is_empty() {
        md.push('\n');
    }
}

/// Writes an apply report.
pub fn apply_report(
    out: &mut impl Write,
    report: &ApplyReport,
    ctx: &Context<'_>,
    refused: Option<&str>,
) -> io::Result<()> {
    let mut md = String::new();
    let c = report.counts();
    let _ = writeln!(md, "{APPLY_MARKER}");
    let _ = writeln!(
        md,
        "### svcbind apply: {} done, {} failed, {} not run\n",
        c.done, c.failed, c.not_run
    );
    if let Some(reason) = refused {
        let _ = writeln!(md, "> [!CAUTION]\n> Refused: {}\n", escape(reason));
    } else if report.interrupted {
        let _ = writeln!(
            md,
            "> [!WARNING]\n> Interrupted: run `svcbind plan` to see what remains.\n"
        );
    } else if c.failed > 0 {
        let _ = writeln!(
            md,
            "> [!CAUTION]\n> Stopped at the first failure: run `svcbind plan` to see exactly what remains.\n"
        );
    }
    for prefix in &report.prefixes {
        let _ = writeln!(
            md,
            "#### `{}`\n\n| Step | Result | Action | Error |\n|---:|---|---|---|",
            prefix.cidr
        );
        for (i, s) in prefix.steps.iter().enumerate() {
            let (result, error) = match &s.status {
                StepStatus::Done { .. } => ("done", String::new()),
                StepStatus::Failed { error, .. } => ("**failed**", escape(&error.to_string())),
                StepStatus::NotRun => ("not run", String::new()),
            };
            let _ = writeln!(
                md,
                "| {} | {result} | {} | {error} |",
                i + 1,
                escape(&super::text::step_text(&s.step, ctx))
            );
        }
        md.push('\n');
    }
    write_limited(out, &md)
}

/// Writes the service catalog as a table.
pub fn services(out: &mut impl Write, services: &[crate::model::Service]) -> io::Result<()> {
    let mut md = String::from("| Service | Id |\n|---|---|\n");
    for s in services {
        let _ = writeln!(md, "| {} | `{}` |", escape(&s.name), s.id);
    }
    write_limited(out, &md)
}

/// Writes `md`, cut at a line boundary below [`LIMIT`] with a note when it is longer.
fn write_limited(out: &mut impl Write, md: &str) -> io::Result<()> {
    if md.chars().count() <= LIMIT {
        return out.write_all(md.as_bytes());
    }
    const NOTE: &str = "\n> [!NOTE]\n> Output cut here: it is longer than a pull-request comment may be. Run `svcbind plan` for the whole plan.\n";
    let budget = LIMIT - NOTE.chars().count() - 1;
    let mut end = 0;
    let mut chars = 0;
    for line in md.split_inclusive('\n') {
        let n = line.chars().count();
        if chars + n > budget {
            break;
        }
        chars += n;
        end += line.len();
    }
    out.write_all(&md.as_bytes()[..end])?;
    out.write_all(NOTE.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped() {
        assert_eq!(escape("a|b`c<d>&"), "a\\|b&#96;c&lt;d&gt;&amp;");
        assert_eq!(escape("x\u{1b}[1m"), "x\\\\u{1b}\\[1m");
    }

    #[test]
    fn long_output_is_cut_with_a_note() {
        let md = "| row |\n".repeat(20_000);
        let mut out = Vec::new();
        write_limited(&mut out, &md).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.chars().count() <= LIMIT);
        assert!(s.ends_with("Run `svcbind plan` for the whole plan.\n"));
        assert!(s.contains("| row |\n\n> [!NOTE]"));
        let mut out = Vec::new();
        write_limited(&mut out, "short\n").unwrap();
        assert_eq!(out, b"short\n");
    }
}
