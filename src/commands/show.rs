//! `svcbind show`: each prefix's bindings as a tree of nested CIDRs and its effective routing,
//! from the live account (connect → read the account) or from the file (`--desired`: load,
//! offline).

use std::io::Write as _;

use super::steps;
use crate::exit::ExitCode;
use crate::plan::routing::PrefixRouting;
use crate::render::Format;
use crate::render::show::{self as render, Source};
use crate::resolve;
use crate::settings::{Output, ShowSettings};

pub async fn run(output: &Output, settings: &ShowSettings) -> anyhow::Result<ExitCode> {
    let config = settings.config.display().to_string();
    let (prefixes, account_id) = if settings.desired {
        let file = steps::load(output, &settings.config)?;
        let chosen = resolve::select_in_file(&file.state, &settings.scope.prefixes)
            .map_err(|e| steps::in_file(e, &file.file(), &file.state))?;
        let prefixes: Vec<PrefixRouting> = chosen
            .into_iter()
            .map(|i| PrefixRouting::desired(&file.state.prefixes[i]))
            .collect();
        (prefixes, file.state.account_id.clone())
    } else {
        let connected = steps::connect_for_account(output, &settings.connection, &settings.config)?;
        let account = steps::read_account(
            &connected,
            |listed| Ok(resolve::select_listed(listed, &settings.scope.prefixes)?),
            settings.scope.concurrency,
        )
        .await?;
        let prefixes = account
            .prefixes
            .iter()
            .map(|p| PrefixRouting::live(&p.prefix, &p.bindings, &account.services))
            .collect();
        (prefixes, Some(connected.account_id))
    };
    let source = Source {
        desired: settings.desired,
        account_id: account_id.as_ref(),
        file: &config,
    };
    let mut out = super::out::stdout();
    match output.format {
        Format::Text => render::show_text(&mut out, &prefixes, &source, output.color)?,
        Format::Markdown => render::show_markdown(&mut out, &prefixes, &source)?,
        Format::Json => render::show_json(&mut out, &prefixes, &source)?,
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
