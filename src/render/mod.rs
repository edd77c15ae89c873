//! Rendering plans, apply reports and the service catalog for people and programs, in the
//! three [`Format`]s: `text`, `markdown` and `json` (which fills in the documents of
//! [`crate::contract`]).
//!
//! Renderers write to `impl Write` and decide nothing: what to show was settled by the planner
//! and apply. Only `text` knows colour, as a plain `bool` the caller decided. Every string that
//! came from the API passes through [`crate::sanitize`] before it is written. This module never
//! imports `cli`, `settings` or `commands`.

pub mod json;
pub mod markdown;
pub mod text;

use std::io::{self, Write};

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
    /// A service's name (sanitized), or its id when the catalog lacks it.
    pub fn service(&self, id: &ServiceId) -> String {
        sanitize::text(self.services.display(id)).into_owned()
    }

    /// A service, or `no service` for an unbound range.
    pub fn maybe_service(&self, id: Option<&ServiceId>) -> String {
        id.map_or_else(|| "no service".to_owned(), |id| self.service(id))
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
    match format {
        Format::Text => text::plan(out, plan, ctx, color),
        Format::Markdown => markdown::plan(out, plan, ctx),
        Format::Json => json::write_plan(out, plan, ctx),
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
        Format::Text => text::services(out, services),
        Format::Markdown => markdown::services(out, services),
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
    fn address_counts_read_well() {
        assert_eq!(addresses(0), "1 address");
        assert_eq!(addresses(3), "8 addresses");
        assert_eq!(addresses(19), "524288 addresses");
        assert_eq!(addresses(64), "2^64 addresses");
    }
}
