//! `svcbind validate`: offline checks of the desired-state file (the load step alone).
//!
//! In text, the diagnostics go to stderr and `ok: …` to stdout, as every command prints them.
//! With `--format json` or `markdown`, stdout holds the validation document whether or not the
//! file is valid (the diagnostics still go to stderr, for the log).

use std::io::Write as _;

use super::steps;
use crate::config::{self, Mode};
use crate::exit::ExitCode;
use crate::render::{self, Format};
use crate::settings::{Output, ValidateSettings};

pub fn run(output: &Output, settings: &ValidateSettings) -> anyhow::Result<ExitCode> {
    if output.format == Format::Text {
        let loaded = steps::load_offline(output, &settings.config)?;
        let mut out = super::out::stdout();
        writeln!(
            out,
            "ok: {}{}",
            render::state_summary(&loaded.state),
            match loaded.warnings.warning_count() {
                0 => String::new(),
                n => format!(" ({})", render::count(n, "warning", "warnings")),
            }
        )
        .and_then(|()| out.flush())?;
        return Ok(ExitCode::Success);
    }
    // A file that cannot be read has no diagnostics: that is an error (and its document).
    let (diagnostics, state) = match config::load(&settings.config, Mode::Desired) {
        Ok(loaded) => (loaded.warnings, Some(loaded.state)),
        Err(config::LoadError::Invalid(diagnostics)) => (diagnostics, None),
        Err(e) => return Err(e.into()),
    };
    steps::print_diagnostics(output, &diagnostics)?;
    let file = settings.config.display().to_string();
    let mut out = super::out::stdout();
    if output.format == Format::Json {
        let doc = render::json::validation_document(&file, &diagnostics, state.as_ref());
        render::json::write_document(&mut out, &doc)?;
    } else {
        render::markdown::validation(&mut out, &file, &diagnostics, state.as_ref())?;
    }
    out.flush()?;
    if diagnostics.has_errors() {
        // The document is written; the error goes to stderr only.
        super::out::stderr_line(format_args!(
            "error: {file} is not valid ({})",
            steps::problem_count(&diagnostics)
        ));
        return Ok(ExitCode::Failure);
    }
    Ok(ExitCode::Success)
}
