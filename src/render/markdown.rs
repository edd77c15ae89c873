//! The pull-request format: a hidden marker so CI can update its comment in place, the
//! summary, a disruption banner, one table per prefix, the impact, and the warnings; cut below
//! 65,000 characters (GitHub's comment limit is 65,536) with a note saying so.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Context, PROPAGATION_NOTICE, Skipped, address_count, count};
use crate::apply::{ApplyReport, StepStatus, WaitOutcome};
use crate::plan::{Change, Plan, PrefixPlan, Step, Warning};

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
    plan_skipping(out, plan, ctx, None)
}

/// Writes a plan, and under its summary which prefixes of the file it left out (listed, or
/// folded when there are many).
pub fn plan_skipping(
    out: &mut impl Write,
    plan: &Plan,
    ctx: &Context<'_>,
    skipped: Option<&Skipped<'_>>,
) -> io::Result<()> {
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
    } else if plan.prefixes.is_empty() && skipped.is_some() {
        let _ = writeln!(
            md,
            "### svcbind plan: no changes\n\nNo prefix was read: none changed in the file.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "### svcbind plan: no changes\n\nThe live bindings match the file ({}).\n",
            count(s.unchanged_prefixes, "prefix", "prefixes")
        );
    }
    if let Some(skipped) = skipped {
        skipped_section(&mut md, skipped);
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
    // The other rules that need --force, at the top too, each named with what breaks it.
    let reasons: Vec<String> = safety
        .too_large_share
        .iter()
        .map(super::text::delete_share_text)
        .chain(
            safety
                .protected
                .iter()
                .map(|range| super::text::protected_text(range, ctx)),
        )
        .collect();
    for reason in reasons.iter().take(LISTED_SAFETY) {
        let _ = writeln!(
            md,
            "> [!CAUTION]\n> {}; apply needs `--force`.\n",
            escape(reason)
        );
    }
    if reasons.len() > LISTED_SAFETY {
        let _ = writeln!(
            md,
            "> [!CAUTION]\n> And {} more prefixes over `max_delete_percent` or protected ranges moved (`svcbind plan` lists them all); apply needs `--force`.\n",
            reasons.len() - LISTED_SAFETY
        );
    }
    // What needs --force comes first and is never cut: a reviewer who reads only the top
    // of a long comment still sees every prefix-wide binding that is deleted or replaced.
    let wide: Vec<&PrefixPlan> = plan
        .prefixes
        .iter()
        .filter(|p| p.touches_prefix_wide())
        .collect();
    if !wide.is_empty() {
        prefix_wide_caution(&mut md, &wide, ctx);
    }

    // The prefixes, those whose prefix-wide binding changes first; the rest may be cut.
    let mut body = String::new();
    let mut sections = Vec::new();
    let changed = plan.prefixes.iter().filter(|p| !p.is_unchanged());
    let (first, rest): (Vec<&PrefixPlan>, Vec<&PrefixPlan>) =
        changed.partition(|p| p.touches_prefix_wide());
    for prefix in first.into_iter().chain(rest) {
        sections.push(body.len());
        prefix_section(&mut body, prefix, ctx);
    }
    let unchanged: Vec<String> = plan
        .prefixes
        .iter()
        .filter(|p| p.is_unchanged())
        .map(|p| format!("`{}`", p.cidr))
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(body, "Unchanged: {}\n", unchanged.join(", "));
    }
    // What is worth knowing about the unchanged prefixes.
    for prefix in plan.prefixes.iter().filter(|p| p.is_unchanged()) {
        for w in &prefix.warnings {
            let _ = writeln!(
                body,
                "> [!CAUTION]\n> `{}`: {}\n",
                prefix.cidr,
                escape(&super::text::warning_text(w, prefix, ctx))
            );
        }
        for note in &prefix.notes {
            let _ = writeln!(
                body,
                "- `{}`: {}",
                prefix.cidr,
                escape(&super::text::note_text(note, ctx))
            );
        }
    }
    write_plan_limited(out, &md, &body, &sections)
}

/// At most this many `max_delete_percent` and protected-range cautions are written at the top
/// (which is never cut); a last one counts the rest.
const LISTED_SAFETY: usize = 50;

/// At most this many prefixes are listed by name in the `--force` caution at the top.
const LISTED_PREFIX_WIDE: usize = 200;

