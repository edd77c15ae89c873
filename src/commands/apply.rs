//! `svcbind apply`: carry out a plan's steps and report.
//!
//! Two ways in, one way out. Without a file, [`run`] plans now (load → connect → resolve →
//! plan); with `apply PLAN.json`, it reads the saved plan, checks it is for this account and
//! that none of the prefixes it changes moved since (re-reading only those), and takes its
//! steps as they were reviewed, without planning again. Both end in [`carry_out`]: show the
//! plan, apply the safety rules and ask for confirmation, run the steps, report.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::out::{Lossy, stderr_line, stderr_text};
use super::{saved, signals, steps};
use crate::apply::{self, ApplyReport, Stop};
use crate::exit::ExitCode;
use crate::plan::Plan;
use crate::render::json::Refusal;
use crate::render::{self, Context, Format};
use crate::settings::{ApplySettings, Output};

pub async fn run(output: &Output, settings: &ApplySettings) -> anyhow::Result<ExitCode> {
    match &settings.plan_file {
        Some(path) => run_saved(output, settings, path).await,
        None => run_fresh(output, settings).await,
    }
}

/// `apply`: plan now, then carry the plan out.
async fn run_fresh(output: &Output, settings: &ApplySettings) -> anyhow::Result<ExitCode> {
    let file = steps::load(output, &settings.config)?;
    let connected = steps::connect(
        &settings.connection,
        output,
        &settings.config,
        Some(&file.state),
    )?;
    let resolved = steps::resolve(output, &connected, &file, &settings.scope).await?;
    let planned = steps::plan(
        &connected.account_id,
        resolved,
        &settings.limits,
        &file.state,
    )?;
    carry_out(
        output,
        settings,
        &connected,
        &planned.plan,
        &planned.context(),
    )
    .await
}

/// `apply PLAN.json`: check the saved plan still fits the account, then carry it out as it
/// was reviewed: its steps, its `max_deletes`, its safety verdict.
///
/// The desired-state file is optional here: when it exists it is validated, its `account_id`
/// must agree, and a note says when it changed since the plan (the plan still runs as
/// reviewed; a new `plan` shows what the file's newer changes need).
async fn run_saved(
    output: &Output,
    settings: &ApplySettings,
    path: &Path,
) -> anyhow::Result<ExitCode> {
    let saved = saved::read(path)?;
    let file = if settings.config.exists() {
        Some(steps::load(output, &settings.config)?)
    } else {
        None
    };
    let account_id = saved::account(
        &settings.connection,
        &settings.config,
        file.as_ref(),
        &saved,
        path,
    )?;
    if let Some(file) = &file
        && saved::file_changed(file, &saved)
        && !output.quiet
    {
        stderr_line(format_args!(
            "note: {} changed since the plan was made; apply carries out the plan as it was reviewed, then run `svcbind plan` to see what the file's newer changes need",
            settings.config.display()
        ));
    }
    let mut connection = settings.connection.clone();
    connection.account_id = Some(account_id);
    let connected = steps::connect(&connection, output, &settings.config, None)?;
    let rechecked = steps::recheck(&connected, &saved, settings.scope.concurrency).await?;
    if rechecked.applied {
        // A re-run of an apply that went through: nothing is stale, nothing is left to do.
        let ctx = Context {
            services: &saved.services,
            limits: saved.limits.clone(),
        };
        let message = format!(
            "{}: this plan has already been applied; nothing to do",
            path.display()
        );
        if output.format == Format::Text {
            let mut out = super::out::stdout();
            writeln!(out, "{message}.")?;
            out.flush()?;
        } else if !output.quiet {
            stderr_line(format_args!("{message}."));
        }
        report(
            output,
            settings,
            &saved.plan,
            &ApplyReport::empty(),
            &ctx,
            &Refusal::default(),
        )?;
        return Ok(ExitCode::Success);
    }
    let stale = rechecked.stale;
    if !stale.is_empty() {
        let services = saved::names(&saved, &stale);
        let ctx = Context {
            services: &services,
            limits: saved.limits.clone(),
        };
        stderr_line(format_args!(
            "error: {}",
            saved::stale_text(&stale, &ctx, path, &settings.config_given)
        ));
        let reason = saved::stale_reason(&stale, &ctx);
        let refusal = Refusal {
            reason: Some(&reason),
            stale: &stale,
        };
        report(
            output,
            settings,
            &saved.plan,
            &ApplyReport::not_run(&saved.plan),
            &ctx,
            &refusal,
        )?;
        return Ok(ExitCode::Refused);
    }
    let ctx = Context {
        services: &saved.services,
        limits: saved.limits.clone(),
    };
    // Said first, so the plan below is not taken for one made now.
    let saved_at = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| format!(", saved {}", humantime::format_rfc3339_seconds(t)))
        .unwrap_or_default();
    let header = format!(
        "Carrying out the saved plan {} (made by svcbind {}{saved_at}), as it was reviewed:",
        path.display(),
        crate::sanitize::text(&saved.svcbind_version)
    );
    if output.format == Format::Text {
        let mut out = Lossy::new(std::io::stdout().lock());
        let _ = writeln!(out, "{header}\n");
        let _ = out.flush();
    } else if !output.quiet {
        stderr_line(format_args!("{header}"));
    }
    carry_out(output, settings, &connected, &saved.plan, &ctx).await
}

