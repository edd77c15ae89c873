//! `svcbind validate`: offline checks of the desired-state file.

use crate::config::Mode;
use crate::exit::ExitCode;
use crate::settings::Settings;

pub fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let loaded = super::load_file(
        &settings.config,
        Mode::Desired,
        settings.color_stderr,
        settings.github_actions,
    )?;
    println!(
        "ok: {}{}",
        crate::config::summary(&loaded.state),
        match loaded.warnings.warning_count() {
            0 => String::new(),
            n => format!(" ({})", crate::render::count(n, "warning", "warnings")),
        }
    );
    Ok(ExitCode::Success)
}