/// The caution at the top of a plan whose prefix-wide bindings are deleted or replaced: apply
/// needs `--force`, and which prefixes, with the service change of each.
fn prefix_wide_caution(md: &mut String, wide: &[&PrefixPlan], ctx: &Context<'_>) {
    let _ = writeln!(
        md,
        "> [!CAUTION]\n> **Apply needs `--force`:** the prefix-wide binding of {} is deleted or replaced, which disrupts every address of {}:",
        count(wide.len(), "prefix", "prefixes"),
        if wide.len() == 1 { "it" } else { "each" }
    );
    for prefix in wide.iter().take(LISTED_PREFIX_WIDE) {
        for w in &prefix.warnings {
            let what = match w {
                Warning::PrefixWideReplaced { from, to } => {
                    format!("{} → {}", svc(ctx, from), svc(ctx, to))
                }
                Warning::PrefixWideDeleted { service } => {
                    format!("{} deleted", svc(ctx, service))
                }
                Warning::MissingPrefixWide { .. }
                | Warning::DuplicateLive { .. }
                | Warning::BrokenLive { .. } => continue,
            };
            let _ = writeln!(md, "> - `{}`: {what}", prefix.cidr);
        }
    }
    if wide.len() > LISTED_PREFIX_WIDE {
        let _ = writeln!(
            md,
            "> - and {} more (run `svcbind plan` for all)",
            wide.len() - LISTED_PREFIX_WIDE
        );
    }
    md.push('\n');
}

/// More skipped prefixes than this are folded under a `<details>`.
const SKIPPED_INLINE: usize = 20;

fn skipped_section(md: &mut String, skipped: &Skipped<'_>) {
    let code = |s: &str| format!("`{}`", crate::sanitize::text(s).replace('`', "'"));
    if skipped.prefixes.len() <= SKIPPED_INLINE {
        let _ = writeln!(md, "{}\n", skipped.sentence(code));
        return;
    }
    let _ = writeln!(
        md,
        "Skipped {} whose entry in the file is the same as at {} (--changed-since).\n\n<details><summary>The skipped prefixes</summary>\n\n{}\n\n</details>\n",
        count(skipped.prefixes.len(), "prefix", "prefixes"),
        code(skipped.since),
        skipped
            .prefixes
            .iter()
            .map(|p| code(&p.to_string()))
            .collect::<Vec<_>>()
            .join(", ")
    );
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
        for phrase in super::text::impact_phrases(prefix) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                super::text::ranges_text(&phrase.cidr, &phrase.except, |c| format!("`{c}`")),
                address_count(phrase.addresses),
                escape(&ctx.maybe_service(phrase.key.0.as_ref())),
                escape(&ctx.maybe_service(phrase.key.1.as_ref()))
            );
        }
        md.push('\n');
    }
    let gaps = super::text::gap_phrases(prefix);
    for gap in &gaps {
        let _ = writeln!(md, "- {}", escape(&super::text::gap_phrase_text(gap, ctx)));
    }
    for note in &prefix.notes {
        let _ = writeln!(md, "- {}", escape(&super::text::note_text(note, ctx)));
    }
    if !gaps.is_empty() || !prefix.notes.is_empty() {
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
    // What a stop did to a cascade comes before the tables, so a cut never drops it.
    for prefix in &report.prefixes {
        for line in super::text::cascade_lines(prefix) {
            let _ = writeln!(md, "> [!CAUTION]\n> {}\n", escape(&line));
        }
    }
    if let Some(waited) = &report.waited {
        let kind = if waited.outcome == WaitOutcome::Settled {
            "NOTE"
        } else {
            "WARNING"
        };
        let _ = writeln!(
            md,
            "> [!{kind}]\n> {}\n",
            escape(&super::text::waited_text(waited, ctx))
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
                StepStatus::Done { .. } => match super::text::done_detail(&s.status) {
                    Some(detail) => (format!("done ({detail})"), String::new()),
                    None => ("done".to_owned(), String::new()),
                },
                StepStatus::Failed { error, .. } => {
                    ("**failed**".to_owned(), escape(&error.to_string()))
                }
                StepStatus::NotRun => ("not run".to_owned(), String::new()),
            };
            let _ = writeln!(
                md,
                "| {} | {result} | {} | {error} |",
                i + 1,
                escape(&super::text::step_text(&s.step, ctx))
            );
        }
        for s in prefix.restored() {
            let (result, error) = match &s.status {
                StepStatus::Done { .. } => ("done", String::new()),
                StepStatus::Failed { error, .. } => ("**failed**", escape(&error.to_string())),
                StepStatus::NotRun => ("not run", String::new()),
            };
            let _ = writeln!(
                md,
                "| restore | {result} | {} | {error} |",
                escape(&super::text::step_text(&s.step, ctx))
            );
        }
        md.push('\n');
    }
    write_limited(out, &md)
}

/// The marker of a command's comments: `<!-- svcbind:plan -->` for `plan`.
pub fn marker(command: &str) -> String {
    format!("<!-- svcbind:{} -->", escape(command))
}