/// Shows the plan, applies the safety rules and asks for confirmation, runs the steps, and
/// reports: where both ways of applying end.
async fn carry_out(
    output: &Output,
    settings: &ApplySettings,
    connected: &steps::Connected,
    plan: &Plan,
    ctx: &Context<'_>,
) -> anyhow::Result<ExitCode> {
    // The plan first. With `--format json` or `markdown`, stdout carries one document (the
    // report), so the plan goes to stderr as text, unless -q.
    // Neither stream can stop an apply: a write that fails is dropped (see `out`).
    if output.format == Format::Text {
        let mut out = Lossy::new(std::io::stdout().lock());
        let _ = render::plan(&mut out, Format::Text, plan, ctx, output.color);
        let _ = out.flush();
    } else if !output.quiet {
        let mut err = Lossy::new(std::io::stderr().lock());
        let _ = render::plan(&mut err, Format::Text, plan, ctx, output.color_stderr);
        let _ = err.flush();
    }
    if !plan.summary().has_changes() {
        report(
            output,
            settings,
            plan,
            &ApplyReport::empty(),
            ctx,
            &Refusal::default(),
        )?;
        return Ok(ExitCode::Success);
    }

    if let Some(reason) = refusal(plan, ctx, settings)? {
        stderr_line(format_args!("error: apply refused: {reason}"));
        let refusal = Refusal {
            reason: Some(&reason),
            stale: &[],
        };
        report(
            output,
            settings,
            plan,
            &ApplyReport::not_run(plan),
            ctx,
            &refusal,
        )?;
        return Ok(ExitCode::Refused);
    }

    let stop = Stop::default();
    let mut signals = signals::Signals::listen()?;
    let bar = progress_bar(output, plan.summary().steps);
    let quiet = output.quiet;
    let on_progress = |p: apply::Progress<'_>| {
        let line = render::text::progress_line(&p, ctx);
        match &bar {
            Some(bar) => {
                bar.println(line);
                if !p.restoring {
                    bar.inc(1);
                }
            }
            None if !quiet => stderr_line(line),
            None => {}
        }
    };
    let steps = apply::apply(
        &connected.backend,
        plan,
        settings.scope.concurrency,
        &stop,
        &on_progress,
    );
    let mut outcome = signals.guard(&stop, ctx, signals::STOPPING, steps).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(limit) = settings.wait
        && !outcome.interrupted
        && !outcome.failed()
    {
        let waiting = wait_for_active(output, settings, connected, &outcome, limit, ctx, &stop);
        let waited = signals
            .guard(&stop, ctx, "stopping the wait; the steps are done", waiting)
            .await;
        outcome.interrupted = waited.outcome == apply::WaitOutcome::Interrupted;
        outcome.waited = Some(waited);
    }

    report(output, settings, plan, &outcome, ctx, &Refusal::default())?;
    if let Some(waited) = outcome.waited.as_ref().filter(|_| outcome.wait_timed_out()) {
        stderr_line(format_args!(
            "error: {} of {} not active after --wait={}; the steps are done, and the report lists what is still provisioning",
            waited.pending().count(),
            render::count(
                waited.bindings.len(),
                "created binding is",
                "created bindings are"
            ),
            render::text::duration(waited.limit)
        ));
    }
    if let (Some(seed), false) = (&settings.connection.emulate, output.quiet) {
        stderr_line(format_args!(
            "note: --emulate: these changes were made to an in-memory account seeded from {}; they are gone when svcbind exits",
            seed.display()
        ));
    }
    Ok(if outcome.interrupted {
        ExitCode::Interrupted
    } else if outcome.failed() || outcome.wait_timed_out() {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}

/// `--wait`: reads the prefixes back until the bindings the apply created are active,
/// showing progress on stderr: a bar on a terminal, else a line whenever the count of active
/// bindings changes (and every tenth round, so a long wait shows it is alive).
async fn wait_for_active(
    output: &Output,
    settings: &ApplySettings,
    connected: &steps::Connected,
    outcome: &ApplyReport,
    limit: std::time::Duration,
    ctx: &Context<'_>,
    stop: &Stop,
) -> apply::Waited {
    let bar = (!output.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} created bindings active  {elapsed}  {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let last = std::sync::Mutex::new(None::<usize>);
    let on_round = |p: apply::WaitProgress<'_>| {
        let settled = p.settled();
        if let Some(bar) = &bar {
            bar.set_length(p.bindings.len() as u64);
            bar.set_position(settled as u64);
            return;
        }
        let mut last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !output.quiet && (*last != Some(settled) || p.round.is_multiple_of(10)) {
            stderr_line(render::text::wait_line(&p, ctx));
        }
        *last = Some(settled);
    };
    let waited = apply::wait(
        &connected.backend,
        outcome,
        limit,
        settings.scope.concurrency,
        stop,
        &on_round,
    )
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    waited
}

/// Why apply must not go on, if it must not: a safety rule without `--force`, or no
/// confirmation (`--yes`, or `yes` typed on a terminal).
fn refusal(
    plan: &Plan,
    ctx: &Context<'_>,
    settings: &ApplySettings,
) -> anyhow::Result<Option<String>> {
    let safety = plan.safety(&ctx.limits);
    if safety.needs_force() && !settings.force {
        let mut reasons = Vec::new();
        for cidr in &safety.prefix_wide {
            reasons.push(format!(
                "the prefix-wide binding of {cidr} is deleted or replaced"
            ));
        }
        if let Some((n, limit)) = safety.too_many_deletes {
            reasons.push(format!(
                "{} deleted or replaced, more than max_deletes ({limit})",
                render::count(n, "binding is", "bindings are")
            ));
        }
        for share in &safety.too_large_share {
            reasons.push(render::text::delete_share_text(share));
        }
        for range in &safety.protected {
            reasons.push(render::text::protected_text(range, ctx));
        }
        return Ok(Some(format!(
            "{}; review the plan, then run again with --force",
            reasons.join("; ")
        )));
    }
    if settings.yes {
        return Ok(None);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(Some(
            "no terminal to confirm on; review the plan, then run again with --yes".into(),
        ));
    }
    stderr_text(format_args!(
        "\nApply {} to account {}? Only `yes` is accepted: ",
        render::count(plan.summary().steps, "step", "steps"),
        plan.account_id
    ));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok((answer.trim() != "yes").then(|| "not confirmed; nothing was changed".to_owned()))
}

/// Writes the outcome on stdout in the chosen format (text only when steps ran). A failed
/// write does not change the exit code, which says how the apply went: a closed pipe is
/// quiet, another error is named on stderr.
/// Writes the report on stdout in the chosen format, and as JSON to `--report FILE` if given.
/// Neither can change the outcome: a write that fails is a warning, and the exit code still
/// says how the apply went.
fn report(
    output: &Output,
    settings: &ApplySettings,
    plan: &Plan,
    outcome: &ApplyReport,
    ctx: &Context<'_>,
    refused: &Refusal<'_>,
) -> anyhow::Result<()> {
    let mut out = Lossy::new(std::io::stdout().lock());
    write_report(&mut out, output, plan, outcome, ctx, refused)?;
    if let Some(e) = out.error()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        stderr_line(format_args!(
            "warning: cannot write the apply report to stdout: {e}; the exit code still says how the apply went"
        ));
    }
    if let Some(path) = &settings.report {
        let mut json = Vec::new();
        render::json::write_apply_report(&mut json, plan, outcome, ctx, refused)?;
        match std::fs::write(path, json) {
            Ok(()) => super::report_written(),
            Err(e) => stderr_line(format_args!(
                "warning: cannot write the apply report to {}: {e}; the exit code still says how the apply went",
                path.display()
            )),
        }
    }
    Ok(())
}

fn write_report(
    out: &mut impl Write,
    output: &Output,
    plan: &Plan,
    outcome: &ApplyReport,
    ctx: &Context<'_>,
    refused: &Refusal<'_>,
) -> std::io::Result<()> {
    match output.format {
        Format::Json => render::json::write_apply_report(out, plan, outcome, ctx, refused)?,
        Format::Markdown => render::markdown::apply_report(out, outcome, ctx, refused.reason)?,
        Format::Text if refused.reason.is_none() && !outcome.prefixes.is_empty() => {
            writeln!(out)?;
            render::text::apply_report(out, outcome, ctx, output.color)?;
        }
        Format::Text => {}
    }
    out.flush()?;
    Ok(())
}

fn progress_bar(output: &Output, steps: usize) -> Option<indicatif::ProgressBar> {
    if output.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {elapsed}")
    {
        bar.set_style(style);
    }
    Some(bar)
}
