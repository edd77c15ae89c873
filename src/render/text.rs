//! The human-readable format: grouped by prefix, one line per change in execution order,
//! the traffic impact, warnings, and a summary line. Colour only when asked for.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{Context, PROPAGATION_NOTICE, addresses, count};
use crate::apply::{ApplyReport, Progress, StepStatus};
use crate::plan::{Change, DeleteShare, Note, Plan, PrefixPlan, ProtectedRange, Step, Warning};

/// Styles, all empty when colour is off.
#[derive(Debug, Clone, Copy)]
struct Palette {
    create: Style,
    delete: Style,
    replace: Style,
    warn: Style,
    bold: Style,
    dim: Style,
}

impl Palette {
    fn new(color: bool) -> Self {
        if !color {
            let none = Style::new();
            return Self {
                create: none,
                delete: none,
                replace: none,
                warn: none,
                bold: none,
                dim: none,
            };
        }
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        Self {
            create: fg(AnsiColor::Green),
            delete: fg(AnsiColor::Red),
            replace: fg(AnsiColor::Yellow),
            warn: fg(AnsiColor::Yellow).bold(),
            bold: Style::new().bold(),
            dim: Style::new().dimmed(),
        }
    }
}

/// Writes a plan.
pub fn plan(out: &mut impl Write, plan: &Plan, ctx: &Context<'_>, color: bool) -> io::Result<()> {
    let p = Palette::new(color);
    let summary = plan.summary();
    let (bold, warn) = (p.bold, p.warn);
    writeln!(out, "{bold}Account {}{bold:#}", plan.account_id)?;
    for prefix in &plan.prefixes {
        writeln!(out)?;
        if prefix.is_unchanged() {
            writeln!(out, "{bold}{}{bold:#}: no changes", prefix.cidr)?;
            remarks(out, prefix, ctx, &p)?;
            continue;
        }
        prefix_plan(out, prefix, ctx, &p)?;
    }
    writeln!(out)?;
    let safety = plan.safety(&ctx.limits);
    if let Some((n, limit)) = safety.too_many_deletes {
        writeln!(
            out,
            "{warn}warning:{warn:#} this plan deletes or replaces {}, more than max_deletes ({limit}); apply needs --force",
            count(n, "binding", "bindings")
        )?;
    }
    for share in &safety.too_large_share {
        writeln!(
            out,
            "{warn}warning:{warn:#} {}; apply needs --force",
            delete_share_text(share)
        )?;
    }
    for range in &safety.protected {
        writeln!(
            out,
            "{warn}warning:{warn:#} {}; apply needs --force",
            protected_text(range, ctx)
        )?;
    }
    if summary.has_changes() {
        writeln!(
            out,
            "{bold}Plan:{bold:#} {} to create, {} to replace, {} to delete; {} unchanged.",
            summary.create,
            summary.replace,
            summary.delete,
            count(summary.unchanged_prefixes, "prefix", "prefixes"),
        )?;
        writeln!(out)?;
        writeln!(out, "{warn}{PROPAGATION_NOTICE}{warn:#}")?;
    } else {
        writeln!(
            out,
            "{bold}No changes.{bold:#} The live bindings match the file ({}).",
            count(summary.unchanged_prefixes, "prefix", "prefixes")
        )?;
    }
    Ok(())
}

fn prefix_plan(
    out: &mut impl Write,
    prefix: &PrefixPlan,
    ctx: &Context<'_>,
    p: &Palette,
) -> io::Result<()> {
    let (bold, dim) = (p.bold, p.dim);
    writeln!(
        out,
        "{bold}{}{bold:#} {dim}(prefix {}){dim:#}",
        prefix.cidr, prefix.id
    )?;
    let width = prefix
        .changes
        .iter()
        .map(|c| c.cidr().to_string().len())
        .max()
        .unwrap_or(0);
    for change in &prefix.changes {
        match change {
            Change::Create { cidr, service } => {
                let s = p.create;
                writeln!(
                    out,
                    "  {s}+ create  {:<width$}  {}{s:#}",
                    cidr.to_string(),
                    ctx.service(service)
                )?;
            }
            Change::Replace { from, to } => {
                let s = p.replace;
                writeln!(
                    out,
                    "  {s}± replace {:<width$}  {} → {}{s:#}",
                    from.cidr.to_string(),
                    ctx.service(&from.service_id),
                    ctx.service(to)
                )?;
            }
            Change::Delete { binding } => {
                let s = p.delete;
                writeln!(
                    out,
                    "  {s}- delete  {:<width$}  {}{s:#}",
                    binding.cidr.to_string(),
                    ctx.service(&binding.service_id)
                )?;
            }
        }
    }
    if prefix.touches_prefix_wide() && prefix.steps.len() > prefix.changes.len() + 1 {
        writeln!(
            out,
            "  Steps (the prefix-wide binding changes, so every more-specific binding is removed first and re-created after):"
        )?;
        for (i, step) in prefix.steps.iter().enumerate() {
            writeln!(out, "    {:>2}. {}", i + 1, step_text(step, ctx))?;
        }
    }
    if !prefix.impact.is_empty() {
        writeln!(out, "  Traffic impact:")?;
        for range in &prefix.impact {
            writeln!(
                out,
                "    {} ({}): {} → {}",
                range.cidr,
                addresses(range.address_bits()),
                ctx.maybe_service(range.from.as_ref()),
                ctx.maybe_service(range.to.as_ref())
            )?;
        }
    }
    for gap in &prefix.gaps {
        writeln!(out, "  {}", gap_text(gap, ctx))?;
    }
    remarks(out, prefix, ctx, p)
}