/// Writes the short error of a failed command, under the command's marker, so a bot that
/// posts (or updates) the command's comment always has something to post.
pub fn error(
    out: &mut impl Write,
    command: &str,
    exit_code: u8,
    message: &str,
    hint: Option<&str>,
    diagnostics: &crate::config::Diagnostics,
) -> io::Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "{}", marker(command));
    // Exit 3 is `apply` refusing before any change, not a failure.
    let what = if exit_code == 3 { "refused" } else { "failed" };
    let _ = writeln!(
        md,
        "### svcbind {} {what} (exit {exit_code})\n",
        escape(command)
    );
    let _ = writeln!(md, "> [!CAUTION]\n> {}\n", escape(message));
    if let Some(hint) = hint {
        let _ = writeln!(md, "Hint: {}\n", escape(hint));
    }
    diagnostics_table(&mut md, diagnostics);
    write_limited(out, &md)
}

/// Writes the result of `svcbind validate`: whether the file is valid, and its problems.
pub fn validation(
    out: &mut impl Write,
    file: &str,
    diagnostics: &crate::config::Diagnostics,
    state: Option<&crate::model::StateFile>,
) -> io::Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "{}", marker("validate"));
    let file = escape(file);
    match state {
        Some(state) if !diagnostics.has_errors() => {
            let _ = writeln!(
                md,
                "### svcbind validate: {file} is valid ({})\n",
                super::state_summary(state)
            );
        }
        _ => {
            let _ = writeln!(
                md,
                "### svcbind validate: {file} has {}\n",
                diagnostics.summary()
            );
        }
    }
    diagnostics_table(&mut md, diagnostics);
    write_limited(out, &md)
}

/// One row per diagnostic: where, how bad, what, and the likely fix.
fn diagnostics_table(md: &mut String, diagnostics: &crate::config::Diagnostics) {
    if diagnostics.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "| Place | Severity | Problem | Hint |\n|---|---|---|---|"
    );
    for d in diagnostics.iter() {
        let place = match (d.line, d.column) {
            (0, _) => d.file.clone(),
            (line, 0) => format!("{}:{line}", d.file),
            (line, column) => format!("{}:{line}:{column}", d.file),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            escape(&place),
            d.severity,
            escape(&d.message),
            d.hint.as_deref().map(escape).unwrap_or_default()
        );
    }
    md.push('\n');
}

/// Writes the service catalog as a table.
pub fn services(
    out: &mut impl Write,
    account_id: &crate::model::AccountId,
    services: &[crate::model::Service],
) -> io::Result<()> {
    let mut md = format!(
        "{}\n### svcbind services: account `{account_id}`, {}\n\n| Service | Id |\n|---|---|\n",
        marker("services"),
        count(services.len(), "service", "services")
    );
    for s in services {
        let _ = writeln!(md, "| {} | `{}` |", escape(&s.name), s.id);
    }
    write_limited(out, &md)
}

/// Writes a plan's `head` whole, then as much of its `body` as fits below [`LIMIT`], cut at a
/// line boundary with a note saying how many of the prefix sections (starting at the byte
/// offsets `sections` of `body`) are left out.
fn write_plan_limited(
    out: &mut impl Write,
    head: &str,
    body: &str,
    sections: &[usize],
) -> io::Result<()> {
    let head_chars = head.chars().count();
    if head_chars + body.chars().count() <= LIMIT {
        out.write_all(head.as_bytes())?;
        return out.write_all(body.as_bytes());
    }
    let note = |left_out: usize| {
        format!(
            "\n> [!NOTE]\n> Output cut here: it is longer than a pull-request comment may be; {} not shown. Run `svcbind plan` for the whole plan.\n",
            count(left_out, "changed prefix is", "changed prefixes are")
        )
    };
    // Room for the note at its longest, and for closing a code block the cut falls into.
    let budget = LIMIT.saturating_sub(head_chars + note(sections.len()).chars().count() + 5);
    let (end, in_code) = cut(body, budget);
    let left_out = sections.iter().filter(|&&start| start >= end).count();
    out.write_all(head.as_bytes())?;
    out.write_all(&body.as_bytes()[..end])?;
    if in_code {
        out.write_all(b"```\n")?;
    }
    out.write_all(note(left_out).as_bytes())
}

/// The byte length of the longest run of whole lines of `text` within `budget` characters,
/// and whether the cut falls inside a code block.
fn cut(text: &str, budget: usize) -> (usize, bool) {
    let mut end = 0;
    let mut chars = 0;
    let mut in_code = false;
    for line in text.split_inclusive('\n') {
        let n = line.chars().count();
        if chars + n > budget {
            break;
        }
        chars += n;
        end += line.len();
        in_code ^= line.starts_with("```");
    }
    (end, in_code)
}

/// Writes `md`, cut at a line boundary below [`LIMIT`] with a note when it is longer.
pub(crate) fn write_limited(out: &mut impl Write, md: &str) -> io::Result<()> {
    write_cut(out, md, "svcbind plan", "the whole plan")
}

