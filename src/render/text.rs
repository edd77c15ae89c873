//! The human-readable format: grouped by prefix, one line per change in execution order,
//! the traffic impact, warnings, and a summary line. Colour only when asked for.

use std::io::{self, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Style};

use ipnet::IpNet;

use super::{Context, PROPAGATION_NOTICE, Skipped, address_count, addresses, count};
use crate::apply::{
    ApplyReport, Cascade, InFlight, PrefixReport, Progress, Seen, StepStatus, WaitOutcome,
    WaitProgress, Waited, Watched,
};
use crate::model::ServiceId;
use crate::plan::impact::{Phrase, phrases};
use crate::plan::{
    BrokenRule, Change, DeleteShare, Note, Plan, PrefixPlan, ProtectedRange, Step, Transition,
    Warning,
};

/// Styles, all empty when colour is off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Palette {
    pub(crate) create: Style,
    pub(crate) delete: Style,
    pub(crate) replace: Style,
    pub(crate) warn: Style,
    pub(crate) bold: Style,
    pub(crate) dim: Style,
}

impl Palette {
    pub(crate) fn new(color: bool) -> Self {
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
    plan_skipping(out, plan, ctx, color, None)
}

/// Writes a plan, and under its summary which prefixes of the file it left out.
pub fn plan_skipping(
    out: &mut impl Write,
    plan: &Plan,
    ctx: &Context<'_>,
    color: bool,
    skipped: Option<&Skipped<'_>>,
) -> io::Result<()> {
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
    } else if plan.prefixes.is_empty() && skipped.is_some() {
        writeln!(
            out,
            "{bold}No changes.{bold:#} No prefix was read: none changed in the file."
        )?;
    } else {
        writeln!(
            out,
            "{bold}No changes.{bold:#} The live bindings match the file ({}).",
            count(summary.unchanged_prefixes, "prefix", "prefixes")
        )?;
    }
    if let Some(skipped) = skipped {
        writeln!(
            out,
            "{}",
            skipped.sentence(|s| crate::sanitize::text(s).into_owned())
        )?;
    }
    if summary.has_changes() {
        writeln!(out)?;
        writeln!(out, "{warn}{PROPAGATION_NOTICE}{warn:#}")?;
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
        for phrase in impact_phrases(prefix) {
            writeln!(
                out,
                "    {} ({}): {} → {}",
                ranges_text(&phrase.cidr, &phrase.except, |c| c.to_string()),
                address_count(phrase.addresses),
                ctx.maybe_service(phrase.key.0.as_ref()),
                ctx.maybe_service(phrase.key.1.as_ref())
            )?;
        }
    }
    for gap in gap_phrases(prefix) {
        writeln!(out, "  {}", gap_phrase_text(&gap, ctx))?;
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
        Warning::BrokenLive {
            cidr,
            service,
            broken,
            ignored,
        } => format!(
            "the live binding {cidr} ({}) breaks the API's own rules: {}; {}{}",
            ctx.service(service),
            match broken {
                BrokenRule::HostBits =>
                    format!("it has host bits set ({} would be valid)", cidr.trunc()),
                BrokenRule::OtherFamily => format!(
                    "it is {} in an {} prefix",
                    crate::rules::family(cidr),
                    crate::rules::family(&prefix.cidr)
                ),
                BrokenRule::OutsidePrefix => format!("it lies outside the prefix {}", prefix.cidr),
                BrokenRule::SameServiceAsCover =>
                    "it has the service of the binding that covers it".to_owned(),
            },
            if *ignored {
                "it lies inside `ignore`, so it is left alone"
            } else {
                "it is deleted before any other step"
            },
            if broken.unroutable() {
                ". Which addresses it routes, if any, cannot be known, so the traffic impact leaves it out"
            } else {
                ", which moves none of its addresses"
            }
        ),
    }
}

/// The impact of a prefix in few words: a block minus a few holes as one phrase (the exact
/// minimal blocks stay in the plan and its JSON).
pub fn impact_phrases(prefix: &PrefixPlan) -> Vec<Phrase<Transition>> {
    phrases(
        prefix
            .impact
            .iter()
            .map(|r| (r.cidr, (r.from.clone(), r.to.clone()))),
    )
}

/// The transient gaps of a prefix in few words, as [`impact_phrases`] says the impact.
pub fn gap_phrases(prefix: &PrefixPlan) -> Vec<GapPhrase> {
    phrases(
        prefix
            .gaps
            .iter()
            .map(|g| (g.cidr, (g.from.clone(), g.to.clone(), g.during.clone()))),
    )
}

