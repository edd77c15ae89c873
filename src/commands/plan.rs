//! `svcbind plan`: what apply would change, in the order it would change it
//! (load → connect → resolve → plan), and with `--out PLAN.json` the same plan saved for
//! `svcbind apply PLAN.json`.
//!
//! With `--changed-since REF`, only the prefixes whose entry in the file differs from the file
//! at git REF are resolved and planned ([`steps::changed_since`]): a pull request that touches
//! one prefix of a large account reads that prefix's bindings alone, and the plan says which
//! prefixes it skipped.

use std::io::Write as _;

use super::saved;
use super::steps::{self, Since};
use crate::exit::ExitCode;
use crate::model::Services;
use crate::render::json::{Provenance, plan_document, write_document};
use crate::render::{self, Format, Skipped};
use crate::resolve::Resolved;
use crate::settings::{Output, PlanSettings};

pub async fn run(output: &Output, settings: &PlanSettings) -> anyhow::Result<ExitCode> {
    if let Some(path) = &settings.out {
        saved::check_out(path, &settings.config)?;
    }
    let file = steps::load(output, &settings.config)?;
    let since = settings
        .changed_since
        .as_deref()
        .map(|revision| steps::changed_since(&settings.config, &file, revision))
        .transpose()?;
    let connected = steps::connect(
        &settings.connection,
        output,
        &settings.config,
        Some(&file.state),
    )?;
    let resolved = match &since {
        Some(Since::Changed { changed, .. }) if changed.is_empty() => Resolved {
            // Nothing to read: no call at all.
            services: Services::new([]),
            prefixes: Vec::new(),
            listed: None,
        },
        Some(Since::Changed { changed, .. }) => {
            let mut narrowed = file.clone();
            narrowed
                .state
                .prefixes
                .retain(|prefix| changed.contains(&prefix.cidr));
            steps::resolve(output, &connected, &narrowed, &settings.scope).await?
        }
        Some(Since::Every(_)) | None => {
            steps::resolve(output, &connected, &file, &settings.scope).await?
        }
    };
    let planned = steps::plan(
        &connected.account_id,
        resolved,
        &settings.limits,
        &file.state,
    )?;
    let ctx = planned.context();
    let skipped = match (&since, settings.changed_since.as_deref()) {
        (Some(Since::Changed { skipped, .. }), Some(revision)) => Some(Skipped {
            since: revision,
            prefixes: skipped,
            every: None,
        }),
        (Some(Since::Every(why)), Some(revision)) => Some(Skipped {
            since: revision,
            prefixes: &[],
            every: Some(why),
        }),
        _ => None,
    };
    // One document for `--format json` and `--out`: the saved plan is what was shown.
    let desired_sha256 = crate::contract::sha256_hex(&file.contents());
    let document = plan_document(
        &planned.plan,
        &ctx,
        &Provenance {
            desired_sha256: Some(&desired_sha256),
            states: &planned.states,
            skipped,
        },
    );
    // Saved before anything reaches stdout, so a failure leaves one document there: the error.
    if let Some(path) = &settings.out {
        saved::write(path, &document)?;
    }
    let mut out = super::out::stdout();
    match output.format {
        Format::Json => write_document(&mut out, &document)?,
        format => render::plan_skipping(
            &mut out,
            format,
            &planned.plan,
            &ctx,
            output.color,
            skipped.as_ref(),
        )?,
    }
    out.flush()?;
    let changes = planned.plan.summary().has_changes();
    if let (Some(path), false) = (&settings.out, output.quiet) {
        if changes {
            super::out::stderr_line(format_args!(
                "Saved the plan to {0}. To carry out exactly these steps: svcbind apply {0}",
                path.display()
            ));
        } else {
            super::out::stderr_line(format_args!(
                "Saved the plan to {}. It has no steps: applying it changes nothing.",
                path.display()
            ));
        }
    }
    Ok(if settings.detailed_exitcode && changes {
        ExitCode::Changes
    } else {
        ExitCode::Success
    })
}
