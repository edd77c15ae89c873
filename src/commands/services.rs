//! `svcbind services`: the account's service catalog (connect, then one listing).

use std::io::Write as _;

use anyhow::Context as _;

use super::steps;
use crate::api::Api;
use crate::exit::ExitCode;
use crate::settings::{Output, ServicesSettings};

pub async fn run(output: &Output, settings: &ServicesSettings) -> anyhow::Result<ExitCode> {
    let connection = &settings.connection;
    // The file is read only for the account id, and only when nothing else gives it.
    let connected = steps::connect_for_account(output, connection, &settings.config)?;
    let mut services = connected
        .backend
        .list_services()
        .await
        .context("cannot list the account's services")?;
    services.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let mut out = super::out::stdout();
    crate::render::services(&mut out, output.format, &connected.account_id, &services)?;
    out.flush()?;
    Ok(ExitCode::Success)
}
