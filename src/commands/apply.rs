//! `svcbind apply`: plan, show, confirm, then carry out the steps.

use std::io::{BufRead, IsTerminal, Write};

use crate::apply::{self, ApplyReport, Stop};
use crate::cli::{ApplyArgs, Format};
use crate::exit::ExitCode;
use crate::model::StateFile;
use crate::plan::Plan;
use crate::render::{self, Context};
use crate::settings::Settings;

/// The default of `max_deletes` when neither the flag nor the file sets it.
pub const DEFAULT_MAX_DELETES: u32 = 10;

/// The effective limit: the flag, else `safety.max_deletes`, else 10.
pub fn max_deletes(flag: Option<u32>, file: &StateFile) -> u32 {
    flag.or(file.max_deletes).unwrap_or(DEFAULT_MAX_DELETES)
}

pub async fn run(settings: &Settings, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let prepared = super::prepare(settings).await?;
    let ctx = Context {
        services: &prepared.resolved.services,
        max_deletes: max_deletes(args.limits.max_deletes, prepared.state()),
    };
    let plan = &prepared.plan;

    // The plan first. With `--format json` or `markdown`, stdout carries one document (the
    // report), so the plan goes to stderr as text, unless -q.
    if settings.format == Format::Text {
        let mut out = std::io::stdout().lock();
        render::plan(&mut out, Format::Text, plan, &ctx, settings.color)?;
        out.flush()?;
    } else if !settings.quiet {
        let mut err = std::io::stderr().lock();
        render::plan(&mut err, Format::Text, plan, &ctx, settings.color_stderr)?;
        err.flush()?;
    }
    if !plan.summary().has_changes() {
        report(settings, plan, &ApplyReport::empty(), &ctx, None)?;
        return Ok(ExitCode::Success);
    }

    if let Some(reason) = refusal(plan, &ctx, args)? {
        eprintln!("error: apply refused: {reason}");
        report(
            settings,
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
    let bar = progress_bar(settings, plan.summary().steps);
    let quiet = settings.quiet;
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
        &prepared.backend,
        plan,
        settings.concurrency,
        &stop,
        &on_progress,
    )
    .await;
    watcher.abort();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    report(settings, plan, &outcome, &ctx, None)?;
    if let (Some(seed), false) = (&settings.emulate, settings.quiet) {
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
fn refusal(plan: &Plan, ctx: &Context<'_>, args: &ApplyArgs) -> anyhow::Result<Option<String>> {
    let safety = plan.safety(ctx.max_deletes);
    if safety.needs_force() && !args.force {
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
        return Ok(Some(format!(
            "{}; review the plan, then run again with --force",
            reasons.join("; ")
        )));
    }
    if args.yes {
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
    settings: &Settings,
    plan: &Plan,
    outcome: &ApplyReport,
    ctx: &Context<'_>,
    refused: Option<String>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match settings.format {
        Format::Json => render::json::write_apply_report(&mut out, plan, outcome, ctx, refused)?,
        Format::Markdown => {
            render::markdown::apply_report(&mut out, outcome, ctx, refused.as_deref())?
        }
        Format::Text if refused.is_none() && !outcome.prefixes.is_empty() => {
            writeln!(out)?;
            render::text::apply_report(&mut out, outcome, ctx, settings.color)?;
        }
        Format::Text => {}
    }
    out.flush()?;
    Ok(())
}

fn progress_bar(settings: &Settings, steps: usize) -> Option<indicatif::ProgressBar> {
    if settings.quiet || !std::io::stderr().is_terminal() {
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
