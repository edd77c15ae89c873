//! `svcbind plan`: what apply would change, in the order it would change it.

use crate::cli::PlanArgs;
use crate::exit::ExitCode;
use crate::render::{self, Context};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let prepared = super::prepare(settings).await?;
    let ctx = Context {
        services: &prepared.resolved.services,
        max_deletes: super::apply::max_deletes(args.limits.max_deletes, prepared.state()),
    };
    let mut out = std::io::stdout().lock();
    render::plan(
        &mut out,
        settings.format,
        &prepared.plan,
        &ctx,
        settings.color,
    )?;
    let changes = prepared.plan.summary().has_changes();
    Ok(if args.detailed_exitcode && changes {
        ExitCode::Changes
    } else {
        ExitCode::Success
    })
}
