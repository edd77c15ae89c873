//! `svcbind apply`: plan (load → connect → resolve → plan), show, confirm, then carry out the
//! steps and report.

use std::io::{BufRead, IsTerminal, Write};

use super::steps;
use crate::apply::{self, ApplyReport, Stop};
use crate::exit::ExitCode;
use crate::plan::Plan;
use crate::render::{self, Context, Format};
use crate::settings::{ApplySettings, Output};

pub async fn run(output: &Output, settings: &ApplySettings) -> anyhow::Result<ExitCode> {
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
    let ctx = planned.context();
    let plan = &planned.plan;

    // The plan first. With `--format json` or `markdown`, stdout carries one document (the
    // report), so the plan goes to stderr as text, unless -q.
    if output.format == Format::Text {
        let mut out = std::io::stdout().lock();
        render::plan(&mut out, Format::Text, plan, &ctx, output.color)?;
        out.flush()?;
    } else if !output.quiet {
        let mut err = std::io::stderr().lock();
        render::plan(&mut err, Format::Text, plan, &ctx, output.color_stderr)?;
        err.flush()?;
    }
    if !plan.summary().has_changes() {
        report(output, plan, &ApplyReport::empty(), &ctx, None)?;
        return Ok(ExitCode::Success);
    }

    if let Some(reason) = refusal(plan, &ctx, settings)? {
        eprintln!("error: apply refused: {reason}");
        report(
            output,
            plan,
            &ApplyReport::not_run(plan),
            &ctx,
            Some(reason),
        )?;
        return Ok(ExitCode::Refused);
    }

    let stop = Stop::default();
    let watcher = tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.interrupt();
                eprintln!(
                    "\ninterrupted: finishing the steps in flight, starting no new one (press Ctrl-C again to quit at once)"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(ExitCode::Interrupted.code()));
                }
            }
        }
    });
    let bar = progress_bar(output, plan.summary().steps);
    let quiet = output.quiet;
    let on_progress = |p: apply::Progress<'_>| {
        let line = render::text::progress_line(&p, &ctx);
        match &bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None if !quiet => eprintln!("{line}"),
            None => {}
        }
    };
    let outcome = apply::apply(
        &connected.backend,
        plan,
        settings.scope.concurrency,
        &stop,
        &on_progress,
    )
    .await;
    watcher.abort();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    report(output, plan, &outcome, &ctx, None)?;
    if let (Some(seed), false) = (&settings.connection.emulate, output.quiet) {
        eprintln!(
            "note: --emulate: these changes were made to an in-memory account seeded from {}; they are gone when svcbind exits",
            seed.display()
        );
    }
    Ok(if outcome.interrupted {
        ExitCode::Interrupted
    } else if outcome.failed() {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
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
    eprint!(
        "\nApply {} to account {}? Only `yes` is accepted: ",
        render::count(plan.summary().steps, "step", "steps"),
        plan.account_id
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok((answer.trim() != "yes").then(|| "not confirmed; nothing was changed".to_owned()))
}

/// Writes the outcome on stdout in the chosen format (text only when steps ran).
fn report(
    output: &Output,
    plan: &Plan,
    outcome: &ApplyReport,
    ctx: &Context<'_>,
    refused: Option<String>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match output.format {
        Format::Json => render::json::write_apply_report(&mut out, plan, outcome, ctx, refused)?,
        Format::Markdown => {
            render::markdown::apply_report(&mut out, outcome, ctx, refused.as_deref())?
        }
        Format::Text if refused.is_none() && !outcome.prefixes.is_empty() => {
            writeln!(out)?;
            render::text::apply_report(&mut out, outcome, ctx, output.color)?;
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
