//! `svcbind plan`: what apply would change, in the order it would change it
//! (load → connect → resolve → plan), and with `--out PLAN.json` the same plan saved for
//! `svcbind apply PLAN.json`.

use std::io::Write as _;

use super::{saved, steps};
use crate::exit::ExitCode;
use crate::render::json::{Provenance, plan_document, write_document};
use crate::render::{self, Format};
use crate::settings::{Output, PlanSettings};

pub async fn run(output: &Output, settings: &PlanSettings) -> anyhow::Result<ExitCode> {
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
    // One document for `--format json` and `--out`: the saved plan is what was shown.
    let desired_sha256 = crate::contract::sha256_hex(&file.contents());
    let document = plan_document(
        &planned.plan,
        &ctx,
        &Provenance {
            desired_sha256: Some(&desired_sha256),
            states: &planned.states,
        },
    );
    // Saved before anything reaches stdout, so a failure leaves one document there: the error.
    if let Some(path) = &settings.out {
        saved::write(path, &document)?;
    }
    let mut out = std::io::stdout().lock();
    match output.format {
        Format::Json => write_document(&mut out, &document)?,
        format => render::plan(&mut out, format, &planned.plan, &ctx, output.color)?,
    }
    out.flush()?;
    if let (Some(path), false) = (&settings.out, output.quiet) {
        super::out::stderr_line(format_args!(
            "Saved the plan to {0}. To carry out exactly these steps: svcbind apply {0}",
            path.display()
        ));
    }
    let changes = planned.plan.summary().has_changes();
    Ok(if settings.detailed_exitcode && changes {
        ExitCode::Changes
    } else {
        ExitCode::Success
    })
}
