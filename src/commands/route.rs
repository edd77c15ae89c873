//! `svcbind route IP…`: which service gets each address, by which binding, and the chain of
//! bindings that cover it; from the live account (connect → read only the prefixes of the
//! addresses) or from the file (`--desired`: load, offline).

use std::io::Write as _;
use std::net::IpAddr;

use anyhow::bail;

use super::steps;
use crate::exit::ExitCode;
use crate::plan::routing::PrefixRouting;
use crate::render::Format;
use crate::render::show::{self as render, Answer, Source};
use crate::settings::{Output, RouteSettings};

pub async fn run(output: &Output, settings: &RouteSettings) -> anyhow::Result<ExitCode> {
    let config = settings.config.display().to_string();
    let addresses = &settings.addresses;
    let (prefixes, account_id) = if settings.desired {
        let file = steps::load(output, &settings.config)?;
        let cidrs: Vec<ipnet::IpNet> = file.state.prefixes.iter().map(|p| p.cidr).collect();
        check_inside(addresses, &cidrs, &format!("prefix of {config}"))?;
        let prefixes: Vec<PrefixRouting> = file
            .state
            .prefixes
            .iter()
            .filter(|p| addresses.iter().any(|a| p.cidr.contains(a)))
            .map(PrefixRouting::desired)
            .collect();
        (prefixes, file.state.account_id.clone())
    } else {
        let connected = steps::connect_for_account(output, &settings.connection, &settings.config)?;
        let account_id = connected.account_id.clone();
        // Only the prefixes that hold an address asked are read.
        let account = steps::read_account(
            &connected,
            |listed| {
                let cidrs: Vec<ipnet::IpNet> = listed.iter().map(|p| p.cidr).collect();
                check_inside(
                    addresses,
                    &cidrs,
                    &format!("onboarded prefix of account {account_id}"),
                )?;
                Ok(listed
                    .iter()
                    .filter(|p| addresses.iter().any(|a| p.cidr.contains(a)))
                    .cloned()
                    .collect())
            },
            settings.concurrency,
        )
        .await?;
        let prefixes = account
            .prefixes
            .iter()
            .map(|p| PrefixRouting::live(&p.prefix, &p.bindings, &account.services))
            .collect();
        (prefixes, Some(account_id))
    };
    let answers: Vec<Answer> = addresses
        .iter()
        .filter_map(|&address| {
            let prefix = prefixes.iter().position(|p| p.contains(address))?;
            Some(Answer {
                address,
                prefix,
                chain: prefixes[prefix].chain(address),
            })
        })
        .collect();
    let source = Source {
        desired: settings.desired,
        account_id: account_id.as_ref(),
        file: &config,
    };
    let mut out = super::out::stdout();
    match output.format {
        Format::Text => render::route_text(&mut out, &prefixes, &answers, &source, output.color)?,
        Format::Markdown => render::route_markdown(&mut out, &prefixes, &answers, &source)?,
        Format::Json => render::route_json(&mut out, &prefixes, &answers, &source)?,
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// Refuses addresses that lie in none of `prefixes`, naming them and the prefixes there are
/// (`where_` says of what: `onboarded prefix of account …`).
fn check_inside(
    addresses: &[IpAddr],
    prefixes: &[ipnet::IpNet],
    where_: &str,
) -> anyhow::Result<()> {
    let outside: Vec<String> = addresses
        .iter()
        .filter(|a| !prefixes.iter().any(|p| p.contains(*a)))
        .map(ToString::to_string)
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    let known = if prefixes.is_empty() {
        "there is none".to_owned()
    } else {
        let list: Vec<String> = prefixes.iter().map(ToString::to_string).collect();
        format!("the prefixes are {}", list.join(", "))
    };
    let (what, verb) = if outside.len() == 1 {
        ("address", "is")
    } else {
        ("addresses", "are")
    };
    bail!(
        "{what} {} {verb} in no {where_}; {known}",
        outside.join(", ")
    )
}