/// A gap's phrase: the ranges, and (from, to, during).
pub type GapPhrase = Phrase<(ServiceId, ServiceId, Option<ServiceId>)>;

/// `2001:db8:beef::/48 except 2001:db8:beef:10::/64 and 2001:db8:beef:20::/64`, each CIDR
/// written by `cidr`.
pub fn ranges_text(block: &IpNet, except: &[IpNet], cidr: impl Fn(&IpNet) -> String) -> String {
    let mut s = cidr(block);
    if let Some((last, rest)) = except.split_last() {
        s.push_str(" except ");
        for (i, hole) in rest.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&cidr(hole));
        }
        if !rest.is_empty() {
            s.push_str(" and ");
        }
        s.push_str(&cidr(last));
    }
    s
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
    gap_phrase_text(
        &Phrase {
            cidr: gap.cidr,
            except: Vec::new(),
            key: (gap.from.clone(), gap.to.clone(), gap.during.clone()),
            addresses: crate::plan::routing::size(&gap.cidr),
        },
        ctx,
    )
}

/// [`gap_text`] of the ranges of a [`GapPhrase`].
pub fn gap_phrase_text(gap: &GapPhrase, ctx: &Context<'_>) -> String {
    let (from, to, during) = &gap.key;
    let between = format!(
        "between deleting the {} binding and creating the {} one",
        ctx.service(from),
        ctx.service(to)
    );
    let range = ranges_text(&gap.cidr, &gap.except, |c| c.to_string());
    match during {
        Some(during) => format!(
            "During the replace, {range} falls back to {} {between}.",
            ctx.service(during)
        ),
        None => format!("During the replace, {range} has no binding at all {between}."),
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

/// A rehearsal failure worded for people: the step with its services' names.
pub fn rehearsal_failure(e: &crate::plan::rehearse::RehearsalError, ctx: &Context<'_>) -> String {
    use crate::plan::rehearse::RehearsalError as E;
    let bindings = |list: &[(ipnet::IpNet, crate::model::ServiceId)]| {
        if list.is_empty() {
            return "none".to_owned();
        }
        list.iter()
            .map(|(cidr, service)| format!("{cidr} → {}", ctx.service(service)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match e {
        E::Rejected {
            prefix,
            number,
            step,
            violation,
        } => format!(
            "{prefix}: step {number} ({}) would be rejected: {violation}",
            step_text(step, ctx)
        ),
        E::UnknownBinding {
            prefix,
            number,
            step,
        } => format!(
            "{prefix}: step {number} ({}) deletes a binding the prefix does not have",
            step_text(step, ctx)
        ),
        E::WrongEndState {
            prefix,
            expected,
            actual,
        } => format!(
            "{prefix}: after every step the bindings would be {}, not {}",
            bindings(actual),
            bindings(expected)
        ),
        E::NoLiveState { .. } => e.to_string(),
    }
}

/// What is worth saying about a step that is done, beyond "done": the binding was already gone,
/// or the API's answer was lost and reading the prefix back showed the step had happened.
pub fn done_detail(status: &StepStatus) -> Option<&'static str> {
    match status {
        StepStatus::Done {
            already_gone: true, ..
        } => Some("already gone"),
        StepStatus::Done {
            read_back: true, ..
        } => Some("answer lost or unreadable; confirmed by reading the prefix back"),
        StepStatus::Done { .. } | StepStatus::Failed { .. } | StepStatus::NotRun => None,
    }
}

/// One progress line: `[3/7] 192.0.2.0/24: created 192.0.2.16/29 → CDN (0.4 s)`.
pub fn progress_line(p: &Progress<'_>, ctx: &Context<'_>) -> String {
    let what = match (p.step, p.status) {
        (Step::Create { cidr, service }, status @ StepStatus::Done { .. }) => {
            let detail = done_detail(status).map_or(String::new(), |d| format!(" ({d})"));
            format!("created {cidr} → {}{detail}", ctx.service(service))
        }
        (Step::Delete { cidr, service, .. }, status @ StepStatus::Done { .. }) => {
            let detail = done_detail(status).map_or(String::new(), |d| format!(", {d}"));
            format!("deleted {cidr} ({}{detail})", ctx.service(service))
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
    if p.restoring {
        // Not a plan step: a binding an interrupted cascade had deleted, bound again.
        return format!("[restore] {}: {what}{elapsed}", p.prefix);
    }
    format!("[{}/{}] {}: {what}{elapsed}", p.finished, p.total, p.prefix)
}

/// A steps in flight when apply quits at once: `192.0.2.0/24: create 192.0.2.16/29 → CDN`.
pub fn in_flight_line(f: &InFlight, ctx: &Context<'_>) -> String {
    let restoring = if f.restoring {
        " (restoring an interrupted cascade)"
    } else {
        ""
    };
    format!("{}: {}{restoring}", f.prefix, step_text(&f.step, ctx))
}

/// `1h 2m 3s`, to the second.
pub fn duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// `192.0.2.16/29 → CDN (provisioning)`.
fn watched_text(b: &Watched, ctx: &Context<'_>) -> String {
    let state = match &b.state {
        Seen::State(state) => crate::sanitize::text(state.as_str()).into_owned(),
        Seen::Unread => "not read yet".to_owned(),
        Seen::Gone => "gone".to_owned(),
    };
    format!("{} → {} ({state})", b.cidr, ctx.service(&b.service))
}

/// The bindings not active yet, at most `max` of them, then how many more.
fn pending_list<'a>(
    pending: impl Iterator<Item = &'a Watched>,
    ctx: &Context<'_>,
    max: usize,
) -> String {
    let pending: Vec<&Watched> = pending.collect();
    let mut shown: Vec<String> = pending
        .iter()
        .take(max)
        .map(|b| format!("{}: {}", b.prefix, watched_text(b, ctx)))
        .collect();
    if pending.len() > max {
        shown.push(format!("and {} more", pending.len() - max));
    }
    shown.join(", ")
}

/// One line of `--wait` progress: `waiting: 1 of 3 created bindings active (2m 10s of 6h); not
/// active yet: 192.0.2.0/24: 192.0.2.16/29 → CDN (provisioning), …`.
pub fn wait_line(p: &WaitProgress<'_>, ctx: &Context<'_>) -> String {
    let mut line = format!(
        "waiting: {} of {} active ({} of {})",
        p.settled(),
        count(p.bindings.len(), "created binding", "created bindings"),
        duration(p.elapsed),
        duration(p.limit)
    );
    let pending = p.bindings.iter().filter(|b| match &b.state {
        Seen::State(state) => !state.is_active(),
        Seen::Unread => true,
        Seen::Gone => false,
    });
    let list = pending_list(pending, ctx, 5);
    if !list.is_empty() {
        line.push_str("; not active yet: ");
        line.push_str(&list);
    }
    for e in p.errors {
        line.push_str(&format!(
            "; a read failed, tried again next round: {}",
            crate::sanitize::controls(&e.to_string())
        ));
    }
    line
}

/// What `--wait` saw, as one or two sentences.
pub fn waited_text(w: &Waited, ctx: &Context<'_>) -> String {
    if w.bindings.is_empty() {
        return "Nothing to wait for: the apply created no binding.".to_owned();
    }
    let total = count(w.bindings.len(), "created binding", "created bindings");
    let pending: Vec<&Watched> = w.pending().collect();
    let gone = w.bindings.iter().filter(|b| b.state == Seen::Gone).count();
    let gone = if gone > 0 {
        format!(
            " ({} deleted by someone else meanwhile)",
            count(gone, "binding was", "bindings were")
        )
    } else {
        String::new()
    };
    match w.outcome {
        WaitOutcome::Settled => {
            format!("Waited {}: all {total} active{gone}.", duration(w.elapsed))
        }
        WaitOutcome::TimedOut => format!(
            "Waited {} (the --wait limit): {} of {total} not active yet: {}. They may still become active; `svcbind plan` notes the bindings that are not active.",
            duration(w.limit),
            pending.len(),
            pending_list(pending.iter().copied(), ctx, 20)
        ),
        WaitOutcome::Interrupted => format!(
            "Stopped waiting after {} (interrupted): {} of {total} not active yet: {}.",
            duration(w.elapsed),
            pending.len(),
            pending_list(pending.iter().copied(), ctx, 20)
        ),
    }
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
            let detail = done_detail(&s.status).map_or(String::new(), |d| format!(" ({d})"));
            writeln!(
                out,
                "  {style}{label}{style:#} {:>2}. {}{detail}",
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
        for line in cascade_lines(prefix) {
            writeln!(out, "  {warn}{line}{warn:#}", warn = p.warn)?;
        }
        for s in prefix.restored() {
            let (style, label) = match &s.status {
                StepStatus::Done { .. } => (p.create, "done    "),
                StepStatus::Failed { .. } => (p.delete, "FAILED  "),
                StepStatus::NotRun => (p.dim, "not run "),
            };
            writeln!(
                out,
                "  {style}{label}{style:#}     {}",
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
    if let Some(waited) = &report.waited {
        let style = if waited.outcome == WaitOutcome::Settled {
            p.bold
        } else {
            warn
        };
        writeln!(out, "{style}{}{style:#}", waited_text(waited, ctx))?;
    }
    if c.done > 0 {
        writeln!(out)?;
        writeln!(out, "{PROPAGATION_NOTICE}")?;
    }
    Ok(())
}

/// What became of a prefix's cascade, as sentences (shared with markdown): none when no stop
/// came in its middle.
pub fn cascade_lines(prefix: &PrefixReport) -> Vec<String> {
    let mut lines = Vec::new();
    match &prefix.cascade {
        Some(Cascade::Restored { steps }) => {
            let failed = steps.iter().filter(|s| !s.status.is_done()).count();
            lines.push(format!(
                "Restored: the apply stopped before the prefix-wide binding of {} was replaced, so the {} its cascade had deleted {} created again with their old services{}",
                prefix.cidr,
                count(steps.len(), "more-specific binding", "more-specific bindings"),
                if steps.len() == 1 { "was" } else { "were" },
                if failed == 0 {
                    "; the prefix is as it was before this apply:".to_owned()
                } else {
                    format!(
                        ", but {} failed; run `svcbind plan` to see what the prefix lacks:",
                        count(failed, "of them", "of them")
                    )
                }
            ));
        }
        Some(Cascade::Finished) => lines.push(format!(
            "Finished anyway: the apply stopped after the old prefix-wide binding of {} was deleted, so the rest of its cascade ran to bind the prefix again.",
            prefix.cidr
        )),
        None => {}
    }
    if prefix.unbound() {
        lines.push(format!(
            "UNBOUND: the old prefix-wide binding of {0} is deleted and the new one could not be created, so no address of {0} is bound to a service; fix the cause and run `svcbind apply` again at once.",
            prefix.cidr
        ));
    }
    lines
}

/// Writes the service catalog: one service a line, the names aligned, then the id.
pub fn services(
    out: &mut impl Write,
    account_id: &crate::model::AccountId,
    services: &[crate::model::Service],
) -> io::Result<()> {
    writeln!(out, "Account {account_id}\n")?;
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
    use crate::model::{Service, ServiceId, Services};
    use crate::plan::rehearse::RehearsalError;
    use crate::rules::Violation;

    fn net(s: &str) -> ipnet::IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn a_rehearsal_failure_names_services_by_name() {
        let mt = ServiceId::new("f2f0ba6cd8a14c3e9ee9d6bd8b4b5f2a").unwrap();
        let cdn = ServiceId::new("a7c5b5e1c33d4ea0b2f5d4f6c1e0a9b3").unwrap();
        let services = Services::new([
            Service {
                id: mt.clone(),
                name: "Magic Transit".into(),
            },
            Service {
                id: cdn.clone(),
                name: "CDN".into(),
            },
        ]);
        let ctx = Context {
            services: &services,
            limits: crate::plan::SafetyLimits::max_deletes(10),
        };
        let rejected = RehearsalError::Rejected {
            prefix: net("192.0.2.0/24"),
            number: 2,
            step: Step::Create {
                cidr: net("192.0.2.16/29"),
                service: mt.clone(),
            },
            violation: Violation::MagicTransitNotPrefixWide {
                cidr: net("192.0.2.16/29"),
                prefix: net("192.0.2.0/24"),
            },
        };
        let text = rehearsal_failure(&rejected, &ctx);
        assert!(
            text.starts_with(
                "192.0.2.0/24: step 2 (create 192.0.2.16/29 → Magic Transit) would be rejected: "
            ),
            "{text}"
        );
        let end = RehearsalError::WrongEndState {
            prefix: net("192.0.2.0/24"),
            expected: vec![(net("192.0.2.0/24"), cdn.clone())],
            actual: vec![],
        };
        assert_eq!(
            rehearsal_failure(&end, &ctx),
            "192.0.2.0/24: after every step the bindings would be none, not 192.0.2.0/24 → CDN"
        );
    }

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
