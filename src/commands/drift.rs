//! `svcbind drift`: how the live bindings differ from the file, classified, changing nothing
//! (load → connect → resolve, the same calls as `plan`; then the pure classification).

use std::io::Write as _;

use anyhow::Context as _;

use super::steps;
use crate::exit::ExitCode;
use crate::model::Prefix;
use crate::plan::drift::{Drift, classify};
use crate::render::Format;
use crate::render::drift::{self as render, DriftContext};
use crate::settings::{DriftSettings, Output};

pub async fn run(output: &Output, settings: &DriftSettings) -> anyhow::Result<ExitCode> {
    let file = steps::load(output, &settings.config)?;
    let connected = steps::connect(
        &settings.connection,
        output,
        &settings.config,
        Some(&file.state),
    )?;
    let resolved = steps::resolve(output, &connected, &file, &settings.scope).await?;
    // Unmanaged prefixes come from the listing resolution read anyway; none is added for them.
    let unmanaged = resolved.listed.map(|listed| {
        let mut unmanaged: Vec<Prefix> = listed
            .into_iter()
            .filter(|p| !file.state.prefixes.iter().any(|f| f.cidr == p.cidr))
            .collect();
        unmanaged.sort_by(|a, b| (a.cidr, &a.id).cmp(&(b.cidr, &b.id)));
        unmanaged
    });
    let drift = Drift {
        account_id: connected.account_id.clone(),
        prefixes: resolved.prefixes.iter().map(classify).collect(),
        unmanaged,
    };
    let file_name = file.file();
    let plan = format!(
        "svcbind plan{}",
        super::config_flags(&settings.config_given)
    );
    let ctx = DriftContext {
        services: &resolved.services,
        file: &file_name,
        plan: &plan,
    };
    if let Some(path) = &settings.report {
        let mut report = Vec::new();
        render::json(&mut report, &drift, &ctx)?;
        std::fs::write(path, report)
            .with_context(|| format!("cannot write the drift report to {}", path.display()))?;
        super::report_written();
    }
    let mut out = super::out::stdout();
    match output.format {
        Format::Text => render::text(&mut out, &drift, &ctx, output.color)?,
        Format::Markdown => render::markdown(&mut out, &drift, &ctx)?,
        Format::Json => render::json(&mut out, &drift, &ctx)?,
    }
    out.flush()?;
    Ok(if drift.summary().has_drift() {
        ExitCode::Changes
    } else {
        ExitCode::Success
    })
}
