//! `svcbind services`: the account's service catalog.

use std::io::Write;

use crate::api::Api;
use crate::cli::Format;
use crate::config::Mode;
use crate::exit::ExitCode;
use crate::model::StateFile;
use crate::settings::{Backend, Settings};

pub async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    // The file is read only for the account id, and only when nothing else gives it.
    let seed = super::load_seed(settings)?;
    let file = if settings.account_id.is_none() && seed.is_none() && settings.config.exists() {
        super::load_file(
            &settings.config,
            Mode::Desired,
            settings.color_stderr,
            settings.github_actions,
        )?
        .state
    } else {
        StateFile::default()
    };
    let account_id = settings.account_id(&file, seed.as_ref())?;
    let backend = Backend::connect(settings, &account_id, seed)?;
    let mut services = backend.list_services().await?;
    services.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let mut out = std::io::stdout().lock();
    match settings.format {
        Format::Json => {
            let rows: Vec<_> = services
                .iter()
                .map(|s| serde_json::json!({"id": s.id, "name": s.name}))
                .collect();
            let doc = serde_json::json!({"format_version": 1, "account_id": account_id, "services": rows});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Markdown => {
            writeln!(out, "| Service | Id |\n|---|---|")?;
            for s in &services {
                writeln!(
                    out,
                    "| {} | `{}` |",
                    crate::render::markdown::escape(&s.name),
                    s.id
                )?;
            }
        }
        Format::Text => {
            let width = services
                .iter()
                .map(|s| s.name.chars().count())
                .max()
                .unwrap_or(0);
            for s in &services {
                writeln!(out, "{:<width$}  {}", crate::sanitize::text(&s.name), s.id)?;
            }
        }
    }
    Ok(ExitCode::Success)
}
