//! Rendering plans, apply reports, the service catalog, drift reports and the routing views
//! for people and programs, in the three [`Format`]s: `text`, `markdown` and `json` (which
//! fills in the documents of [`crate::contract`]). The plan, the apply report and the catalog
//! have a module per format; the drift report (`drift`) and the routing views (`show`) keep
//! their three formats together in one module each.
//!
//! Renderers write to `impl Write` and decide nothing: what to show was settled by the planner
//! and apply. Only `text` knows colour, as a plain `bool` the caller decided. Every string that
//! came from the API passes through [`crate::sanitize`] before it is written. This module never
//! imports `cli`, `settings` or `commands`.

pub mod drift;
pub mod json;
pub mod markdown;
pub mod show;
pub mod text;

use std::io::{self, Write};

use ipnet::IpNet;

use crate::model::{AccountId, Service, ServiceId, Services};
use crate::plan::{Plan, SafetyLimits};
use crate::sanitize;

/// The formats every document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, for terminals and logs.
    Text,
    /// For pull-request comments.
    Markdown,
    /// The versioned machine-readable contract (see [`crate::contract`]).
    Json,
}

/// The notice every output with changes carries.
pub const PROPAGATION_NOTICE: &str = "Binding changes take 4 to 6 hours to spread over Cloudflare's network, and the addresses they touch may be disrupted meanwhile.";

/// What the renderers need besides the plan itself.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub services: &'a Services,
    /// The effective safety limits (`max_deletes`, `max_delete_percent`, `protect`).
    pub limits: SafetyLimits,
}

impl Context<'_> {
    /// A service's name (sanitized), or its id when the catalog lacks it; with the id too when
    /// another service of the catalog bears the same name (`CDN (a7c5…)`), so a change
    /// between two of them never reads `CDN → CDN`.
    pub fn service(&self, id: &ServiceId) -> String {
        let name = self.services.display(id);
        let shared = self.services.iter().filter(|(_, n)| *n == name).count() > 1;
        if shared {
            format!("{} ({id})", sanitize::text(name))
        } else {
            sanitize::text(name).into_owned()
        }
    }

    /// A service, or `no service` for an unbound range.
    pub fn maybe_service(&self, id: Option<&ServiceId>) -> String {
        id.map_or_else(|| "no service".to_owned(), |id| self.service(id))
    }
}

/// What `plan --changed-since REF` left out of a plan; each format says it under the summary.
#[derive(Debug, Clone, Copy)]
pub struct Skipped<'a> {
    /// The git revision the file was compared with.
    pub since: &'a str,
    /// The file's prefixes that were not planned, in file order (empty when none was skipped).
    pub prefixes: &'a [IpNet],
    /// Why every prefix was planned, when the file changed beyond single prefixes.
    pub every: Option<&'a str>,
}

impl Skipped<'_> {
    /// The sentence text and markdown print under the summary (markdown quotes the names).
    pub fn sentence(&self, quote: fn(&str) -> String) -> String {
        let since = quote(self.since);
        if let Some(why) = self.every {
            return format!("Planned every prefix of the file: {why}.");
        }
        if self.prefixes.is_empty() {
            return format!(
                "Skipped no prefix: each one's entry in the file differs from {since}."
            );
        }
        format!(
            "Skipped {} whose entry in the file is the same as at {since} (--changed-since): {}.",
            count(self.prefixes.len(), "prefix", "prefixes"),
            self.prefixes
                .iter()
                .map(|p| quote(&p.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Writes a plan in `format`.
pub fn plan(
    out: &mut impl Write,
    format: Format,
    plan: &Plan,
    ctx: &Context<'_>,
    color: bool,
) -> io::Result<()> {
    plan_skipping(out, format, plan, ctx, color, None)
}

/// Writes a plan in `format`, saying which prefixes of the file it left out.
pub fn plan_skipping(
    out: &mut impl Write,
    format: Format,
    plan: &Plan,
    ctx: &Context<'_>,
    color: bool,
    skipped: Option<&Skipped<'_>>,
) -> io::Result<()> {
    match format {
        Format::Text => text::plan_skipping(out, plan, ctx, color, skipped),
        Format::Markdown => markdown::plan_skipping(out, plan, ctx, skipped),
        Format::Json => json::write(
            out,
            &json::plan_document(
                plan,
                ctx,
                &json::Provenance {
                    skipped: skipped.copied(),
                    ..json::Provenance::default()
                },
            ),
        ),
    }
}

/// Writes the account's service catalog in `format`, in the order given.
pub fn services(
    out: &mut impl Write,
    format: Format,
    account_id: &AccountId,
    services: &[Service],
) -> io::Result<()> {
    match format {
        Format::Text => text::services(out, account_id, services),
        Format::Markdown => markdown::services(out, account_id, services),
        Format::Json => json::write_services(out, account_id, services),
    }
}

/// `8 addresses`, `1 address`, `2^64 addresses`.
pub fn addresses(bits: u8) -> String {
    match bits {
        0 => "1 address".to_owned(),
        1..20 => format!("{} addresses", 1u32 << bits),
        _ => format!("2^{bits} addresses"),
    }
}

/// A count of addresses that need not be a power of two: exact up to a million, else as a
/// power of two (`about 2^80 addresses` when it is not one exactly).
pub fn address_count(n: u128) -> String {
    if n.is_power_of_two() {
        return addresses(n.trailing_zeros() as u8);
    }
    if n < 1 << 20 {
        return format!("{n} addresses");
    }
    // Rounded to the nearest power of two, by the bit under the highest.
    let high = 127 - n.leading_zeros();
    let up = n >> (high - 1) & 1 == 1;
    format!("about 2^{} addresses", high + u32::from(up))
}

/// `n thing` / `n things`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a desired-state file holds: `3 prefixes, 12 bindings`.
pub fn state_summary(state: &crate::model::StateFile) -> String {
    format!(
        "{}, {}",
        count(state.prefixes.len(), "prefix", "prefixes"),
        count(state.binding_count(), "binding", "bindings")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_two_services_bear_is_shown_with_the_id() {
        let services = Services::new([
            Service {
                id: ServiceId::new("cdn1").unwrap(),
                name: "CDN".into(),
            },
            Service {
                id: ServiceId::new("cdn2").unwrap(),
                name: "CDN".into(),
            },
            Service {
                id: ServiceId::new("sp1").unwrap(),
                name: "Spectrum".into(),
            },
        ]);
        let ctx = Context {
            services: &services,
            limits: crate::plan::SafetyLimits::max_deletes(10),
        };
        assert_eq!(ctx.service(&ServiceId::new("cdn2").unwrap()), "CDN (cdn2)");
        assert_eq!(ctx.service(&ServiceId::new("sp1").unwrap()), "Spectrum");
        assert_eq!(ctx.service(&ServiceId::new("gone").unwrap()), "gone");
    }

    #[test]
    fn address_counts_read_well() {
        assert_eq!(addresses(0), "1 address");
        assert_eq!(addresses(3), "8 addresses");
        assert_eq!(addresses(19), "524288 addresses");
        assert_eq!(addresses(64), "2^64 addresses");
        assert_eq!(address_count(248), "248 addresses");
        assert_eq!(address_count(1 << 64), "2^64 addresses");
        assert_eq!(address_count((1 << 80) - (2 << 64)), "about 2^80 addresses");
        assert_eq!(address_count((1 << 80) + (1 << 78)), "about 2^80 addresses");
        assert_eq!(address_count((1 << 80) + (1 << 79)), "about 2^81 addresses");
        assert_eq!(address_count(u128::MAX), "about 2^128 addresses");
    }
}