/// [`write_limited`], with a note that says to run `command` for `what`.
pub(crate) fn write_cut(
    out: &mut impl Write,
    md: &str,
    command: &str,
    what: &str,
) -> io::Result<()> {
    if md.chars().count() <= LIMIT {
        return out.write_all(md.as_bytes());
    }
    let note = format!(
        "\n> [!NOTE]\n> Output cut here: it is longer than a pull-request comment may be. Run `{command}` for {what}.\n"
    );
    // Room for the note, and for closing a code block the cut falls into.
    let (end, in_code) = cut(md, LIMIT - note.chars().count() - 5);
    out.write_all(&md.as_bytes()[..end])?;
    if in_code {
        out.write_all(b"```\n")?;
    }
    out.write_all(note.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ServiceId, Services};

    #[test]
    fn cells_are_escaped() {
        assert_eq!(escape("a|b`c<d>&"), "a\\|b&#96;c&lt;d&gt;&amp;");
        assert_eq!(escape("x\u{1b}[1m"), "x\\\\u{1b}\\[1m");
    }

    #[test]
    fn a_cut_plan_keeps_every_prefix_wide_change_and_the_force_warnings() {
        use crate::model::{AccountId, Binding, BindingId, PrefixId, ProvisioningState, Service};
        use crate::plan::PrefixState;
        let id = |s: &str| ServiceId::new(s).unwrap();
        let services =
            Services::new(
                [("mt", "Magic Transit"), ("cdn", "CDN")].map(|(i, n)| Service {
                    id: id(i),
                    name: n.into(),
                }),
            );
        let net = |s: String| -> ipnet::IpNet { s.parse().unwrap() };
        // 300 prefixes with 16 new CDN bindings each, in file order before the one prefix
        // whose prefix-wide binding moves from Magic Transit to CDN.
        let mut states: Vec<PrefixState> = (0..300)
            .map(|i| {
                let cidr = format!("10.{}.{}.0/24", i / 256, i % 256);
                let mut desired: std::collections::BTreeMap<_, _> = (0..16)
                    .map(|j| {
                        (
                            net(format!("10.{}.{}.{}/28", i / 256, i % 256, j * 16)),
                            id("cdn"),
                        )
                    })
                    .collect();
                desired.insert(net(cidr.clone()), id("mt"));
                PrefixState {
                    id: PrefixId::new(format!("p{i}")).unwrap(),
                    cidr: net(cidr.clone()),
                    desired,
                    ignore: Vec::new(),
                    live: vec![Binding {
                        id: BindingId::new(format!("b{i}")).unwrap(),
                        cidr: net(cidr),
                        service_id: id("mt"),
                        service_name: None,
                        state: ProvisioningState::Active,
                    }],
                }
            })
            .collect();
        let last = net("10.255.0.0/24".into());
        states.push(PrefixState {
            id: PrefixId::new("wide").unwrap(),
            cidr: last,
            desired: [(last, id("cdn"))].into(),
            ignore: Vec::new(),
            live: vec![Binding {
                id: BindingId::new("bw").unwrap(),
                cidr: last,
                service_id: id("mt"),
                service_name: None,
                state: ProvisioningState::Active,
            }],
        });
        let plan = crate::plan::plan(AccountId::new("acc").unwrap(), &states).unwrap();
        let ctx = Context {
            services: &services,
            limits: crate::plan::SafetyLimits::max_deletes(0),
        };
        let mut out = Vec::new();
        super::plan(&mut out, &plan, &ctx).unwrap();
        let md = String::from_utf8(out).unwrap();
        assert!(md.chars().count() <= LIMIT, "{}", md.chars().count());
        for kept in [
            "> This plan deletes or replaces 1 binding, more than `max_deletes` (0); apply needs `--force`.",
            "> **Apply needs `--force`:** the prefix-wide binding of 1 prefix is deleted or replaced, which disrupts every address of it:\n> - `10.255.0.0/24`: Magic Transit → CDN\n",
            "#### `10.255.0.0/24` (prefix `wide`)",
            "the prefix-wide binding 10.255.0.0/24 moves from Magic Transit to CDN",
        ] {
            assert!(md.contains(kept), "lacks {kept:?}");
        }
        // The cut falls among the other prefixes, and the note says how many are left out.
        assert!(md.contains("#### `10.0.0.0/24` (prefix `p0`)"));
        assert!(!md.contains("#### `10.1.43.0/24`"));
        let shown = md.matches("#### ").count();
        assert!(md.ends_with(&format!(
            "Output cut here: it is longer than a pull-request comment may be; {} changed prefixes are not shown. Run `svcbind plan` for the whole plan.\n",
            301 - shown
        )));
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
