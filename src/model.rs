//! Domain types shared by every stage: id newtypes, services, prefixes, bindings, and the
//! desired-state document.
//!
//! Everything here is plain data, validated on construction. This module does no I/O and knows
//! nothing of YAML, HTTP or rendering: `config` builds a [`StateFile`] from YAML, `api` builds
//! [`Binding`]s and [`Prefix`]es from JSON, and both hand over these types.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The longest id Cloudflare issues (the OpenAPI `identifier` has `maxLength: 32`).
pub const MAX_ID_LEN: usize = 32;

/// An id that failed the `1–32 characters of [0-9A-Za-z]` check.
///
/// Ids go into URL paths, so anything else is refused before a request is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id `{value}`: an id is 1 to 32 letters or digits")]
pub struct IdError {
    /// Which kind of id: `account`, `prefix`, `binding` or `service`.
    pub kind: &'static str,
    /// The offending value, sanitized for printing.
    pub value: String,
}

/// Checks that `value` is 1–32 ASCII letters or digits.
pub fn check_id(kind: &'static str, value: &str) -> Result<(), IdError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(IdError {
            kind,
            value: value.chars().take(64).filter(|c| !c.is_control()).collect(),
        })
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// Shared, not copied: a clone is a reference count.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Arc<str>);

        impl $name {
            /// Validates and wraps an id.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_id($kind, &value)?;
                Ok(Self(Arc::from(value)))
            }

            /// The id as it appears in URLs and output.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A Cloudflare account id.
    AccountId,
    "account"
);
id_type!(
    /// The id of an onboarded BYOIP prefix.
    PrefixId,
    "prefix"
);
id_type!(
    /// The id of one service binding.
    BindingId,
    "binding"
);
id_type!(
    /// The id of a Cloudflare service (Magic Transit, CDN, Spectrum, …).
    ServiceId,
    "service"
);

/// The service name that may only be bound prefix-wide.
pub const MAGIC_TRANSIT: &str = "Magic Transit";

/// A service of the account's catalog (`GET …/addressing/services`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
}

/// The account's service catalog, with lookups both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Services {
    by_id: BTreeMap<ServiceId, String>,
}

impl Services {
    pub fn new(services: impl IntoIterator<Item = Service>) -> Self {
        Self {
            by_id: services.into_iter().map(|s| (s.id, s.name)).collect(),
        }
    }

    /// The name of a service id, if the catalog has it.
    pub fn name(&self, id: &ServiceId) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// The name of a service id, or the id itself when the catalog lacks it.
    pub fn display<'a>(&'a self, id: &'a ServiceId) -> &'a str {
        self.name(id).unwrap_or(id.as_str())
    }

    /// Whether `id` is the Magic Transit service.
    pub fn is_magic_transit(&self, id: &ServiceId) -> bool {
        self.name(id) == Some(MAGIC_TRANSIT)
    }

    /// Services in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&ServiceId, &str)> {
        self.by_id.iter().map(|(id, name)| (id, name.as_str()))
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// `provisioning.state` of a binding. Unknown values are kept, never a parse error.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProvisioningState {
    Provisioning,
    Active,
    MagicTransitRouteMissing,
    /// A state this version of svcbind does not know.
    Other(String),
}

impl ProvisioningState {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::MagicTransitRouteMissing => "magic_transit_route_missing",
            Self::Other(s) => s,
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self, Self::Active)
    }

    /// The state of a binding the API reported without one (`provisioning` or its `state`
    /// absent, null, or not a string): shown as `unknown`, never active, so never drift.
    pub fn unknown() -> Self {
        Self::Other(String::from("unknown"))
    }
}

impl From<&str> for ProvisioningState {
    fn from(s: &str) -> Self {
        match s {
            "provisioning" => Self::Provisioning,
            "active" => Self::Active,
            "magic_transit_route_missing" => Self::MagicTransitRouteMissing,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ProvisioningState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ProvisioningState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProvisioningState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from(s.as_str()))
    }
}

/// A live service binding as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub id: BindingId,
    pub cidr: IpNet,
    pub service_id: ServiceId,
    /// The name the API sent along, if any (informational; the catalog is authoritative).
    pub service_name: Option<String>,
    pub state: ProvisioningState,
}

/// An onboarded BYOIP prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub id: PrefixId,
    pub cidr: IpNet,
    pub description: Option<String>,
}

/// Where something was written: which of the run's desired-state files (an index into the
/// files loaded together, 0 for the first or only one), then the 1-based line and column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: u32,
    pub line: u32,
    pub column: u32,
}

/// The parsed desired-state file (also the emulator's seed and `export`'s output: one format).
///
/// Validation has already run when a caller holds one: CIDRs parse with zero host bits, ids are
/// well-formed, prefixes do not overlap, bindings lie inside their prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateFile {
    pub account_id: Option<AccountId>,
    /// `safety.max_deletes`.
    pub max_deletes: Option<u32>,
    /// `safety.max_delete_percent`: 0 to 100.
    pub max_delete_percent: Option<u8>,
    /// `safety.protect`: ranges whose addresses may not move to another service without
    /// `--force` (each inside a listed prefix).
    pub protect: Vec<IpNet>,
    /// `services:` name → id (seed files only; empty otherwise).
    pub services: BTreeMap<String, ServiceId>,
    pub prefixes: Vec<DesiredPrefix>,
}

impl StateFile {
    /// Number of bindings over all prefixes.
    pub fn binding_count(&self) -> usize {
        self.prefixes.iter().map(|p| p.bindings.len()).sum()
    }
}

/// One `prefixes:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredPrefix {
    pub cidr: IpNet,
    /// Pinned prefix id, if given.
    pub id: Option<PrefixId>,
    /// Live bindings inside these ranges are left alone.
    pub ignore: Vec<IpNet>,
    pub bindings: Vec<DesiredBinding>,
    /// Where the entry's `cidr` was written.
    pub location: Location,
}

/// One `bindings:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredBinding {
    pub cidr: IpNet,
    /// A service name or a service id, as written.
    pub service: String,
    /// Binding id (seed and export files only).
    pub id: Option<BindingId>,
    /// Provisioning state (seed and export files only).
    pub state: Option<ProvisioningState>,
    /// Where the entry's `service` was written.
    pub location: Location,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_letters_and_digits_up_to_32() {
        assert!(PrefixId::new("2af39739cc4e3b5910c918468bb89828").is_ok());
        assert!(PrefixId::new("A").is_ok());
        assert!(PrefixId::new("a".repeat(33)).is_err());
        assert!(PrefixId::new("").is_err());
        assert!(PrefixId::new("../x").is_err());
        assert!(PrefixId::new("abc def").is_err());
        let err = ServiceId::new("a/b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid service id `a/b`: an id is 1 to 32 letters or digits"
        );
    }

    #[test]
    fn unknown_provisioning_state_is_kept() {
        let s: ProvisioningState = serde_json::from_str("\"paused\"").unwrap();
        assert_eq!(s, ProvisioningState::Other("paused".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"paused\"");
        assert!(ProvisioningState::from("active").is_active());
    }
}
