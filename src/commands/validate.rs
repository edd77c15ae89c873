//! `svcbind validate`: offline checks of the desired-state file (the load step alone).

use super::steps;
use crate::exit::ExitCode;
use crate::settings::{Output, ValidateSettings};

pub fn run(output: &Output, settings: &ValidateSettings) -> anyhow::Result<ExitCode> {
    let loaded = steps::load_offline(output, &settings.config)?;
    println!(
        "ok: {}{}",
        crate::render::state_summary(&loaded.state),
        match loaded.warnings.warning_count() {
            0 => String::new(),
            n => format!(" ({})", crate::render::count(n, "warning", "warnings")),
        }
    );
    Ok(ExitCode::Success)
}
