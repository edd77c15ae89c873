//! `svcbind emulator`: serves an emulated account over HTTP until stopped.

use super::steps;
use crate::exit::ExitCode;
use crate::settings::{EmulatorSettings, Output};

pub async fn run(output: &Output, settings: &EmulatorSettings) -> anyhow::Result<ExitCode> {
    let seed = settings
        .seed
        .as_deref()
        .map(|path| steps::load_seed(output, path, "--seed"))
        .transpose()?;
    crate::emulator::run(seed.as_ref(), settings.listen, settings.options.clone()).await?;
    Ok(ExitCode::Success)
}
