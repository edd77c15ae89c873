//! `svcbind plan`: what apply would change, in the order it would change it
//! (load → connect → resolve → plan).

use std::io::Write as _;

use super::steps;
use crate::exit::ExitCode;
use crate::render;
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
    let mut out = std::io::stdout().lock();
    render::plan(
        &mut out,
        output.format,
        &planned.plan,
        &planned.context(),
        output.color,
    )?;
    out.flush()?;
    let changes = planned.plan.summary().has_changes();
    Ok(if settings.detailed_exitcode && changes {
        ExitCode::Changes
    } else {
        ExitCode::Success
    })
}
