//! `svcbind apply`: plan, show, confirm, then carry out the steps.

use std::io::{BufRead, IsTerminal, Write};

use crate::apply::{self, Stop};
use crate::cli::{ApplyArgs, Format};
use crate::exit::ExitCode;
use crate::model::StateFile;
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
    let json = settings.format == Format::Json;
    {
        // With JSON the one document on stdout is the report; the plan goes to stderr.
        let mut out: Box<dyn Write> = if json {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        };
        let format = if json { Format::Text } else { settings.format };
        let color = if json {
            settings.color_stderr
        } else {
            settings.color
        };
        render::plan(&mut out, format, plan, &ctx, color)?;
        out.flush()?;
    }
    if !plan.summary().has_changes() {
        if json {
            render::json::write_apply_report(
                &mut std::io::stdout().lock(),
                plan,
                &apply::ApplyReport::empty(),
                &ctx,
            )?;
        }
        return Ok(ExitCode::Success);
    }

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
        eprintln!(
            "error: apply refused: {}; review the plan, then run again with --force",
            reasons.join("; ")
        );
        return Ok(ExitCode::Refused);
    }

    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            eprintln!(
                "error: apply refused: no terminal to confirm on; review the plan, then run again with --yes"
            );
            return Ok(ExitCode::Refused);
        }
        let steps = plan.summary().steps;
        eprint!(
            "\nApply {} to account {}? Only `yes` is accepted: ",
            render::count(steps, "step", "steps"),
            plan.account_id
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(ExitCode::Refused);
        }
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
    let report = apply::apply(
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

    let mut out = std::io::stdout().lock();
    match settings.format {
        Format::Json => render::json::write_apply_report(&mut out, plan, &report, &ctx)?,
        Format::Markdown => render::markdown::apply_report(&mut out, &report, &ctx)?,
        Format::Text => {
            writeln!(out)?;
            render::text::apply_report(&mut out, &report, &ctx, settings.color)?;
        }
    }
    if let (Some(seed), false) = (&settings.emulate, settings.quiet) {
        eprintln!(
            "note: --emulate: these changes were made to an in-memory account seeded from {}; they are gone when svcbind exits",
            seed.display()
        );
    }
    Ok(if report.interrupted {
        ExitCode::Interrupted
    } else if report.failed() {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
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