/// A prefix's warnings, then its notes.
fn remarks(
    out: &mut impl Write,
    prefix: &PrefixPlan,
    ctx: &Context<'_>,
    p: &Palette,
) -> io::Result<()> {
    let warn = p.warn;
    for warning in &prefix.warnings {
        writeln!(
            out,
            "  {warn}warning:{warn:#} {}",
            warning_text(warning, prefix, ctx)
        )?;
    }
    for note in &prefix.notes {
        writeln!(out, "  {}", note_text(note, ctx))?;
    }
    Ok(())
}

/// A warning as one sentence (shared with the other formats).
pub fn warning_text(w: &Warning, prefix: &PrefixPlan, ctx: &Context<'_>) -> String {
    match w {
        Warning::PrefixWideReplaced { from, to } => format!(
            "the prefix-wide binding {} moves from {} to {}: every more-specific binding is deleted first and re-created after, so every address of the prefix is disrupted; apply needs --force",
            prefix.cidr,
            ctx.service(from),
            ctx.service(to)
        ),
        Warning::PrefixWideDeleted { service } => format!(
            "the prefix-wide binding {} ({}) is deleted: no address of the prefix will be bound to a service; apply needs --force",
            prefix.cidr,
            ctx.service(service)
        ),
        Warning::MissingPrefixWide { repaired } => format!(
            "the live prefix has more-specific bindings but no prefix-wide binding ({}), which the API does not allow; {}",
            prefix.cidr,
            if *repaired {
                "the plan creates it first"
            } else {
                "the API may refuse changes to this prefix until it has one"
            }
        ),
        Warning::DuplicateLive {
            cidr,
            count: n,
            ignored,
        } => format!(
            "{n} live bindings share {cidr}; {}",
            if *ignored {
                "they lie inside `ignore`, so they are left alone"
            } else {
                "all but one are deleted"
            }
        ),
    }
}

/// `192.0.2.0/24 loses 4 of its 12 live bindings (over 33 %) to deletes and replaces;
/// max_delete_percent allows 30 %`: a prefix over the percentage, as one clause (shared with
/// the other formats and apply's refusal). A share that is no whole percent is said as the
/// whole percent it is over, so it never reads as the limit itself.
pub fn delete_share_text(s: &DeleteShare) -> String {
    let hundredfold = s.destructive * 100;
    let live = s.live.max(1);
    let share = if hundredfold.is_multiple_of(live) {
        format!("{} %", hundredfold / live)
    } else {
        format!("over {} %", hundredfold / live)
    };
    format!(
        "{} loses {} of its {} live bindings ({share}) to deletes and replaces; max_delete_percent allows {} %",
        s.prefix, s.destructive, s.live, s.limit
    )
}

/// The most moves of one protected range a message lists.
const MOVES_LISTED: usize = 3;

/// `protected range 192.0.2.0/26 moves: 192.0.2.16/29 (8 addresses) Magic Transit → CDN`: a
/// protected range the plan moves and why, as one clause (shared with the other formats and
/// apply's refusal). Moves during a replace say so.
pub fn protected_text(p: &ProtectedRange, ctx: &Context<'_>) -> String {
    let mut moves: Vec<String> = p
        .moves
        .iter()
        .take(MOVES_LISTED)
        .map(|m| {
            let bits = m.cidr.max_prefix_len() - m.cidr.prefix_len();
            let what = format!("{} ({})", m.cidr, addresses(bits));
            if m.transient {
                format!(
                    "{what} goes to {} while the {} binding over it is replaced",
                    ctx.maybe_service(m.to.as_ref()),
                    ctx.maybe_service(m.from.as_ref())
                )
            } else {
                format!(
                    "{what} {} → {}",
                    ctx.maybe_service(m.from.as_ref()),
                    ctx.maybe_service(m.to.as_ref())
                )
            }
        })
        .collect();
    if p.moves.len() > MOVES_LISTED {
        moves.push(format!("and {} more", p.moves.len() - MOVES_LISTED));
    }
    format!(
        "protected range {} (safety.protect) moves to another service: {}",
        p.range,
        moves.join("; ")
    )
}

/// What happens to a replaced range between its delete and its create, as one sentence.
pub fn gap_text(gap: &crate::plan::impact::Gap, ctx: &Context<'_>) -> String {
    let between = format!(
        "between deleting the {} binding and creating the {} one",
        ctx.service(&gap.from),
        ctx.service(&gap.to)
    );
    match &gap.during {
        Some(during) => format!(
            "During the replace, {} falls back to {} {between}.",
            gap.cidr,
            ctx.service(during)
        ),
        None => format!(
            "During the replace, {} has no binding at all {between}.",
            gap.cidr
        ),
    }
}

/// A note as one sentence.
pub fn note_text(n: &Note, ctx: &Context<'_>) -> String {
    match n {
        Note::NotActive {
            cidr,
            service,
            state,
        } => format!(
            "note: {cidr} ({}) is {state}, not active yet",
            ctx.service(service)
        ),
    }
}

/// `create 192.0.2.16/29 → CDN`, `delete 192.0.2.16/29 (CDN)`.
pub fn step_text(step: &Step, ctx: &Context<'_>) -> String {
    match step {
        Step::Create { cidr, service } => format!("create {cidr} → {}", ctx.service(service)),
        Step::Delete { cidr, service, .. } => format!("delete {cidr} ({})", ctx.service(service)),
    }
}

/// One progress line: `[3/7] 192.0.2.0/24: created 192.0.2.16/29 → CDN (0.4 s)`.
pub fn progress_line(p: &Progress<'_>, ctx: &Context<'_>) -> String {
    let what = match (p.step, p.status) {
        (Step::Create { cidr, service }, StepStatus::Done { .. }) => {
            format!("created {cidr} → {}", ctx.service(service))
        }
        (Step::Delete { cidr, service, .. }, StepStatus::Done { already_gone, .. }) => {
            let gone = if *already_gone { ", already gone" } else { "" };
            format!("deleted {cidr} ({}{gone})", ctx.service(service))
        }
        (step, StepStatus::Failed { error, .. }) => format!(
            "FAILED to {}: {}",
            step_text(step, ctx),
            crate::sanitize::controls(&error.to_string())
        ),
        (step, StepStatus::NotRun) => format!("not run: {}", step_text(step, ctx)),
    };
    let elapsed = match p.status {
        StepStatus::Done { elapsed, .. } | StepStatus::Failed { elapsed, .. } => {
            format!(" ({:.1} s)", elapsed.as_secs_f64())
        }
        StepStatus::NotRun => String::new(),
    };
    format!("[{}/{}] {}: {what}{elapsed}", p.finished, p.total, p.prefix)
}

/// Writes an apply report: what was done, what failed (with the API's error), what did not run.
pub fn apply_report(
    out: &mut impl Write,
    report: &ApplyReport,
    ctx: &Context<'_>,
    color: bool,
) -> io::Result<()> {
    let p = Palette::new(color);
    let c = report.counts();
    for prefix in &report.prefixes {
        let bold = p.bold;
        writeln!(out, "{bold}{}{bold:#}", prefix.cidr)?;
        for (i, s) in prefix.steps.iter().enumerate() {
            let (style, label) = match &s.status {
                StepStatus::Done { .. } => (p.create, "done    "),
                StepStatus::Failed { .. } => (p.delete, "FAILED  "),
                StepStatus::NotRun => (p.dim, "not run "),
            };
            writeln!(
                out,
                "  {style}{label}{style:#} {:>2}. {}",
                i + 1,
                step_text(&s.step, ctx)
            )?;
            if let StepStatus::Failed { error, .. } = &s.status {
                writeln!(
                    out,
                    "             {}",
                    crate::sanitize::controls(&error.to_string())
                )?;
            }
        }
    }
    writeln!(out)?;
    let (bold, warn) = (p.bold, p.warn);
    writeln!(
        out,
        "{bold}Apply:{bold:#} {} done, {} failed, {} not run.",
        c.done, c.failed, c.not_run
    )?;
    if report.interrupted {
        writeln!(
            out,
            "{warn}Interrupted:{warn:#} the steps in flight finished; run `svcbind plan` to see what remains."
        )?;
    } else if c.failed > 0 {
        writeln!(
            out,
            "{warn}Stopped at the first failure.{warn:#} Fix the cause, then run `svcbind plan` to see exactly what remains and apply again."
        )?;
    }
    if c.done > 0 {
        writeln!(out)?;
        writeln!(out, "{PROPAGATION_NOTICE}")?;
    }
    Ok(())
}

/// Writes the service catalog: one service a line, the names aligned, then the id.
pub fn services(out: &mut impl Write, services: &[crate::model::Service]) -> io::Result<()> {
    let names: Vec<_> = services
        .iter()
        .map(|s| crate::sanitize::text(&s.name))
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (name, s) in names.iter().zip(services) {
        writeln!(out, "{name:<width$}  {}", s.id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_share_never_reads_as_its_limit() {
        let share = |destructive, live| {
            delete_share_text(&DeleteShare {
                prefix: "192.0.2.0/24".parse().unwrap(),
                destructive,
                live,
                limit: 30,
            })
        };
        assert_eq!(
            share(4, 10),
            "192.0.2.0/24 loses 4 of its 10 live bindings (40 %) to deletes and replaces; max_delete_percent allows 30 %"
        );
        assert!(share(61, 200).contains("(over 30 %)"), "{}", share(61, 200));
    }
}
